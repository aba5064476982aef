package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The channel-wise kernels (set "eltwise"): a plane scaled by a constant (squeeze-and-excitation)
// and a plane's sum (global average pooling), on whole double vectors (n a positive multiple of
// two vectors); the Go wrappers compute the tails.
func eltwiseSet() {
	for _, l := range []vecLevel{lvl512, lvl256} {
		eltScale(l)
		eltSum(l)
	}
}

// eltScale generates eltScale<level>(dst, src *float32, s float32, n int): dst[i] = src[i]*s.
func eltScale(l vecLevel) {
	name := "eltScale" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, s float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = src[i]*s for i < n (a multiple of %d).", name, 2*l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	r := l.regs
	VBROADCASTSS(NewParamAddr("s", 16), r[2])
	n := Load(Param("n"), GP64())
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	for v := range 2 {
		VMULPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * l.vl * v}, r[2], r[v])
	}
	for v := range 2 {
		VMOVUPS(r[v], Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * v})
	}
	ADDQ(U8(2*l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// eltSum generates eltSum<level>(src *float32, n int) float32: the sum of src[0:n], in two
// vector accumulators (even and odd vectors) reduced as gemv reduces.
func eltSum(l vecLevel) {
	name := "eltSum" + l.name
	TEXT(name, NOSPLIT, "func(src *float32, n int) float32")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s returns the sum of src[0:n] (n a multiple of %d).", name, 2*l.vl))
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	r := l.regs
	l.zero(r[0])
	l.zero(r[1])
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	for v := range 2 {
		VADDPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * l.vl * v}, r[v], r[v])
	}
	ADDQ(U8(2*l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	reduce(l, r[0], r[1], r[10])
	VMOVSS(r[0].AsX(), NewParamAddr("ret", 16))
	VZEROUPPER()
	RET()
}

// reduce adds b into a and a's elements into its lowest one, through tmp, in a fixed order.
func reduce(l vecLevel, a, b, tmp VecPhysical) {
	VADDPS(b, a, a)
	if l.vl == 16 {
		VEXTRACTF64X4(U8(1), a, tmp.AsY())
		VADDPS(tmp.AsY(), a.AsY(), a.AsY())
	}
	VEXTRACTF128(U8(1), a.AsY(), tmp.AsX())
	VADDPS(tmp.AsX(), a.AsX(), a.AsX())
	VMOVHLPS(a.AsX(), a.AsX(), tmp.AsX())
	VADDPS(tmp.AsX(), a.AsX(), a.AsX())
	VMOVSHDUP(a.AsX(), tmp.AsX())
	VADDSS(tmp.AsX(), a.AsX(), a.AsX())
}
