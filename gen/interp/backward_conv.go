package interp

import "github.com/cnngen/cnngen/gen/ir"

// Convolution in training: the forward pass again, with float64 weights (so that tests can
// perturb them by less than a float32 ulp), and its backward. The three passes walk the same list
// of taps, each with the output rows and columns that read inside the input (conv.go's
// validRange: padding, stride and dilation), so they share their index arithmetic; filters of
// many weights go through im2col instead (backward_im2col.go), on the same taps.

func init() {
	trainEvals[ir.OpConv] = func(c *fctx) ([]float64, any, error) {
		if len(c.in) != 3 {
			return nil, nil, nodeErr(c.Node, "needs a [C H W] input, got %v", c.in)
		}
		a := ir.As[*ir.ConvAttrs](c.Node)
		if a.Groups <= 0 || c.in[0]%a.Groups != 0 || a.Out%a.Groups != 0 {
			return nil, nil, nodeErr(c.Node, "groups %d must divide %d input and %d output channels", a.Groups, c.in[0], a.Out)
		}
		g := newConvGeom(a, c.in)
		if err := checkShape(c.Node, ir.Shape{a.Out, g.OH, g.OW}); err != nil {
			return nil, nil, err
		}
		var bias []float64
		if a.Bias {
			bias = c.ws[1]
		}
		if g.useCols() {
			return g.forwardCols(c.x(), c.ws[0], bias, c.batch), nil, nil
		}
		return g.forward(c.x(), c.ws[0], bias, c.batch), nil, nil
	}
	backwards[ir.OpConv] = func(c *bctx) error {
		a := ir.As[*ir.ConvAttrs](c.Node)
		g := newConvGeom(a, c.in)
		if g.useCols() {
			g.backwardInputCols(c.dx(), c.dy, c.ws[0], c.batch)
			g.backwardWeightCols(c.dws[0], c.x(), c.dy, c.batch)
		} else {
			g.backwardInput(c.dx(), c.dy, c.ws[0], c.batch)
			g.backwardWeight(c.dws[0], c.x(), c.dy, c.batch)
		}
		if a.Bias {
			plane := g.OH * g.OW
			db := c.dws[1]
			for t := range c.batch * a.Out {
				s := 0.0
				for _, v := range c.dy[t*plane : (t+1)*plane] {
					s += v
				}
				db[t%a.Out] += s
			}
		}
		return nil
	}
}

// convGeom is a convolution's shape: out[b,o,y,x] reads in[b, g*CG+c, y*SH-PT+i*DH, x*SW-PL+j*DW]
// with weight w[o,c,i,j], o in group g.
type convGeom struct {
	C, H, W, OH, OW, Out int
	CG, OG               int // input and output channels per group
	KH, KW, SH, SW       int
	taps                 []tap
}

// tap is one kernel position (i, j) that reads inside the input for some output position: the
// output rows [ylo, yhi) and columns [lo, hi) that do, and where they read: output (yo, xo) reads
// input row yo*SH + dy, column xo*SW + dx.
type tap struct {
	k                        int // i*KW + j, the tap's index in a filter
	ylo, yhi, lo, hi, dy, dx int
	// run: the tap's rows are one contiguous run in both planes (1x1 convolutions and the middle
	// column of others, at stride 1, where a whole output row reads a whole input row), so the
	// passes treat them as one long row.
	run bool
}

func newConvGeom(a *ir.ConvAttrs, in ir.Shape) convGeom {
	g := convGeom{
		C: in[0], H: in[1], W: in[2], Out: a.Out,
		OH: outLen(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], false),
		OW: outLen(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], false),
		CG: in[0] / a.Groups, OG: a.Out / a.Groups,
		KH: a.Kernel[0], KW: a.Kernel[1], SH: a.Stride[0], SW: a.Stride[1],
	}
	// The taps, found once (validRange is conv.go's): every pass below walks them for each pair
	// of channels.
	for i := range g.KH {
		dy := i*a.Dilation[0] - a.Pad[0]
		ylo, yhi := validRange(g.OH, g.H, g.SH, dy)
		for j := range g.KW {
			dx := j*a.Dilation[1] - a.Pad[1]
			lo, hi := validRange(g.OW, g.W, g.SW, dx)
			if ylo < yhi && lo < hi {
				run := g.SH == 1 && g.SW == 1 && dx == 0 && g.OW == g.W
				g.taps = append(g.taps, tap{k: i*g.KW + j, ylo: ylo, yhi: yhi, lo: lo, hi: hi, dy: dy, dx: dx, run: run})
			}
		}
	}
	return g
}

// forward is nn.Conv2d in float64, one task per (image, output channel).
func (g *convGeom) forward(x, w, bias []float64, batch int) []float64 {
	plane, inPlane, kk := g.OH*g.OW, g.H*g.W, g.KH*g.KW
	out := make([]float64, batch*g.Out*plane)
	parallelFor(batch*g.Out, func(t int) {
		b, o := t/g.Out, t%g.Out
		dst := out[t*plane : (t+1)*plane]
		if bias != nil {
			for k := range dst {
				dst[k] = bias[o]
			}
		}
		c0 := o / g.OG * g.CG
		for c := range g.CG {
			src := x[(b*g.C+c0+c)*inPlane:][:inPlane]
			wo := w[(o*g.CG+c)*kk:][:kk]
			for _, tp := range g.taps {
				wv := wo[tp.k]
				if tp.run {
					gather(dst[tp.ylo*g.OW:tp.yhi*g.OW], wv, src[(tp.ylo+tp.dy)*g.W:], 1)
					continue
				}
				for yo := tp.ylo; yo < tp.yhi; yo++ {
					srow := src[(yo*g.SH+tp.dy)*g.W+tp.lo*g.SW+tp.dx:]
					gather(dst[yo*g.OW+tp.lo:yo*g.OW+tp.hi], wv, srow, g.SW)
				}
			}
		}
	})
	return out
}

