package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The element-wise arithmetic kernels (set "arith"): Add's sum of two tensors, ChannelAffine's
// x*scale + shift of a plane, MulChannel's planes scaled by their channel's factor, and the stride-2 gather of im2col's packing (the stems' 3x3 and
// 7x7 stride-2 convolutions), on whole vectors (n a positive multiple of the vector length); the
// Go wrappers compute the tails and run the activation on each chunk while it is in cache.
func arithSet() {
	arithEvenPerm = GLOBL("arithUnpermute512", RODATA|NOPTR)
	for i, v := range []uint64{0, 2, 4, 6, 1, 3, 5, 7} {
		DATA(8*i, U64(v))
	}
	for _, l := range []vecLevel{lvl512, lvl256} {
		arithAdd(l)
		arithAffine(l)
		arithEven(l)
		arithScaleCh(l)
	}
}

// arithScaleCh generates arithScaleCh<level>(dst, src, s *float32, c, hw int, mask *int32, kmask
// uint32): dst[ch*hw+i] = src[ch*hw+i]*s[ch] for ch < c, i < hw, the last vector of each plane
// through the mask (kmask for AVX-512, mask for AVX2, as dwconv's). One call for all of
// MulChannel's planes: EfficientNet's are 7x7 to 28x28, and a call per plane, with its tail in
// Go, cost as much as the multiplications.
func arithScaleCh(l vecLevel) {
	name := "arithScaleCh" + l.name
	TEXT(name, NOSPLIT, "func(dst, src, s *float32, c, hw int, mask *int32, kmask uint32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[ch*hw+i] = src[ch*hw+i]*s[ch] for ch < c, i < hw; kmask (AVX-512) or", name),
		"mask (AVX2) enables the columns of each plane's last vector.")
	r := l.regs
	mask := l.columnMask()
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	sp := Load(Param("s"), GP64())
	c := Load(Param("c"), GP64())
	hw := Load(Param("hw"), GP64())
	vectors := GP64()
	MOVQ(hw, vectors)
	ADDQ(U8(l.vl-1), vectors)
	SHRQ(U8(map[int]int{8: 3, 16: 4}[l.vl]), vectors)
	SHLQ(U8(2), hw) // bytes of a plane
	d, q, n := GP64(), GP64(), GP64()
	Label(name + "_plane")
	VBROADCASTSS(Mem{Base: sp}, r[9])
	MOVQ(dst, d)
	MOVQ(src, q)
	MOVQ(vectors, n)
	Label(name + "_vec")
	DECQ(n)
	JZ(LabelRef(name + "_last"))
	VMULPS(Mem{Base: q}, r[9], r[0])
	VMOVUPS(r[0], Mem{Base: d})
	ADDQ(U8(4*l.vl), q)
	ADDQ(U8(4*l.vl), d)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_last")
	if l.vl == 16 {
		VMOVUPS_Z(Mem{Base: q}, mask, r[0])
		VMULPS(r[0], r[9], r[0])
		VMOVUPS(r[0], mask, Mem{Base: d})
	} else {
		VMASKMOVPS(Mem{Base: q}, mask, r[0])
		VMULPS(r[0], r[9], r[0])
		VMASKMOVPS(r[0], mask, Mem{Base: d})
	}
	ADDQ(hw, src)
	ADDQ(hw, dst)
	ADDQ(U8(4), sp)
	DECQ(c)
	JNZ(LabelRef(name + "_plane"))
	VZEROUPPER()
	RET()
}

var arithEvenPerm Mem

// arithEven generates arithEven<level>(dst, src *float32, n int): dst[i] = src[2i], reading
// src[0:2n]. VSHUFPS takes the even elements of two vectors, 64-bit pairs permuted; VPERMPD puts
// them back in order.
func arithEven(l vecLevel) {
	name := "arithEven" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = src[2i] for i < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	r := l.regs
	if l.vl == 16 {
		VMOVUPS(arithEvenPerm, r[15])
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, r[0])
	VSHUFPS(U8(0x88), Mem{Base: src, Disp: 4 * l.vl}, r[0], r[0])
	if l.vl == 8 {
		VPERMPD(U8(0xD8), r[0], r[0])
	} else {
		VPERMPD(r[0], r[15], r[0])
	}
	VMOVUPS(r[0], Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U32(8*l.vl), src)
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// vecLoop emits a loop over the n floats from float index i = 0 (i and n registers): body(v, u)
// handles vector u of an iteration at i + u*vl with register set v; four vectors per iteration
// while they last, then one.
func vecLoop(name string, l vecLevel, i, n Register, body func(u int)) {
	XORQ(i, i)
	end := GP64()
	Label(name + "_loop4")
	LEAQ(Mem{Base: i, Disp: 4 * l.vl}, end)
	CMPQ(end, n)
	JG(LabelRef(name + "_one"))
	for u := range 4 {
		body(u)
	}
	ADDQ(U8(4*l.vl), i)
	JMP(LabelRef(name + "_loop4"))
	Label(name + "_one")
	CMPQ(i, n)
	JGE(LabelRef(name + "_done"))
	body(0)
	ADDQ(U8(l.vl), i)
	JMP(LabelRef(name + "_one"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// arithAdd generates arithAdd<level>(dst, a, b *float32, n int): dst[i] = a[i] + b[i].
func arithAdd(l vecLevel) {
	name := "arithAdd" + l.name
	TEXT(name, NOSPLIT, "func(dst, a, b *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = a[i] + b[i] for i < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	i := GP64()
	r := l.regs
	vecLoop(name, l, i, n, func(u int) {
		VMOVUPS(Mem{Base: a, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[u])
		VADDPS(Mem{Base: b, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[u], r[u])
		VMOVUPS(r[u], Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u})
	})
}

// arithAffine generates arithAffine<level>(dst, src *float32, s, b float32, n int):
// dst[i] = src[i]*s + b, one fused multiply-add.
func arithAffine(l vecLevel) {
	name := "arithAffine" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, s, b float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = src[i]*s + b (fused) for i < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	r := l.regs
	VBROADCASTSS(NewParamAddr("s", 16), r[8])
	VBROADCASTSS(NewParamAddr("b", 20), r[9])
	n := Load(Param("n"), GP64())
	i := GP64()
	vecLoop(name, l, i, n, func(u int) {
		VMOVAPS(r[9], r[u])
		VFMADD231PS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[8], r[u])
		VMOVUPS(r[u], Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u})
	})
}
