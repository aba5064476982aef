package interp

// The convolution passes as products of matrices, for filters of many weights. Per image and
// group, the input values each output position reads are gathered into a row of cols (im2col:
// P = OH*OW rows of K = CG*KH*KW values, zero where the filter lies on the padding); then
//
//	forward: out[o][p] = bias[o] + w[o] . cols[p]
//	weights: dw[o] += dy[o][p] * cols[p]               (over the batch and p)
//	input:   dcols[p] += dy[o][p] * w[o], then scattered back to the positions cols read
//
// Every inner loop runs along K, contiguously in both operands: on the small feature maps of the
// networks' deep layers (2x2 to 8x8 at the goldens' 64x64 inputs) the tap-by-tap loops of
// backward_conv.go spend their time on rows of two to eight values. The two ways compute the same
// sums in other orders; the finite-difference and torch checks cover both (colsMin splits them).

// colsMin is the filter size from which the passes go through im2col; smaller filters (depthwise
// convolutions, 1x1 over few channels) keep the tap loops, whose rows are then the longer loop.
// A variable so that the tests can run every case both ways (convPaths).
var colsMin = 32

func (g *convGeom) useCols() bool { return g.CG*g.KH*g.KW >= colsMin }

// im2col gathers group grp of image b of x into cols ([P][K], zeroed by the caller).
func (g *convGeom) im2col(cols, x []float64, b, grp int) {
	K, kk := g.CG*g.KH*g.KW, g.KH*g.KW
	for c := range g.CG {
		src := x[(b*g.C+grp*g.CG+c)*g.H*g.W:][:g.H*g.W]
		for _, tp := range g.taps {
			k := c*kk + tp.k
			for yo := tp.ylo; yo < tp.yhi; yo++ {
				srow := src[(yo*g.SH+tp.dy)*g.W:]
				for xo := tp.lo; xo < tp.hi; xo++ {
					cols[(yo*g.OW+xo)*K+k] = srow[xo*g.SW+tp.dx]
				}
			}
		}
	}
}

// col2im adds each value of cols to the input position it was gathered from (group grp of image b).
func (g *convGeom) col2im(dx, cols []float64, b, grp int) {
	K, kk := g.CG*g.KH*g.KW, g.KH*g.KW
	for c := range g.CG {
		dst := dx[(b*g.C+grp*g.CG+c)*g.H*g.W:][:g.H*g.W]
		for _, tp := range g.taps {
			k := c*kk + tp.k
			for yo := tp.ylo; yo < tp.yhi; yo++ {
				drow := dst[(yo*g.SH+tp.dy)*g.W:]
				for xo := tp.lo; xo < tp.hi; xo++ {
					drow[xo*g.SW+tp.dx] += cols[(yo*g.OW+xo)*K+k]
				}
			}
		}
	}
}

// allCols is im2col of every (image, group), indexed b*groups + grp.
func (g *convGeom) allCols(x []float64, batch int) [][]float64 {
	groups, P, K := g.C/g.CG, g.OH*g.OW, g.CG*g.KH*g.KW
	cols := make([][]float64, batch*groups)
	parallelFor(len(cols), func(t int) {
		cols[t] = make([]float64, P*K)
		g.im2col(cols[t], x, t/groups, t%groups)
	})
	return cols
}

func (g *convGeom) forwardCols(x, w, bias []float64, batch int) []float64 {
	cols := g.allCols(x, batch)
	groups, P, K := g.C/g.CG, g.OH*g.OW, g.CG*g.KH*g.KW
	out := make([]float64, batch*g.Out*P)
	parallelFor(batch*g.Out, func(t int) {
		b, o := t/g.Out, t%g.Out
		cb, wo := cols[b*groups+o/g.OG], w[o*K:(o+1)*K]
		b0 := 0.0
		if bias != nil {
			b0 = bias[o]
		}
		dst := out[t*P : (t+1)*P]
		for p := range dst {
			dst[p] = b0 + dot(wo, cb[p*K:], 1)
		}
	})
	return out
}

func (g *convGeom) backwardWeightCols(dw, x, dy []float64, batch int) {
	cols := g.allCols(x, batch)
	groups, P, K := g.C/g.CG, g.OH*g.OW, g.CG*g.KH*g.KW
	parallelFor(g.Out, func(o int) {
		d := dw[o*K : (o+1)*K]
		for b := range batch {
			cb := cols[b*groups+o/g.OG]
			for p, v := range dy[(b*g.Out+o)*P:][:P] {
				if v != 0 { // a ReLU's zeros: nothing to add
					gather(d, v, cb[p*K:], 1)
				}
			}
		}
	})
}

func (g *convGeom) backwardInputCols(dx, dy, w []float64, batch int) {
	groups, P, K := g.C/g.CG, g.OH*g.OW, g.CG*g.KH*g.KW
	parallelFor(batch*groups, func(t int) {
		b, grp := t/groups, t%groups
		dcols := make([]float64, P*K)
		for o := grp * g.OG; o < (grp+1)*g.OG; o++ {
			wo := w[o*K : (o+1)*K]
			for p, v := range dy[(b*g.Out+o)*P:][:P] {
				if v != 0 {
					gather(dcols[p*K:(p+1)*K], v, wo, 1)
				}
			}
		}
		g.col2im(dx, dcols, b, grp)
	})
}
