package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dwconvRowSet is the f32dwconvrow group: one kernel row of a depthwise convolution over one
// output row, f32DWConvRow<k>s<s>, dst[x] += sum_j w[j]*src[s*x+j] for k = 3 or 5 taps and
// stride s = 1 or 2: the depthwise shapes the whole-plane kernels (f32dwconv) do not take, and
// those with a residual. Each output is one chain of FMAs starting from dst, tap 0 first: the Go
// twin's order.
func dwconvRowSet() {
	for _, l := range levels {
		for _, k := range []int{3, 5} {
			dwconvRow(l, k, 1)
			dwconvRow(l, k, 2)
		}
	}
}

// dwconvRow generates f32DWConvRow<k>s<s><level>. Stride 1 computes two vectors per iteration
// (two independent FMA chains). Stride 2 splits two vectors of src at offsets 0, 2 (and 4) into
// their even and odd elements, in an order permuted by 64-bit pairs; the accumulator is permuted
// the same way after its load and back before its store.
func dwconvRow(l *level, k, s int) {
	name := fmt.Sprintf("f32DWConvRow%ds%d%s", k, s, l.name)
	TEXT(name, NOSPLIT, "func(dst, src, w []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32DWConvRow%ds%dGo with %s: dst[x] += w[0]*src[%d*x] + ... + w[%d]*src[%d*x+%d]", name, k, s, isaName(l), s, k-1, s, k-1),
		fmt.Sprintf("(fused, in that order) for x < len(dst); src holds %d*len(dst)+%d values or more.", s, k-s))
	wp := loadBase("w")
	w := make([]VecVirtual, k)
	for j := range w {
		w[j] = l.vec()
		VBROADCASTSS(Mem{Base: wp, Disp: 4 * j}, w[j])
	}
	var perm, unperm Register
	if s == 2 && l.avx512() {
		perm, unperm = l.vec(), l.vec()
		VMOVUPS(permuteIdx(), perm)
		VMOVUPS(unpermuteIdx(), unperm)
	}
	d, src := in("dst"), &stream{param: "src", scale: s, extra: k - s}
	e := newEwise(l, name, d, src)
	unroll := 2
	if s == 2 {
		unroll = 1
	}
	e.loop(loadLen("dst"), unroll, func(e *ewise) {
		acc := e.load(d, 0)
		if s == 1 {
			for j := range k {
				VFMADD231PS(e.src(src, j), w[j], acc)
			}
			e.store(d, 0, acc)
			return
		}
		l.permute(acc, perm)
		ev, od := l.vec(), l.vec()
		for off := 0; off < k; off += 2 {
			if off+1 < k {
				s2Pair(e, src, off, ev, od)
			} else {
				s2Pair(e, src, off, ev, nil)
			}
			VFMADD231PS(ev, w[off], acc)
			if off+1 < k {
				VFMADD231PS(od, w[off+1], acc)
			}
		}
		l.unpermute(acc, unperm)
		e.store(d, 0, acc)
	})
	VZEROUPPER()
	RET()
}
