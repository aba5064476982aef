package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The Winograd F(4x4, 3x3) transforms of runtime/kernels/winograd.go, one tile per vector lane:
// 16 tiles per call in zmm registers (AVX-512), 8 in ymm (AVX2; VEX only, Y0-Y15).
//
// The tiles of a call are consecutive along a row of the image, tile k's input starting at
// src[4k]: column j of the tiles is src[4k+j], a stride-4 gather. Four vector loads hold
// columns 0-3 of every tile, each 128-bit lane one tile, and a 4x4 transpose within the lanes
// (unpack low/high, single then double) puts column j of four tiles in each lane; one VPERMPS
// puts the tiles back in order. Columns 4 and 5 are columns 0 and 1 of loads one tile further.
// The output transform runs the same network backwards (the lane transpose is an involution).
// The arithmetic is that of the Go twins (winoIn4Go, winoOut4Go), operation for operation, with
// no fused multiply-adds: rows of d first, through a stack buffer, then columns.

// winoVec is the vector width of one level.
type winoVec struct {
	name  string
	lanes int           // floats per vector: tiles per call
	v     []VecPhysical // 16 registers
	bytes int
}

var (
	wino512 = winoVec{"AVX512", 16, zmm[:16], 64}
	wino256 = winoVec{"AVX2", 8, ymm, 32}
)

// winoConsts are the constant vectors, 16 lanes each (ymm code reads the first 8).
var winoConsts = map[string]Mem{}

func winoConst(name string, f func(k int) Constant) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for k := range 16 {
		DATA(4*k, f(k))
	}
	winoConsts[name] = m
	return m
}

// winogradSet is the Winograd transform group.
func winogradSet() {
	winoConst("winoC4", func(int) Constant { return U32(math.Float32bits(4)) }) // avo prints F32(4) as the integer $(4)
	winoConst("winoC5", func(int) Constant { return U32(math.Float32bits(5)) }) // avo prints F32(5) as the integer $(5)
	winoConst("winoC8", func(int) Constant { return U32(math.Float32bits(8)) }) // avo prints F32(8) as the integer $(8)
	// Lane k of the transposed vectors holds tile 4(k%4)+k/4 (zmm) or 2(k%4)+k/4 (ymm): the
	// forward permutations gather tile k from there, the backward ones scatter it back.
	winoConst("winoPerm16", func(k int) Constant { return U32(4*(k%4) + k/4) })
	winoConst("winoPermIn8", func(k int) Constant { return U32(4*(k%2) + k/2) })
	winoConst("winoPermOut8", func(k int) Constant { return U32(2*(k%4) + k/4) })
	// winoMask8[8-n:] starts with n -1s: the VMASKMOVPS mask of n lanes.
	winoConst("winoMask8", func(k int) Constant {
		if k < 8 {
			return U32(0xffffffff)
		}
		return U32(0)
	})
	// F(2x2): lane p = 4L+q of the even/odd shuffles holds tile 2L+q (q < 2) or lanes/2+2L+q-2.
	winoConst("winoPerm2In16", func(k int) Constant { return U32(winoSigma2Inv(16, k)) })
	winoConst("winoPerm2Out16", func(k int) Constant { return U32(winoSigma2(16, k)) })
	winoConst("winoPerm2In8", func(k int) Constant { return U32(winoSigma2Inv(8, k%8)) })
	winoConst("winoPerm2Out8", func(k int) Constant { return U32(winoSigma2(8, k%8)) })
	for _, w := range []winoVec{wino512, wino256} {
		winoIn4(w)
		winoOut4(w)
		winoIn2(w)
		winoOut2(w)
	}
}

// winoSigma2 is the tile in lane p after the F(2x2) shuffles of lanes-wide vectors.
func winoSigma2(lanes, p int) int {
	l, q := p/4, p%4
	if q < 2 {
		return 2*l + q
	}
	return lanes/2 + 2*l + q - 2
}

// winoSigma2Inv is the lane tile k is in after the F(2x2) shuffles.
func winoSigma2Inv(lanes, k int) int {
	for p := range lanes {
		if winoSigma2(lanes, p) == k {
			return p
		}
	}
	panic("winoSigma2Inv")
}

// zero clears x.
func (w winoVec) zero(x VecPhysical) {
	if w.lanes == 16 {
		VPXORD(x, x, x)
	} else {
		VXORPS(x, x, x)
	}
}

