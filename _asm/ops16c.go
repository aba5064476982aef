package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The f32ops16c group: the pools (here), per-channel arithmetic and reorders (arith16c.go) of
// NCHW16c feature maps. Pooling (runtime/kernels/pool16c.go) takes a window's
// 16 channels one vector (a zmm or two ymm). f32MaxPool16c and f32AvgPool16c compute n output
// pixels ldp bytes apart in the input, each the maximum (NaN wins) or the sum, divided by div, of
// its kh x kw window's vectors; g pixels at a time, one chain each, so that the chains' latency
// overlaps.

const (
	maxPool16cSig = "func(dst, src []float32, n, kh, kw, ldp, ldr int)"
	avgPool16cSig = "func(dst, src []float32, n, kh, kw, ldp, ldr int, div float32)"
)

func ops16cSet() {
	for _, l := range levels {
		pool16c(l, false)
		pool16c(l, true)
	}
	for _, l := range levels {
		vmul16c(l, true)
		vmul16c(l, false)
		reorder16c(l, true)
		reorder16c(l, false)
		lrnSqSum16c(l)
	}
}

// pool16cGroup is the pixels pooled at once: their chains (a maximum takes two VMAXPS and an OR
// a tap) in flight together. AVX2's pixels are two halves each.
func pool16cGroup(l *level) int {
	if l.avx512() {
		return 4
	}
	return 2
}

func pool16c(l *level, avg bool) {
	op, sig := "MaxPool16c", maxPool16cSig
	if avg {
		op, sig = "AvgPool16c", avgPool16cSig
	}
	name := fmt.Sprintf("f32%s%s", op, l.name)
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	if avg {
		Doc(fmt.Sprintf("%s is f32AvgPool16cGo with %s: dst[p*16+l] is the sum over i < kh, j < kw (from zero,", name, isaName(l)),
			"in that order) of src[i*ldr + j*16 + p*ldp + l], divided by div, for p < n.")
	} else {
		Doc(fmt.Sprintf("%s is f32MaxPool16cGo with %s: dst[p*16+l] is the maximum over i < kh, j < kw of", name, isaName(l)),
			"src[i*ldr + j*16 + p*ldp + l] (NaN wins), for p < n.")
	}
	g := pool16cGroup(l)
	halves := 16 / l.vl
	n := Load(Param("n"), GP64())
	d := loadBase("dst")
	s := loadBase("src")
	ldp := Load(Param("ldp"), GP64())
	SHLQ(U8(2), ldp)
	ldr := Load(Param("ldr"), GP64())
	SHLQ(U8(2), ldr)
	kh := Load(Param("kh"), GP64())
	kw := Load(Param("kw"), GP64())
	ldp3 := GP64()
	LEAQ(Mem{Base: ldp, Index: ldp, Scale: 2}, ldp3)
	regs := l.regs
	init := regs[len(regs)-1] // -inf, or the divisor
	if avg {
		if l.avx512() {
			VBROADCASTSS(scalarParam("div"), init)
		} else {
			VBROADCASTSS(scalarParam("div"), init)
		}
	} else {
		t := GP64()
		MOVL(U32(0xff800000), t.As32())
		l.broadcastInt(t, init)
	}
	// body emits the pooling of p pixels from s to d, advancing both past them.
	body := func(label string, p int) {
		acc := func(q, h int) VecPhysical { return regs[q*halves+h] }
		tmp := func(q, h int) VecPhysical { return regs[g*halves+2*(q*halves+h)] }
		val := func(q, h int) VecPhysical { return regs[g*halves+2*(q*halves+h)+1] }
		for q := range p {
			for h := range halves {
				if avg {
					l.zero(acc(q, h))
				} else {
					VMOVUPS(init, acc(q, h))
				}
			}
		}
		rp, tp, i, j := GP64(), GP64(), GP64(), GP64()
		MOVQ(s, rp)
		MOVQ(kh, i)
		Label(label + "_i")
		MOVQ(rp, tp)
		MOVQ(kw, j)
		Label(label + "_j")
		for q := range p {
			m := Mem{Base: tp}
			switch q {
			case 1:
				m.Index, m.Scale = ldp, 1
			case 2:
				m.Index, m.Scale = ldp, 2
			case 3:
				m.Index, m.Scale = ldp3, 1
			}
			for h := range halves {
				mh := m.Offset(4 * l.vl * h)
				if avg {
					VADDPS(mh, acc(q, h), acc(q, h))
					continue
				}
				VMOVUPS(mh, val(q, h))
				l.maxNaN(acc(q, h), val(q, h), acc(q, h), tmp(q, h))
			}
		}
		ADDQ(U8(64), tp)
		DECQ(j)
		JNE(LabelRef(label + "_j"))
		ADDQ(ldr, rp)
		DECQ(i)
		JNE(LabelRef(label + "_i"))
		for q := range p {
			for h := range halves {
				if avg {
					VDIVPS(init, acc(q, h), acc(q, h))
				}
				VMOVUPS(acc(q, h), Mem{Base: d, Disp: 64*q + 4*l.vl*h})
			}
		}
		ADDQ(U32(64*p), d)
		for range p {
			ADDQ(ldp, s)
		}
	}
	Label(name + "_loop")
	CMPQ(n, U8(g))
	JL(LabelRef(name + "_rest"))
	body(name+"_g", g)
	SUBQ(U8(g), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_rest")
	for p := g - 1; p >= 1; p-- {
		CMPQ(n, U8(p))
		JEQ(LabelRef(fmt.Sprintf("%s_%d", name, p)))
	}
	JMP(LabelRef(name + "_done"))
	for p := g - 1; p >= 1; p-- {
		Label(fmt.Sprintf("%s_%d", name, p))
		body(fmt.Sprintf("%s_%d", name, p), p)
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
