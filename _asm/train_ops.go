package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxGrad2x2Data is the f32train group's constants of f32MaxGrad2x2: 16 int32 lane indices
// 0, 0, 1, 1, ..., 7, 7 (spreading a window's gradient over its two columns), then 16 float32s
// 0, 1, 0, 1, ... (the odd lanes: the window's second column) and 1.0.
var maxGrad2x2Data Mem

func maxGrad2x2Consts() Mem {
	if maxGrad2x2Data.Symbol.Name == "" {
		maxGrad2x2Data = GLOBL("f32MaxGrad2x2Consts", RODATA|NOPTR)
		for i := range 16 { // in increasing offsets, as the Go assembler wants them
			DATA(4*i, U32(uint32(i/2)))
		}
		for i := range 16 {
			DATA(64+4*i, U32(math.Float32bits(float32(i%2))))
		}
		DATA(128, U32(math.Float32bits(1)))
	}
	return maxGrad2x2Data
}

// maxGrad2x2 generates f32MaxGrad2x2<level>: the gradient of one output row of a 2x2 stride-2
// max pooling, vl/2 windows a step. Window k reads r0[2k], r0[2k+1], r1[2k], r1[2k+1]; the first
// of them equal to its maximum in that order gets g[k] added (dst0 and dst1 are the rows of the
// input gradient). The maximum is made NaN by a NaN in the window (maxNaN), which then equals
// none of its values and gets nothing: the routine reports such windows and the caller gives
// them their gradient (the last NaN's), a rare case not worth vector code.
//
// "First equal" is counted in floats without branches: z = 1 where a value equals the maximum;
// a lane's earlier equal values are its row's left neighbour (odd lanes) and, in the second
// row, the first row's pair; the lane wins when z exceeds that count.
func maxGrad2x2(l *level) {
	name := "f32MaxGrad2x2" + l.name
	TEXT(name, NOSPLIT, "func(dst0, dst1, g, r0, r1 []float32) int")
	Pragma("noescape")
	Doc(name+" is f32MaxGrad2x2Go with "+isaName(l)+": adds g[k] to the first maximum of the",
		"window r0[2k:2k+2], r1[2k:2k+2] in dst0[2k:2k+2], dst1[2k:2k+2], for k < len(g), and returns",
		"1 if a window held a NaN (and got nothing), else 0.")
	c := maxGrad2x2Consts()
	idx, odd, one := l.vec(), l.vec(), l.vec()
	VMOVUPS(c, idx)
	VMOVUPS(c.Offset(64), odd)
	VBROADCASTSS(c.Offset(128), one)
	d0, d1, gp, p0, p1 := loadBase("dst0"), loadBase("dst1"), loadBase("g"), loadBase("r0"), loadBase("r1")
	w := GP64() // windows left
	Load(Param("g").Len(), w)
	var nanAcc VecVirtual // NaN lanes of the maxima seen: K1 at AVX-512
	if l.avx512() {
		KXORW(K1, K1, K1)
	} else {
		nanAcc = l.vec()
		l.zero(nanAcc)
	}
	half := l.vl / 2
	i, j := GP64(), GP64() // byte offsets into the rows and into g
	XORQ(i, i)
	XORQ(j, j)

	// step does vl/2 windows, under the masks mIn (inputs and dst) and mG (g) when masked.
	step := func(masked bool, mIn, mG Op) {
		a, b, gv := l.vec(), l.vec(), l.vec()
		ma, mb := Mem{Base: p0, Index: i, Scale: 1}, Mem{Base: p1, Index: i, Scale: 1}
		mgm := Mem{Base: gp, Index: j, Scale: 1}
		if masked {
			l.maskedLoad(ma, mIn, a)
			l.maskedLoad(mb, mIn, b)
			l.maskedLoad(mgm, mG, gv)
		} else {
			VMOVUPS(ma, a)
			VMOVUPS(mb, b)
			if l.avx512() {
				VMOVUPS(mgm, gv.AsY())
			} else {
				VMOVUPS(mgm, gv.AsX())
			}
		}
		VPERMPS(gv, idx, gv) // g[k] in lanes 2k and 2k+1
		as, bs, m, t := l.vec(), l.vec(), l.vec(), l.vec()
		VPERMILPS(U8(0xB1), a, as) // each lane's pair partner
		VPERMILPS(U8(0xB1), b, bs)
		l.maxNaN(a, as, as, t)
		l.maxNaN(b, bs, bs, t)
		l.maxNaN(as, bs, m, t)
		z0, z1 := l.vec(), l.vec()
		eqOne(l, a, m, one, z0)
		eqOne(l, b, m, one, z1)
		// The equal values before each lane: row 0, the left neighbour's; row 1, the left
		// neighbour's and row 0's two.
		s0, s1, r0c := l.vec(), l.vec(), l.vec()
		VPERMILPS(U8(0xB1), z0, s0)
		VPERMILPS(U8(0xB1), z1, s1)
		VADDPS(s0, z0, r0c)
		VMULPS(odd, s0, s0)
		VFMADD213PS(r0c, odd, s1) // s1 = s1*odd + r0c
		addWhereAbove(l, z0, s0, gv, Mem{Base: d0, Index: i, Scale: 1}, masked, mIn)
		addWhereAbove(l, z1, s1, gv, Mem{Base: d1, Index: i, Scale: 1}, masked, mIn)
		if l.avx512() {
			VCMPPS(U8(3), m, m, K2) // unordered: a NaN in the window
			if masked {
				KANDW(mIn, K2, K2)
			}
			KORW(K2, K1, K1)
		} else {
			VCMPPS(U8(3), m, m, t)
			if masked {
				VANDPS(mIn, t, t)
			}
			VORPS(t, nanAcc, nanAcc)
		}
	}

	Label(name + "_loop")
	CMPQ(w, U32(half))
	JB(LabelRef(name + "_tail"))
	step(false, nil, nil)
	ADDQ(U32(4*l.vl), i)
	ADDQ(U32(4*half), j)
	SUBQ(U32(half), w)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(w, w)
	JZ(LabelRef(name + "_done"))
	var mIn, mG Op = K3, K4
	if !l.avx512() {
		mIn, mG = l.vec(), l.vec()
	}
	e := l.vec()
	l.broadcastInt(w, e)
	l.lanesBelow(e, 0, mG)
	ADDQ(w, w)
	l.broadcastInt(w, e)
	l.lanesBelow(e, 0, mIn)
	step(true, mIn, mG)

	Label(name + "_done")
	r := GP32()
	if l.avx512() {
		KMOVW(K1, r)
	} else {
		VMOVMSKPS(nanAcc, r)
	}
	ret := GP64()
	XORQ(ret, ret)
	TESTL(r, r)
	SETNE(ret.As8())
	Store(ret, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// eqOne sets z to 1 where x == m, else 0.
func eqOne(l *level, x, m, one, z VecVirtual) {
	if l.avx512() {
		VCMPPS(U8(0), m, x, K2)
		VMOVAPS_Z(one, K2, z)
		return
	}
	VCMPPS(U8(0), m, x, z)
	VANDPS(one, z, z)
}

// addWhereAbove adds gv to the vector at mem in the lanes where z > s (masked: the lanes of mIn
// only, read and written).
func addWhereAbove(l *level, z, s, gv VecVirtual, mem Mem, masked bool, mIn Op) {
	d := l.vec()
	if masked {
		l.maskedLoad(mem, mIn, d)
	} else {
		VMOVUPS(mem, d)
	}
	if l.avx512() {
		VCMPPS(U8(1), z, s, K2) // s < z
		VADDPS(gv, d, K2, d)
	} else {
		t := l.vec()
		VCMPPS(U8(1), z, s, t)
		VANDPS(gv, t, t)
		VADDPS(t, d, d)
	}
	if masked {
		l.maskedStore(d, mIn, mem)
	} else {
		VMOVUPS(d, mem)
	}
}

// transpose8 generates f32Transpose8x8AVX (AVX only, for both levels: a block is eight ymm
// rows): nb 8 x 8 blocks, block k's row r read from src[k*ss+r*lds:] and written as column r of
// dst[k*ds:] (row c at dst[k*ds+c*ldd:]). The channels-last transposes of the weight gradients
// were 5-7% of ResNet-18's step a value at a time; unpacks, shuffles and lane permutes do a
// block in 24 register operations.
func transpose8() {
	name := "f32Transpose8x8AVX"
	TEXT(name, NOSPLIT, "func(dst, src []float32, lds, ldd, nb, ss, ds int)")
	Pragma("noescape")
	Doc(name+" is f32Transpose8x8Go with AVX: dst[k*ds+c*ldd+r] = src[k*ss+r*lds+c] for r, c < 8",
		"and k < nb.")
	sp, dp := loadBase("src"), loadBase("dst")
	lds, ldd := Load(Param("lds"), GP64()), Load(Param("ldd"), GP64())
	SHLQ(U8(2), lds)
	SHLQ(U8(2), ldd)
	nb := Load(Param("nb"), GP64())
	ss, ds := Load(Param("ss"), GP64()), Load(Param("ds"), GP64())
	SHLQ(U8(2), ss)
	SHLQ(U8(2), ds)
	// Rows 0-3 at sp + {0,1,2,3}*lds: base pointers for rows 0 and 4, and 3*ld.
	lds3, ldd3 := GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	sp4, dp4 := GP64(), GP64()
	LEAQ(Mem{Base: sp, Index: lds, Scale: 4}, sp4)
	LEAQ(Mem{Base: dp, Index: ldd, Scale: 4}, dp4)
	row := func(base, ld, ld3 Register, r int) Mem {
		b := base
		if r >= 4 {
			r -= 4
		}
		switch r {
		case 0:
			return Mem{Base: b}
		case 1:
			return Mem{Base: b, Index: ld, Scale: 1}
		case 2:
			return Mem{Base: b, Index: ld, Scale: 2}
		}
		return Mem{Base: b, Index: ld3, Scale: 1}
	}
	v := make([]VecVirtual, 8)
	for r := range 8 {
		v[r] = YMM()
		b := sp
		if r >= 4 {
			b = sp4
		}
		VMOVUPS(row(b, lds, lds3, r), v[r])
	}
	t := make([]VecVirtual, 8)
	for p := 0; p < 8; p += 2 { // t = rows' pairs interleaved: (r0 r1)lo, (r0 r1)hi, ...
		t[p], t[p+1] = YMM(), YMM()
		VUNPCKLPS(v[p+1], v[p], t[p])
		VUNPCKHPS(v[p+1], v[p], t[p+1])
	}
	u := make([]VecVirtual, 8)
	for q := 0; q < 8; q += 4 { // u = four rows' columns, per 128-bit lane
		for h := range 2 {
			u[q+2*h], u[q+2*h+1] = YMM(), YMM()
			VSHUFPS(U8(0x44), t[q+2+h], t[q+h], u[q+2*h])
			VSHUFPS(U8(0xEE), t[q+2+h], t[q+h], u[q+2*h+1])
		}
	}
	for c := range 8 { // column c: lane c/4 of rows 0-3 and of rows 4-7
		o := YMM()
		imm := U8(0x20)
		if c >= 4 {
			imm = U8(0x31)
		}
		VPERM2F128(imm, u[4+c%4], u[c%4], o)
		b := dp
		if c >= 4 {
			b = dp4
		}
		VMOVUPS(o, row(b, ldd, ldd3, c))
	}
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// dotDiff generates f32DotDiff<level>: the sum of g[i]*(x[i] - m), batch norm's backward sum
// over a plane (the gradient's projection on the centred input), two vector accumulators as
// RSum keeps. In the tail, g's masked-off lanes load as zeros, so their x - m adds nothing.
func dotDiff(l *level) {
	name := "f32DotDiff" + l.name
	TEXT(name, NOSPLIT, "func(g, x []float32, m float32) float32")
	Pragma("noescape")
	Doc(name + " is f32DotDiffGo with " + isaName(l) + ": the sum of g[i]*(x[i] - m) for i < len(g).")
	mv := l.vec()
	VBROADCASTSS(scalarParam("m"), mv)
	acc := []VecVirtual{l.vec(), l.vec()}
	l.zero(acc[0])
	l.zero(acc[1])
	g, x := in("g"), in("x")
	e := newEwise(l, name, g, x)
	e.loop(loadLen("g"), 2, func(e *ewise) {
		d := e.load(x, 0)
		VSUBPS(mv, d, d)
		VFMADD231PS(e.src(g, 0), d, acc[e.u])
	})
	reduce(l, acc[0], acc[1])
	Store(acc[0].AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// sumSq generates f32SumSq32<level>: the sum of x[i]*x[i] in float64 over whole blocks of 32,
// gradient clipping's per-tensor sums. Lane k (i mod 32) of the blocks has its own sum, the 32
// then added pairwise (k += k+16, k += k+8, ... k += k+1), which AVX-512 keeps as 4 vectors
// and AVX2 as 8, so that both levels and the twin add in one order. A float32 square is exact
// in float64 (24-bit significands), so the fused multiply-add rounds once as the twin's
// multiply and add do: every level's result is the twin's bit for bit.
func sumSq(l *level) {
	name := "f32SumSq32" + l.name
	TEXT(name, NOSPLIT, "func(x []float32) float64")
	Pragma("noescape")
	Doc(name+" is f32SumSq32Go with "+isaName(l)+": the sum of the squares of x in float64, in 32",
		"lanes added pairwise; len(x) is a multiple of 32.")
	xp := loadBase("x")
	nb := loadLen("x")
	SHRQ(U8(5), nb)
	nacc, step := 8, 16 // AVX2: 4 float32 (a ymm of float64) per vector
	if l.avx512() {
		nacc, step = 4, 32
	}
	acc := make([]VecVirtual, nacc)
	for k := range acc {
		acc[k] = l.vec()
		l.zero(acc[k])
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for k := range acc {
		t := l.vec()
		VCVTPS2PD(Mem{Base: xp, Disp: k * step}, t)
		VFMADD231PD(t, t, acc[k])
	}
	ADDQ(U32(128), xp)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	Comment("lane k += lane k+w for w = 16, 8, ..., 1")
	for n := nacc / 2; n >= 1; n /= 2 {
		for k := range n {
			VADDPD(acc[k+n], acc[k], acc[k])
		}
	}
	a := acc[0]
	t := l.vec()
	if l.avx512() {
		VEXTRACTF64X4(U8(1), a, t.AsY())
		VADDPD(t.AsY(), a.AsY(), a.AsY())
	}
	VEXTRACTF128(U8(1), a.AsY(), t.AsX())
	VADDPD(t.AsX(), a.AsX(), a.AsX())
	VPERMILPD(U8(1), a.AsX(), t.AsX())
	VADDSD(t.AsX(), a.AsX(), a.AsX())
	Store(a.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// maxArg3x3s2 generates f32MaxArg3x3s2AVX, for both levels: the first maximum of 8 windows of a
// 3x3 stride-2 max pooling (the ResNets' and GoogLeNet's stem), window k reading
// ry[2k:2k+3] of its three rows. Each row's values at 2k, 2k+1 and 2k+2 are two stride-2
// gathers (VSHUFPS of two vectors, as f32VGatherS2), the second one a value further on. The
// maximum is NaN when a value is (maxNaN), and then equals none. Going back from the last
// position to the first, a lane takes the position wherever its value equals the maximum, so
// that the first equal one is left: no branch on the data. The 8 positions (0-8 in row-major
// order, -1 for a window with a NaN) come back as the bytes of a uint64, so that the caller
// needs no buffer (a slice passed through the dispatch table escapes: an allocation a call).
// 8 windows at AVX-512 too: the scatter of the gradients is the caller's scalar loop.
func maxArg3x3s2() {
	name := "f32MaxArg3x3s2AVX"
	TEXT(name, NOSPLIT, "func(r0, r1, r2 []float32) uint64")
	Pragma("noescape")
	Doc(name+" is f32MaxArg3x3s2Go with AVX2: byte k of the result is the first position (3*row",
		"+ column) of the maximum of the window r0[2k:2k+3], r1[2k:2k+3], r2[2k:2k+3], -1 if the window",
		"holds a NaN, for k < 8; the rows hold 18 values or more.")
	l := lvl256
	var v [9]VecVirtual
	for y, p := range []string{"r0", "r1", "r2"} {
		b := loadBase(p)
		a0, a1, e0, o := YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: b}, a0)
		VMOVUPS(Mem{Base: b, Disp: 32}, a1)
		VSHUFPS(U8(0x88), a1, a0, e0) // columns 2k
		VSHUFPS(U8(0xDD), a1, a0, o)  // 2k+1
		VPERMPD(U8(0xD8), e0, e0)
		VPERMPD(U8(0xD8), o, o)
		c0, c1, e1 := YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: b, Disp: 8}, c0)
		VMOVUPS(Mem{Base: b, Disp: 40}, c1)
		VSHUFPS(U8(0x88), c1, c0, e1) // 2k+2
		VPERMPD(U8(0xD8), e1, e1)
		v[3*y], v[3*y+1], v[3*y+2] = e0, o, e1
	}
	m, t := YMM(), YMM()
	l.maxNaN(v[0], v[1], m, t)
	for i := 2; i < 9; i++ {
		l.maxNaN(m, v[i], m, t)
	}
	k, eq, c := YMM(), YMM(), YMM()
	VPCMPEQD(k, k, k) // -1
	for i := 8; i >= 0; i-- {
		VCMPPS(U8(0), m, v[i], eq)
		VPBROADCASTD(iota().Offset(4*i), c)
		VBLENDVPS(eq, c, k, k)
	}
	h := XMM()
	VEXTRACTI128(U8(1), k, h)
	VPACKSSDW(h, k.AsX(), h) // windows 0-3, then 4-7, as int16
	VPACKSSWB(h, h, h)
	r := GP64()
	VMOVQ(h, r)
	Store(r, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// reluGrad generates f32ReLUGrad<level>: dx = dy where y > 0, else +0 (a ReLU's gradient from
// its output), a compare and a masked move or an AND: exact, NaN in y giving 0 as y > 0 does.
func reluGrad(l *level) {
	name := "f32ReLUGrad" + l.name
	TEXT(name, NOSPLIT, "func(dx, dy, y []float32)")
	Pragma("noescape")
	Doc(name+" is f32ReLUGradGo with "+isaName(l)+": dx[i] = dy[i] where y[i] > 0, else 0, for",
		"i < len(dx).")
	zero := l.vec()
	l.zero(zero)
	dx, dy, y := in("dx"), in("dy"), in("y")
	e := newEwise(l, name, dx, dy, y)
	e.loop(loadLen("dx"), 4, func(e *ewise) {
		yv := e.load(y, 0)
		if l.avx512() {
			VCMPPS(U8(0x1e), zero, yv, K2) // y > 0, ordered
			d := l.vec()
			VMOVUPS_Z(e.src(dy, 0), K2, d)
			e.store(dx, 0, d)
			return
		}
		VCMPPS(U8(0x1e), zero, yv, yv)
		VANDPS(e.src(dy, 0), yv, yv)
		e.store(dx, 0, yv)
	})
	VZEROUPPER()
	RET()
}