// transpose4 transposes the 4x4 blocks of the 128-bit lanes of a0..a3 into o0..o3 (t: 4
// temporaries); if only2, only o0 and o1 are computed.
func transpose4(a, o, t []VecPhysical, only2 bool) {
	VUNPCKLPS(a[1], a[0], t[0])
	VUNPCKLPS(a[3], a[2], t[2])
	VUNPCKLPD(t[2], t[0], o[0])
	VUNPCKHPD(t[2], t[0], o[1])
	if only2 {
		return
	}
	VUNPCKHPS(a[1], a[0], t[1])
	VUNPCKHPS(a[3], a[2], t[3])
	VUNPCKLPD(t[3], t[1], o[2])
	VUNPCKHPD(t[3], t[1], o[3])
}

// in4 computes B^T applied to d0..d5 (see winoIn4Go) with the temporaries t, calling put(r, x)
// with output r as soon as it is in x.
func in4(d, t []VecPhysical, put func(r int, x VecPhysical)) {
	c4, c5 := winoConsts["winoC4"], winoConsts["winoC5"]
	VMULPS(c4, d[0], t[0])
	VMULPS(c5, d[2], t[1])
	VSUBPS(t[1], t[0], t[0])
	VADDPS(d[4], t[0], t[0])
	put(0, t[0])
	VADDPS(d[4], d[3], t[0])
	VADDPS(d[2], d[1], t[1])
	VMULPS(c4, t[1], t[1])
	VSUBPS(t[1], t[0], t[0])
	put(1, t[0])
	VSUBPS(d[3], d[4], t[0])
	VSUBPS(d[2], d[1], t[1])
	VMULPS(c4, t[1], t[1])
	VADDPS(t[1], t[0], t[0])
	put(2, t[0])
	VSUBPS(d[2], d[4], t[0])
	VSUBPS(d[1], d[3], t[1])
	VADDPS(t[1], t[1], t[1])
	VADDPS(t[1], t[0], t[2])
	put(3, t[2])
	VSUBPS(t[1], t[0], t[3])
	put(4, t[3])
	VMULPS(c4, d[1], t[0])
	VMULPS(c5, d[3], t[1])
	VSUBPS(t[1], t[0], t[0])
	VADDPS(d[5], t[0], t[0])
	put(5, t[0])
}

// out4 computes A^T applied to m0..m5 (see winoOut4Go) into o0..o3 with the temporaries t.
func out4(m, t, o []VecPhysical) {
	c4, c8 := winoConsts["winoC4"], winoConsts["winoC8"]
	VADDPS(m[2], m[1], t[0]) // s12
	VSUBPS(m[2], m[1], t[1]) // d12
	VADDPS(m[4], m[3], t[2]) // s34
	VSUBPS(m[4], m[3], t[3]) // d34
	VADDPS(t[0], m[0], o[0])
	VADDPS(t[2], o[0], o[0])
	VADDPS(t[3], t[3], o[1])
	VADDPS(o[1], t[1], o[1])
	VMULPS(c4, t[2], o[2])
	VADDPS(o[2], t[0], o[2])
	VMULPS(c8, t[3], o[3])
	VADDPS(o[3], t[1], o[3])
	VADDPS(m[5], o[3], o[3])
}

// stridePtrs returns the addresses of positions xi = r*6+j, r = 0..5, of a matrix of
// positions stride s apart (bytes) from p = base + j*s: p, p+6s, ..., using q = p + 18s.
func stridePtrs(p, q, s6 Register) []Mem {
	LEAQ(Mem{Base: p, Index: s6, Scale: 2}, q)
	ADDQ(s6, q)
	return []Mem{{Base: p}, {Base: p, Index: s6, Scale: 1}, {Base: p, Index: s6, Scale: 2},
		{Base: q}, {Base: q, Index: s6, Scale: 1}, {Base: q, Index: s6, Scale: 2}}
}

