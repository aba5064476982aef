package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// gemvSet is the f32gemv group, the matrix-vector products of Linear (and of the 1x1
// convolutions of a 1x1 image): the dot products of rows of W (leading dimension ld floats)
// with x, four rows at a time (f32Gemv4) or one (f32Gemv1). Each row has two accumulators (even
// and odd vectors; the rest into the first) whatever the number of rows, and the same
// reduction, so a row's sum does not depend on which rows are computed with it: a Linear is
// exact whatever row ranges it is split into.
func gemvSet() {
	for _, l := range levels {
		gemv(l, 4)
		gemv(l, 1)
	}
}

func gemv(l *level, rows int) {
	name := fmt.Sprintf("f32Gemv%d%s", rows, l.name)
	TEXT(name, NOSPLIT, "func(w []float32, ld int, x, sums []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32Gemv%dGo with %s: sums[r] = the dot product of w[r*ld:r*ld+len(x)] and x,", name, rows, isaName(l)),
		fmt.Sprintf("for r < %d.", rows))
	wp := loadBase("w")
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	x := in("x")
	streams := []*stream{x}
	for r := range rows {
		s := in("w")
		if r == 0 {
			s.base = wp
		} else {
			s.base = GP64()
			LEAQ(Mem{Base: streams[r].base, Index: ld, Scale: 1}, s.base)
		}
		streams = append(streams, s)
	}
	acc := make([][2]VecVirtual, rows)
	for r := range acc {
		for h := range 2 {
			acc[r][h] = l.vec()
			l.zero(acc[r][h])
		}
	}
	e := newEwise(l, name, streams...)
	e.loop(loadLen("x"), 2, func(e *ewise) {
		xv := e.load(x, 0)
		for r, s := range streams[1:] {
			VFMADD231PS(e.src(s, 0), xv, acc[r][e.u])
		}
	})
	Comment("reduce each row's accumulators to sums[r]")
	sp := loadBase("sums")
	for r := range rows {
		reduce(l, acc[r][0], acc[r][1])
		VMOVSS(acc[r][0].AsX(), Mem{Base: sp, Disp: 4 * r})
	}
	VZEROUPPER()
	RET()
}
