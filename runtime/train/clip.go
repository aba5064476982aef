package train

import "math"

// ClipGradNorm is torch.nn.utils.clip_grad_norm_: it scales every trainable gradient by
// max_norm / (total_norm + 1e-6) when that is below 1, and returns the total norm (before
// clipping) of all gradients taken as one vector. normType is 2 for the L2 norm,
// math.Inf(1) for the largest magnitude, or any p > 0.
//
// Like torch, the total is the norm of the per-tensor norms, each rounded to float32; the
// coefficient is float32(1/(total+1e-6)) * max_norm (Python's max_norm / tensor is a
// reciprocal and a product), clamped to 1. Torch multiplies every gradient by it even when it
// is 1; x*1 is x for every float32 (zeros, infinities and NaNs included), so that pass is
// skipped, the common case of a norm under its bound costing one read of the gradients. The sums are float64 where torch reduces in float32, so the total can differ
// from torch's in its last bit. A non-finite total makes every gradient non-finite, as
// torch does without error_if_nonfinite.
func ClipGradNorm(ps *Params, maxNorm, normType float64) float32 {
	var total float64
	found := false
	if normType == 2 {
		if len(ps.norms) < len(ps.Params) {
			ps.norms = make([]float64, len(ps.Params))
		}
		ps.gradSquares(ps.norms)
	}
	for i, p := range ps.Params {
		if p.Frozen {
			continue
		}
		found = true
		var n float64
		if normType == 2 {
			n = float64(float32(math.Sqrt(ps.norms[i])))
		} else {
			n = float64(tensorNorm(p.Grad[:len(p.Value)], normType))
		}
		switch {
		case math.IsInf(normType, 1):
			total = math.Max(total, n)
		case normType == 2:
			total += n * n
		default:
			total += math.Pow(n, normType)
		}
	}
	if !found {
		return 0
	}
	switch {
	case math.IsInf(normType, 1):
	case normType == 2:
		total = math.Sqrt(total)
	default:
		total = math.Pow(total, 1/normType)
	}
	t := float32(total)
	coef := (1 / (t + 1e-6)) * float32(maxNorm)
	coef = min(coef, 1) // torch.clamp(max=1); like it, min keeps a NaN coefficient NaN
	if coef == 1 {
		return t
	}
	ps.plan()
	ps.scale.ps, ps.scale.coef[0] = ps, coef
	ps.run(&ps.scale)
	return t
}

// tensorNorm is torch.norm(g, p) for one tensor, rounded to float32.
func tensorNorm(g []float32, p float64) float32 {
	var s float64
	switch {
	case math.IsInf(p, 1):
		for _, v := range g {
			s = math.Max(s, math.Abs(float64(v)))
		}
		return float32(s)
	case p == 2:
		return float32(math.Sqrt(sumSquares(g)))
	}
	for _, v := range g {
		s += math.Pow(math.Abs(float64(v)), p)
	}
	return float32(math.Pow(s, 1/p))
}

// ClipGradValue is torch.nn.utils.clip_grad_value_: it clamps every trainable gradient to
// [-clip, clip] (NaN stays NaN, as torch.clamp leaves it).
func ClipGradValue(ps *Params, clip float64) {
	c := float32(clip)
	for _, p := range ps.Params {
		if p.Frozen {
			continue
		}
		g := p.Grad[:len(p.Value)]
		for k, v := range g {
			if v > c {
				g[k] = c
			} else if v < -c {
				g[k] = -c
			}
		}
	}
}