// winoIn4 generates winoIn4<level>: V = B^T d B of n tiles (see winoXform.in).
func winoIn4(w winoVec) {
	name := "winoIn4" + w.name
	if w.lanes == 16 {
		TEXT(name, 0, "func(src *float32, ld int, dst *float32, ds int, mask uint16)")
		Doc(fmt.Sprintf("%s stores V = B^T d B of the F(4x4, 3x3) input tiles at src, src+4, ... (rows ld floats apart)", name),
			"at dst + xi*ds (floats) + k for tile k of the 16 whose bit is set in mask (the first n).")
	} else {
		TEXT(name, 0, "func(src *float32, ld int, dst *float32, ds int, n int)")
		Doc(fmt.Sprintf("%s stores V = B^T d B of the F(4x4, 3x3) input tiles at src, src+4, ... (rows ld floats apart)", name),
			"at dst + xi*ds (floats) + k for tile k < n (n <= 8).")
	}
	Pragma("noescape")
	v := w.v
	tmp := AllocLocal(36 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	src := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	idx := v[14]
	if w.lanes == 16 {
		VMOVUPS(winoConsts["winoPerm16"], idx)
	} else {
		VMOVUPS(winoConsts["winoPermIn8"], idx)
	}
	Comment("rows: deinterleave the six columns, B^T along the row, to the stack")
	for i := range 6 {
		for q := range 4 {
			VMOVUPS(Mem{Base: src, Disp: q * w.bytes}, v[q])
		}
		transpose4(v[0:4], v[8:12], v[4:8], false)
		for q := range 4 {
			VMOVUPS(Mem{Base: src, Disp: q*w.bytes + 16}, v[q])
		}
		transpose4(v[0:4], v[12:14], v[4:8], true)
		for j := 8; j < 14; j++ {
			VPERMPS(v[j], idx, v[j])
		}
		in4(v[8:14], v[0:4], func(r int, x VecPhysical) { VMOVUPS(x, slot(i*6+r)) })
		if i < 5 {
			ADDQ(ld, src)
		}
	}
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("ds"), GP64())
	SHLQ(U8(2), ds)
	s6 := GP64()
	LEAQ(Mem{Base: ds, Index: ds, Scale: 2}, s6)
	SHLQ(U8(1), s6)
	q := GP64()
	cols := func(store func(x VecPhysical, m Mem)) {
		p := GP64()
		MOVQ(dst, p)
		for j := range 6 {
			for r := range 6 {
				VMOVUPS(slot(r*6+j), v[r])
			}
			addr := stridePtrs(p, q, s6)
			in4(v[0:6], v[6:10], func(r int, x VecPhysical) { store(x, addr[r]) })
			if j < 5 {
				ADDQ(ds, p)
			}
		}
		VZEROUPPER()
		RET()
	}
	Comment("columns: B^T down the columns, to dst")
	if w.lanes == 16 {
		m := Load(Param("mask"), GP32())
		KMOVW(m, K1)
		cols(func(x VecPhysical, a Mem) { VMOVUPS(x, K1, a) })
		return
	}
	n := Load(Param("n"), GP64())
	CMPQ(n, U8(8))
	JNE(LabelRef(name + "_partial"))
	cols(func(x VecPhysical, a Mem) { VMOVUPS(x, a) })
	Label(name + "_partial")
	mp := GP64()
	LEAQ(winoConsts["winoMask8"].Offset(32), mp)
	SHLQ(U8(2), n)
	SUBQ(n, mp)
	VMOVUPS(Mem{Base: mp}, v[15])
	cols(func(x VecPhysical, a Mem) { VMASKMOVPS(x, v[15], a) })
}

