package kernels

import "sync/atomic"

// kernelSet is one ISA level's kernels: the table of routines the operators call, chosen once
// per level rather than per call. At the SIMD levels the entries are the level's assembly (the
// *_amd64.s files, built by dispatch_amd64.go); at Generic they are the pure-Go twins, which
// have the assembly's names with Go for the instruction set, the same signatures and the same
// semantics (see doc.go). A level without a kernel for an entry uses the twin there too.
//
// The operators load the active set once per call (kern) and call through it: an indirect call
// per row, plane or micro-tile. The routines take slices cut to what they read (the bounds are
// checked by Go when they are cut) and compute every element they are given.
type kernelSet struct {
	isa  ISA
	gemm *gemmImpl // the SGEMM's blocking, micro-kernel and B-panel copy

	// Linear and the 1x1 convolutions of a 1x1 image: row dot products, four rows or one.
	gemv4, gemv1 func(w []float32, ld int, x, sums []float32)

	// Depthwise convolutions: whole planes (f32DWConv<k>x<k>s<s>), the copy of a channel into
	// its zero frame, and kernel rows over output rows (f32DWConvRow<k>s<s>).
	dwConv3x3s1, dwConv3x3s2, dwConv5x5s1, dwConv5x5s2              func(dst, src, w []float32, bias float32, rows, cols, ld, ldd int)
	copyPlane                                                       func(dst, src []float32, rows, cols, ldd int)
	dwConvRow3s1, dwConvRow3s2, dwConvRow5s1, dwConvRow5s2          func(dst, src, w []float32)
	wino4x4, wino2x2                                                winoXform                  // the Winograd transforms
	act                                                             [numActs]func(x []float32) // the epilogue activations, in place; nil for ActNone and ActClip
	vadd                                                            func(dst, a, b []float32)
	vmulAddC                                                        func(dst, src []float32, s, b float32)
	vmulChannels                                                    func(dst, src, s []float32, hw int)
	sgdMom, sgdNesterov                                             func(w, g, buf []float32, wd, mom, damp, lr float32) // SGDMomentum
	vgatherS2                                                       func(dst, src []float32)
	rsum                                                            func(x []float32) float32
	lrnSqAcc                                                        func(dst, src []float32)
	lrnNorm75                                                       func(dst, src []float32, k, scale float32)
	maxPoolV2                                                       func(dst, a, b []float32)
	maxPoolV3                                                       func(dst, a, b, c []float32)
	maxPoolH3s1, maxPoolH2s2, maxPoolH3s2                           func(dst, src []float32)
	avgPoolH2s1, avgPoolH3s1, avgPoolH5s1, avgPoolH2s2, avgPoolH3s2 func(dst, src, cols []float32, rows float32)

	// NCHW16c convolutions: the direct kernel (conv16c.go) and the depthwise one (dwconv16c.go).
	conv16c *conv16cImpl
	dw16c   dw16cImpl
	// NCHW16c pooling (pool16c.go) and per-channel arithmetic (eltwise16c.go).
	maxPool16c func(dst, src []float32, n, kh, kw, ldp, ldr int)
	avgPool16c func(dst, src []float32, n, kh, kw, ldp, ldr int, div float32)
	vmulAdd16c func(dst, src, s, b []float32)
	vmul16c    func(dst, src, s []float32)
	// Reorder's blocks (layout.go).
	toBlocked16c, fromBlocked16c func(dst, src []float32, c, hw int)
	lrnSqSum16c                  func(dst, prev, cur, next []float32, n, lo, size, np, nc, nn int)
	// The blocked Winograd transforms (winograd16c.go).
	winoIn16c  func(dst, src []float32, n, ldr, ldd int)
	winoOut16c func(dst, src []float32, n, ss, ldd int, flags uint, bias, res []float32)
	// Softmax's exp(x - max) (softmax.go), stored and summed (a block along the last axis) or
	// stored and added to per-pixel sums (a block along a middle one).
	raddStoreExpMinusMax func(dst, src []float32, m float32) float32
	vexpMinusMaxAcc      func(dst, src, m, acc []float32)
	// The direct weight gradient's block of shifted dot products (Conv.WeightGradDirect).
	wgradDot func(sums []float32, ld int, dy []float32, ldy int, x []float32, o0, o1, o2, o3, n int)
	// A 2x2 stride-2 max pooling's gradient, an output row at a time (maxBackward2x2).
	maxGrad2x2 func(dst0, dst1, g, r0, r1 []float32) int
	// nb 8 x 8 blocks transposed, ss and ds apart (transpose).
	transpose8 func(dst, src []float32, lds, ldd, nb, ss, ds int)
	// Batch norm's backward sum over a plane (BNBackward).
	dotDiff func(g, x []float32, m float32) float32
	// The sum of squares of whole blocks of 32 in float64 (SumSquares).
	sumSq32 func(x []float32) float64
	// The first maxima of 8 windows of a 3x3 stride-2 max pooling (maxBackward3x3s2).
	maxArg3x3s2 func(r0, r1, r2 []float32) uint64
	// A ReLU's gradient from its output (reluGrad).
	reluGrad func(dx, dy, y []float32)

	fmaPeak   func(n int) // PeakGFLOPS's loop
	peakFlops float64     // the flops of one fmaPeak iteration
}

