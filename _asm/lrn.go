package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
)

// lrnSet is the f32lrn group, local response normalization: the sum of squares over the channel
// window, one channel at a time (f32LRNSqAcc), and the normalization for beta = 0.75 (AlexNet's
// and GoogLeNet's, f32LRNNorm75), in float32: d^0.75 = sqrt(d)*sqrt(sqrt(d)), each square root
// correctly rounded, so the result is within a few float32 ulps of the exact one.
func lrnSet() {
	for _, l := range levels {
		lrnSqAcc(l)
		lrnNorm75(l)
	}
}

func lrnSqAcc(l *level) {
	name := "f32LRNSqAcc" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32LRNSqAccGo with %s: dst[i] += src[i]*src[i] (fused) for i < len(dst).", name, isaName(l)))
	d, src := in("dst"), in("src")
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 4, func(e *ewise) {
		v := e.load(src, 0)
		VFMADD213PS(e.src(d, 0), v, v)
		e.store(d, 0, v)
	})
	VZEROUPPER()
	RET()
}

func lrnNorm75(l *level) {
	name := "f32LRNNorm75" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32, k, scale float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32LRNNorm75Go with %s: dst[i] = src[i] / d^0.75 with d = k + scale*dst[i]", name, isaName(l)),
		"(fused), for i < len(dst).")
	kv, sv := l.vec(), l.vec()
	VBROADCASTSS(scalarParam("k"), kv)
	VBROADCASTSS(scalarParam("scale"), sv)
	d, src := in("dst"), in("src")
	e := newEwise(l, name, d, src)
	e.loop(loadLen("dst"), 4, func(e *ewise) {
		v, q := l.vec(), l.vec()
		VMOVAPS(kv, v)
		VFMADD231PS(e.src(d, 0), sv, v)
		VSQRTPS(v, v)
		VSQRTPS(v, q)
		VMULPS(q, v, v)
		e.loadTo(src, 0, q)
		VDIVPS(v, q, q)
		e.store(d, 0, q)
	})
	VZEROUPPER()
	RET()
}
