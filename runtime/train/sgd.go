package train

import (
	"errors"
	"fmt"
	"github.com/cnngen/cnngen/runtime/kernels"
	"math"
)

// Optimizer updates a Params from its gradients, as a torch.optim optimizer with one
// param group does (per-tensor weight decay is Param.NoDecay). Step allocates nothing.
type Optimizer interface {
	// Step applies one update to every trainable parameter (torch's optimizer.step()).
	Step()
	// LR is the learning rate the next Step uses; SetLR changes it (what a scheduler does to
	// param_groups[0]["lr"]). It is a float64, as Python keeps it, and is rounded to float32
	// where torch rounds it: when it multiplies a float32 tensor.
	LR() float64
	SetLR(lr float64)
}

// MomentumOptimizer is an optimizer whose momentum a schedule can cycle (OneCycleLR with
// cycle_momentum): SGD's momentum, Adam's and AdamW's beta1.
type MomentumOptimizer interface {
	Optimizer
	Momentum() float64
	SetMomentum(m float64)
}

// SGDConfig holds torch.optim.SGD's arguments.
type SGDConfig struct {
	LR          float64
	Momentum    float64
	Dampening   float64
	WeightDecay float64
	Nesterov    bool
}

// SGD is torch.optim.SGD (the single-tensor implementation torch 1.13 uses by default):
//
//	d = grad + weight_decay*param                (when weight_decay != 0 and the tensor decays)
//	buf = d on the first step, else momentum*buf + (1-dampening)*d      (when momentum != 0)
//	d = d + momentum*buf if nesterov, else buf
//	param = param - lr*d
//
// in float32 with each scalar rounded to float32 and each "x + a*y" fused, as torch's AVX2
// kernels compute them, so the result matches torch bit for bit.
type SGD struct {
	cfg    SGDConfig
	params *Params
	bufs   [][]float32 // momentum buffers, nil until momentum is first non-zero
	start  []bool      // a tensor's buffer holds a value (torch: state["momentum_buffer"] set)
	first  []bool      // the Step being taken is a tensor's first with momentum
}

// NewSGD returns an SGD optimizer over ps's trainable parameters; its checks are torch's.
func NewSGD(ps *Params, cfg SGDConfig) (*SGD, error) {
	switch {
	case !(cfg.LR >= 0):
		return nil, fmt.Errorf("train: SGD: invalid learning rate %v", cfg.LR)
	case !(cfg.Momentum >= 0):
		return nil, fmt.Errorf("train: SGD: invalid momentum %v", cfg.Momentum)
	case !(cfg.WeightDecay >= 0):
		return nil, fmt.Errorf("train: SGD: invalid weight decay %v", cfg.WeightDecay)
	case cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0):
		return nil, errors.New("train: SGD: Nesterov momentum requires a momentum and zero dampening")
	}
	if err := ps.Check(); err != nil {
		return nil, err
	}
	o := &SGD{cfg: cfg, params: ps, start: make([]bool, len(ps.Params))}
	o.SetMomentum(cfg.Momentum)
	return o, nil
}

func (o *SGD) LR() float64       { return o.cfg.LR }
func (o *SGD) SetLR(lr float64)  { o.cfg.LR = lr }
func (o *SGD) Momentum() float64 { return o.cfg.Momentum }

// SetMomentum changes the momentum (OneCycleLR cycles it). The buffers are allocated the
// first time it is non-zero, which with a schedule is before the first step.
func (o *SGD) SetMomentum(m float64) {
	o.cfg.Momentum = m
	if m != 0 && o.bufs == nil {
		o.bufs = make([][]float32, len(o.params.Params))
		for i, p := range o.params.Params {
			if !p.Frozen {
				o.bufs[i] = make([]float32, len(p.Value))
			}
		}
	}
}

// Step applies one SGD update: the buffers' bookkeeping here, the arithmetic in chunks split
// over the Params' runner (element-wise, so the split changes nothing).
func (o *SGD) Step() {
	if o.first == nil {
		o.first = make([]bool, len(o.params.Params))
	}
	for i, p := range o.params.Params {
		if p.Frozen || o.cfg.Momentum == 0 {
			continue
		}
		if o.bufs[i] == nil { // frozen when the optimizer was made: state on first use, as torch
			o.bufs[i] = make([]float32, len(p.Value))
		}
		o.first[i] = !o.start[i]
		o.start[i] = true
	}
	o.params.plan()
	o.params.run(o)
}

// RunPart updates part part of parts of the chunks of the Params' last plan.
func (o *SGD) RunPart(part, parts int) {
	c := o.cfg
	lr := float32(-c.LR)
	mom := float32(c.Momentum)
	damp := float32(1 - c.Dampening) // Python computes 1 - dampening in float64
	ps := o.params
	lo, hi := ps.partChunks(part, parts)
	for _, ch := range ps.chunks[lo:hi] {
		p := ps.Params[ch.p]
		wd := float32(c.WeightDecay)
		if p.NoDecay {
			wd = 0
		}
		w, g := p.Value[ch.lo:ch.hi], p.Grad[ch.lo:ch.hi]
		var buf []float32
		first := false
		if c.Momentum != 0 {
			buf, first = o.bufs[ch.p][ch.lo:ch.hi], o.first[ch.p]
		}
		if buf != nil && !first && wd != 0 {
			// Every step but the first of a tensor that decays: the kernels' vector FMAs
			// (one pass, torch's result bit for bit; 20% of a ResNet-18 step in scalar Go).
			kernels.SGDMomentum(w, g, buf, wd, mom, damp, lr, c.Nesterov)
			continue
		}
		sgdTensor(w, g, buf, wd, mom, damp, lr, first, c.Nesterov)
	}
}

// sgdTensor updates one tensor; buf is nil without momentum. Each "x + a*y" is fmaFast with
// fma32 as its rare fallback, written out so that the loop has no calls.
func sgdTensor(w, g, buf []float32, wd, mom, damp, lr float32, first, nesterov bool) {
	var ok bool
	for k, wk := range w {
		d := g[k]
		if wd != 0 {
			if d, ok = fmaFast(wk, wd, g[k]); !ok {
				d = fma32(wk, wd, g[k])
			}
		}
		if buf != nil {
			b := d
			if !first {
				old := float32(buf[k] * mom)
				if b, ok = fmaFast(d, damp, old); !ok {
					b = fma32(d, damp, old)
				}
			}
			buf[k] = b
			if !nesterov {
				d = b
			} else if dn, ok := fmaFast(b, mom, d); ok {
				d = dn
			} else {
				d = fma32(b, mom, d)
			}
		}
		if w[k], ok = fmaFast(d, lr, wk); !ok {
			w[k] = fma32(d, lr, wk)
		}
	}
}

// State returns the momentum buffer of parameter i (nil before the first step with
// momentum), for checkpoints and tests.
func (o *SGD) State(i int) []float32 {
	if o.bufs == nil || !o.start[i] {
		return nil
	}
	return o.bufs[i]
}

// isFinite reports whether x is neither NaN nor infinite.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