// genericSet is the Generic level: the pure-Go twins.
var genericSet = kernelSet{
	isa:  Generic,
	gemm: &gemmImpl{gemmShape: gemmShapes[Generic], isa: Generic, tile: f32GemmEpi2x4Go, packRow: f32PackB4Go},

	gemv4: f32Gemv4Go,
	gemv1: f32Gemv1Go,

	dwConv3x3s1:  f32DWConv3x3s1Go,
	dwConv3x3s2:  f32DWConv3x3s2Go,
	dwConv5x5s1:  f32DWConv5x5s1Go,
	dwConv5x5s2:  f32DWConv5x5s2Go,
	copyPlane:    f32CopyPlaneGo,
	dwConvRow3s1: f32DWConvRow3s1Go,
	dwConvRow3s2: f32DWConvRow3s2Go,
	dwConvRow5s1: f32DWConvRow5s1Go,
	dwConvRow5s2: f32DWConvRow5s2Go,
	wino4x4:      winoXform{g: winoGroup, in: f32WinoIn4x4Go, out: f32WinoOutEpi4x4Go},
	wino2x2:      winoXform{g: winoGroup, in: f32WinoIn2x2Go, out: f32WinoOutEpi2x2Go},

	act: [numActs]func(x []float32){
		ActReLU:        f32VReLUGo,
		ActReLU6:       f32VReLU6Go,
		ActSigmoid:     f32VSigmoidGo,
		ActSiLU:        f32VSiLUGo,
		ActTanh:        f32VTanhGo,
		ActHardSigmoid: f32VHardSigmoidGo,
		ActHardSwish:   f32VHardSwishGo,
		ActGELU:        f32VGELUGo,
		ActGELUTanh:    f32VGELUTanhGo,
	},
	vadd:         f32VAddGo,
	vmulAddC:     f32VMulAddCGo,
	sgdMom:       f32SGDMomGo,
	sgdNesterov:  f32SGDNesterovGo,
	wgradDot:     f32WGradDot3x4Go,
	maxGrad2x2:   f32MaxGrad2x2Go,
	transpose8:   f32Transpose8x8Go,
	dotDiff:      f32DotDiffGo,
	sumSq32:      f32SumSq32Go,
	maxArg3x3s2:  f32MaxArg3x3s2Go,
	reluGrad:     f32ReLUGradGo,
	vmulChannels: f32VMulChannelsGo,
	vgatherS2:    f32VGatherS2Go,
	rsum:         f32RSumGo,
	lrnSqAcc:     f32LRNSqAccGo,
	lrnNorm75:    f32LRNNorm75Go,
	maxPoolV2:    f32MaxPoolV2Go,
	maxPoolV3:    f32MaxPoolV3Go,
	maxPoolH3s1:  f32MaxPoolH3s1Go,
	maxPoolH2s2:  f32MaxPoolH2s2Go,
	maxPoolH3s2:  f32MaxPoolH3s2Go,
	avgPoolH2s1:  f32AvgPoolH2s1Go,
	avgPoolH3s1:  f32AvgPoolH3s1Go,
	avgPoolH5s1:  f32AvgPoolH5s1Go,
	avgPoolH2s2:  f32AvgPoolH2s2Go,
	avgPoolH3s2:  f32AvgPoolH3s2Go,

	conv16c: &conv16cImpl{p: [5]int{0, 8, 8, 8, 8}, f: 4, tile: f32Conv16cEpi8x64Go},
	dw16c:   dw16cImpl{p: 8, tile: f32DWConv16cEpi8Go},

	maxPool16c: f32MaxPool16cGo,
	avgPool16c: f32AvgPool16cGo,
	vmulAdd16c: f32VMulAdd16cGo,
	vmul16c:    f32VMul16cGo,

	toBlocked16c:   f32ToBlocked16cGo,
	fromBlocked16c: f32FromBlocked16cGo,
	lrnSqSum16c:    f32LRNSqSum16cGo,
	winoIn16c:      f32WinoIn16cGo,
	winoOut16c:     f32WinoOutEpi16cGo,

	raddStoreExpMinusMax: f32RAddStoreExpMinusMaxGo,
	vexpMinusMaxAcc:      f32VExpMinusMaxAccGo,

	fmaPeak:   f32FMAPeakGo,
	peakFlops: 12 * 2,
}

