package interp

import "math"

// The optimizer's arithmetic, as torch 1.13 computes it in float64 (torch.optim.SGD's
// single-tensor path and torch.nn.utils.clip_grad_norm_), so that a training step's updated
// weights have a reference too.

// SGD is torch.optim.SGD's hyper-parameters.
type SGD struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
}

// Step updates one weight tensor w in place from its gradient g and returns its momentum buffer,
// buf on later steps (nil on the first, and always nil without momentum):
//
//	d = g + weight_decay*w
//	buf = d (first step), momentum*buf + (1-dampening)*d (later steps)
//	d = d + momentum*buf (nesterov) or buf
//	w = w - lr*d
//
// g is left unchanged.
func (o SGD) Step(w, g, buf []float64) []float64 {
	first := buf == nil && o.Momentum != 0
	if first {
		buf = make([]float64, len(g))
	}
	// Element by element, each in torch's order of operations: a network's largest tensor (VGG's
	// 103M weights) needs no temporary.
	for i, v := range g {
		d := v
		if o.WeightDecay != 0 {
			d += o.WeightDecay * w[i]
		}
		if o.Momentum != 0 {
			if first {
				buf[i] = d
			} else {
				buf[i] = o.Momentum*buf[i] + (1-o.Dampening)*d
			}
			if o.Nesterov {
				d += o.Momentum * buf[i]
			} else {
				d = buf[i]
			}
		}
		w[i] -= o.LR * d
	}
	return buf
}

// ClipGradNorm is clip_grad_norm_(parameters, maxNorm) with the 2-norm: it returns the total norm
// (the 2-norm of every tensor's 2-norm) before clipping and multiplies every gradient by
// min(1, maxNorm/(total+1e-6)), as torch does, even when that factor is 1.
func ClipGradNorm(grads [][]float64, maxNorm float64) float64 {
	ss := 0.0
	for _, g := range grads {
		n := Norm(g)
		ss += n * n
	}
	total := math.Sqrt(ss)
	coef := min(maxNorm/(total+1e-6), 1)
	for _, g := range grads {
		for i := range g {
			g[i] *= coef
		}
	}
	return total
}

// Norm is the 2-norm of v.
func Norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