// winoOut4 generates winoOut4<level>: Y = A^T M A of up to lanes tiles, plus bias and residual,
// ReLU, rows x cols values stored (see winoXform.out).
func winoOut4(w winoVec) {
	name := "winoOut4" + w.name
	if w.lanes == 16 {
		TEXT(name, 0, "func(src *float32, ss int, dst *float32, ldd int, res *float32, bias float32, relu bool, rows int, mask uint64)")
		Doc(fmt.Sprintf("%s stores Y = A^T M A + bias (+ res) (then ReLU if relu) of the 16 F(4x4, 3x3) tiles whose M", name),
			"is at src + xi*ss (floats) + k: rows rows of the columns set in mask, ldd floats apart at dst (and res, if not nil).")
	} else {
		TEXT(name, 0, "func(src *float32, ss int, dst *float32, ldd int, res *float32, bias float32, relu bool, rows int, mask *int32)")
		Doc(fmt.Sprintf("%s stores Y = A^T M A + bias (+ res) (then ReLU if relu) of the 8 F(4x4, 3x3) tiles whose M", name),
			"is at src + xi*ss (floats) + k: rows rows of 32 columns, or of those where mask[0:32] is -1 if mask is not nil,",
			"ldd floats apart at dst (and res, if not nil).")
	}
	Pragma("noescape")
	v := w.v
	tmp := AllocLocal(24 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	Comment("columns: A^T down the columns, to the stack")
	src := Load(Param("src"), GP64())
	ss := Load(Param("ss"), GP64())
	SHLQ(U8(2), ss)
	s6 := GP64()
	LEAQ(Mem{Base: ss, Index: ss, Scale: 2}, s6)
	SHLQ(U8(1), s6)
	q := GP64()
	for j := range 6 {
		addr := stridePtrs(src, q, s6)
		for r := range 6 {
			VMOVUPS(addr[r], v[r])
		}
		out4(v[0:6], v[6:10], v[10:14])
		for r := range 4 {
			VMOVUPS(v[10+r], slot(r*6+j))
		}
		if j < 5 {
			ADDQ(ss, src)
		}
	}
	Comment("rows: A^T along the rows, bias, lanes back to columns, residual, ReLU, store")
	b, _ := Param("bias").Resolve()
	VBROADCASTSS(b.Addr, v[14])
	if w.lanes == 16 {
		VMOVUPS(winoConsts["winoPerm16"], v[15])
	} else {
		VMOVUPS(winoConsts["winoPermOut8"], v[15])
	}
	dst := Load(Param("dst"), GP64())
	res := Load(Param("res"), GP64())
	resArg, _ := Param("res").Resolve() // res itself moves down the rows
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	rows := Load(Param("rows"), GP64())
	relu := Load(Param("relu"), GP8())
	// chunk q of a row: masked (or not) load of res, store.
	var loadRes func(q int, a Mem, x VecPhysical)
	var store func(q int, x VecPhysical, a Mem)
	emitRows := func(tag string) {
		for i := range 4 {
			if i > 0 {
				CMPQ(rows, U8(i))
				JLE(LabelRef(name + tag + "_done"))
				ADDQ(ldd, dst)
				ADDQ(ldd, res)
			}
			for j := range 6 {
				VMOVUPS(slot(i*6+j), v[j])
			}
			out4(v[0:6], v[6:10], v[10:14])
			for c := range 4 {
				VADDPS(v[14], v[10+c], v[10+c])
				VPERMPS(v[10+c], v[15], v[10+c])
			}
			transpose4(v[10:14], v[0:4], v[4:8], false)
			l := fmt.Sprintf("%s%s_%d", name, tag, i)
			CMPQ(resArg.Addr, U8(0))
			JE(LabelRef(l + "_nores"))
			for c := range 4 {
				loadRes(c, Mem{Base: res, Disp: c * w.bytes}, v[8])
				VADDPS(v[8], v[c], v[c])
			}
			Label(l + "_nores")
			CMPB(relu, U8(0))
			JE(LabelRef(l + "_norelu"))
			w.zero(v[8])
			for c := range 4 {
				VMAXPS(v[c], v[8], v[c])
			}
			Label(l + "_norelu")
			for c := range 4 {
				store(c, v[c], Mem{Base: dst, Disp: c * w.bytes})
			}
		}
		Label(name + tag + "_done")
		VZEROUPPER()
		RET()
	}
	if w.lanes == 16 {
		m := GP64()
		Load(Param("mask"), m)
		ks := []Register{K1, K2, K3, K4}
		for c := range 4 {
			KMOVW(m.As32(), ks[c])
			if c < 3 {
				SHRQ(U8(16), m)
			}
		}
		loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS_Z(a, ks[q], x) }
		store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, ks[q], a) }
		emitRows("")
		return
	}
	mp := Load(Param("mask"), GP64())
	CMPQ(mp, U8(0))
	JNE(LabelRef(name + "_partial"))
	loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS(a, x) }
	store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, a) }
	emitRows("_full")
	Label(name + "_partial")
	loadRes = func(q int, a Mem, x VecPhysical) {
		VMOVUPS(Mem{Base: mp, Disp: q * 32}, v[9])
		VMASKMOVPS(a, v[9], x)
	}
	store = func(q int, x VecPhysical, a Mem) {
		VMOVUPS(Mem{Base: mp, Disp: q * 32}, v[9])
		VMASKMOVPS(x, v[9], a)
	}
	emitRows("_part")
}

