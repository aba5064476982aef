package kernels

import (
	"errors"
	"fmt"
)

// Conv is one 2-D convolution of a single NCHW image: out = act(conv(in, w) + bias + residual),
// with PyTorch's nn.Conv2d semantics (zero padding, dilation, groups).
//
// Padding on the bottom and right is implied by OutH and OutW: the input is read as zero outside
// [0, InH) x [0, InW), so asymmetric padding (TensorFlow "same") is expressed by giving the larger
// output size.
type Conv struct {
	InC, InH, InW, OutC, OutH, OutW                          int
	KH, KW, StrideH, StrideW, PadT, PadL, DilH, DilW, Groups int
	Act                                                      Act
	// Layout is the layout of the input, the output and the residual (see Layout).
	Layout Layout
}

// convAlgo is how a Conv is computed; it follows from the shape alone.
type convAlgo uint8

const (
	algoIm2col    convAlgo = iota // im2col packed straight into the GEMM's B panels, per group
	algoGemm1x1                   // 1x1, stride 1, unpadded: GEMM on the input itself, per group
	algoDepthwise                 // Groups == InC == OutC: direct loop per channel
	algoWino4                     // 3x3 stride 1: Winograd F(4x4, 3x3) (winograd.go)
	algoWino2                     // 3x3 stride 1: Winograd F(2x2, 3x3)
	algoGemv                      // 1x1 kernel on a 1x1 image, one group: a Linear (squeeze-excitation)
	algoDirect                    // few channels, small planes (LeNet-5): whole-plane kernels per channel pair (direct.go)
	algoDirect16c                 // NCHW16c, one group: the direct blocked kernel (conv16c.go)
	algoDW16c                     // NCHW16c, depthwise: the blocked depthwise kernel (dwconv16c.go)
	algoWino16c                   // NCHW16c, 3x3 stride 1: Winograd F(4x4, 3x3) (winograd16c.go)
)

func (a convAlgo) String() string {
	return [...]string{"im2col", "gemm1x1", "depthwise", "winograd4x4", "winograd2x2", "gemv", "direct", "direct16c", "depthwise16c", "winograd16c"}[a]
}

func (c *Conv) algo() convAlgo {
	if c.Layout == NCHW16c {
		return c.algo16c()
	}
	switch {
	case c.Groups == c.InC && c.Groups == c.OutC:
		return algoDepthwise
	case c.Groups == 1 && c.KH == 1 && c.KW == 1 && c.InH == 1 && c.InW == 1 && c.OutH == 1 && c.OutW == 1 &&
		c.PadT == 0 && c.PadL == 0:
		// A GEMM with one column would pad its B panels to NR columns, wasting all but one.
		return algoGemv
	case c.KH == 1 && c.KW == 1 && c.StrideH == 1 && c.StrideW == 1 && c.PadT == 0 && c.PadL == 0 &&
		c.OutH == c.InH && c.OutW == c.InW:
		return algoGemm1x1
	case c.winoEligible():
		return c.winoAlgo()
	case c.directEligible():
		return algoDirect
	}
	return algoIm2col
}

// Validate reports whether the shape is consistent: positive sizes, groups dividing both channel
// counts, and output sizes that some bottom/right padding in [0, max(PadT, KH_eff-1)] (resp.
// PadL) gives with PyTorch's floor rule, where KH_eff = DilH*(KH-1)+1.
func (c *Conv) Validate() error {
	switch {
	case c.InC <= 0 || c.InH <= 0 || c.InW <= 0 || c.OutC <= 0 || c.OutH <= 0 || c.OutW <= 0:
		return fmt.Errorf("kernels: conv %v: sizes must be positive", *c)
	case c.KH <= 0 || c.KW <= 0 || c.StrideH <= 0 || c.StrideW <= 0 || c.DilH <= 0 || c.DilW <= 0:
		return fmt.Errorf("kernels: conv %v: kernel, stride and dilation must be positive", *c)
	case c.PadT < 0 || c.PadL < 0:
		return fmt.Errorf("kernels: conv %v: negative padding", *c)
	case c.Groups <= 0 || c.InC%c.Groups != 0 || c.OutC%c.Groups != 0:
		return fmt.Errorf("kernels: conv %v: groups %d must divide InC %d and OutC %d", *c, c.Groups, c.InC, c.OutC)
	case !c.Act.Epilogue():
		return fmt.Errorf("kernels: conv %v: activation %v cannot run in an epilogue", *c, c.Act)
	}
	if err := checkLayout("conv", c.Layout, true); err != nil {
		return err
	}
	if c.Layout == NCHW16c {
		if err := c.validate16c(); err != nil {
			return err
		}
	}
	if err := checkConvAxis("height", c.InH, c.OutH, c.KH, c.StrideH, c.PadT, c.DilH); err != nil {
		return fmt.Errorf("kernels: conv %v: %w", *c, err)
	}
	if err := checkConvAxis("width", c.InW, c.OutW, c.KW, c.StrideW, c.PadL, c.DilW); err != nil {
		return fmt.Errorf("kernels: conv %v: %w", *c, err)
	}
	return nil
}

