package train

import (
	"math"
	"slices"
	"testing"
)

// optimizerCases builds the optimizers (and schedules) the goldens were made with.
var optimizerCases = map[string]func(ps *Params) (Optimizer, Scheduler, error){
	"sgd":          sgdCase(SGDConfig{LR: 0.1}, false),
	"sgd_momentum": sgdCase(SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.1, WeightDecay: 1e-2}, false),
	"sgd_nesterov": sgdCase(SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true}, false),
	"adam":         adamCase(AdamDefaults(), false, false),
	"adam_wd_amsgrad": adamCase(AdamConfig{LR: 1e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 1e-2,
		AMSGrad: true}, false, false),
	"adamw": adamCase(AdamWDefaults(), true, false),
	"adamw_amsgrad": adamCase(AdamConfig{LR: 3e-3, Beta1: 0.85, Beta2: 0.995, Eps: 1e-8, WeightDecay: 0.1,
		AMSGrad: true}, true, false),
	"sgd_nesterov_onecycle":   sgdCase(SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true}, true),
	"sgd_nomomentum_onecycle": sgdCase(SGDConfig{LR: 0.05}, true),
	"adam_onecycle":           adamCase(AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-3}, false, true),
}

func withOneCycle(o Optimizer, err error, cycle bool) (Optimizer, Scheduler, error) {
	if err != nil || !cycle {
		return o, nil, err
	}
	s, err := NewOneCycleLR(o, OneCycleDefaults(0.1, 6))
	return o, s, err
}

func sgdCase(c SGDConfig, cycle bool) func(*Params) (Optimizer, Scheduler, error) {
	return func(ps *Params) (Optimizer, Scheduler, error) {
		o, err := NewSGD(ps, c)
		return withOneCycle(o, err, cycle)
	}
}

func adamCase(c AdamConfig, decoupled, cycle bool) func(*Params) (Optimizer, Scheduler, error) {
	return func(ps *Params) (Optimizer, Scheduler, error) {
		if decoupled {
			o, err := NewAdamW(ps, c)
			return withOneCycle(o, err, cycle)
		}
		o, err := NewAdam(ps, c)
		return withOneCycle(o, err, cycle)
	}
}

// TestOptimizersMatchTorch runs every optimizer over the goldens' steps: a [3,4] weight
// that decays and a [5] bias that does not (torch: a second param group with
// weight_decay=0), fixed gradients from 1e-3 to 3 in size. The parameters must equal
// torch's bit for bit: every rounding and fused multiply-add is torch's.
func TestOptimizersMatchTorch(t *testing.T) {
	g := loadGoldens(t)
	if len(g.Optimizers) != len(optimizerCases) {
		t.Errorf("goldens have %d optimizer cases, the test %d", len(g.Optimizers), len(optimizerCases))
	}
	for _, c := range g.Optimizers {
		t.Run(c.Name, func(t *testing.T) {
			build, ok := optimizerCases[c.Name]
			if !ok {
				t.Fatalf("no Go case for %s", c.Name)
			}
			var ps Params
			w, b := ps.Add("fc.weight", 3, 4), ps.Add("fc.bias", 5)
			b.NoDecay = true
			copy(w.Value, f32s(c.W0))
			copy(b.Value, f32s(c.B0))
			opt, sched, err := build(&ps)
			if err != nil {
				t.Fatal(err)
			}
			for k, st := range c.Steps {
				if !close64(opt.LR(), st.LR, 0.1) {
					t.Errorf("step %d: lr %v, torch %v", k, opt.LR(), st.LR)
				}
				if m, ok := opt.(MomentumOptimizer); ok && st.Momentum != nil && !close64(m.Momentum(), *st.Momentum, 1) {
					t.Errorf("step %d: momentum %v, torch %v", k, m.Momentum(), *st.Momentum)
				}
				copy(w.Grad, f32s(c.Grads[k].W))
				copy(b.Grad, f32s(c.Grads[k].B))
				opt.Step()
				if sched != nil {
					sched.Step()
				}
				for _, x := range []struct {
					name string
					got  []float32
					want []float64
				}{{"weight", w.Value, st.W}, {"bias", b.Value, st.B}} {
					if d, at := worst(x.got, x.want); d > 0 {
						t.Errorf("step %d: %s[%d] = %v, torch %v (%d ulps)", k, x.name, at, x.got[at], float32(x.want[at]), d)
					}
				}
			}
		})
	}
}

func TestFrozenParamsAreLeftAlone(t *testing.T) {
	for name, build := range optimizerCases {
		var ps Params
		a, b := ps.Add("layer1.0.conv.weight", 2, 3), ps.Add("fc.weight", 2, 3)
		for i := range a.Value {
			a.Value[i], b.Value[i] = float32(i), float32(i)
			a.Grad[i], b.Grad[i] = 1, 1
		}
		if n, err := ps.Freeze("layer1"); n != 1 || err != nil {
			t.Fatalf("Freeze = %d, %v", n, err)
		}
		opt, sched, err := build(&ps)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			opt.Step()
			if sched != nil {
				sched.Step()
			}
		}
		for i, v := range a.Value {
			if v != float32(i) {
				t.Errorf("%s: frozen value %d changed to %v", name, i, v)
			}
		}
		if b.Value[1] == 1 {
			t.Errorf("%s: trainable value did not change", name)
		}
	}
}

