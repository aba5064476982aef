package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// Backward of the poolings. Each walks the windows exactly as its forward in pool.go does: an
// average sends dy/divisor to every input value its window read; a maximum sends dy to the
// position torch's max_pool2d_with_indices records, the first maximum of the window in row-major
// order (a later equal value does not replace it; a NaN does, the last NaN winning), so that ties, common after a ReLU,
// go where torch sends them.

func init() {
	backwards[ir.OpMaxPool] = func(c *bctx) error {
		a := ir.As[*ir.PoolAttrs](c.Node)
		H, W, OH, OW := c.in[1], c.in[2], c.Shape[1], c.Shape[2]
		x, dx := c.x(), c.dx()
		parallelFor(c.batch*c.in[0], func(t int) {
			src, dst := x[t*H*W:(t+1)*H*W], dx[t*H*W:(t+1)*H*W]
			g := c.dy[t*OH*OW : (t+1)*OH*OW]
			for yo := range OH {
				y0 := yo*a.Stride[0] - a.Pad[0]
				y1 := min(y0+a.Kernel[0], H)
				y0 = max(y0, 0)
				for xo := range OW {
					x0 := xo*a.Stride[1] - a.Pad[1]
					x1 := min(x0+a.Kernel[1], W)
					x0 = max(x0, 0)
					at, m := -1, math.Inf(-1)
					for yi := y0; yi < y1; yi++ {
						for xi := x0; xi < x1; xi++ {
							if v := src[yi*W+xi]; v > m || math.IsNaN(v) || at < 0 {
								at, m = yi*W+xi, v
							}
						}
					}
					if at >= 0 {
						dst[at] += g[yo*OW+xo]
					}
				}
			}
		})
		return nil
	}
	backwards[ir.OpAvgPool] = func(c *bctx) error {
		a := ir.As[*ir.AvgPoolAttrs](c.Node)
		H, W, OH, OW := c.in[1], c.in[2], c.Shape[1], c.Shape[2]
		dx := c.dx()
		parallelFor(c.batch*c.in[0], func(t int) {
			dst := dx[t*H*W : (t+1)*H*W]
			g := c.dy[t*OH*OW : (t+1)*OH*OW]
			for yo := range OH {
				for xo := range OW {
					y0, y1, x0, x1, div := avgWindow(a, yo, xo, H, W)
					if div == 0 {
						continue // a window entirely in padding read nothing
					}
					v := g[yo*OW+xo] / float64(div)
					for yi := y0; yi < y1; yi++ {
						for xi := x0; xi < x1; xi++ {
							dst[yi*W+xi] += v
						}
					}
				}
			}
		})
		return nil
	}
	backwards[ir.OpAdaptiveAvgPool] = func(c *bctx) error {
		H, W, OH, OW := c.in[1], c.in[2], c.Shape[1], c.Shape[2]
		dx := c.dx()
		parallelFor(c.batch*c.in[0], func(t int) {
			dst := dx[t*H*W : (t+1)*H*W]
			g := c.dy[t*OH*OW : (t+1)*OH*OW]
			for yo := range OH {
				y0, y1 := yo*H/OH, ((yo+1)*H+OH-1)/OH
				for xo := range OW {
					x0, x1 := xo*W/OW, ((xo+1)*W+OW-1)/OW
					v := g[yo*OW+xo] / float64((y1-y0)*(x1-x0))
					for yi := y0; yi < y1; yi++ {
						for xi := x0; xi < x1; xi++ {
							dst[yi*W+xi] += v
						}
					}
				}
			}
		})
		return nil
	}
	backwards[ir.OpGlobalAvgPool] = func(c *bctx) error {
		plane := c.in[1] * c.in[2]
		dx := c.dx()
		for t, g := range c.dy {
			v := g / float64(plane)
			for p := t * plane; p < (t+1)*plane; p++ {
				dx[p] += v
			}
		}
		return nil
	}
	// Global max pooling is adaptive_max_pool2d(x, 1) in torch: the gradient goes to the first
	// maximum of the plane.
	backwards[ir.OpGlobalMaxPool] = func(c *bctx) error {
		plane := c.in[1] * c.in[2]
		x, dx := c.x(), c.dx()
		for t, g := range c.dy {
			at, m := t*plane, math.Inf(-1)
			for p := t * plane; p < (t+1)*plane; p++ {
				if x[p] > m || math.IsNaN(x[p]) {
					at, m = p, x[p]
				}
			}
			dx[at] += g
		}
		return nil
	}
}
