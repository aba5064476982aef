package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// poolSet is the f32pool group: the passes of the separable max and average pools.
//
// Max pooling reduces the rows of a window element-wise (f32MaxPoolV2, V3), then each output is
// the max of its window's columns in that row (f32MaxPoolH<k>s<s>: window width k, stride s).
// The max propagates NaN as PyTorch does: any NaN among the values gives a NaN.
//
// Average pooling sums the rows of a window (f32VAdd), then each output sums its window's
// columns in that row left to right and divides by its element count:
// f32AvgPoolH<k>s<s>, dst[x] = (src[s*x] + ... + src[s*x+k-1]) / (rows*cols[x]) (rows*cols[x] is
// an exact product of small integers), as the Go twin does.
//
// The stride-2 kernels split two vectors of src into their even and odd elements with VSHUFPS
// (within each 128-bit lane), so the results come out with their 64-bit pairs permuted; one
// VPERMPD per vector restores the order before the store.
func poolSet() {
	for _, l := range levels {
		maxPoolV(l, 2)
		maxPoolV(l, 3)
		maxPoolH3s1(l)
		maxPoolHs2(l, 2)
		maxPoolHs2(l, 3)
		for _, k := range []int{2, 3, 5} {
			avgPoolH(l, k, 1)
		}
		for _, k := range []int{2, 3} {
			avgPoolH(l, k, 2)
		}
	}
}

func maxPoolV(l *level, rows int) {
	name := fmt.Sprintf("f32MaxPoolV%d%s", rows, l.name)
	sig, expr := "func(dst, a, b []float32)", "max(a[i], b[i])"
	params := []string{"a", "b"}
	if rows == 3 {
		sig, expr = "func(dst, a, b, c []float32)", "max(a[i], b[i], c[i])"
		params = append(params, "c")
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32MaxPoolV%dGo with %s: dst[i] = %s (NaN wins) for i < len(dst).", name, rows, isaName(l), expr))
	d := in("dst")
	streams := []*stream{d}
	for _, p := range params {
		streams = append(streams, in(p))
	}
	e := newEwise(l, name, streams...)
	e.loop(loadLen("dst"), 2, func(e *ewise) {
		m, t := e.load(streams[1], 0), l.vec()
		for _, s := range streams[2:] {
			l.maxNaN(m, e.load(s, 0), m, t)
		}
		e.store(d, 0, m)
	})
	VZEROUPPER()
	RET()
}

func maxPoolH3s1(l *level) {
	name := "f32MaxPoolH3s1" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32MaxPoolH3s1Go with %s: dst[x] = max(src[x:x+3]) (NaN wins) for x < len(dst);", name, isaName(l)),
		"src holds len(dst)+2 values or more.")
	d, src := in("dst"), &stream{param: "src", scale: 1, extra: 2}
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 2, func(e *ewise) {
		m, t := e.load(src, 0), l.vec()
		l.maxNaN(m, e.load(src, 1), m, t)
		l.maxNaN(m, e.load(src, 2), m, t)
		e.store(d, 0, m)
	})
	VZEROUPPER()
	RET()
}

// s2Pair loads the two vectors of src at offset off and splits them into their even and odd
// elements (pairs permuted); odd is not computed if nil.
func s2Pair(e *ewise, src *stream, off int, even, odd Register) {
	a, b := e.load(src, off), e.load(src, off+e.l.vl)
	VSHUFPS(U8(0x88), b, a, even)
	if odd != nil {
		VSHUFPS(U8(0xDD), b, a, odd)
	}
}

func maxPoolHs2(l *level, k int) {
	name := fmt.Sprintf("f32MaxPoolH%ds2%s", k, l.name)
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32MaxPoolH%ds2Go with %s: dst[x] = max(src[2*x:2*x+%d]) (NaN wins) for", name, k, isaName(l), k),
		fmt.Sprintf("x < len(dst); src holds 2*len(dst)+%d values or more.", k-2))
	var idx Register
	if l.avx512() {
		idx = l.vec()
		VMOVUPS(unpermuteIdx(), idx)
	}
	d, src := in("dst"), &stream{param: "src", scale: 2, extra: k - 2}
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 1, func(e *ewise) {
		ev, od, t := l.vec(), l.vec(), l.vec()
		s2Pair(e, src, 0, ev, od)
		l.maxNaN(ev, od, ev, t)
		if k == 3 {
			s2Pair(e, src, 2, od, nil)
			l.maxNaN(ev, od, ev, t)
		}
		l.unpermute(ev, idx)
		e.store(d, 0, ev)
	})
	VZEROUPPER()
	RET()
}

func avgPoolH(l *level, k, s int) {
	name := fmt.Sprintf("f32AvgPoolH%ds%d%s", k, s, l.name)
	TEXT(name, NOSPLIT, "func(dst, src, cols []float32, rows float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32AvgPoolH%ds%dGo with %s: dst[x] = (src[%d*x] + ... + src[%d*x+%d]) / (rows*cols[x])", name, k, s, isaName(l), s, s, k-1),
		fmt.Sprintf("for x < len(dst); src holds %d*len(dst)+%d values or more.", s, k-s))
	rv := l.vec()
	VBROADCASTSS(scalarParam("rows"), rv)
	var idx Register
	if s == 2 && l.avx512() {
		idx = l.vec()
		VMOVUPS(unpermuteIdx(), idx)
	}
	d, cols := in("dst"), in("cols")
	src := &stream{param: "src", scale: s, extra: k - s}
	e := newEwise(l, name, d, src, cols)
	e.loop(loadLen("dst"), 1, func(e *ewise) {
		acc, t := l.vec(), l.vec()
		if s == 1 {
			e.loadTo(src, 0, acc)
			for j := 1; j < k; j++ {
				VADDPS(e.src(src, j), acc, acc)
			}
		} else {
			// Taps 0 and 1 are the even and odd columns of the two vectors at offset 0, tap 2
			// the even columns of those at offset 2.
			s2Pair(e, src, 0, acc, t)
			VADDPS(t, acc, acc)
			if k == 3 {
				s2Pair(e, src, 2, t, nil)
				VADDPS(t, acc, acc)
			}
			l.unpermute(acc, idx)
		}
		VMULPS(e.src(cols, 0), rv, t)
		VDIVPS(t, acc, acc)
		e.store(d, 0, acc)
	})
	VZEROUPPER()
	RET()
}
