package kernels

import "fmt"

// A GEMM convolution whose parts split output channels (rows) would have every part pack the
// whole of B (the input, or its im2col columns) for itself: in the 7x7 and 14x14 layers, where
// K is large, that duplicated packing was most of what splitting cost. Instead the parts first
// pack B once between them into a shared buffer (PackShared), then each computes its rows from
// it (RunPartShared): two splits, the first's end being the barrier.

// SharedLen is the length of the shared buffer that PackShared and RunPartShared need for parts
// parts of c with weights w, or 0 when such a split would not share its packing (then RunPart is
// the way to split c).
func (c *Conv) SharedLen(w *ConvWeights, parts int) int {
	if parts < 2 || c.Groups != 1 || (w.algo != algoIm2col && w.algo != algoGemm1x1) {
		return 0
	}
	im := runImpl(w.isa)
	// With a few column panels (at most 3 a part: the 7x7 layers) packing B is cheap next to
	// streaming the weights, and reading the half of B the other part packed cost more than it
	// saved; sharing the 14x14 layers' packing took ResNet-50 on 2 threads from ~39.5 to ~37.5 ms
	// (commit edf8756).
	if !c.splitRows(im, parts) || c.OutH*c.OutW <= 3*im.nr {
		return 0
	}
	return c.InC * c.KH * c.KW * roundUp(c.OutH*c.OutW, im.nr)
}

// PackShared packs part part of B into shared (at least SharedLen values): its share of the
// KC x NC blocks that gemmEp would pack one after the other.
func (c *Conv) PackShared(part, parts int, in []float32, w *ConvWeights, shared []float32) {
	if w == nil || w.conv != *c {
		panic(errConvMismatch)
	}
	n, k := c.SharedLen(w, parts), c.InC*c.KH*c.KW
	if n == 0 || len(shared) < n || len(in) < c.InC*c.InH*c.InW {
		panic(fmt.Sprintf("kernels: Conv.PackShared: %d parts of %v: shared %d of %d, input %d", parts, *c, len(shared), n, len(in)))
	}
	im := runImpl(w.isa)
	cols := c.OutH * c.OutW
	npad := roundUp(cols, im.nr)
	gb := c.gemmB(w, in, 0)
	kb, nb := (k+im.kc-1)/im.kc, (cols+im.nc-1)/im.nc
	for blk := part * kb * nb / parts; blk < (part+1)*kb*nb/parts; blk++ {
		pc, jc := blk/nb*im.kc, blk%nb*im.nc
		kcb, ncb := min(im.kc, k-pc), min(im.nc, cols-jc)
		gb.pack(im, shared[pc*npad+kcb*jc:], pc, kcb, jc, ncb)
	}
}

// RunPartShared computes part part of Run, as RunPart does, from B packed whole in shared by
// PackShared's parts: the same values and operations, so the results are Run's bit for bit.
func (c *Conv) RunPartShared(part, parts int, out, in []float32, w *ConvWeights, residual, shared []float32) {
	in, out, residual = c.checkRun(part, parts, in, out, w, residual, nil)
	if n := c.SharedLen(w, parts); n == 0 || len(shared) < n {
		panic(fmt.Sprintf("kernels: Conv.RunPartShared: %d parts of %v: shared %d of %d", parts, *c, len(shared), n))
	}
	c.runGEMM(part, parts, in, out, w, residual, nil, shared)
}
