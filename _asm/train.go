package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// trainSet is the f32train group: the optimizers' updates, SGD with momentum and weight decay,
// plain (f32SGDMom) or Nesterov (f32SGDNesterov), one pass over a tensor. Each "x + a*y" of
// torch's update is one fused multiply-add in float32, as torch's own AVX2 kernels compute it,
// so the result is torch's bit for bit; the twins compute the same FMAs exactly in Go. And the
// direct weight gradient's block of shifted dot products (f32WGradDot3x4), the 2x2 max
// pooling's gradient of an output row (f32MaxGrad2x2), 8 x 8 transposes (f32Transpose8x8),
// batch norm's backward sums (f32DotDiff), gradient clipping's sums of squares (f32SumSq32),
// the first maxima of 3x3 stride-2 pooling windows (f32MaxArg3x3s2) and a ReLU's gradient
// (f32ReLUGrad).
func trainSet() {
	for _, l := range levels {
		sgd(l, false)
		sgd(l, true)
		wgradDot(l)
		maxGrad2x2(l)
		dotDiff(l)
		sumSq(l)
		reluGrad(l)
	}
	transpose8()
	maxArg3x3s2()
}

// wgradDot generates f32WGradDot3x4<level>: sums[r*ld+t] += the dot product of
// dy[r*ldy:r*ldy+n] and x[ot:ot+n] (ot is o0, o1, o2 or o3), for r < 3 and t < 4, n a multiple
// of 16 (the shifts are arguments, not a slice: a slice passed through the dispatch table's
// function value would escape, an allocation per call). A
// stride-1 convolution's weight gradient is these dot products of an output gradient plane (its
// rows padded to the input's padded width) with the padded input shifted by each tap: 3 x 4
// accumulators are the most that the three dY vectors and one x vector leave of AVX2's 16
// registers, and the same block at both levels keeps one twin for both. Each step loads 3 + 4
// vectors for 12 FMAs, from a few kilobytes that stay in L1.
func wgradDot(l *level) {
	const rows, taps = 3, 4
	name := "f32WGradDot3x4" + l.name
	TEXT(name, NOSPLIT, "func(sums []float32, ld int, dy []float32, ldy int, x []float32, o0, o1, o2, o3, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WGradDot3x4Go with %s: sums[r*ld+t] += the dot product of", name, isaName(l)),
		"dy[r*ldy:r*ldy+n] and x[ot:ot+n], for r < 3 and t < 4; n is a multiple of 16.")
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	dyp := make([]GPVirtual, rows)
	dyp[0] = GP64()
	Load(Param("dy").Base(), dyp[0])
	for r := 1; r < rows; r++ {
		dyp[r] = GP64()
		LEAQ(Mem{Base: dyp[r-1], Index: ldy, Scale: 1}, dyp[r])
	}
	xb := loadBase("x")
	xp := make([]GPVirtual, taps)
	for t := range taps {
		xp[t] = GP64()
		Load(Param(fmt.Sprintf("o%d", t)), xp[t])
		LEAQ(Mem{Base: xb, Index: xp[t], Scale: 4}, xp[t])
	}
	end := Load(Param("n"), GP64())
	SHLQ(U8(2), end)
	acc := make([][taps]VecVirtual, rows)
	for r := range acc {
		for t := range taps {
			acc[r][t] = l.vec()
			l.zero(acc[r][t])
		}
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	CMPQ(i, end)
	JAE(LabelRef(name + "_done"))
	dv := make([]VecVirtual, rows)
	for r := range rows {
		dv[r] = l.vec()
		VMOVUPS(Mem{Base: dyp[r], Index: i, Scale: 1}, dv[r])
	}
	for t := range taps {
		xv := l.vec()
		VMOVUPS(Mem{Base: xp[t], Index: i, Scale: 1}, xv)
		for r := range rows {
			VFMADD231PS(xv, dv[r], acc[r][t])
		}
	}
	ADDQ(U32(4*l.vl), i)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	Comment("reduce each row's four accumulators to four sums, added to the row's")
	sp := loadBase("sums")
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	for r := range rows {
		a := acc[r]
		if l.avx512() {
			for t := range taps {
				h := l.vec()
				VEXTRACTF64X4(U8(1), a[t], h.AsY())
				VADDPS(h.AsY(), a[t].AsY(), a[t].AsY())
			}
		}
		// Pairwise across the four: in each 128-bit half, lane t sums accumulator t's lanes.
		VHADDPS(a[1].AsY(), a[0].AsY(), a[0].AsY())
		VHADDPS(a[3].AsY(), a[2].AsY(), a[2].AsY())
		VHADDPS(a[2].AsY(), a[0].AsY(), a[0].AsY())
		h := l.vec()
		VEXTRACTF128(U8(1), a[0].AsY(), h.AsX())
		VADDPS(h.AsX(), a[0].AsX(), a[0].AsX())
		VADDPS(Mem{Base: sp}, a[0].AsX(), a[0].AsX())
		VMOVUPS(a[0].AsX(), Mem{Base: sp})
		if r < rows-1 {
			ADDQ(ld, sp)
		}
	}
	VZEROUPPER()
	RET()
}

// sgd generates f32SGDMom<level> or f32SGDNesterov<level>: for every element, with d the
// gradient,
//
//	d = w*wd + g;  b = d*damp + float32(buf*mom);  buf = b
//	d = b*mom + d (Nesterov) or b;  w = d*lr + w
//
// (lr is the learning rate negated).
func sgd(l *level, nesterov bool) {
	name, what := "f32SGDMom"+l.name, "f32SGDMomGo"
	if nesterov {
		name, what = "f32SGDNesterov"+l.name, "f32SGDNesterovGo"
	}
	TEXT(name, NOSPLIT, "func(w, g, buf []float32, wd, mom, damp, lr float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is %s with %s: SGD's update of w and its momentum buffer", name, what, isaName(l)),
		"from the gradient g, one fused multiply-add per step of torch's, for i < len(w).")
	wdv, momv, dampv, lrv := l.vec(), l.vec(), l.vec(), l.vec()
	VBROADCASTSS(scalarParam("wd"), wdv)
	VBROADCASTSS(scalarParam("mom"), momv)
	VBROADCASTSS(scalarParam("damp"), dampv)
	VBROADCASTSS(scalarParam("lr"), lrv)
	w, g, buf := in("w"), in("g"), in("buf")
	e := newEwise(l, name, w, g, buf)
	e.loop(loadLen("w"), 2, func(e *ewise) {
		wv := e.load(w, 0)
		d := e.load(g, 0)
		VFMADD231PS(wv, wdv, d) // d = w*wd + g
		b := l.vec()
		VMULPS(e.src(buf, 0), momv, b) // buf*mom, rounded
		VFMADD231PS(d, dampv, b)       // b = d*damp + buf*mom
		e.store(buf, 0, b)
		if nesterov {
			VFMADD231PS(b, momv, d) // d = b*mom + d
		} else {
			d = b
		}
		VFMADD231PS(d, lrv, wv) // w = d*lr + w
		e.store(w, 0, wv)
	})
	VZEROUPPER()
	RET()
}
