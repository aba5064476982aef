package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The f32winograd group: the Winograd transforms of runtime/kernels/winograd.go, one tile per
// vector lane, 16 tiles per call in zmm registers (AVX-512), 8 in ymm (AVX2; VEX only, Y0-Y15):
// f32WinoIn4x4 (V = B^T d B of F(4x4, 3x3)'s input tiles), f32WinoOutEpi4x4 (Y = A^T M A with the
// epilogue: bias, residual, ReLU) and their F(2x2, 3x3) counterparts (winograd2x2.go).
//
// The tiles of a call are consecutive along a row of the image, tile k's input starting at
// src[4k]: column j of the tiles is src[4k+j], a stride-4 gather. Four vector loads hold
// columns 0-3 of every tile, each 128-bit lane one tile, and a 4x4 transpose within the lanes
// (unpack low/high, single then double) puts column j of four tiles in each lane; one VPERMPS
// puts the tiles back in order. Columns 4 and 5 are columns 0 and 1 of loads one tile further.
// The output transform runs the same network backwards (the lane transpose is an involution).
// The arithmetic is that of the Go twins (f32WinoIn4x4Go, f32WinoOutEpi4x4Go), operation for
// operation, with no fused multiply-adds: rows of d first, through a stack buffer, then columns.
// Partial runs of tiles (n < lanes) and of output columns are stored under masks.

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

// in4 computes B^T applied to d0..d5 (see f32WinoIn4x4Go) with the temporaries t, calling put(r, x)
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

// out4 computes A^T applied to m0..m5 (see f32WinoOutEpi4x4Go) into o0..o3 with the temporaries t.
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

// winoInSig and winoOutSig are the signatures of the transforms (and of their Go twins).
const (
	winoInSig  = "func(src []float32, ld int, dst []float32, ds, n int)"
	winoOutSig = "func(src []float32, ss int, dst []float32, ldd int, res []float32, bias float32, relu bool, rows, cols int)"
)

// winoIn4 generates f32WinoIn4x4<level>: V = B^T d B of n tiles (see winoXform.in).
func winoIn4(w winoVec) {
	name := "f32WinoIn4x4" + w.name
	TEXT(name, 0, winoInSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoIn4x4Go with %s: it stores V = B^T d B of the F(4x4, 3x3) input tiles at", name, w.isa()),
		fmt.Sprintf("src, src[4:], ... (rows ld floats apart) at dst[xi*ds+k] for tile k < n (n <= %d); it reads", w.lanes),
		fmt.Sprintf("src[5*ld : 5*ld+%d] and every row up to there.", 4*w.lanes+4))
	v := w.v
	tmp := AllocLocal(36 * w.bytes)
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	src := loadBase("src")
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
	dst := loadBase("dst")
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
	w.columns(name, v[15], cols)
}

// columns emits cols(store) for the tiles below n: with a masked store (AVX-512: K1; AVX2: the
// mask in m) or, at AVX2 with n = 8, a plain one.
func (w winoVec) columns(name string, m VecPhysical, cols func(store func(x VecPhysical, a Mem))) {
	n := Load(Param("n"), GP64())
	if w.lanes == 16 {
		lvl512.broadcastInt(n.(GP), Z16)
		lvl512.lanesBelow(Z16, 0, K1)
		cols(func(x VecPhysical, a Mem) { VMOVUPS(x, K1, a) })
		return
	}
	CMPQ(n, U8(8))
	JNE(LabelRef(name + "_partial"))
	cols(func(x VecPhysical, a Mem) { VMOVUPS(x, a) })
	Label(name + "_partial")
	lvl256.broadcastInt(n.(GP), m)
	lvl256.lanesBelow(m, 0, m)
	cols(func(x VecPhysical, a Mem) { VMASKMOVPS(x, m, a) })
}

// isa is the level's instruction set as the docs spell it.
func (w winoVec) isa() string {
	if w.lanes == 16 {
		return "AVX-512"
	}
	return "AVX2"
}

// winoOut4 generates f32WinoOutEpi4x4<level>: Y = A^T M A of up to lanes tiles, plus bias and
// residual, ReLU, rows x cols values stored (see winoXform.out).
func winoOut4(w winoVec) {
	name := "f32WinoOutEpi4x4" + w.name
	TEXT(name, 0, winoOutSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoOutEpi4x4Go with %s: it stores Y = A^T M A + bias (+ res) (then ReLU if", name, w.isa()),
		fmt.Sprintf("relu) of the %d F(4x4, 3x3) tiles whose M is at src[xi*ss+k]: rows rows of cols columns, ldd", w.lanes),
		"floats apart at dst (and res, unless nil).")
	v := w.v
	tmp := AllocLocal(24*w.bytes + 4*w.bytes) // the columns' transforms, then the AVX2 masks
	slot := func(i int) Mem { return tmp.Offset(i * w.bytes) }
	Comment("columns: A^T down the columns, to the stack")
	src := loadBase("src")
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
	dst := loadBase("dst")
	res := loadBase("res")
	resArg, _ := Param("res").Base().Resolve() // res itself moves down the rows
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
	w.outMasks(name, 4, tmp.Offset(24*w.bytes), &loadRes, &store, emitRows)
}

// outMasks emits the output transform's rows (emitRows) with loadRes and store set for chunks
// of cols columns: under K1..K<chunks> (AVX-512), or at AVX2 plainly when every column is stored
// and else under masks computed into the frame at slots (v[8], v[9] free).
func (w winoVec) outMasks(name string, chunks int, slots Mem, loadRes *func(q int, a Mem, x VecPhysical),
	store *func(q int, x VecPhysical, a Mem), emitRows func(tag string)) {
	v := w.v
	cols := Load(Param("cols"), GP64())
	if w.lanes == 16 {
		ks := []Register{K1, K2, K3, K4}[:chunks]
		lvl512.broadcastInt(cols.(GP), Z16)
		for c, k := range ks {
			lvl512.lanesBelow(Z16, 16*c, k)
		}
		*loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS_Z(a, ks[q], x) }
		*store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, ks[q], a) }
		emitRows("")
		return
	}
	CMPQ(cols, U8(8*chunks))
	JNE(LabelRef(name + "_partial"))
	*loadRes = func(q int, a Mem, x VecPhysical) { VMOVUPS(a, x) }
	*store = func(q int, x VecPhysical, a Mem) { VMOVUPS(x, a) }
	emitRows("_full")
	Label(name + "_partial")
	lvl256.broadcastInt(cols.(GP), v[8])
	for q := range chunks {
		lvl256.lanesBelow(v[8], 8*q, v[9])
		VMOVUPS(v[9], slots.Offset(32*q))
	}
	*loadRes = func(q int, a Mem, x VecPhysical) {
		VMOVUPS(slots.Offset(32*q), v[9])
		VMASKMOVPS(a, v[9], x)
	}
	*store = func(q int, x VecPhysical, a Mem) {
		VMOVUPS(slots.Offset(32*q), v[9])
		VMASKMOVPS(x, v[9], a)
	}
	emitRows("_part")
}
