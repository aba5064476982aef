package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The per-channel arithmetic and the reorders of the f32ops16c group.

// vmul16c generates f32VMulAdd16c<ISA> (add) or f32VMul16c<ISA>: dst[i] = src[i]*s[i%16]
// (+ b[i%16], fused) for i < len(dst): the 16-channel vectors s and b in registers (one zmm or
// two ymm), blocks of 16 values a step, the last partial block under masks.
func vmul16c(l *level, add bool) {
	op, sig := "VMul16c", "func(dst, src, s []float32)"
	if add {
		op, sig = "VMulAdd16c", "func(dst, src, s, b []float32)"
	}
	name := fmt.Sprintf("f32%s%s", op, l.name)
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	if add {
		Doc(fmt.Sprintf("%s is f32VMulAdd16cGo with %s: dst[i] = src[i]*s[i%%16] + b[i%%16] (fused) for i < len(dst).", name, isaName(l)))
	} else {
		Doc(fmt.Sprintf("%s is f32VMul16cGo with %s: dst[i] = src[i]*s[i%%16] for i < len(dst).", name, isaName(l)))
	}
	halves := 16 / l.vl
	sv, bv := l.regs[0:halves], l.regs[halves:2*halves]
	sp := loadBase("s")
	for h := range halves {
		VMOVUPS(Mem{Base: sp, Disp: 4 * l.vl * h}, sv[h])
	}
	if add {
		bp := loadBase("b")
		for h := range halves {
			VMOVUPS(Mem{Base: bp, Disp: 4 * l.vl * h}, bv[h])
		}
	}
	d, s, n := loadBase("dst"), loadBase("src"), loadLen("dst")
	x := l.regs[2*halves : 3*halves]
	compute := func(h int) {
		if add {
			VFMADD213PS(bv[h], sv[h], x[h])
		} else {
			VMULPS(sv[h], x[h], x[h])
		}
	}
	Label(name + "_loop")
	CMPQ(n, U8(16))
	JL(LabelRef(name + "_tail"))
	for h := range halves {
		VMOVUPS(Mem{Base: s, Disp: 4 * l.vl * h}, x[h])
		compute(h)
		VMOVUPS(x[h], Mem{Base: d, Disp: 4 * l.vl * h})
	}
	ADDQ(U8(64), s)
	ADDQ(U8(64), d)
	SUBQ(U8(16), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	cnt := l.regs[len(l.regs)-1]
	l.broadcastInt(n.(GP), cnt)
	for h := range halves {
		m := l.newMask()
		if !l.avx512() && h > 0 {
			m = l.regs[len(l.regs)-2]
		}
		l.lanesBelow(cnt, l.vl*h, m)
		l.maskedLoad(Mem{Base: s, Disp: 4 * l.vl * h}, m, x[h])
		compute(h)
		l.maskedStore(x[h], m, Mem{Base: d, Disp: 4 * l.vl * h})
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// reorder16c generates f32ToBlocked16c<ISA> (to) or f32FromBlocked16c<ISA>: one block of 16
// channels between NCHW planes and NCHW16c pixels, by gathers. To blocked: each pixel's vector
// gathers its c channels from the planes (hw apart), lanes c..15 zero. From blocked: runs of vl
// pixels (the last under a mask), each gathered plane after plane (its channel from pixels 16
// apart) while the run's vl*64 bytes are in L1.
func reorder16c(l *level, to bool) {
	op := "FromBlocked16c"
	if to {
		op = "ToBlocked16c"
	}
	name := fmt.Sprintf("f32%s%s", op, l.name)
	TEXT(name, NOSPLIT, "func(dst, src []float32, c, hw int)")
	Pragma("noescape")
	if to {
		Doc(fmt.Sprintf("%s is f32ToBlocked16cGo with %s: dst[p*16+l] = src[l*hw+p] for l < c (0 for l >= c), p < hw.", name, isaName(l)))
	} else {
		Doc(fmt.Sprintf("%s is f32FromBlocked16cGo with %s: dst[l*hw+p] = src[p*16+l] for l < c, p < hw.", name, isaName(l)))
	}
	halves := 16 / l.vl
	d, s := loadBase("dst"), loadBase("src")
	c, hw := Load(Param("c"), GP64()), Load(Param("hw"), GP64())
	r := l.regs
	idx, cnt, v := r[0:halves], r[halves], r[halves+1:2*halves+1]
	keep := r[2*halves+1 : 3*halves+1] // AVX2: the masks, which the gathers clear
	tm := r[len(r)-1]
	iota32 := func(dst VecPhysical, off int) { VMOVUPS(iota().Offset(4*off), dst) }
	// gather gathers into dst the lanes the mask m (K1, or a vector) enables, zeroing the others;
	// it clears K1 (AVX2: works on a copy of m).
	gather := func(mem Mem, m Op, dst VecPhysical) {
		l.zero(dst)
		if l.avx512() {
			VGATHERDPS(mem, m, dst)
			return
		}
		VMOVUPS(m, tm)
		VGATHERDPS(tm, mem, dst)
	}
	if to {
		// idx = lane*hw; the lanes below c gathered, pixel after pixel.
		for h := range halves {
			iota32(idx[h], l.vl*h)
			l.broadcastInt(hw.(GP), cnt)
			VPMULLD(cnt, idx[h], idx[h])
		}
		l.broadcastInt(c.(GP), cnt)
		if !l.avx512() {
			for h := range halves {
				l.lanesBelow(cnt, l.vl*h, keep[h])
			}
		}
		Label(name + "_p")
		TESTQ(hw, hw)
		JE(LabelRef(name + "_done"))
		for h := range halves {
			m := Op(K1)
			if l.avx512() {
				l.lanesBelow(cnt, 0, K1)
			} else {
				m = keep[h]
			}
			gather(Mem{Base: s, Index: idx[h], Scale: 4}, m, v[h])
			VMOVUPS(v[h], Mem{Base: d, Disp: 4 * l.vl * h})
		}
		ADDQ(U8(4), s)
		ADDQ(U8(64), d)
		DECQ(hw)
		JMP(LabelRef(name + "_p"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
		return
	}
	// idx = lane*16.
	iota32(idx[0], 0)
	VPSLLD(U8(4), idx[0], idx[0])
	hwB := GP64()
	MOVQ(hw, hwB)
	SHLQ(U8(2), hwB)
	rest, run, ch, cs := GP64(), GP64(), GP64(), GP64()
	MOVQ(hw, rest)
	Label(name + "_run")
	CMPQ(rest, U8(0))
	JLE(LabelRef(name + "_done"))
	TESTQ(c, c)
	JE(LabelRef(name + "_done"))
	// The run's mask: all lanes, or those below rest (K3, or keep[0]).
	if l.avx512() {
		KXNORW(K3, K3, K3)
	} else {
		VPCMPEQD(keep[0], keep[0], keep[0])
	}
	CMPQ(rest, U8(l.vl))
	JGE(LabelRef(name + "_full"))
	l.broadcastInt(rest.(GP), cnt)
	if l.avx512() {
		l.lanesBelow(cnt, 0, K3)
	} else {
		l.lanesBelow(cnt, 0, keep[0])
	}
	Label(name + "_full")
	MOVQ(d, run)
	MOVQ(s, cs)
	MOVQ(c, ch)
	Label(name + "_c")
	if l.avx512() {
		KMOVW(K3, K1)
		gather(Mem{Base: cs, Index: idx[0], Scale: 4}, K1, v[0])
		VMOVUPS(v[0], K3, Mem{Base: run})
	} else {
		gather(Mem{Base: cs, Index: idx[0], Scale: 4}, keep[0], v[0])
		VMASKMOVPS(v[0], keep[0], Mem{Base: run})
	}
	ADDQ(U8(4), cs)
	ADDQ(hwB, run)
	DECQ(ch)
	JNE(LabelRef(name + "_c"))
	ADDQ(U32(4*16*l.vl), s)
	ADDQ(U8(4*l.vl), d)
	SUBQ(U8(l.vl), rest)
	JMP(LabelRef(name + "_run"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
