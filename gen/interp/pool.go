package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpMaxPool] = func(n *node) ([]float64, error) {
		a := ir.As[*ir.PoolAttrs](n.Node)
		oh, ow, err := poolShape(n, a)
		if err != nil {
			return nil, err
		}
		return maxPool(a, n.x(), n.in, n.batch, oh, ow), nil
	}
	evals[ir.OpAvgPool] = func(n *node) ([]float64, error) {
		a := ir.As[*ir.AvgPoolAttrs](n.Node)
		oh, ow, err := poolShape(n, &a.PoolAttrs)
		if err != nil {
			return nil, err
		}
		return avgPool(a, n.x(), n.in, n.batch, oh, ow), nil
	}
	evals[ir.OpAdaptiveAvgPool] = func(n *node) ([]float64, error) {
		if err := needCHW(n); err != nil {
			return nil, err
		}
		o := ir.As[*ir.AdaptivePoolAttrs](n.Node).Out
		if err := checkShape(n.Node, ir.Shape{n.in[0], o[0], o[1]}); err != nil {
			return nil, err
		}
		return adaptiveAvgPool(n.x(), n.in, n.batch, o[0], o[1]), nil
	}
	evals[ir.OpGlobalAvgPool] = func(n *node) ([]float64, error) { return evalGlobalPool(n, false) }
	evals[ir.OpGlobalMaxPool] = func(n *node) ([]float64, error) { return evalGlobalPool(n, true) }
}

// poolShape computes a max or average pool's output size and checks it against inference.
func poolShape(n *node, a *ir.PoolAttrs) (oh, ow int, err error) {
	if err := needCHW(n); err != nil {
		return 0, 0, err
	}
	oh = outLen(n.in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], 1, a.CeilMode)
	ow = outLen(n.in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], 1, a.CeilMode)
	return oh, ow, checkShape(n.Node, ir.Shape{n.in[0], oh, ow})
}

func evalGlobalPool(n *node, isMax bool) ([]float64, error) {
	if err := needCHW(n); err != nil {
		return nil, err
	}
	if err := checkShape(n.Node, ir.Shape{n.in[0], 1, 1}); err != nil {
		return nil, err
	}
	return globalPool(n.x(), n.in, n.batch, isMax), nil
}

// maxPool is nn.MaxPool2d: the maximum over each window, padding counting as -inf; windows are
// clipped to the input (ceil_mode windows may run past it). NaN wins, as in PyTorch.
func maxPool(a *ir.PoolAttrs, x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			y0 := yo*a.Stride[0] - a.Pad[0]
			y1 := min(y0+a.Kernel[0], H)
			y0 = max(y0, 0)
			for xo := range OW {
				x0 := xo*a.Stride[1] - a.Pad[1]
				x1 := min(x0+a.Kernel[1], W)
				x0 = max(x0, 0)
				m := math.Inf(-1)
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						if v > m || math.IsNaN(v) {
							m = v
						}
					}
				}
				dst[yo*OW+xo] = m
			}
		}
	})
	return out
}

// avgPool is nn.AvgPool2d. With count_include_pad the divisor is the window's size after clipping
// its end to input+padding (so a ceil_mode window running past the padding counts only up to it);
// without, it is the number of input values in the window.
func avgPool(a *ir.AvgPoolAttrs, x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			for xo := range OW {
				y0, y1, x0, x1, div := avgWindow(a, yo, xo, H, W)
				if div == 0 {
					// A window entirely in padding: PyTorch writes 0. Shape inference and its
					// pad <= kernel/2 rule make this unreachable.
					dst[yo*OW+xo] = 0
					continue
				}
				sum := 0.0
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						sum += v
					}
				}
				dst[yo*OW+xo] = sum / float64(div)
			}
		}
	})
	return out
}

// avgWindow is output (yo, xo)'s window of an average pool over an H x W input: the input rows
// [y0, y1) and columns [x0, x1) it reads, and its divisor, 0 for a window entirely in padding.
func avgWindow(a *ir.AvgPoolAttrs, yo, xo, H, W int) (y0, y1, x0, x1, div int) {
	y0 = yo*a.Stride[0] - a.Pad[0]
	y1 = min(y0+a.Kernel[0], H+a.Pad[2])
	padH := y1 - y0
	y0, y1 = max(y0, 0), min(y1, H)
	x0 = xo*a.Stride[1] - a.Pad[1]
	x1 = min(x0+a.Kernel[1], W+a.Pad[3])
	padW := x1 - x0
	x0, x1 = max(x0, 0), min(x1, W)
	switch {
	case y0 >= y1 || x0 >= x1:
		return y0, y1, x0, x1, 0
	case a.CountIncludePad:
		return y0, y1, x0, x1, padH * padW
	}
	return y0, y1, x0, x1, (y1 - y0) * (x1 - x0)
}

// adaptiveAvgPool is nn.AdaptiveAvgPool2d: output cell i averages input [floor(i*in/out),
// ceil((i+1)*in/out)) along each axis.
func adaptiveAvgPool(x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			y0, y1 := yo*H/OH, ((yo+1)*H+OH-1)/OH
			for xo := range OW {
				x0, x1 := xo*W/OW, ((xo+1)*W+OW-1)/OW
				sum := 0.0
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						sum += v
					}
				}
				dst[yo*OW+xo] = sum / float64((y1-y0)*(x1-x0))
			}
		}
	})
	return out
}

// globalPool averages (or takes the maximum of) each channel plane.
func globalPool(x []float64, in ir.Shape, batch int, isMax bool) []float64 {
	plane := in[1] * in[2]
	out := make([]float64, batch*in[0])
	for t := range out {
		src := x[t*plane : (t+1)*plane]
		if isMax {
			m := math.Inf(-1)
			for _, v := range src {
				if v > m || math.IsNaN(v) {
					m = v
				}
			}
			out[t] = m
			continue
		}
		sum := 0.0
		for _, v := range src {
			sum += v
		}
		out[t] = sum / float64(plane)
	}
	return out
}