var (
	// sets[isa] is the kernel set of each level this build has (simdSets: the assembly's on
	// amd64 without the purego tag), nil for the others.
	sets = buildSets()
	// active is the set the kernels use now: sets[startISA] from package initialization, then
	// what SetISA stores. Swapping one pointer changes the level of every kernel at once.
	active = newActive()
	// gemmTwins[isa] is the pure-Go twin of sets[isa].gemm, with its blocking and packed
	// layouts, for running weights packed for a level above the active one (after SetISA).
	gemmTwins = [numISA]*gemmImpl{
		Generic: genericSet.gemm,
		AVX2:    {gemmShape: gemmShapes[AVX2], isa: AVX2, tile: f32GemmEpi6x16Go, packRow: f32PackB16Go},
		AVX512:  {gemmShape: gemmShapes[AVX512], isa: AVX512, tile: f32GemmEpi14x32Go, packRow: f32PackB32Go},
	}
)

// conv16cTwins and dw16cTwins are the pure-Go twins of each level's blocked convolution kernels
// (their tiles), for TestKernelTwins and TestKernelNames: the kernels take the same packed
// weights at every level, so no level runs another's.
var (
	conv16cTwins = [numISA]*conv16cImpl{Generic: genericSet.conv16c, AVX2: {p: [5]int{0, 6}, f: 1, tile: f32Conv16cEpi6x16Go}, AVX512: {p: [5]int{0, 14, 12, 8, 6}, f: 4, tile: f32Conv16cEpi6x64Go}}
	dw16cTwins   = [numISA]dw16cImpl{Generic: genericSet.dw16c, AVX2: {p: 6, tile: f32DWConv16cEpi6Go}, AVX512: {p: 16, tile: f32DWConv16cEpi16Go}}
)

// newActive is active at package initialization (a variable initializer, not init, so that the
// other package variables, the tests' among them, can read the level).
func newActive() *atomic.Pointer[kernelSet] {
	p := new(atomic.Pointer[kernelSet])
	p.Store(sets[startISA])
	return p
}

func buildSets() [numISA]*kernelSet {
	s := simdSets()
	s[Generic] = &genericSet
	return s
}

// kern returns the active kernel set.
func kern() *kernelSet { return active.Load() }

// dwConvFor returns the whole-plane depthwise kernel for k x k kernels of stride s (3 or 5; 1
// or 2).
func (k *kernelSet) dwConvFor(kk, s int) func(dst, src, w []float32, bias float32, rows, cols, ld, ldd int) {
	switch {
	case kk == 3 && s == 1:
		return k.dwConv3x3s1
	case kk == 3 && s == 2:
		return k.dwConv3x3s2
	case kk == 5 && s == 1:
		return k.dwConv5x5s1
	case kk == 5 && s == 2:
		return k.dwConv5x5s2
	}
	panic("kernels: no whole-plane depthwise kernel for this shape")
}

// dwConvRowFor returns the depthwise row kernel for kw taps and stride s, or nil if there is
// none (the other widths and strides run tap by tap).
func (k *kernelSet) dwConvRowFor(kw, s int) func(dst, src, w []float32) {
	switch {
	case kw == 3 && s == 1:
		return k.dwConvRow3s1
	case kw == 3 && s == 2:
		return k.dwConvRow3s2
	case kw == 5 && s == 1:
		return k.dwConvRow5s1
	case kw == 5 && s == 2:
		return k.dwConvRow5s2
	}
	return nil
}

// maxPoolHFor returns the horizontal max-pool pass for windows of width kw and stride s, or nil
// if there is no kernel for them (maxPoolHGo then computes them).
func (k *kernelSet) maxPoolHFor(kw, s int) func(dst, src []float32) {
	switch {
	case kw == 3 && s == 1:
		return k.maxPoolH3s1
	case kw == 2 && s == 2:
		return k.maxPoolH2s2
	case kw == 3 && s == 2:
		return k.maxPoolH3s2
	}
	return nil
}

// avgPoolHFor returns the horizontal average-pool pass for windows of width kw and stride s, or
// nil if there is no kernel for them (avgPoolHGo then computes them).
func (k *kernelSet) avgPoolHFor(kw, s int) func(dst, src, cols []float32, rows float32) {
	switch {
	case kw == 2 && s == 1:
		return k.avgPoolH2s1
	case kw == 3 && s == 1:
		return k.avgPoolH3s1
	case kw == 5 && s == 1:
		return k.avgPoolH5s1
	case kw == 2 && s == 2:
		return k.avgPoolH2s2
	case kw == 3 && s == 2:
		return k.avgPoolH3s2
	}
	return nil
}
