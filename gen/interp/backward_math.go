package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// Backward of the linear layer, the merges (add, mul, concat), the views and the other ops that
// only move, scale or normalize values: softmax, log-softmax, affine, pad.

func init() {
	trainEvals[ir.OpLinear] = func(c *fctx) ([]float64, any, error) {
		if len(c.in) != 1 {
			return nil, nil, nodeErr(c.Node, "needs a flat input, got %v", c.in)
		}
		a := ir.As[*ir.LinearAttrs](c.Node)
		if err := checkShape(c.Node, ir.Shape{a.Out}); err != nil {
			return nil, nil, err
		}
		var bias []float64
		if a.Bias {
			bias = c.ws[1]
		}
		return linear64(a, c.x(), c.in[0], c.ws[0], bias, c.batch), nil, nil
	}
	backwards[ir.OpLinear] = backwardLinear
	backwards[ir.OpAdd] = func(c *bctx) error {
		for _, dx := range c.dxs {
			for i, g := range c.dy {
				dx[i] += g
			}
		}
		return nil
	}
	backwards[ir.OpMul] = backwardMul
	backwards[ir.OpConcat] = func(c *bctx) error {
		// Per image, each input's values are a slice of the output's, one after another.
		off := 0
		for b := range c.batch {
			for j, x := range c.Inputs {
				size := x.Shape.Size()
				dx := c.dxs[j][b*size : (b+1)*size]
				for i, g := range c.dy[off : off+size] {
					dx[i] += g
				}
				off += size
			}
		}
		return nil
	}
	// Views and inference identities pass the gradient through unchanged.
	identity := func(c *bctx) error {
		dx := c.dx()
		for i, g := range c.dy {
			dx[i] += g
		}
		return nil
	}
	backwards[ir.OpFlatten] = identity
	backwards[ir.OpReshape] = identity
	backwards[ir.OpAffine] = func(c *bctx) error {
		a := ir.As[*ir.AffineAttrs](c.Node)
		C := c.in[0]
		plane := c.in.Size() / C
		dx := c.dx()
		for t := range c.batch * C {
			s := a.Scale[0]
			if len(a.Scale) > 1 {
				s = a.Scale[t%C]
			}
			for p := t * plane; p < (t+1)*plane; p++ {
				dx[p] += c.dy[p] * s
			}
		}
		return nil
	}
	backwards[ir.OpSoftmax] = func(c *bctx) error { return backwardSoftmax(c, false) }
	backwards[ir.OpLogSoftmax] = func(c *bctx) error { return backwardSoftmax(c, true) }
	backwards[ir.OpPad] = func(c *bctx) error {
		// The gradient of the values copied from the input; the constant border has none.
		p := ir.As[*ir.PadAttrs](c.Node).Pads
		C, H, W, OH, OW := c.in[0], c.in[1], c.in[2], c.Shape[1], c.Shape[2]
		dx := c.dx()
		for t := range c.batch * C {
			for r := range H {
				src := c.dy[t*OH*OW+(r+p[0])*OW+p[1]:][:W]
				dst := dx[t*H*W+r*W:][:W]
				for k, g := range src {
					dst[k] += g
				}
			}
		}
		return nil
	}
}

// linear64 is linear (math.go) with float64 weights.
func linear64(a *ir.LinearAttrs, x []float64, inF int, w, bias []float64, batch int) []float64 {
	outF := a.Out
	out := make([]float64, batch*outF)
	parallelFor(batch*outF, func(t int) {
		b, o := t/outF, t%outF
		src := x[b*inF : (b+1)*inF]
		sum := 0.0
		if a.TransW {
			for i, v := range src {
				sum += w[i*outF+o] * v
			}
		} else {
			for i, v := range w[o*inF : (o+1)*inF] {
				sum += v * src[i]
			}
		}
		sum *= a.Alpha
		if bias != nil {
			sum += a.Beta * bias[o]
		}
		out[t] = sum
	})
	return out
}

