package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpLinear] = func(n *node) ([]float64, error) {
		if len(n.in) != 1 {
			return nil, nodeErr(n.Node, "needs a flat input, got %v", n.in)
		}
		a := ir.As[*ir.LinearAttrs](n.Node)
		if err := checkShape(n.Node, ir.Shape{a.Out}); err != nil {
			return nil, err
		}
		var bias []float32
		if a.Bias {
			bias = n.ws[1]
		}
		return linear(a, n.x(), n.in[0], n.ws[0], bias, n.batch), nil
	}
	weightSizes[ir.OpLinear] = func(n *ir.Node, in ir.Shape) []int {
		a := ir.As[*ir.LinearAttrs](n)
		s := []int{a.Out * in.Size()}
		if a.Bias {
			s = append(s, a.Out)
		}
		return s
	}
	evals[ir.OpAdd] = evalAdd
	evals[ir.OpMul] = func(n *node) ([]float64, error) {
		if len(n.xs) != 2 {
			return nil, nodeErr(n.Node, "needs 2 inputs, got %d", len(n.xs))
		}
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		return mul(n.Node, n.x(), n.in, n.xs[1], n.Inputs[1].Shape, n.batch)
	}
	evals[ir.OpSoftmax] = func(n *node) ([]float64, error) { return evalSoftmax(n, false) }
	evals[ir.OpLogSoftmax] = func(n *node) ([]float64, error) { return evalSoftmax(n, true) }
}

func evalAdd(n *node) ([]float64, error) {
	if len(n.xs) < 2 {
		return nil, nodeErr(n.Node, "needs at least 2 inputs, got %d", len(n.xs))
	}
	for _, y := range n.Inputs[1:] {
		if !y.Shape.Equal(n.in) {
			return nil, nodeErr(n.Node, "adds unequal shapes %v and %v", n.in, y.Shape)
		}
	}
	if err := checkShape(n.Node, n.in); err != nil {
		return nil, err
	}
	out := make([]float64, len(n.x()))
	copy(out, n.x())
	for _, y := range n.xs[1:] {
		for i := range out {
			out[i] += y[i]
		}
	}
	return out, nil
}

func evalSoftmax(n *node, log bool) ([]float64, error) {
	if err := checkShape(n.Node, n.in); err != nil {
		return nil, err
	}
	a := ir.As[*ir.SoftmaxAttrs](n.Node)
	end := a.AxisEnd
	if end == 0 {
		end = len(n.in)
	}
	if a.Axis < 0 || a.Axis >= end || end > len(n.in) {
		return nil, nodeErr(n.Node, "normalizes dims [%d, %d) of %v", a.Axis, end, n.in)
	}
	return softmax(n.x(), n.in, a.Axis, end, n.batch, log), nil
}

// linear is nn.Linear generalized to ONNX's Gemm: y[o] = alpha * sum_i W[o,i] x[i] + beta * bias[o],
// W stored [outF, inF], or [inF, outF] when TransW.
func linear(a *ir.LinearAttrs, x []float64, inF int, w, bias []float32, batch int) []float64 {
	outF := a.Out
	wAt := func(o, i int) float32 { return w[o*inF+i] }
	if a.TransW {
		wAt = func(o, i int) float32 { return w[i*outF+o] }
	}
	out := make([]float64, batch*outF)
	parallelFor(batch*outF, func(t int) {
		b, o := t/outF, t%outF
		src := x[b*inF : (b+1)*inF]
		sum := 0.0
		for i, v := range src {
			sum += float64(wAt(o, i)) * v
		}
		sum *= a.Alpha
		if bias != nil {
			sum += a.Beta * float64(bias[o])
		}
		out[t] = sum
	})
	return out
}

// softmax is exp(x_i - max) / sum_j exp(x_j - max) over the per-image dims [axis, end): for each
// of outer*inner positions, over block elements spaced inner apart. log gives log-softmax.
func softmax(x []float64, in ir.Shape, axis, end, batch int, log bool) []float64 {
	outer, block, inner := ir.Shape(in[:axis]).Size()*batch, ir.Shape(in[axis:end]).Size(), ir.Shape(in[end:]).Size()
	out := make([]float64, len(x))
	for o := range outer {
		for j := range inner {
			base := o*block*inner + j
			m := math.Inf(-1)
			for k := range block {
				m = max(m, x[base+k*inner])
			}
			sum := 0.0
			for k := range block {
				sum += math.Exp(x[base+k*inner] - m)
			}
			for k := range block {
				i := base + k*inner
				if log {
					out[i] = x[i] - m - math.Log(sum)
				} else {
					out[i] = math.Exp(x[i]-m) / sum
				}
			}
		}
	}
	return out
}

// mul multiplies elementwise, or scales each channel plane of x by s[c] when s is [C 1 1].
func mul(n *ir.Node, x []float64, in ir.Shape, s []float64, sShape ir.Shape, batch int) ([]float64, error) {
	out := make([]float64, len(x))
	switch {
	case sShape.Equal(in):
		for i := range out {
			out[i] = x[i] * s[i]
		}
	case len(in) == 3 && sShape.Equal(ir.Shape{in[0], 1, 1}):
		plane := in[1] * in[2]
		for t := range batch * in[0] {
			dst := out[t*plane : (t+1)*plane]
			for p, v := range x[t*plane : (t+1)*plane] {
				dst[p] = v * s[t]
			}
		}
	default:
		return nil, nodeErr(n, "multiplies %v by %v: want equal shapes or a [C 1 1] second input", in, sShape)
	}
	return out, nil
}
