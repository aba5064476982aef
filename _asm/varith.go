package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// varithSet is the f32varith group, element-wise arithmetic: Add's sum of two tensors
// (f32VAdd), Affine's x*s + b of a plane (f32VMulAddC), Mul's planes scaled by their channel's
// factor (f32VMulChannels), the stride-2 gather of im2col's packing (f32VGatherS2) and
// GlobalPool's sum of a plane (f32RSum).
func varithSet() {
	for _, l := range levels {
		vadd(l)
		vmulAddC(l)
		vmulChannels(l)
		vgatherS2(l)
		rsum(l)
	}
}

func vadd(l *level) {
	name := "f32VAdd" + l.name
	TEXT(name, NOSPLIT, "func(dst, a, b []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32VAddGo with %s: dst[i] = a[i] + b[i] for i < len(dst).", name, isaName(l)))
	d, a, b := in("dst"), in("a"), in("b")
	e := newEwise(l, name, d, a, b)
	e.loop(loadLen("dst"), 4, func(e *ewise) {
		v := e.load(a, 0)
		VADDPS(e.src(b, 0), v, v)
		e.store(d, 0, v)
	})
	VZEROUPPER()
	RET()
}

func vmulAddC(l *level) {
	name := "f32VMulAddC" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32, s, b float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32VMulAddCGo with %s: dst[i] = src[i]*s + b (one fused multiply-add) for", name, isaName(l)),
		"i < len(dst).")
	sv, bv := l.vec(), l.vec()
	VBROADCASTSS(scalarParam("s"), sv)
	VBROADCASTSS(scalarParam("b"), bv)
	d, src := in("dst"), in("src")
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 4, func(e *ewise) {
		v := l.vec()
		VMOVAPS(bv, v)
		VFMADD231PS(e.src(src, 0), sv, v)
		e.store(d, 0, v)
	})
	VZEROUPPER()
	RET()
}

// vmulChannels generates f32VMulChannels<level>: one call for all of Mul's planes, the last
// vector of each plane under a mask. EfficientNet's planes are 7x7 to 28x28, where a call per
// plane, with its tail in Go, cost as much as the multiplications.
func vmulChannels(l *level) {
	name := "f32VMulChannels" + l.name
	TEXT(name, NOSPLIT, "func(dst, src, s []float32, hw int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32VMulChannelsGo with %s: dst[ch*hw+i] = src[ch*hw+i]*s[ch] for", name, isaName(l)),
		"ch < len(s), i < hw.")
	dst, src, sp := loadBase("dst"), loadBase("src"), loadBase("s")
	c := loadLen("s")
	hw := Load(Param("hw"), GP64())
	TESTQ(c, c)
	JE(LabelRef(name + "_done"))
	TESTQ(hw, hw)
	JE(LabelRef(name + "_done"))
	mask := columnMask(l, hw)
	vectors := GP64()
	MOVQ(hw, vectors)
	ADDQ(U8(l.vl-1), vectors)
	SHRQ(U8(l.shift), vectors)
	SHLQ(U8(2), hw) // bytes of a plane
	d, q, n := GP64(), GP64(), GP64()
	f, x := l.vec(), l.vec()
	Label(name + "_plane")
	VBROADCASTSS(Mem{Base: sp}, f)
	MOVQ(dst, d)
	MOVQ(src, q)
	MOVQ(vectors, n)
	Label(name + "_vec")
	DECQ(n)
	JZ(LabelRef(name + "_last"))
	VMULPS(Mem{Base: q}, f, x)
	VMOVUPS(x, Mem{Base: d})
	ADDQ(U8(4*l.vl), q)
	ADDQ(U8(4*l.vl), d)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_last")
	l.maskedLoad(Mem{Base: q}, mask, x)
	VMULPS(x, f, x)
	l.maskedStore(x, mask, Mem{Base: d})
	ADDQ(hw, src)
	ADDQ(hw, dst)
	ADDQ(U8(4), sp)
	DECQ(c)
	JNZ(LabelRef(name + "_plane"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// columnMask returns the mask of the lanes of the last vector of a row of cols > 0 floats (cols
// a register, kept): K1 for AVX-512, a vector for AVX2.
func columnMask(l *level, cols Register) Op {
	rem := GP64()
	MOVQ(cols, rem)
	DECQ(rem)
	ANDQ(U8(l.vl-1), rem)
	INCQ(rem) // 1..vl
	e := l.vec()
	l.broadcastInt(rem.(GP), e)
	var m Op = K1
	if !l.avx512() {
		m = l.vec()
	}
	l.lanesBelow(e, 0, m)
	return m
}

// vgatherS2 generates f32VGatherS2<level>: VSHUFPS takes the even elements of two vectors,
// 64-bit pairs permuted; VPERMPD puts them back in order.
func vgatherS2(l *level) {
	name := "f32VGatherS2" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32VGatherS2Go with %s: dst[i] = src[2*i] for i < len(dst); src holds", name, isaName(l)),
		"2*len(dst)-1 values or more.")
	var idx Register
	if l.avx512() {
		idx = l.vec()
		VMOVUPS(unpermuteIdx(), idx)
	}
	d, src := in("dst"), &stream{param: "src", scale: 2, extra: -1}
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 2, func(e *ewise) {
		a, b := e.load(src, 0), e.load(src, l.vl)
		VSHUFPS(U8(0x88), b, a, a)
		l.unpermute(a, idx)
		e.store(d, 0, a)
	})
	VZEROUPPER()
	RET()
}

// rsum generates f32RSum<level>: two vector accumulators (even and odd vectors of the loop; the
// rest into the first), reduced as reduce does.
func rsum(l *level) {
	name := "f32RSum" + l.name
	TEXT(name, NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32RSumGo with %s: the sum of the elements of x, in %d partial sums.", name, isaName(l), 2*l.vl))
	acc := []VecVirtual{l.vec(), l.vec()}
	l.zero(acc[0])
	l.zero(acc[1])
	x := in("x")
	e := newEwise(l, name, x)
	e.loop(loadLen("x"), 2, func(e *ewise) {
		VADDPS(e.src(x, 0), acc[e.u], acc[e.u])
	})
	reduce(l, acc[0], acc[1])
	Store(acc[0].AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// reduce adds b into a and a's lanes into its lowest one, in a fixed order: halves of the
// vector onto each other, down to one lane.
func reduce(l *level, a, b VecVirtual) {
	t := l.vec()
	VADDPS(b, a, a)
	if l.avx512() {
		VEXTRACTF64X4(U8(1), a, t.AsY())
		VADDPS(t.AsY(), a.AsY(), a.AsY())
	}
	VEXTRACTF128(U8(1), a.AsY(), t.AsX())
	VADDPS(t.AsX(), a.AsX(), a.AsX())
	VMOVHLPS(a.AsX(), a.AsX(), t.AsX())
	VADDPS(t.AsX(), a.AsX(), a.AsX())
	VMOVSHDUP(a.AsX(), t.AsX())
	VADDSS(t.AsX(), a.AsX(), a.AsX())
}
