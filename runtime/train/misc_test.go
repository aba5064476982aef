package train

import (
	"math"
	"testing"
)

func clipParams(t *testing.T, g *goldens) *Params {
	var ps Params
	for i, shape := range g.Clip.Shapes {
		p := ps.Add("p"+string(rune('a'+i))+".weight", shape...)
		copy(p.Grad, f32s(g.Clip.Grads[i]))
	}
	return &ps
}

// TestClipMatchesTorch: clip_grad_norm_ (L2 and infinity norms, clipping or not) and
// clip_grad_value_. torch reduces each tensor's norm in float32 and this package in
// float64, so the total may be an ulp off; the clipped gradients follow it.
func TestClipMatchesTorch(t *testing.T) {
	g := loadGoldens(t)
	for _, c := range g.Clip.Norm {
		ps := clipParams(t, g)
		normType := math.Inf(1)
		if v, ok := c.NormType.(float64); ok {
			normType = v
		}
		total := ClipGradNorm(ps, c.MaxNorm, normType)
		t.Logf("%s: total norm %d ulps from torch's", c.Name, ulps(total, float32(c.Total)))
		if d := ulps(total, float32(c.Total)); d > 1 {
			t.Errorf("%s: total norm %v, torch %v (%d ulps)", c.Name, total, float32(c.Total), d)
		}
		for i, p := range ps.Params {
			if d, at := worst(p.Grad, c.Grads[i]); d > 1 {
				t.Errorf("%s: grad %d[%d] = %v, torch %v (%d ulps)", c.Name, i, at, p.Grad[at], float32(c.Grads[i][at]), d)
			}
		}
	}
	ps := clipParams(t, g)
	ClipGradValue(ps, g.Clip.Value.Clip)
	for i, p := range ps.Params {
		if d, at := worst(p.Grad, g.Clip.Value.Grads[i]); d > 0 {
			t.Errorf("clip by value: grad %d[%d] = %v, torch %v", i, at, p.Grad[at], float32(g.Clip.Value.Grads[i][at]))
		}
	}
}

func TestClipSkipsFrozen(t *testing.T) {
	var ps Params
	a, b := ps.Add("a.weight", 2), ps.Add("b.weight", 2)
	copy(a.Grad, []float32{300, 400})
	copy(b.Grad, []float32{3, 4})
	a.Frozen = true
	if total := ClipGradNorm(&ps, 1, 2); total != 5 {
		t.Errorf("total with a frozen = %v, want 5", total)
	}
	if a.Grad[0] != 300 || math.Abs(float64(b.Grad[0])-0.6) > 1e-6 {
		t.Errorf("grads after clipping: %v %v", a.Grad, b.Grad)
	}
	b.Frozen = true
	if total := ClipGradNorm(&ps, 1, 2); total != 0 {
		t.Errorf("total with all frozen = %v", total)
	}
}

