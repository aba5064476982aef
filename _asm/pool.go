package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The max-pooling kernels (set "pool"): the vertical and horizontal passes of a separable max
// pool. Every kernel handles whole vectors only (n a multiple of the vector length, n > 0); the
// Go wrappers in runtime/kernels compute the tails. The max propagates NaN as PyTorch does: any
// NaN among the values gives a NaN.

// vecLevel describes one SIMD level for the element-wise kernels: its name suffix, vector length
// in floats, registers, and the bitwise or of its width (VPORD for zmm: VORPS zmm needs AVX-512 DQ).
type vecLevel struct {
	name string
	vl   int
	regs []VecPhysical
	or   func(a, b, dst Op)
	zero func(v Op) // VXORPS zmm needs AVX-512 DQ too
}

// columnMask loads the mask of a row's last vector, as the Go wrappers pass it: kmask into K1
// (AVX-512), or the vector at mask into regs[8] (AVX2), which the caller must leave alone.
func (l vecLevel) columnMask() Op {
	if l.vl == 16 {
		KMOVW(Load(Param("kmask"), GP32()), K1)
		return K1
	}
	VMOVUPS(Mem{Base: Load(Param("mask"), GP64())}, l.regs[8])
	return l.regs[8]
}

var (
	lvl512 = vecLevel{"AVX512", 16, zmm, func(a, b, d Op) { VPORD(a, b, d) }, func(v Op) { VPXORD(v, v, v) }}
	lvl256 = vecLevel{"AVX2", 8, ymm, func(a, b, d Op) { VORPS(a, b, d) }, func(v Op) { VXORPS(v, v, v) }}
)

func poolSet() {
	unpermute512 = GLOBL("poolUnpermute512", RODATA|NOPTR)
	for i, v := range []uint64{0, 2, 4, 6, 1, 3, 5, 7} {
		DATA(8*i, U64(v))
	}
	for _, l := range []vecLevel{lvl512, lvl256} {
		poolMaxV(l, 2)
		poolMaxV(l, 3)
		poolMaxH3S1(l)
		poolMaxHS2(l, 2)
		poolMaxHS2(l, 3)
	}
}

// maxNaN sets dst = max(a, b), NaN if either is: VMAXPS returns its second source when either
// operand is NaN, so the two operand orders differ exactly when one is NaN, and or-ing them keeps
// the NaN (its exponent bits are all ones and its mantissa non-zero). tmp must differ from a, b.
func maxNaN(l vecLevel, a, b, dst, tmp VecPhysical) {
	VMAXPS(a, b, tmp)
	VMAXPS(b, a, dst)
	l.or(tmp, dst, dst)
}

// poolMaxV generates poolMaxV<rows><level>(dst, a, b[, c] *float32, n int): the element-wise max
// of rows rows of n floats.
func poolMaxV(l vecLevel, rows int) {
	name := fmt.Sprintf("poolMaxV%d%s", rows, l.name)
	sig := "func(dst, a, b *float32, n int)"
	params := []string{"a", "b"}
	if rows == 3 {
		sig = "func(dst, a, b, c *float32, n int)"
		params = append(params, "c")
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] to the max (NaN wins) of the %d rows at i, for i < n (a multiple of %d).", name, rows, l.vl))
	dst := Load(Param("dst"), GP64())
	var src []Register
	for _, p := range params {
		src = append(src, Load(Param(p), GP64()))
	}
	n := Load(Param("n"), GP64())
	i := GP64()
	XORQ(i, i)
	r := l.regs
	Label(name + "_loop")
	for k, s := range src {
		VMOVUPS(Mem{Base: s, Index: i, Scale: 4}, r[k])
	}
	maxNaN(l, r[0], r[1], r[4], r[5])
	if rows == 3 {
		maxNaN(l, r[4], r[2], r[4], r[5])
	}
	VMOVUPS(r[4], Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// poolMaxH3S1 generates poolMaxH3S1<level>(dst, src *float32, n int): dst[x] = max(src[x],
// src[x+1], src[x+2]) for x < n; it reads src[0:n+2].
func poolMaxH3S1(l vecLevel) {
	name := "poolMaxH3S1" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[x] to the max (NaN wins) of src[x:x+3], for x < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	i := GP64()
	XORQ(i, i)
	r := l.regs
	Label(name + "_loop")
	for k := range 3 {
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * k}, r[k])
	}
	maxNaN(l, r[0], r[1], r[4], r[5])
	maxNaN(l, r[4], r[2], r[4], r[5])
	VMOVUPS(r[4], Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// poolMaxHS2 generates poolMaxH<k>S2<level>(dst, src *float32, n int): dst[x] = max(src[2x:2x+k])
// for x < n; it reads src[0:2n] (k = 2) or src[0:2n+2] (k = 3).
//
// VSHUFPS splits two vectors of src into their even and odd elements within each 128-bit lane,
// so the maxima come out with their 64-bit pairs permuted; one VPERMPD per vector restores the
// order before the store.
func poolMaxHS2(l vecLevel, k int) {
	name := fmt.Sprintf("poolMaxH%dS2%s", k, l.name)
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[x] to the max (NaN wins) of src[2x:2x+%d], for x < n (a multiple of %d).", name, k, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	r := l.regs
	perm := r[8]
	if l.vl == 16 {
		VMOVUPS(unpermute512, perm)
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, r[0])
	VMOVUPS(Mem{Base: src, Disp: 4 * l.vl}, r[1])
	VSHUFPS(U8(0x88), r[1], r[0], r[2]) // evens
	VSHUFPS(U8(0xDD), r[1], r[0], r[3]) // odds
	maxNaN(l, r[2], r[3], r[4], r[5])
	if k == 3 {
		VMOVUPS(Mem{Base: src, Disp: 8}, r[0])
		VMOVUPS(Mem{Base: src, Disp: 8 + 4*l.vl}, r[1])
		VSHUFPS(U8(0x88), r[1], r[0], r[2]) // evens from 2x+2
		maxNaN(l, r[4], r[2], r[4], r[5])
	}
	unpermute(l, r[4], perm)
	VMOVUPS(r[4], Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U32(8*l.vl), src)
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// unpermute puts the 64-bit pairs of v, as VSHUFPS of two vectors leaves them (per 128-bit lane:
// the pair from the first vector, then the one from the second), back in order.
func unpermute(l vecLevel, v, perm VecPhysical) {
	if l.vl == 8 {
		VPERMPD(U8(0xD8), v, v)
		return
	}
	VPERMPD(v, perm, v)
}

// unpermute512 is the VPERMPD index for zmm: the pairs of the first vector (0, 2, 4, 6), then
// those of the second (1, 3, 5, 7).
var unpermute512 Mem