// winoIn2 generates winoIn2<level>: V = B^T d B of n F(2x2, 3x3) tiles, tile k's input at
// src[2k] (see winoIn2Go). Columns 0 and 1 of the tiles are the even and odd floats of two
// vectors (VSHUFPS), columns 2 and 3 those of two vectors one tile further.
func winoIn2(w winoVec) {
	name := "winoIn2" + w.name
	if w.lanes == 16 {
		TEXT(name, 0, "func(src *float32, ld int, dst *float32, ds int, mask uint16)")
		Doc(fmt.Sprintf("%s stores V = B^T d B of the F(2x2, 3x3) input tiles at src, src+2, ... (rows ld floats apart)", name),
			"at dst + xi*ds (floats) + k for tile k of the 16 whose bit is set in mask (the first n).")
	} else {
		TEXT(name, 0, "func(src *float32, ld int, dst *float32, ds int, n int)")
		Doc(fmt.Sprintf("%s stores V = B^T d B of the F(2x2, 3x3) input tiles at src, src+2, ... (rows ld floats apart)", name),
			"at dst + xi*ds (floats) + k for tile k < n (n <= 8).")
	}
	Pragma("noescape")
	v := w.v
	tmp := AllocLocal(16 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	src := Load(Param("src"), GP64())
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
	dst := Load(Param("dst"), GP64())
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
	if w.lanes == 16 {
		m := Load(Param("mask"), GP32())
		KMOVW(m, K1)
		cols(func(x VecPhysical, a Mem) { VMOVUPS(x, K1, a) })
		return
	}
	n := Load(Param("n"), GP64())
	CMPQ(n, U8(8))
	JNE(LabelRef(name + "_partial"))
	cols(func(x VecPhysical, a Mem) { VMOVUPS(x, a) })
	Label(name + "_partial")
	mp := GP64()
	LEAQ(winoConsts["winoMask8"].Offset(32), mp)
	SHLQ(U8(2), n)
	SUBQ(n, mp)
	VMOVUPS(Mem{Base: mp}, v[14])
	cols(func(x VecPhysical, a Mem) { VMASKMOVPS(x, v[14], a) })
}

// winoOut2 generates winoOut2<level>: Y = A^T M A of up to lanes F(2x2, 3x3) tiles, plus bias
// and residual, ReLU, rows x cols values stored (see winoOut2Go).
func winoOut2(w winoVec) {
	name := "winoOut2" + w.name
	if w.lanes == 16 {
		TEXT(name, 0, "func(src *float32, ss int, dst *float32, ldd int, res *float32, bias float32, relu bool, rows int, mask uint32)")
		Doc(fmt.Sprintf("%s stores Y = A^T M A + bias (+ res) (then ReLU if relu) of the 16 F(2x2, 3x3) tiles whose M", name),
			"is at src + xi*ss (floats) + k: rows rows of the columns set in mask, ldd floats apart at dst (and res, if not nil).")
	} else {
		TEXT(name, 0, "func(src *float32, ss int, dst *float32, ldd int, res *float32, bias float32, relu bool, rows int, mask *int32)")
		Doc(fmt.Sprintf("%s stores Y = A^T M A + bias (+ res) (then ReLU if relu) of the 8 F(2x2, 3x3) tiles whose M", name),
			"is at src + xi*ss (floats) + k: rows rows of 16 columns, or of those where mask[0:16] is -1 if mask is not nil,",
			"ldd floats apart at dst (and res, if not nil).")
	}
	Pragma("noescape")
	v := w.v
	tmp := AllocLocal(8 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	out2 := func(m []VecPhysical, o []VecPhysical) {
		VADDPS(m[1], m[0], o[0])
		VADDPS(m[2], o[0], o[0])
		VSUBPS(m[2], m[1], o[1])
		VSUBPS(m[3], o[1], o[1])
	}
	Comment("columns: A^T down the columns, to the stack")
	src := Load(Param("src"), GP64())
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
	dst := Load(Param("dst"), GP64())
	res := Load(Param("res"), GP64())
	resArg, _ := Param("res").Resolve()
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
	if w.lanes == 16 {
		m := GP32()
		Load(Param("mask"), m)
		ks := []Register{K1, K2}
		KMOVW(m, K1)
		SHRL(U8(16), m)
		KMOVW(m, K2)
		loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS_Z(a, ks[q], x) }
		store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, ks[q], a) }
		emitRows("")
		return
	}
	mp := Load(Param("mask"), GP64())
	CMPQ(mp, U8(0))
	JNE(LabelRef(name + "_partial"))
	loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS(a, x) }
	store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, a) }
	emitRows("_full")
	Label(name + "_partial")
	loadRes = func(q int, a Mem, x VecPhysical) {
		VMOVUPS(Mem{Base: mp, Disp: q * 32}, v[9])
		VMASKMOVPS(a, v[9], x)
	}
	store = func(q int, x VecPhysical, a Mem) {
		VMOVUPS(Mem{Base: mp, Disp: q * 32}, v[9])
		VMASKMOVPS(x, v[9], a)
	}
	emitRows("_part")
}
