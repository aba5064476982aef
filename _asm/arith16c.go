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
// two ymm), blocks of 16 values a step, the last partial block under masks. The product alone
// (a squeeze-and-excitation scale) flushes results below float32's normal range to +0 (see
// f32VMul16cGo).
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
		Doc(fmt.Sprintf("%s is f32VMul16cGo with %s: dst[i] = src[i]*s[i%%16] for i < len(dst), +0 where", name, isaName(l)),
			"its magnitude is below 2^-126.")
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
	// The flush's constants (|.|'s mask, the smallest normal) and a temporary per half.
	absM, minN, t := l.regs[3*halves], l.regs[3*halves+1], l.regs[3*halves+2:4*halves+2]
	if !add {
		g := GP64()
		MOVL(U32(0x7fffffff), g.As32())
		l.broadcastInt(g, absM)
		MOVL(U32(0x00800000), g.As32())
		l.broadcastInt(g, minN)
	}
	compute := func(h int) {
		if add {
			VFMADD213PS(bv[h], sv[h], x[h])
			return
		}
		VMULPS(sv[h], x[h], x[h])
		// Keep the lanes whose magnitude is not below the smallest normal (NaN included).
		if l.avx512() {
			VPANDD(absM, x[h], t[h])
			VCMPPS(U8(5), minN, t[h], K6)
			VMOVAPS_Z(x[h], K6, x[h])
		} else {
			VANDPS(absM, x[h], t[h])
			VCMPPS(U8(5), minN, t[h], t[h])
			VANDPS(t[h], x[h], x[h])
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

// lrnSqSum16c generates f32LRNSqSum16c<ISA>: LRN's sums of squares across the channels of one
// block (runtime/kernels/eltwise16c.go). The pixels go in groups of up to 8: each pixel's three
// blocks (prev, cur, next, their lanes beyond np, nc, nn zeroed) are squared into a stack buffer
// of 48 floats, then each pixel's window sums are the 16-float loads at offsets 16-lo ...
// 16-lo+size-1 added in that order (unaligned loads of the squares just stored: the group's
// stores have gone out before its first load, rather than stalling every load).
func lrnSqSum16c(l *level) {
	const group = 8
	name := "f32LRNSqSum16c" + l.name
	TEXT(name, 0, "func(dst, prev, cur, next []float32, n, lo, size, np, nc, nn int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32LRNSqSum16cGo with %s: dst[p*16+l] is the sum over d in [-lo, size-lo) of", name, isaName(l)),
		"the square of channel l+d of pixel p, from prev (l+d < 0), cur or next (l+d >= 16), 0 past their",
		"first np, nc, nn lanes.")
	halves, bytes := 16/l.vl, 4*l.vl
	buf := AllocLocal(group * 48 * 4)
	r := l.regs
	d, pr, cu, nx := loadBase("dst"), loadBase("prev"), loadBase("cur"), loadBase("next")
	n := Load(Param("n"), GP64())
	lo := Load(Param("lo"), GP64())
	size := Load(Param("size"), GP64())
	SHLQ(U8(2), lo)
	cnt := r[len(r)-1]
	// The masks of the three blocks' valid lanes, per half: K1-K3 (AVX-512) or vectors.
	var masks [3][2]Op
	for b, p := range []string{"np", "nc", "nn"} {
		c := Load(Param(p), GP64())
		l.broadcastInt(c.(GP), cnt)
		for h := range halves {
			if l.avx512() {
				m := []Op{K1, K2, K3}[b]
				l.lanesBelow(cnt, 0, m)
				masks[b][h] = m
				continue
			}
			m := r[8+2*b+h]
			l.lanesBelow(cnt, l.vl*h, m)
			masks[b][h] = m
		}
	}
	sq, acc := r[0], r[1:1+halves]
	g, k, t, pb := GP64(), GP64(), GP64(), GP64()
	Label(name + "_group")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	MOVQ(n, g)
	CMPQ(g, U8(group))
	JLE(LabelRef(name + "_sq"))
	MOVQ(U32(group), g)
	Label(name + "_sq")
	SUBQ(g, n)
	// Squares of the group's pixels into buf, pixel after pixel.
	LEAQ(buf, pb)
	MOVQ(g, k)
	Label(name + "_sqp")
	for b, base := range []Register{pr, cu, nx} {
		for h := range halves {
			l.maskedLoad(Mem{Base: base, Disp: bytes * h}, masks[b][h], sq)
			VMULPS(sq, sq, sq)
			VMOVUPS(sq, Mem{Base: pb, Disp: 64*b + bytes*h})
		}
	}
	for _, p := range []Register{pr, cu, nx} {
		ADDQ(U8(64), p)
	}
	ADDQ(U32(48*4), pb)
	DECQ(k)
	JNE(LabelRef(name + "_sqp"))
	// The window sums, pixel after pixel.
	LEAQ(buf.Offset(64), pb)
	SUBQ(lo, pb)
	Label(name + "_sum")
	for h := range halves {
		l.zero(acc[h])
	}
	MOVQ(pb, t)
	MOVQ(size, k)
	Label(name + "_d")
	for h := range halves {
		VADDPS(Mem{Base: t, Disp: bytes * h}, acc[h], acc[h])
	}
	ADDQ(U8(4), t)
	DECQ(k)
	JNE(LabelRef(name + "_d"))
	for h := range halves {
		VMOVUPS(acc[h], Mem{Base: d, Disp: bytes * h})
	}
	ADDQ(U8(64), d)
	ADDQ(U32(48*4), pb)
	DECQ(g)
	JNE(LabelRef(name + "_sum"))
	JMP(LabelRef(name + "_group"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
