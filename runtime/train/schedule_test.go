package train

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestSchedulesMatchTorch steps each schedule as the goldens did (torch's recursive forms
// included, StepLR's repeated products and CosineAnnealingLR's ratios past T_max) and
// compares the LR, and the momentum or beta1 OneCycleLR cycles, after every step.
func TestSchedulesMatchTorch(t *testing.T) {
	g := loadGoldens(t)
	for _, c := range g.Schedules {
		t.Run(c.Name, func(t *testing.T) {
			var ps Params
			ps.Add("w", 1)
			var opt MomentumOptimizer
			var err error
			if c.Optimizer == "sgd" {
				opt, err = NewSGD(&ps, SGDConfig{LR: 0.1, Momentum: 0.9})
			} else {
				opt, err = NewAdam(&ps, AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
			}
			if err != nil {
				t.Fatal(err)
			}
			var s Scheduler
			steps := len(c.LR) - 1
			switch c.Name {
			case "step":
				s, err = NewStepLR(opt, 3, 0.1)
			case "step_gamma07":
				s, err = NewStepLR(opt, 1, 0.7)
			case "cosine":
				s, err = NewCosineAnnealingLR(opt, 10, 0.001)
			case "cosine_long":
				s, err = NewCosineAnnealingLR(opt, 200, 0)
			case "onecycle_default":
				s, err = NewOneCycleLR(opt, OneCycleDefaults(0.1, 100))
			case "onecycle_adam":
				s, err = NewOneCycleLR(opt, OneCycleDefaults(0.01, 50))
			case "onecycle_three_linear":
				cfg := OneCycleDefaults(0.2, 3*17)
				cfg.ThreePhase, cfg.Anneal, cfg.BaseMomentum, cfg.MaxMomentum = true, "linear", 0.8, 0.9
				s, err = NewOneCycleLR(opt, cfg)
			case "onecycle_lenet5":
				// tools/train_lenet5.py's schedule.
				cfg := OneCycleDefaults(0.05, 1000)
				cfg.PctStart, cfg.DivFactor, cfg.FinalDivFactor, cfg.CycleMomentum = 0.15, 10, 100, false
				s, err = NewOneCycleLR(opt, cfg)
			default:
				t.Fatalf("no Go case for %s", c.Name)
			}
			if err != nil {
				t.Fatal(err)
			}
			scale := 0.0
			for _, v := range c.LR {
				scale = max(scale, v)
			}
			for k := 0; k <= steps; k++ {
				if !close64(s.LastLR(), c.LR[k], scale) {
					t.Errorf("step %d: lr %v, torch %v", k, s.LastLR(), c.LR[k])
				}
				if !close64(opt.Momentum(), c.Momentum[k], 1) {
					t.Errorf("step %d: momentum %v, torch %v", k, opt.Momentum(), c.Momentum[k])
				}
				if k < steps {
					opt.Step()
					s.Step()
				}
			}
		})
	}
}

func TestOneCycleNeedsMomentumToCycle(t *testing.T) {
	var ps Params
	ps.Add("w", 1)
	opt, _ := NewSGD(&ps, SGDConfig{LR: 0.1})
	if _, err := NewOneCycleLR(lrOnly{opt}, OneCycleDefaults(1, 10)); err == nil {
		t.Error("cycling the momentum of an optimizer without one did not fail")
	}
	for _, cfg := range []OneCycle{{}, {MaxLR: 1, TotalSteps: 10, PctStart: 1.5, Anneal: "cos", DivFactor: 1, FinalDivFactor: 1},
		{MaxLR: 1, TotalSteps: 10, PctStart: 0.3, Anneal: "exp", DivFactor: 1, FinalDivFactor: 1}} {
		if _, err := NewOneCycleLR(opt, cfg); err == nil {
			t.Errorf("NewOneCycleLR(%+v) did not fail", cfg)
		}
	}
}

type lrOnly struct{ o Optimizer }

func (l lrOnly) Step()            { l.o.Step() }
func (l lrOnly) LR() float64      { return l.o.LR() }
func (l lrOnly) SetLR(lr float64) { l.o.SetLR(lr) }

// TestFMA32 compares fma32 with a*b+c computed exactly and rounded once, over random
// operands, near-ties and cancellations.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	check := func(a, b, c float32) {
		if got, want := fma32(a, b, c), exact(a, b, c); got != want && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
	}
	for range 200000 {
		a := math.Float32frombits(r.Uint32())
		b := math.Float32frombits(r.Uint32())
		c := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || math.IsNaN(float64(c)) ||
			math.IsInf(float64(a*b), 0) || math.IsInf(float64(c), 0) {
			continue
		}
		check(a, b, c)
		// c close to -a*b: cancellation; and tiny c: ties decided by the sticky bits.
		check(a, b, -float32(a*b))
		check(a, b, float32(a*b)*float32(r.Float64()))
		check(1+float32(r.IntN(1<<10))/(1<<23), 1+float32(r.IntN(1<<10))/(1<<13), math.Float32frombits(r.Uint32()&0x807fffff))
	}
	if got := fma32(float32(math.Inf(1)), 1, 2); !math.IsInf(float64(got), 1) {
		t.Errorf("fma32(+Inf, 1, 2) = %v", got)
	}
	if got := fma32(2, 3, float32(math.NaN())); got == got {
		t.Errorf("fma32(2, 3, NaN) = %v", got)
	}
}

// TestCosIsCorrectlyRounded compares cos with a 300-bit Taylor series after reducing by a
// 300-bit pi, over the arguments schedules use (pi times a fraction) and random ones.
func TestCosIsCorrectlyRounded(t *testing.T) {
	const prec = 300
	pi, _, _ := big.ParseFloat("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651328230664709384460955058223172535940812848111745028410270193852110555964462294895493038196", 10, prec, big.ToNearestEven)
	ref := func(x float64) float64 {
		X := new(big.Float).SetPrec(prec).SetFloat64(x)
		twoPi := new(big.Float).SetPrec(prec).Mul(pi, big.NewFloat(2))
		q := new(big.Float).SetPrec(prec).Quo(X, twoPi)
		n, _ := q.Int(nil)
		X.Sub(X, new(big.Float).SetPrec(prec).Mul(twoPi, new(big.Float).SetInt(n)))
		x2 := new(big.Float).SetPrec(prec).Mul(X, X)
		sum := new(big.Float).SetPrec(prec).SetInt64(1)
		term := new(big.Float).SetPrec(prec).SetInt64(1)
		for k := int64(1); k < 80; k++ {
			term.Mul(term, x2)
			term.Quo(term, new(big.Float).SetInt64((2*k-1)*(2*k)))
			term.Neg(term)
			sum.Add(sum, term)
		}
		f, _ := sum.Float64()
		return f
	}
	r := rand.New(rand.NewPCG(3, 4))
	xs := []float64{0, 1e-300, 1e-8, math.Pi / 2, math.Pi, 3 * math.Pi / 2, 2 * math.Pi, 1000 * math.Pi, 1e5}
	for n := 1; n <= 400; n++ {
		xs = append(xs, math.Pi*float64(n)/200, math.Pi*float64(n-1)/37, math.Pi*r.Float64())
	}
	for range 2000 {
		xs = append(xs, r.Float64()*200, -r.Float64()*10)
	}
	bad := 0
	for _, x := range xs {
		if got, want := cos(x), ref(x); got != want {
			bad++
			t.Errorf("cos(%v) = %v, want %v (math.Cos %v)", x, got, want, math.Cos(x))
			if bad > 10 {
				return
			}
		}
	}
}
