package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpLRN] = func(n *node) ([]float64, error) {
		if err := needCHW(n); err != nil {
			return nil, err
		}
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		return lrn(ir.As[*ir.LRNAttrs](n.Node), n.x(), n.in, n.batch), nil
	}
	evals[ir.OpBatchNorm] = func(n *node) ([]float64, error) {
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		w := n.ws
		return batchNorm(n.x(), n.in, n.batch, w[0], w[1], w[2], w[3], ir.As[*ir.BatchNormAttrs](n.Node).Eps), nil
	}
	weightSizes[ir.OpBatchNorm] = func(_ *ir.Node, in ir.Shape) []int { return []int{in[0], in[0], in[0], in[0]} }
	evals[ir.OpAffine] = func(n *node) ([]float64, error) {
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		a, c := ir.As[*ir.AffineAttrs](n.Node), n.in[0]
		if len(a.Scale) != c && len(a.Scale) != 1 || len(a.Shift) != c && len(a.Shift) != 1 {
			return nil, nodeErr(n.Node, "needs 1 or %d scale and shift values, got %d and %d", c, len(a.Scale), len(a.Shift))
		}
		return affine(n.x(), n.in, n.batch, a.Scale, a.Shift), nil
	}
}

// lrn is nn.LocalResponseNorm / ONNX LRN: b_c = a_c / (k + alpha/size * sum a_c'^2)^beta with c'
// over [c - Lo, c - Lo + size - 1] clipped to the channels (PyTorch: Lo = size/2; ONNX:
// Lo = (size-1)/2).
func lrn(a *ir.LRNAttrs, x []float64, in ir.Shape, batch int) []float64 {
	C, plane := in[0], in[1]*in[2]
	out := make([]float64, len(x))
	parallelFor(batch*C, func(t int) {
		b, c := t/C, t%C
		lo, hi := max(0, c-a.Lo), min(C-1, c-a.Lo+a.Size-1)
		sum := make([]float64, plane)
		for cc := lo; cc <= hi; cc++ {
			for p, v := range x[(b*C+cc)*plane : (b*C+cc+1)*plane] {
				sum[p] += v * v
			}
		}
		src := x[t*plane : (t+1)*plane]
		dst := out[t*plane : (t+1)*plane]
		for p, v := range src {
			dst[p] = v / math.Pow(a.Bias+a.Alpha/float64(a.Size)*sum[p], a.Beta)
		}
	})
	return out
}

// batchNorm is inference-mode batch norm on [C H W] or [C]:
// (x - mean) / sqrt(var + eps) * gamma + beta per channel.
func batchNorm(x []float64, in ir.Shape, batch int, gamma, beta, mean, variance []float32, eps float64) []float64 {
	C := in[0]
	plane := in.Size() / C
	out := make([]float64, len(x))
	for t := range batch * C {
		c := t % C
		std := math.Sqrt(float64(variance[c]) + eps)
		m, gm, bt := float64(mean[c]), float64(gamma[c]), float64(beta[c])
		dst := out[t*plane : (t+1)*plane]
		for p, v := range x[t*plane : (t+1)*plane] {
			dst[p] = (v-m)/std*gm + bt
		}
	}
	return out
}

// affine is x[c] * scale[c] + shift[c] per channel; a single value applies to every channel.
func affine(x []float64, in ir.Shape, batch int, scale, shift []float64) []float64 {
	C := in[0]
	plane := in.Size() / C
	pick := func(v []float64, c int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[c]
	}
	out := make([]float64, len(x))
	for t := range batch * C {
		c := t % C
		sc, sh := pick(scale, c), pick(shift, c)
		dst := out[t*plane : (t+1)*plane]
		for p, v := range x[t*plane : (t+1)*plane] {
			dst[p] = v*sc + sh
		}
	}
	return out
}