func TestFreezeRejectsUnknownPrefix(t *testing.T) {
	var ps Params
	ps.Add("layer1.0.conv1.weight", 1)
	ps.Add("layer10.weight", 1)
	ps.Add("fc.weight", 1)
	n, err := ps.Freeze(ParsePrefixes(" layer1, ,fc.")...)
	if n != 2 || err != nil || ps.Params[1].Frozen {
		t.Errorf("Freeze(layer1, fc.) = %d, %v; layer10 frozen %v", n, err, ps.Params[1].Frozen)
	}
	if _, err := ps.Freeze("layer2", "fc"); err == nil {
		t.Error("Freeze(layer2) did not fail")
	}
}

func TestOptimizerArgumentsCheckedAsTorch(t *testing.T) {
	var ps Params
	ps.Add("w", 2)
	for _, c := range []SGDConfig{{LR: -1}, {LR: 0.1, Momentum: -0.1}, {LR: 0.1, WeightDecay: -1},
		{LR: 0.1, Nesterov: true}, {LR: 0.1, Momentum: 0.9, Dampening: 0.1, Nesterov: true}, {LR: math.NaN()}} {
		if _, err := NewSGD(&ps, c); err == nil {
			t.Errorf("NewSGD(%+v) did not fail", c)
		}
	}
	for _, c := range []AdamConfig{{LR: 1e-3, Beta1: 1, Beta2: 0.9}, {LR: 1e-3, Beta1: 0.9, Beta2: -0.1}, {LR: 1e-3, Beta1: 0.9, Beta2: 0.9, Eps: -1}} {
		if _, err := NewAdam(&ps, c); err == nil {
			t.Errorf("NewAdam(%+v) did not fail", c)
		}
	}
}

// TestStepAllocatesNothing: a generated Trainer steps the optimizer, schedule and clipping
// every batch.
func TestStepAllocatesNothing(t *testing.T) {
	for name, build := range optimizerCases {
		var ps Params
		p := ps.Add("conv.weight", 8, 3, 3, 3)
		ps.Add("conv.bias", 8).NoDecay = true
		for i := range p.Grad {
			p.Grad[i] = float32(i%7) - 3
		}
		opt, sched, err := build(&ps)
		if err != nil {
			t.Fatal(err)
		}
		if sched == nil {
			sched, _ = NewCosineAnnealingLR(opt, 100, 0)
		}
		norms := make([]LayerNorm, 0, len(ps.Layers()))
		allocs := testing.AllocsPerRun(20, func() {
			ClipGradNorm(&ps, 1, 2)
			opt.Step()
			sched.Step()
			norms = ps.LayerNorms(norms)
			ps.ZeroGrad()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per step", name, allocs)
		}
	}
}

// TestUnfreezeStartsFreshState: a tensor frozen when the optimizer was made gets its state
// when it first trains, as torch creates state["step"] and the moments lazily: its first
// update is a first step, whatever the others' count.
func TestUnfreezeStartsFreshState(t *testing.T) {
	for _, adamW := range []bool{false, true} {
		var ps Params
		val, grad := []float32{1, -2, 3}, []float32{0.5, 0.25, -1}
		a := ps.AddSlices("a.weight", slices.Clone(val), slices.Clone(grad), 3)
		b := ps.Add("b.weight", 3)
		a.Frozen = true
		var opt *Adam
		var err error
		if adamW {
			opt, err = NewAdamW(&ps, AdamWDefaults())
		} else {
			opt, err = NewAdam(&ps, AdamDefaults())
		}
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			copy(b.Grad, grad)
			opt.Step()
		}
		a.Frozen = false
		opt.Step()

		var fresh Params
		f := fresh.AddSlices("a.weight", slices.Clone(val), slices.Clone(grad), 3)
		ref, _ := NewAdam(&fresh, AdamDefaults())
		if adamW {
			ref, _ = NewAdamW(&fresh, AdamWDefaults())
		}
		ref.Step()
		if !equal(a.Value, f.Value) || opt.Steps(0) != 1 || opt.Steps(1) != 4 {
			t.Errorf("AdamW %v: unfrozen tensor %v, fresh %v; steps %d, %d", adamW, a.Value, f.Value, opt.Steps(0), opt.Steps(1))
		}
	}
	var ps Params
	p := ps.AddSlices("w", make([]float32, 4), nil, 2, 2)
	if !p.Frozen || ps.Check() != nil {
		t.Errorf("AddSlices without a gradient: frozen %v, check %v", p.Frozen, ps.Check())
	}
}
