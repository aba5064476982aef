package train

import (
	"fmt"
	"math"
)

// AdamConfig holds torch.optim.Adam's and AdamW's arguments.
type AdamConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
	AMSGrad      bool
}

// AdamDefaults returns torch.optim.Adam's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// no weight decay.
func AdamDefaults() AdamConfig {
	return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// AdamWDefaults returns torch.optim.AdamW's defaults: Adam's, with weight decay 1e-2.
func AdamWDefaults() AdamConfig {
	c := AdamDefaults()
	c.WeightDecay = 1e-2
	return c
}

// Adam is torch.optim.Adam, or AdamW when decoupled (torch 1.13's single-tensor
// implementations, its default on the CPU). With t the step count from 1:
//
//	Adam:  g = grad + weight_decay*param           AdamW:  param = param * (1 - lr*weight_decay)
//	m = beta1*m + (1-beta1)*g
//	v = beta2*v + (1-beta2)*g*g
//	vmax = max(vmax, v), used for v                (AMSGrad)
//	denom = sqrt(v) / sqrt(1 - beta2^t) + eps       (eps outside the square root, after the
//	                                                 bias correction, as torch places it)
//	param = param - (lr / (1 - beta1^t)) * m / denom
//
// The bias corrections and step size are float64, as Python computes them; the tensor
// arithmetic is float32 with torch's roundings and fused multiply-adds.
type Adam struct {
	cfg       AdamConfig
	decoupled bool
	params    *Params
	m, v, max [][]float32
	// steps counts each tensor's updates, as torch's state["step"] does (a float32 tensor);
	// a tensor frozen for a while starts its bias correction when it starts training.
	steps []float32
}

// NewAdam returns torch.optim.Adam over ps's trainable parameters.
func NewAdam(ps *Params, cfg AdamConfig) (*Adam, error) { return newAdam(ps, cfg, false) }

// NewAdamW returns torch.optim.AdamW over ps's trainable parameters.
func NewAdamW(ps *Params, cfg AdamConfig) (*Adam, error) { return newAdam(ps, cfg, true) }

func newAdam(ps *Params, cfg AdamConfig, decoupled bool) (*Adam, error) {
	switch {
	case !(cfg.LR >= 0):
		return nil, fmt.Errorf("train: Adam: invalid learning rate %v", cfg.LR)
	case !(cfg.Eps >= 0):
		return nil, fmt.Errorf("train: Adam: invalid epsilon %v", cfg.Eps)
	case !(cfg.Beta1 >= 0 && cfg.Beta1 < 1):
		return nil, fmt.Errorf("train: Adam: invalid beta1 %v", cfg.Beta1)
	case !(cfg.Beta2 >= 0 && cfg.Beta2 < 1):
		return nil, fmt.Errorf("train: Adam: invalid beta2 %v", cfg.Beta2)
	case !(cfg.WeightDecay >= 0):
		return nil, fmt.Errorf("train: Adam: invalid weight decay %v", cfg.WeightDecay)
	}
	if err := ps.Check(); err != nil {
		return nil, err
	}
	o := &Adam{cfg: cfg, decoupled: decoupled, params: ps, steps: make([]float32, len(ps.Params))}
	alloc := func() [][]float32 {
		s := make([][]float32, len(ps.Params))
		for i, p := range ps.Params {
			if !p.Frozen {
				s[i] = make([]float32, len(p.Value))
			}
		}
		return s
	}
	o.m, o.v = alloc(), alloc()
	if cfg.AMSGrad {
		o.max = alloc()
	}
	return o, nil
}

func (o *Adam) LR() float64           { return o.cfg.LR }
func (o *Adam) SetLR(lr float64)      { o.cfg.LR = lr }
func (o *Adam) Momentum() float64     { return o.cfg.Beta1 }
func (o *Adam) SetMomentum(m float64) { o.cfg.Beta1 = m }

// Steps returns how many updates parameter i has had.
func (o *Adam) Steps(i int) int { return int(o.steps[i]) }

// State returns parameter i's first and second moment estimates, for checkpoints and tests.
func (o *Adam) State(i int) (m, v []float32) { return o.m[i], o.v[i] }

// Step applies one Adam or AdamW update.
func (o *Adam) Step() {
	c := o.cfg
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	a1, a2 := float32(1-c.Beta1), float32(1-c.Beta2)
	eps := float32(c.Eps)
	decay := float32(1 - float64(c.LR*c.WeightDecay)) // AdamW's factor, computed in float64 as Python does
	for i, p := range o.params.Params {
		if p.Frozen {
			continue
		}
		w := p.Value
		if o.m[i] == nil { // frozen when the optimizer was made: state on first use, as torch
			o.m[i], o.v[i] = make([]float32, len(w)), make([]float32, len(w))
			if c.AMSGrad {
				o.max[i] = make([]float32, len(w))
			}
		}
		g, m, v := p.Grad[:len(w)], o.m[i][:len(w)], o.v[i][:len(w)]
		var vmax []float32
		if c.AMSGrad {
			vmax = o.max[i][:len(w)]
		}
		wd := float32(0)
		if c.WeightDecay != 0 && !p.NoDecay {
			wd = float32(c.WeightDecay)
		}
		o.steps[i]++
		t := float64(o.steps[i])
		bc1 := 1 - math.Pow(c.Beta1, t)
		bc2 := 1 - math.Pow(c.Beta2, t)
		stepSize := float32(-(c.LR / bc1))
		bc2Sqrt := float32(math.Sqrt(bc2))
		adamTensor(w, g, m, v, vmax, wd, o.decoupled, decay, b1, b2, a1, a2, bc2Sqrt, eps, stepSize)
	}
}

// adamTensor updates one tensor; vmax is nil without AMSGrad. Each fused multiply-add is
// fmaFast with fma32 as its rare fallback, written out so that the loop has no calls.
func adamTensor(w, g, m, v, vmax []float32, wd float32, decoupled bool, decay, b1, b2, a1, a2, bc2Sqrt, eps, stepSize float32) {
	var ok bool
	for k := range w {
		gk := g[k]
		if wd != 0 {
			if decoupled {
				w[k] *= decay
			} else if gk, ok = fmaFast(w[k], wd, g[k]); !ok {
				gk = fma32(w[k], wd, g[k])
			}
		}
		mOld := float32(m[k] * b1)
		if m[k], ok = fmaFast(gk, a1, mOld); !ok {
			m[k] = fma32(gk, a1, mOld)
		}
		ag, vOld := float32(a2*gk), float32(v[k]*b2)
		if v[k], ok = fmaFast(ag, gk, vOld); !ok {
			v[k] = fma32(ag, gk, vOld)
		}
		vk := v[k]
		if vmax != nil {
			vmax[k] = max(vmax[k], vk)
			vk = vmax[k]
		}
		denom := float32(math.Sqrt(float64(vk)))/bc2Sqrt + eps
		w[k] += float32(stepSize*m[k]) / denom
	}
}
