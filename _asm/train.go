package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
)

// trainSet is the f32train group, the optimizers' updates: SGD with momentum and weight decay,
// plain (f32SGDMom) or Nesterov (f32SGDNesterov), one pass over a tensor. Each "x + a*y" of
// torch's update is one fused multiply-add in float32, as torch's own AVX2 kernels compute it,
// so the result is torch's bit for bit; the twins compute the same FMAs exactly in Go.
func trainSet() {
	for _, l := range levels {
		sgd(l, false)
		sgd(l, true)
	}
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