// backwardInput adds dL/dx to dx: every input position gets, from each output position that read
// it, the tap's weight times the output's gradient. One task per (image, input channel), so
// tasks write disjoint planes.
func (g *convGeom) backwardInput(dx, dy, w []float64, batch int) {
	plane, inPlane, kk := g.OH*g.OW, g.H*g.W, g.KH*g.KW
	parallelFor(batch*g.C, func(t int) {
		b, ci := t/g.C, t%g.C
		grp, c := ci/g.CG, ci%g.CG
		dst := dx[t*inPlane : (t+1)*inPlane]
		for o := grp * g.OG; o < (grp+1)*g.OG; o++ {
			src := dy[(b*g.Out+o)*plane:][:plane]
			wo := w[(o*g.CG+c)*kk:][:kk]
			for _, tp := range g.taps {
				wv := wo[tp.k]
				if tp.run {
					scatter(dst[(tp.ylo+tp.dy)*g.W:], wv, src[tp.ylo*g.OW:tp.yhi*g.OW], 1)
					continue
				}
				for yo := tp.ylo; yo < tp.yhi; yo++ {
					drow := dst[(yo*g.SH+tp.dy)*g.W+tp.lo*g.SW+tp.dx:]
					scatter(drow, wv, src[yo*g.OW+tp.lo:yo*g.OW+tp.hi], g.SW)
				}
			}
		}
	})
}

// backwardWeight adds dL/dw to dw: each tap's weight gets the sum over the batch and the output
// positions of the output's gradient times the input value the tap read. One task per output
// channel (its weights are disjoint from the others').
func (g *convGeom) backwardWeight(dw, x, dy []float64, batch int) {
	plane, inPlane, kk := g.OH*g.OW, g.H*g.W, g.KH*g.KW
	parallelFor(g.Out, func(o int) {
		c0 := o / g.OG * g.CG
		for b := range batch {
			src := dy[(b*g.Out+o)*plane:][:plane]
			for c := range g.CG {
				xin := x[(b*g.C+c0+c)*inPlane:][:inPlane]
				dwo := dw[(o*g.CG+c)*kk:][:kk]
				for _, tp := range g.taps {
					if tp.run {
						dwo[tp.k] += dot(src[tp.ylo*g.OW:tp.yhi*g.OW], xin[(tp.ylo+tp.dy)*g.W:], 1)
						continue
					}
					s := 0.0
					for yo := tp.ylo; yo < tp.yhi; yo++ {
						xrow := xin[(yo*g.SH+tp.dy)*g.W+tp.lo*g.SW+tp.dx:]
						s += dot(src[yo*g.OW+tp.lo:yo*g.OW+tp.hi], xrow, g.SW)
					}
					dwo[tp.k] += s
				}
			}
		}
	})
}

// The inner loops, with the unit stride (most convolutions) apart so that it runs without bounds
// checks.

// gather adds a*s[k*stride] to d[k].
func gather(d []float64, a float64, s []float64, stride int) {
	if stride == 1 {
		s = s[:len(d)]
		k := 0
		for ; k+4 <= len(d); k += 4 {
			d4, s4 := d[k:k+4:k+4], s[k:k+4:k+4]
			d4[0] += a * s4[0]
			d4[1] += a * s4[1]
			d4[2] += a * s4[2]
			d4[3] += a * s4[3]
		}
		for ; k < len(d); k++ {
			d[k] += a * s[k]
		}
		return
	}
	for k := range d {
		d[k] += a * s[k*stride]
	}
}

// scatter adds a*s[k] to d[k*stride].
func scatter(d []float64, a float64, s []float64, stride int) {
	if stride == 1 {
		d = d[:len(s)]
		for k, v := range s {
			d[k] += a * v
		}
		return
	}
	for k, v := range s {
		d[k*stride] += a * v
	}
}

// dot is the sum of g[k]*x[k*stride]; at unit stride in four partial sums (independent chains
// of additions run four times as fast as one).
func dot(g, x []float64, stride int) float64 {
	s := 0.0
	if stride == 1 {
		x = x[:len(g)]
		var s0, s1, s2, s3 float64
		k := 0
		for ; k+4 <= len(g); k += 4 {
			g4, x4 := g[k:k+4:k+4], x[k:k+4:k+4]
			s0 += g4[0] * x4[0]
			s1 += g4[1] * x4[1]
			s2 += g4[2] * x4[2]
			s3 += g4[3] * x4[3]
		}
		for ; k < len(g); k++ {
			s += g[k] * x[k]
		}
		return s + (s0 + s1) + (s2 + s3)
	}
	for k, v := range g {
		s += v * x[k*stride]
	}
	return s
}