// checkConvAxis checks that out = (in + pad + end - eff)/stride + 1 for some end padding in
// [0, max(pad, eff-1)].
func checkConvAxis(axis string, in, out, k, stride, pad, dil int) error {
	eff := dil*(k-1) + 1
	need := max(0, (out-1)*stride+eff-in-pad) // the least end padding giving out windows
	if need > max(pad, eff-1) {
		return fmt.Errorf("output %s %d needs end padding %d, more than max(pad %d, kernel extent %d - 1)", axis, out, need, pad, eff)
	}
	if got := (in+pad+need-eff)/stride + 1; got != out {
		return fmt.Errorf("output %s %d inconsistent with input %d, kernel extent %d, stride %d, pad %d (expected %d)",
			axis, out, in, eff, stride, pad, got)
	}
	return nil
}

// ConvWeights are a Conv's weights and bias packed for the kernel that will run it.
type ConvWeights struct {
	conv     Conv // the shape packed for; Run checks it
	algo     convAlgo
	isa      ISA            // the level whose panel layout w has (GEMM algorithms)
	w        []float32      // GEMM: per group, packA of the [OutC/G][InC/G*KH*KW] matrix; Winograd: per position, packA of U [OutC][InC]; depthwise: [C][KH*KW]
	groupLen int            // length of one group's packed matrix
	bias     []float32      // OutC
	lin      *LinearWeights // gemv: the weights as a Linear without activation
}

// Pack validates c and packs PyTorch's weights w [OutC, InC/Groups, KH, KW] and bias (length
// OutC, or nil for zeros) for the Active ISA level's kernel. The result does not alias w or bias.
func (c *Conv) Pack(w, bias []float32) (*ConvWeights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	k := cg * c.KH * c.KW
	if len(w) != c.OutC*k {
		return nil, fmt.Errorf("kernels: conv %v: weights have %d values, want %d", *c, len(w), c.OutC*k)
	}
	if bias != nil && len(bias) != c.OutC {
		return nil, fmt.Errorf("kernels: conv %v: bias has %d values, want %d", *c, len(bias), c.OutC)
	}
	cw := &ConvWeights{conv: *c, algo: c.algo(), bias: make([]float32, c.OutC)}
	copy(cw.bias, bias)
	if cw.algo == algoDirect16c || cw.algo == algoDW16c || cw.algo == algoWino16c {
		cw.pack16c(w, bias)
		return cw, nil
	}
	if cw.algo == algoDepthwise || cw.algo == algoDirect {
		cw.w = append([]float32(nil), w...)
		return cw, nil
	}
	if cw.algo == algoGemv {
		lin := c.linear()
		lw, err := lin.Pack(w, bias)
		if err != nil {
			return nil, err
		}
		cw.lin = lw
		return cw, nil
	}
	im := activeImpl()
	if cw.algo.wino() != nil {
		cw.packWinograd(im, w)
		return cw, nil
	}
	cw.isa = im.isa
	cw.groupLen = packedALen(im, og, k)
	cw.w = allocPacked(c.Groups * cw.groupLen)
	for g := range c.Groups {
		packA(im, cw.w[g*cw.groupLen:(g+1)*cw.groupLen], w[g*og*k:(g+1)*og*k], k, og, k)
	}
	return cw, nil
}

// ScratchLen is the number of float32s of scratch Run needs: the GEMM's packing panel for B (the
// input, or its im2col columns, KC rows x NC columns at most), or Winograd's transformed input
// and products of one tile block; for depthwise convolutions, the zero-padded input plane of
// runDepthwisePlane, or 0. It is the most any ISA level needs, the same in every build and on
// every machine.
func (c *Conv) ScratchLen() int {
	if c.Layout == NCHW16c {
		return c.scratch16c()
	}
	switch a := c.algo(); {
	case a == algoDepthwise:
		if hp, wp, ok := c.dwPlane(); ok {
			return hp*wp + dwPlaneSlack
		}
		return 0
	case a == algoGemv:
		return 0
	case a == algoDirect:
		return c.directScratchLen()
	case a.wino() != nil:
		return c.winoScratchLen(a.wino())
	}
	return maxPackBLen(c.InC/c.Groups*c.KH*c.KW, c.OutH*c.OutW)
}

