package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpDilatedMaxPool] = func(n *node) ([]float64, error) {
		return dilatedPool(n, ir.As[*ir.DilatedPoolAttrs](n.Node), false, false)
	}
	evals[ir.OpDilatedAvgPool] = func(n *node) ([]float64, error) {
		a := ir.As[*ir.DilatedAvgPoolAttrs](n.Node)
		return dilatedPool(n, &a.DilatedPoolAttrs, true, a.CountIncludePad)
	}
}

// dilatedPool is ONNX's MaxPool and AveragePool as ONNX Runtime computes them: the window of an
// output position reads the input positions start + j*dilation (j < kernel) inside the input;
// the maximum of them, or their sum divided by their number or, with inclPad, by the number of
// window positions before the end of the padding.
func dilatedPool(n *node, a *ir.DilatedPoolAttrs, avg, inclPad bool) ([]float64, error) {
	if err := needCHW(n); err != nil {
		return nil, err
	}
	C, H, W := n.in[0], n.in[1], n.in[2]
	OH := outLen(H, a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], a.CeilMode)
	OW := outLen(W, a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], a.CeilMode)
	if err := checkShape(n.Node, ir.Shape{C, OH, OW}); err != nil {
		return nil, err
	}
	x := n.x()
	out := make([]float64, n.batch*C*OH*OW)
	kh, kw, dh, dw := a.Kernel[0], a.Kernel[1], a.Dilation[0], a.Dilation[1]
	parallelFor(n.batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		for oy := range OH {
			ys := oy*a.Stride[0] - a.Pad[0]
			for ox := range OW {
				xs := ox*a.Stride[1] - a.Pad[1]
				m, sum, count := math.Inf(-1), 0.0, 0
				for i := range kh {
					y := ys + i*dh
					if y < 0 || y >= H {
						continue
					}
					for j := range kw {
						xx := xs + j*dw
						if xx < 0 || xx >= W {
							continue
						}
						v := src[y*W+xx]
						if v > m || math.IsNaN(v) {
							m = v
						}
						sum += v
						count++
					}
				}
				r := m
				if avg {
					div := count
					if inclPad {
						div = within(ys, kh, dh, H+a.Pad[2]) * within(xs, kw, dw, W+a.Pad[3])
					}
					r = sum / float64(div)
				}
				out[(t*OH+oy)*OW+ox] = r
			}
		}
	})
	return out, nil
}

// within counts the window positions start + j*d (j < k) before end.
func within(start, k, d, end int) int {
	c := 0
	for j := range k {
		if start+j*d < end {
			c++
		}
	}
	return c
}