// TestInitMatchesTorchDistributions: the fans, gains, standard deviations and bounds are
// torch's formulas to the last bit or so; the draws are Go's (not torch's numbers), so their
// moments are compared with torch's samples statistically.
func TestInitMatchesTorchDistributions(t *testing.T) {
	g := loadGoldens(t)
	for _, c := range g.Init.Gains {
		var gain float64
		var err error
		if c.Param != nil {
			gain, err = Gain(c.Nonlinearity, *c.Param)
		} else {
			gain, err = Gain(c.Nonlinearity)
		}
		if err != nil || math.Abs(gain-c.Gain) > 1e-15*c.Gain {
			t.Errorf("Gain(%s, %v) = %v, %v; torch %v", c.Nonlinearity, c.Param, gain, err, c.Gain)
		}
	}
	rng := NewRNG(1)
	for _, c := range g.Init.Cases {
		fi, fo, err := Fans(c.Shape)
		if err != nil || fi != c.FanIn || fo != c.FanOut {
			t.Errorf("%s %v: fans %d, %d, %v; torch %d, %d", c.Kind, c.Shape, fi, fo, err, c.FanIn, c.FanOut)
		}
		w := make([]float32, elems(c.Shape))
		var bias []float32
		var std float64
		switch c.Kind {
		case "kaiming_uniform", "kaiming_normal":
			mode := FanIn
			if c.Args["mode"] == "fan_out" {
				mode = FanOut
			}
			a, nl := c.Args["a"].(float64), c.Args["nonlinearity"].(string)
			std, err = KaimingStd(c.Shape, a, mode, nl)
			if err == nil && c.Kind == "kaiming_uniform" {
				err = rng.KaimingUniform(w, c.Shape, a, mode, nl)
			} else if err == nil {
				err = rng.KaimingNormal(w, c.Shape, a, mode, nl)
			}
		case "xavier_uniform", "xavier_normal":
			gain := c.Args["gain"].(float64)
			std, err = XavierStd(c.Shape, gain)
			if err == nil && c.Kind == "xavier_uniform" {
				err = rng.XavierUniform(w, c.Shape, gain)
			} else if err == nil {
				err = rng.XavierNormal(w, c.Shape, gain)
			}
		default: // torch's Conv2d / Linear default
			std, err = KaimingStd(c.Shape, math.Sqrt(5), FanIn, "leaky_relu")
			bias = make([]float32, c.Shape[0])
			if err == nil {
				err = rng.Default(w, bias, c.Shape)
			}
		}
		if err != nil {
			t.Fatalf("%s %v: %v", c.Kind, c.Shape, err)
		}
		if math.Abs(std-c.Std) > 4e-16*c.Std {
			t.Errorf("%s %v: std %v, torch %v", c.Kind, c.Shape, std, c.Std)
		}
		var s, ss, maxAbs float64
		for _, v := range w {
			s += float64(v)
			ss += float64(v) * float64(v)
			maxAbs = max(maxAbs, math.Abs(float64(v)))
		}
		n := float64(len(w))
		mean, sd := s/n, math.Sqrt(ss/n-(s/n)*(s/n))
		// Five standard errors of the sample mean and standard deviation (the latter's is at
		// most std*sqrt(1/(2n)) for a normal and smaller for a uniform).
		if math.Abs(mean) > 5*std/math.Sqrt(n) || math.Abs(c.SampleMean) > 5*std/math.Sqrt(n) {
			t.Errorf("%s %v: sample mean %v, torch's %v, std %v", c.Kind, c.Shape, mean, c.SampleMean, std)
		}
		if math.Abs(sd-std) > 5*std/math.Sqrt(2*n) || math.Abs(sd-c.SampleStd) > 7*std/math.Sqrt(2*n) {
			t.Errorf("%s %v: sample std %v, torch's %v, std %v", c.Kind, c.Shape, sd, c.SampleStd, std)
		}
		if c.Kind != "kaiming_normal" && c.Kind != "xavier_normal" {
			// A uniform's largest draw is within (a fraction of) the bound, as torch's is.
			if maxAbs > c.Bound || maxAbs < c.Bound*(1-20/n) || c.SampleMaxAbs > c.Bound {
				t.Errorf("%s %v: max |w| %v, torch's %v, bound %v", c.Kind, c.Shape, maxAbs, c.SampleMaxAbs, c.Bound)
			}
		}
		if bias != nil {
			bb := 1 / math.Sqrt(float64(c.FanIn))
			var m float64
			for _, v := range bias {
				m = max(m, math.Abs(float64(v)))
			}
			if m > bb || m < bb*(1-20/float64(len(bias))) || *c.BiasMaxAbs > bb {
				t.Errorf("%s %v: max |bias| %v, torch's %v, bound %v", c.Kind, c.Shape, m, *c.BiasMaxAbs, bb)
			}
		}
	}
	if _, _, err := Fans([]int{5}); err == nil {
		t.Error("Fans of a vector did not fail")
	}
	a, b := make([]float32, 6), make([]float32, 6)
	NewRNG(7).KaimingNormal(a, []int{2, 3}, 0, FanIn, "relu")
	NewRNG(7).KaimingNormal(b, []int{2, 3}, 0, FanIn, "relu")
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("a seed does not give the same weights twice")
		}
	}
}

