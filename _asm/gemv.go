package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The matrix-vector kernels of Linear (set "gemv"): dot products of rows rows of W (leading
// dimension ld floats) with x over n columns, n a multiple of two vectors; the Go wrapper adds the
// tail columns. Each row has two accumulators (even and odd vectors) whatever rows is, and the
// same reduction, so a row's sum does not depend on which rows are computed with it: the Linear
// is exact whatever row ranges it is split into.
func gemvSet() {
	for _, l := range []vecLevel{lvl512, lvl256} {
		for _, rows := range []int{1, 4} {
			gemv(l, rows)
		}
	}
}

// gemv generates gemv<rows><level>(w *float32, ld int, x *float32, n int, sums *float32).
// Accumulators: row r in regs[2r], regs[2r+1]; x in regs[8], regs[9].
func gemv(l vecLevel, rows int) {
	name := fmt.Sprintf("gemv%d%s", rows, l.name)
	TEXT(name, NOSPLIT, "func(w *float32, ld int, x *float32, n int, sums *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets sums[r] to the dot product of row r of w (leading dimension ld) with x over n", name),
		fmt.Sprintf("columns, for r < %d; n is a positive multiple of %d.", rows, 2*l.vl))
	wp := Load(Param("w"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	r := l.regs
	ptrs := []Register{wp}
	for i := 1; i < rows; i++ {
		p := GP64()
		LEAQ(Mem{Base: ptrs[i-1], Index: ld, Scale: 1}, p)
		ptrs = append(ptrs, p)
	}
	for _, a := range r[:2*rows] {
		l.zero(a)
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, r[8])
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4, Disp: 4 * l.vl}, r[9])
	for k, p := range ptrs {
		VFMADD231PS(Mem{Base: p, Index: i, Scale: 4}, r[8], r[2*k])
		VFMADD231PS(Mem{Base: p, Index: i, Scale: 4, Disp: 4 * l.vl}, r[9], r[2*k+1])
	}
	ADDQ(U8(2*l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))

	Comment("reduce each row's accumulators to sums[r]")
	s := Load(Param("sums"), GP64())
	for k := range rows {
		a := r[2*k]
		reduce(l, a, r[2*k+1], r[10])
		VMOVSS(a.AsX(), Mem{Base: s, Disp: 4 * k})
	}
	VZEROUPPER()
	RET()
}
