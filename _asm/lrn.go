package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The local-response-normalization kernels (set "lrn"), on whole vectors (n a positive multiple
// of the vector length; the Go wrappers compute the tails): the sum of squares over the channel
// window, one channel at a time, and the normalization for beta = 0.75 (AlexNet's and GoogLeNet's),
// in float32: d^0.75 = sqrt(d)*sqrt(sqrt(d)), each square root correctly rounded, so the result is
// within a few float32 ulps of the exact one.
func lrnSet() {
	for _, l := range []vecLevel{lvl512, lvl256} {
		lrnSq(l)
		lrnNorm75(l)
	}
}

// lrnSq generates lrnSq<level>(dst, src *float32, n int): dst[i] += src[i]*src[i], fused.
func lrnSq(l vecLevel) {
	name := "lrnSq" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds src[i]*src[i] (fused) to dst[i] for i < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	i := GP64()
	r := l.regs
	vecLoop(name, l, i, n, func(u int) {
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[u])
		VFMADD213PS(Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[u], r[u])
		VMOVUPS(r[u], Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u})
	})
}

// lrnNorm75 generates lrnNorm75<level>(dst, src *float32, k, scale float32, n int): with d =
// k + scale*dst[i] (fused), dst[i] = src[i] / (sqrt(d)*sqrt(sqrt(d))).
func lrnNorm75(l vecLevel) {
	name := "lrnNorm75" + l.name
	TEXT(name, NOSPLIT, "func(dst, src *float32, k, scale float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = src[i] / d^0.75, d = k + scale*dst[i], for i < n (a multiple of %d).", name, l.vl))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	r := l.regs
	VBROADCASTSS(NewParamAddr("k", 16), r[14])
	VBROADCASTSS(NewParamAddr("scale", 20), r[15])
	n := Load(Param("n"), GP64())
	i := GP64()
	vecLoop(name, l, i, n, func(u int) {
		d, q := r[u], r[4+u]
		VMOVAPS(r[14], d)
		VFMADD231PS(Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u}, r[15], d)
		VSQRTPS(d, d)
		VSQRTPS(d, q)
		VMULPS(q, d, d)
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * l.vl * u}, q)
		VDIVPS(d, q, q)
		VMOVUPS(q, Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * u})
	})
}