// backwardLinear: y = alpha*W x + beta*b gives dx = alpha*W^T dy, dW = alpha*dy x^T (summed over
// the batch; transposed when W is stored [in, out]) and db = beta*sum dy.
func backwardLinear(c *bctx) error {
	a := ir.As[*ir.LinearAttrs](c.Node)
	inF, outF := c.in[0], a.Out
	x, w, dx, dw := c.x(), c.ws[0], c.dx(), c.dws[0]
	// dx: tasks over chunks of input features, so that wide layers (VGG's 25088 inputs) spread
	// over the workers even for a batch of one.
	const chunk = 256
	chunks := (inF + chunk - 1) / chunk
	parallelFor(c.batch*chunks, func(t int) {
		b, i0 := t/chunks, t%chunks*chunk
		i1 := min(i0+chunk, inF)
		d := dx[b*inF+i0 : b*inF+i1]
		for o := range outF {
			g := a.Alpha * c.dy[b*outF+o]
			if g == 0 {
				continue
			}
			if a.TransW {
				for i := range d {
					d[i] += g * w[(i0+i)*outF+o]
				}
			} else {
				for i, v := range w[o*inF+i0 : o*inF+i1] {
					d[i] += g * v
				}
			}
		}
	})
	// dW: tasks over rows of the stored matrix.
	rows, cols := outF, inF
	if a.TransW {
		rows, cols = inF, outF
	}
	parallelFor(rows, func(r int) {
		d := dw[r*cols : (r+1)*cols]
		for b := range c.batch {
			xb, gb := x[b*inF:(b+1)*inF], c.dy[b*outF:(b+1)*outF]
			if a.TransW { // row r is input feature r: d[o] += alpha*dy[o]*x[r]
				xv := a.Alpha * xb[r]
				for o, g := range gb {
					d[o] += g * xv
				}
			} else { // row r is output r: d[i] += alpha*dy[r]*x[i]
				g := a.Alpha * gb[r]
				for i, v := range xb {
					d[i] += g * v
				}
			}
		}
	})
	if a.Bias {
		db := c.dws[1]
		for t, g := range c.dy {
			db[t%outF] += a.Beta * g
		}
	}
	return nil
}

// backwardMul: y = x*s gives dx = dy*s and ds = dy*x; a [C 1 1] s (a channel's scale, as in
// squeeze-and-excitation) gets the sum over its plane.
func backwardMul(c *bctx) error {
	x, s := c.xs[0], c.xs[1]
	dx, ds := c.dxs[0], c.dxs[1]
	if c.Inputs[1].Shape.Equal(c.in) {
		for i, g := range c.dy {
			dx[i] += g * s[i]
			ds[i] += g * x[i]
		}
		return nil
	}
	plane := c.in[1] * c.in[2]
	for t := range c.batch * c.in[0] {
		sum := 0.0
		for p := t * plane; p < (t+1)*plane; p++ {
			dx[p] += c.dy[p] * s[t]
			sum += c.dy[p] * x[p]
		}
		ds[t] += sum
	}
	return nil
}

// backwardSoftmax: for softmax dx = y*(dy - sum(dy*y)), for log-softmax dx = dy - exp(y)*sum(dy),
// the sums over each normalized block.
func backwardSoftmax(c *bctx, log bool) error {
	a := ir.As[*ir.SoftmaxAttrs](c.Node)
	end := a.End(len(c.in))
	outer, block, inner := c.in[:a.Axis].Size()*c.batch, c.in[a.Axis:end].Size(), c.in[end:].Size()
	dx := c.dx()
	for o := range outer {
		for j := range inner {
			base := o*block*inner + j
			s := 0.0
			for k := range block {
				i := base + k*inner
				if log {
					s += c.dy[i]
				} else {
					s += c.dy[i] * c.y[i]
				}
			}
			for k := range block {
				i := base + k*inner
				if log {
					dx[i] += c.dy[i] - math.Exp(c.y[i])*s
				} else {
					dx[i] += c.y[i] * (c.dy[i] - s)
				}
			}
		}
	}
	return nil
}