func TestCrossEntropyMatchesTorch(t *testing.T) {
	g := loadGoldens(t)
	for _, c := range g.Loss {
		d := make([]float32, len(c.Logits))
		loss, err := CrossEntropy(f32s(c.Logits), c.Labels, c.Classes, c.Smoothing, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("smoothing %v: loss %d ulps from torch's", c.Smoothing, ulps(loss, float32(c.Loss)))
		if u := ulps(loss, float32(c.Loss)); u > 2 {
			t.Errorf("smoothing %v: loss %v, torch %v (%d ulps)", c.Smoothing, loss, float32(c.Loss), u)
		}
		for i := range d {
			// Gradients near zero are differences of nearly equal numbers: compare them to the
			// row's scale (1/n) rather than to themselves.
			if diff := math.Abs(float64(d[i]) - c.Grad[i]); diff > 4e-7/float64(len(c.Labels)) {
				t.Errorf("smoothing %v: grad[%d] = %v, torch %v", c.Smoothing, i, d[i], c.Grad[i])
			}
		}
		logits := f32s(c.Logits)
		if a := testing.AllocsPerRun(10, func() { CrossEntropy(logits, c.Labels, c.Classes, c.Smoothing, d) }); a != 0 {
			t.Errorf("CrossEntropy: %v allocations", a)
		}
	}
	if _, err := CrossEntropy(make([]float32, 4), []int32{0, 2}, 2, 0, nil); err == nil {
		t.Error("label 2 of 2 classes did not fail")
	}
}

func TestMeterRanksAsTopK(t *testing.T) {
	var m Meter
	logits := []float32{
		1, 5, 3, 5, 0, 0, // label 3: 5 ties with class 1, which ranks first -> rank 1
		9, 1, 2, 3, 4, 5, // label 0: top-1
		1, 2, 3, 4, 5, 6, // label 0: rank 5, not top-5
	}
	m.Add(0.5, logits, []int32{3, 0, 0}, 6)
	if m.Top1 != 1 || m.Top5 != 2 || m.N != 3 || m.Loss() != 0.5 {
		t.Errorf("meter %+v, loss %v", m, m.Loss())
	}
	if Rank([]float32{1, float32(math.NaN())}, 1) != 2 {
		t.Error("a NaN logit of the label is not ranked last")
	}
	if s := m.Suffix(); s != "loss 0.5000 top-1 33.33%" {
		t.Errorf("Suffix = %q", s)
	}
}

// TestBatchNormRunningStatsMatchTorch: BatchNorm2d(3) in training mode over two batches.
func TestBatchNormRunningStatsMatchTorch(t *testing.T) {
	g := loadGoldens(t)
	bn := g.Batchnorm
	var ps Params
	_, _, rm, rv, count := ps.AddBatchNorm("bn", bn.Shape[1])
	mean, varSum := make([]float32, bn.Shape[1]), make([]float32, bn.Shape[1])
	for k, x := range bn.Inputs {
		b, c, plane := bn.Shape[0], bn.Shape[1], bn.Shape[2]*bn.Shape[3]
		if err := BatchStats(f32s(x), b, c, plane, mean, varSum); err != nil {
			t.Fatal(err)
		}
		count.Value++
		UpdateRunningStats(rm.Value, rv.Value, mean, varSum, b*plane, bn.Momentum)
		st := bn.Steps[k]
		if d, at := worst(rm.Value, st.RunningMean); d > 0 {
			t.Errorf("batch %d: running_mean[%d] = %v, torch %v (%d ulps)", k, at, rm.Value[at], st.RunningMean[at], d)
		}
		if d, at := worst(rv.Value, st.RunningVar); d > 0 {
			t.Errorf("batch %d: running_var[%d] = %v, torch %v (%d ulps)", k, at, rv.Value[at], st.RunningVar[at], d)
		}
		if count.Value != st.NumBatchesTracked {
			t.Errorf("batch %d: num_batches_tracked %d, torch %d", k, count.Value, st.NumBatchesTracked)
		}
	}
}