// Algorithm names the algorithm Run uses for c: "gemm1x1", "im2col", "depthwise", "winograd4x4",
// "winograd2x2", "gemv" or "direct".
func (c *Conv) Algorithm() string { return c.algo().String() }

var errConvMismatch = errors.New("kernels: Conv.Run: weights were packed for a different Conv")

// Run computes the convolution of in ([InC][InH][InW]) into out ([OutC][OutH][OutW]) (the
// destination first, as in copy). residual is
// nil or [OutC][OutH][OutW], added before the activation; it may be out itself, and otherwise no
// slice may overlap another. scratch holds at least ScratchLen values. Run does not allocate.
// It panics if w was packed for another shape or a slice is too short.
func (c *Conv) Run(out, in []float32, w *ConvWeights, residual, scratch []float32) {
	c.RunPart(0, 1, out, in, w, residual, scratch)
}

// RunPart computes part part (0 <= part < parts) of Run: a disjoint share of the output (a range
// of output positions, for the GEMM algorithms, of tiles (and channels) for Winograd, or of
// channels, for depthwise), so that parts run concurrently, each with its own scratch of
// ScratchLen values, compute exactly what Run computes, bit for bit, whatever parts is. It does
// not allocate.
func (c *Conv) RunPart(part, parts int, out, in []float32, w *ConvWeights, residual, scratch []float32) {
	in, out, residual = c.checkRun(part, parts, in, out, w, residual, scratch)
	if c.Layout == NCHW16c {
		c.run16c(part, parts, in, out, w, residual, scratch)
		return
	}
	if w.algo == algoDepthwise {
		c.runDepthwise(part*c.OutC/parts, (part+1)*c.OutC/parts, in, out, w, residual, scratch)
		return
	}
	if w.algo == algoGemv {
		c.runGemv(part, parts, in, out, w, residual)
		return
	}
	if w.algo == algoDirect {
		c.runDirect(part*c.OutC/parts, (part+1)*c.OutC/parts, in, out, w, residual, scratch)
		return
	}
	if w.algo.wino() != nil {
		c.runWinograd(part, parts, in, out, w, residual, scratch)
		return
	}

	c.runGEMM(part, parts, in, out, w, residual, scratch, nil)
}

// checkRun panics unless w was packed for c, 0 <= part < parts and the slices are long enough
// (scratch only if not nil), and returns in, out and residual cut to their lengths.
func (c *Conv) checkRun(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) ([]float32, []float32, []float32) {
	if w == nil || w.conv != *c {
		panic(errConvMismatch)
	}
	if parts < 1 || part < 0 || part >= parts {
		panic(fmt.Sprintf("kernels: Conv.RunPart: part %d of %d", part, parts))
	}
	nIn, nOut := c.Layout.Len(c.InC, c.InH*c.InW), c.Layout.Len(c.OutC, c.OutH*c.OutW)
	if len(in) < nIn || len(out) < nOut || residual != nil && len(residual) < nOut || scratch != nil && len(scratch) < c.ScratchLen() {
		panic(fmt.Sprintf("kernels: Conv.Run: slice too short: in %d/%d out %d/%d residual %d/%d scratch %d/%d",
			len(in), nIn, len(out), nOut, len(residual), nOut, len(scratch), c.ScratchLen()))
	}
	if residual != nil {
		residual = residual[:nOut]
	}
	return in[:nIn], out[:nOut], residual
}

// runGEMM is RunPart for the GEMM algorithms; shared, if not nil, is B packed whole by
// PackShared (then in is not read).
func (c *Conv) runGEMM(part, parts int, in, out []float32, w *ConvWeights, residual, scratch, shared []float32) {
	// The kernel of the level w was packed for, or its Go twin if that level is above the active
	// one (after SetISA).
	im := runImpl(w.isa)
	n := c.OutH * c.OutW
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	// A part computes output positions [j0, j1) of output channels [i0, i1) of every group: whole
	// NR-column panels or whole MR-row panels, so that every output value is computed by the same
	// sequence of operations as with one part.
	i0, i1, j0, j1 := 0, og, 0, n
	if parts > 1 {
		if c.splitRows(im, parts) {
			mp := (og + im.mr - 1) / im.mr
			i0, i1 = min(og, part*mp/parts*im.mr), min(og, (part+1)*mp/parts*im.mr)
		} else {
			np := (n + im.nr - 1) / im.nr
			j0, j1 = min(n, part*np/parts*im.nr), min(n, (part+1)*np/parts*im.nr)
		}
	}
	if i0 >= i1 || j0 >= j1 {
		return
	}
	k := cg * c.KH * c.KW
	inPlane := c.InH * c.InW
	for g := range c.Groups {
		ga := gemmA{packed: w.w[g*w.groupLen : (g+1)*w.groupLen], mpad: roundUp(og, im.mr), row0: i0}
		gb := c.gemmB(w, in[g*cg*inPlane:(g+1)*cg*inPlane], j0)
		if shared != nil { // one group, all columns: see SharedLen
			gb = gemmB{pre: shared}
		}
		// The micro-kernels start from the bias and residual and apply ReLU(6) themselves, so
		// the output is written once, not pre-filled and then activated in passes of its own.
		o0 := (g*og+i0)*n + j0 // the part's first output value
		ep := epilogue{bias: w.bias[g*og+i0 : g*og+i1], act: c.Act}
		if residual != nil {
			ep.res = residual[o0 : (g*og+i1)*n]
		}
		gemmEp(im, i1-i0, j1-j0, k, &ga, &gb, out[o0:(g*og+i1)*n], n, scratch, &ep)
	}
}

