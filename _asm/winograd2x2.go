package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The F(2x2, 3x3) transforms of the f32winograd group (see winograd.go).

// winoIn2 generates f32WinoIn2x2<level>: V = B^T d B of n F(2x2, 3x3) tiles, tile k's input at
// src[2k] (see f32WinoIn2x2Go). Columns 0 and 1 of the tiles are the even and odd floats of two
// vectors (VSHUFPS), columns 2 and 3 those of two vectors one tile further.
func winoIn2(w winoVec) {
	name := "f32WinoIn2x2" + w.name
	TEXT(name, 0, winoInSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoIn2x2Go with %s: it stores V = B^T d B of the F(2x2, 3x3) input tiles at", name, w.isa()),
		fmt.Sprintf("src, src[2:], ... (rows ld floats apart) at dst[xi*ds+k] for tile k < n (n <= %d); it reads", w.lanes),
		fmt.Sprintf("src[3*ld : 3*ld+%d] and every row up to there.", 2*w.lanes+4))
	v := w.v
	tmp := AllocLocal(16 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	src := loadBase("src")
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	idx := v[15]
	if w.lanes == 16 {
		VMOVUPS(winoConsts["winoPerm2In16"], idx)
	} else {
		VMOVUPS(winoConsts["winoPerm2In8"], idx)
	}
	in2 := func(d, t []VecPhysical, put func(r int, x VecPhysical)) {
		VSUBPS(d[2], d[0], t[0])
		put(0, t[0])
		VADDPS(d[2], d[1], t[1])
		put(1, t[1])
		VSUBPS(d[1], d[2], t[2])
		put(2, t[2])
		VSUBPS(d[3], d[1], t[3])
		put(3, t[3])
	}
	Comment("rows: deinterleave the four columns, B^T along the row, to the stack")
	for i := range 4 {
		VMOVUPS(Mem{Base: src}, v[0])
		VMOVUPS(Mem{Base: src, Disp: w.bytes}, v[1])
		VMOVUPS(Mem{Base: src, Disp: 8}, v[2])
		VMOVUPS(Mem{Base: src, Disp: w.bytes + 8}, v[3])
		VSHUFPS(U8(0x88), v[1], v[0], v[4])
		VSHUFPS(U8(0xdd), v[1], v[0], v[5])
		VSHUFPS(U8(0x88), v[3], v[2], v[6])
		VSHUFPS(U8(0xdd), v[3], v[2], v[7])
		for j := 4; j < 8; j++ {
			VPERMPS(v[j], idx, v[j])
		}
		in2(v[4:8], v[8:12], func(r int, x VecPhysical) { VMOVUPS(x, slot(i*4+r)) })
		if i < 3 {
			ADDQ(ld, src)
		}
	}
	dst := loadBase("dst")
	ds := Load(Param("ds"), GP64())
	SHLQ(U8(2), ds)
	s4 := GP64()
	LEAQ(Mem{Base: ds, Index: ds, Scale: 1}, s4)
	SHLQ(U8(1), s4)
	q := GP64()
	cols := func(store func(x VecPhysical, m Mem)) {
		p := GP64()
		MOVQ(dst, p)
		for j := range 4 {
			for r := range 4 {
				VMOVUPS(slot(r*4+j), v[r])
			}
			LEAQ(Mem{Base: p, Index: s4, Scale: 2}, q)
			addr := []Mem{{Base: p}, {Base: p, Index: s4, Scale: 1}, {Base: q}, {Base: q, Index: s4, Scale: 1}}
			in2(v[0:4], v[4:8], func(r int, x VecPhysical) { store(x, addr[r]) })
			if j < 3 {
				ADDQ(ds, p)
			}
		}
		VZEROUPPER()
		RET()
	}
	Comment("columns: B^T down the columns, to dst")
	w.columns(name, v[14], cols)
}

// winoOut2 generates f32WinoOutEpi2x2<level>: Y = A^T M A of up to lanes F(2x2, 3x3) tiles, plus
// bias and residual, ReLU, rows x cols values stored (see f32WinoOutEpi2x2Go).
func winoOut2(w winoVec) {
	name := "f32WinoOutEpi2x2" + w.name
	TEXT(name, 0, winoOutSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoOutEpi2x2Go with %s: it stores Y = A^T M A + bias (+ res) (then ReLU if", name, w.isa()),
		fmt.Sprintf("relu) of the %d F(2x2, 3x3) tiles whose M is at src[xi*ss+k]: rows rows of cols columns, ldd", w.lanes),
		"floats apart at dst (and res, unless nil).")
	v := w.v
	tmp := AllocLocal(8*w.bytes + 2*w.bytes) // the columns' transforms, then the AVX2 masks
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	out2 := func(m []VecPhysical, o []VecPhysical) {
		VADDPS(m[1], m[0], o[0])
		VADDPS(m[2], o[0], o[0])
		VSUBPS(m[2], m[1], o[1])
		VSUBPS(m[3], o[1], o[1])
	}
	Comment("columns: A^T down the columns, to the stack")
	src := loadBase("src")
	ss := Load(Param("ss"), GP64())
	SHLQ(U8(2), ss)
	s4 := GP64()
	LEAQ(Mem{Base: ss, Index: ss, Scale: 1}, s4)
	SHLQ(U8(1), s4)
	q := GP64()
	for j := range 4 {
		LEAQ(Mem{Base: src, Index: s4, Scale: 2}, q)
		addr := []Mem{{Base: src}, {Base: src, Index: s4, Scale: 1}, {Base: q}, {Base: q, Index: s4, Scale: 1}}
		for r := range 4 {
			VMOVUPS(addr[r], v[r])
		}
		out2(v[0:4], v[4:6])
		VMOVUPS(v[4], slot(j))
		VMOVUPS(v[5], slot(4+j))
		if j < 3 {
			ADDQ(ss, src)
		}
	}
	Comment("rows: A^T along the rows, bias, lanes back to columns, residual, ReLU, store")
	b, _ := Param("bias").Resolve()
	VBROADCASTSS(b.Addr, v[14])
	if w.lanes == 16 {
		VMOVUPS(winoConsts["winoPerm2Out16"], v[15])
	} else {
		VMOVUPS(winoConsts["winoPerm2Out8"], v[15])
	}
	dst := loadBase("dst")
	res := loadBase("res")
	resArg, _ := Param("res").Base().Resolve()
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	rows := Load(Param("rows"), GP64())
	relu := Load(Param("relu"), GP8())
	var loadRes func(q int, a Mem, x VecPhysical)
	var store func(q int, x VecPhysical, a Mem)
	emitRows := func(tag string) {
		for i := range 2 {
			if i > 0 {
				CMPQ(rows, U8(i))
				JLE(LabelRef(name + tag + "_done"))
				ADDQ(ldd, dst)
				ADDQ(ldd, res)
			}
			for j := range 4 {
				VMOVUPS(slot(i*4+j), v[j])
			}
			out2(v[0:4], v[4:6])
			for c := range 2 {
				VADDPS(v[14], v[4+c], v[4+c])
				VPERMPS(v[4+c], v[15], v[4+c])
			}
			VUNPCKLPS(v[5], v[4], v[0])
			VUNPCKHPS(v[5], v[4], v[1])
			l := fmt.Sprintf("%s%s_%d", name, tag, i)
			CMPQ(resArg.Addr, U8(0))
			JE(LabelRef(l + "_nores"))
			for c := range 2 {
				loadRes(c, Mem{Base: res, Disp: c * w.bytes}, v[8])
				VADDPS(v[8], v[c], v[c])
			}
			Label(l + "_nores")
			CMPB(relu, U8(0))
			JE(LabelRef(l + "_norelu"))
			w.zero(v[8])
			for c := range 2 {
				VMAXPS(v[c], v[8], v[c])
			}
			Label(l + "_norelu")
			for c := range 2 {
				store(c, v[c], Mem{Base: dst, Disp: c * w.bytes})
			}
		}
		Label(name + tag + "_done")
		VZEROUPPER()
		RET()
	}
	w.outMasks(name, 2, tmp.Offset(8*w.bytes), &loadRes, &store, emitRows)
}
