package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The horizontal pass of the separable average pool (set "avgpool"): over a row of column sums
// (the vertical pass, framed by zeros), dst[x] = (src[s*x] + ... + src[s*x+k-1]) / (rows*cols[x]),
// the window's values added left to right and divided by its element count (rows*cols[x] is an
// exact product of small integers), as the Go twin does. n is a positive multiple of the vector
// length; the Go wrapper computes the tail.
func avgpoolSet() {
	avgUnpermute = GLOBL("avgUnpermute512", RODATA|NOPTR)
	for i, v := range []uint64{0, 2, 4, 6, 1, 3, 5, 7} {
		DATA(8*i, U64(v))
	}
	for _, l := range []vecLevel{lvl512, lvl256} {
		for _, k := range []int{2, 3, 5} {
			avgH(l, k, 1)
		}
		for _, k := range []int{2, 3} {
			avgH(l, k, 2)
		}
	}
}

var avgUnpermute Mem

// avgH generates avgH<k>S<s><level>(dst, src, cols *float32, rows float32, n int).
func avgH(l vecLevel, k, s int) {
	name := fmt.Sprintf("avgH%dS%d%s", k, s, l.name)
	TEXT(name, NOSPLIT, "func(dst, src, cols *float32, rows float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[x] = (src[%d*x] + ... + src[%d*x+%d]) / (rows*cols[x]) for x < n (a multiple of %d).", name, s, s, k-1, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	cols := Load(Param("cols"), GP64())
	r := l.regs
	VBROADCASTSS(NewParamAddr("rows", 24), r[15])
	n := Load(Param("n"), GP64())
	perm := r[14]
	if s == 2 && l.vl == 16 {
		VMOVUPS(avgUnpermute, perm)
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	acc := r[0]
	if s == 1 {
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, acc)
		for j := 1; j < k; j++ {
			VADDPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * j}, acc, acc)
		}
	} else {
		// Two vectors at offset 0 split into even (tap 0) and odd (tap 1) columns, and the evens
		// at offset 2 (tap 2), 64-bit pairs permuted; restored before the division.
		VMOVUPS(Mem{Base: src}, r[1])
		VMOVUPS(Mem{Base: src, Disp: 4 * l.vl}, r[2])
		VSHUFPS(U8(0x88), r[2], r[1], acc)
		VSHUFPS(U8(0xDD), r[2], r[1], r[3])
		VADDPS(r[3], acc, acc)
		if k == 3 {
			VMOVUPS(Mem{Base: src, Disp: 8}, r[1])
			VMOVUPS(Mem{Base: src, Disp: 8 + 4*l.vl}, r[2])
			VSHUFPS(U8(0x88), r[2], r[1], r[3])
			VADDPS(r[3], acc, acc)
		}
		if l.vl == 8 {
			VPERMPD(U8(0xD8), acc, acc)
		} else {
			VPERMPD(acc, perm, acc)
		}
		ADDQ(U32(8*l.vl), src)
	}
	VMULPS(Mem{Base: cols, Index: i, Scale: 4}, r[15], r[4])
	VDIVPS(r[4], acc, acc)
	VMOVUPS(acc, Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