// gemmB is the GEMM's right operand for one group's input planes gin, from output position j0
// on: the im2col matrix, or for gemm1x1 the input itself, a [cg][n] matrix.
func (c *Conv) gemmB(w *ConvWeights, gin []float32, j0 int) gemmB {
	if w.algo == algoGemm1x1 {
		return gemmB{b: gin[j0:], ldb: c.OutH * c.OutW}
	}
	return gemmB{b: gin, conv: c, col0: j0}
}

// splitRows reports whether parts of a GEMM convolution split its output channels (rows) rather
// than its output positions (columns): when the columns are too few to share out evenly (the
// 7x7 and 14x14 layers of ImageNet networks: fewer than 4 column panels a part) and the rows
// share out better, or when there is at most a column panel per part (7x7) and at least 2 row
// panels a part, where every column part would stream all the weights for a panel's work
// (ResNet-50, 2 threads: ~37 -> ~35 ms, commit 2966591). Each row part packs the whole B, which
// costs little next to a layer with that many rows (or they share it, see SharedLen).
func (c *Conv) splitRows(im *gemmImpl, parts int) bool {
	balance := func(panels int) float64 { // the share of the parts' time spent working
		return float64(panels) / float64(parts*((panels+parts-1)/parts))
	}
	np := (c.OutH*c.OutW + im.nr - 1) / im.nr
	mp := (c.OutC/c.Groups + im.mr - 1) / im.mr
	if np <= parts && mp >= 2*parts {
		return true
	}
	return balance(mp) > balance(np) && np < 4*parts
}

// validRange returns the output positions [lo, hi) of [0, out) with 0 <= x*stride+off < in.
func validRange(out, in, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := in - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	lo, hi = min(lo, out), min(hi, out)
	return lo, max(hi, lo)
}

// linear is the Linear that computes c when it runs as a GEMV: no activation, which runGemv
// applies after the residual.
func (c *Conv) linear() Linear { return Linear{In: c.InC, Out: c.OutC} }

// runGemv computes part part of a gemv Conv: output channels in blocks of 16 (the widest vector,
// so that a part's activation calls cover whole vectors as Run's do), and four rows a time in
// each (f32Gemv4: a row's sum does not depend on its neighbours), so that each output is computed
// by the same operations, activation included, whatever parts is. out = act((W in + bias) +
// residual).
func (c *Conv) runGemv(part, parts int, in, out []float32, w *ConvWeights, residual []float32) {
	blocks := (c.OutC + 15) / 16
	o0, o1 := min(c.OutC, part*blocks/parts*16), min(c.OutC, (part+1)*blocks/parts*16)
	if o0 >= o1 {
		return
	}
	if residual == nil {
		lin := c.linear()
		lin.RunRows(o0, o1, out, in, w.lin)
	} else {
		// RunRows's loop, adding the residual as each output is written (it may be out: its
		// values are read before the sums overwrite them).
		n := c.InC
		x := in[:n]
		k := kern()
		for o := o0; o < o1; {
			r := 4
			if o+4 > o1 {
				r = 1
			}
			var res [4]float32
			copy(res[:r], residual[o:o+r])
			if r == 4 {
				k.gemv4(w.lin.w[o*n:(o+4)*n], n, x, out[o:o+4])
			} else {
				k.gemv1(w.lin.w[o*n:(o+1)*n], n, x, out[o:o+1])
			}
			for i := range r {
				out[o+i] = (out[o+i] + w.lin.bias[o+i]) + res[i]
			}
			o += r
		}
	}
	apply(c.Act, out[o0:o1])
}
