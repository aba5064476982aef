package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The f32dwconv group: f32DWConv<k>x<k>s<s>, one channel of a k x k depthwise convolution (k = 3
// or 5, stride s = 1 or 2) over an input plane already framed by its zero padding, so that every
// output reads inside it:
//
//	dst[y*ldd+x] = bias + sum_{i,j} w[i*k+j]*src[(s*y+i)*ld + s*x+j]   for y < rows, x < cols
//
// Each output is one chain of FMAs from the bias, tap (0, 0) first, row by row of the kernel:
// the pure-Go twin's order. The per-row kernels of f32dwconvrow make each output row start from and
// return to memory once per kernel row, and make a short row (EfficientNet's 7 to 56 columns) a
// call of its own; here a call is a whole plane, the accumulators stay in registers over all
// k*k taps, and four output rows go side by side so that four FMA chains hide the FMA latency.
// At AVX-512 stride 1 each input row is loaded once per pass, as two vectors whose k shifted
// windows VALIGND extracts (unaligned loads of 64 bytes nearly all straddle two cache lines).
// The last vector of each output row is stored under a mask, so rows need not be multiples of
// the vector length; the loads past a row's end read the next row or the caller's slack (the
// values land in masked-off lanes only).
//
// Four rows side by side (dwconvRows): at AVX-512 3x3 stride 1 a pass then holds 4 accumulators
// and 9 weights in registers and loads each of its 6 input rows once. On EfficientNet-B0's
// depthwise layers (BenchmarkDepthwise, AVX-512, median of 4 alternating runs) 2 rows took
// 1.1-1.66x as long as 4 (5x5: 1.36-1.66x); more rows leave too few registers for 5x5 at AVX2
// (4 accumulators, 3 temporaries and a weight of the 16 ymm, plus the mask).
//
// f32CopyPlane copies a channel into the interior of that padded plane.
func dwconvSet() {
	for _, l := range levels {
		for _, k := range []int{3, 5} {
			for _, s := range []int{1, 2} {
				dwconv(l, k, s)
			}
		}
		copyPlane(l)
	}
}

// copyPlane generates f32CopyPlane<level>: the last vector of each row through a mask, so
// nothing outside the plane's rows is read or written: the padded plane's frame stays zero. One
// call per channel replaces a copy per row, which on EfficientNet's 7x7 to 28x28 planes cost as
// much as the convolution.
func copyPlane(l *level) {
	name := "f32CopyPlane" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32, rows, cols, ldd int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32CopyPlaneGo with %s: it copies rows rows of cols floats from src (contiguous)", name, isaName(l)),
		"to dst, rows ldd floats apart.")
	r := l.regs
	dst := loadBase("dst")
	src := loadBase("src")
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	ldd := Load(Param("ldd"), GP64())
	TESTQ(rows, rows)
	JE(LabelRef(name + "_done"))
	TESTQ(cols, cols)
	JE(LabelRef(name + "_done"))
	mask := columnMask(l, cols)
	SHLQ(U8(2), ldd)
	vectors := GP64()
	MOVQ(cols, vectors)
	ADDQ(U8(l.vl-1), vectors)
	SHRQ(U8(l.shift), vectors)
	SHLQ(U8(2), cols) // bytes of a src row
	d, sp, c := GP64(), GP64(), GP64()
	Label(name + "_row")
	MOVQ(dst, d)
	MOVQ(src, sp)
	MOVQ(vectors, c)
	Label(name + "_vec")
	DECQ(c)
	JZ(LabelRef(name + "_last"))
	VMOVUPS(Mem{Base: sp}, r[0])
	VMOVUPS(r[0], Mem{Base: d})
	ADDQ(U8(4*l.vl), sp)
	ADDQ(U8(4*l.vl), d)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_last")
	l.maskedLoad(Mem{Base: sp}, mask, r[0])
	l.maskedStore(r[0], mask, Mem{Base: d})
	ADDQ(cols, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// dwconvRows is how many output rows one pass computes side by side.
const dwconvRows = 4

// dwconvGen holds one kernel's registers while it is generated.
type dwconvGen struct {
	l       *level
	k, s    int
	name    string
	acc     []VecPhysical // dwconvRows accumulators
	tmp     []VecPhysical // three temporaries
	w       []VecPhysical // the k*k weights in registers (AVX-512), else nil
	wp      Register      // the weights (AVX2: broadcast tap by tap)
	mask    Op            // K1 (AVX-512) or the mask vector (AVX2) of a row's last vector
	ld4     Register      // src row length in bytes
	ldd4    Register      // dst row length in bytes
	bases   []Register    // p, p+3*ld, p+6*ld, p+9*ld: the rows of the pass, three per base
	ld3     Register      // 3*ld4
	p, dp   Register      // the pass's src and dst at the current vector
	spass   Register      // the pass's first src row
	dpass   Register      // the pass's first dst row
	vectors Register      // vectors per output row
	c       Register      // vectors left in the row
	tmpGP   Register
}

// dwconv generates f32DWConv<k>x<k>s<s><level>, the plane above; rows, cols > 0.
func dwconv(l *level, k, s int) {
	g := &dwconvGen{l: l, k: k, s: s, name: fmt.Sprintf("f32DWConv%dx%ds%d%s", k, k, s, l.name)}
	TEXT(g.name, NOSPLIT, "func(dst, src, w []float32, bias float32, rows, cols, ld, ldd int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32DWConv%dx%ds%dGo with %s: dst[y*ldd+x] = bias + sum_{i,j<%d} w[i*%d+j]*src[(%d*y+i)*ld + %d*x+j]", g.name, k, k, s, isaName(l), k, k, s, s),
		"(fused, in that order) for y < rows, x < cols; src holds a vector and k-1 floats past the last row it reads.")
	r := l.regs
	g.acc = r[0:dwconvRows]
	g.tmp = r[4:7]
	cols := Load(Param("cols"), GP64())
	g.mask = columnMask(l, cols)
	g.wp = loadBase("w")
	if l.vl == 16 {
		g.w = r[7 : 7+k*k]
		for t := range k * k {
			VBROADCASTSS(Mem{Base: g.wp, Disp: 4 * t}, g.w[t])
		}
	}
	g.ld4 = Load(Param("ld"), GP64())
	SHLQ(U8(2), g.ld4)
	g.ld3 = GP64()
	LEAQ(Mem{Base: g.ld4, Index: g.ld4, Scale: 2}, g.ld3)
	g.ldd4 = Load(Param("ldd"), GP64())
	SHLQ(U8(2), g.ldd4)
	g.spass = loadBase("src")
	g.dpass = loadBase("dst")
	g.vectors = cols
	ADDQ(U8(l.vl-1), g.vectors)
	SHRQ(U8(l.shift), g.vectors)
	rows := Load(Param("rows"), GP64())
	g.p, g.dp, g.c, g.tmpGP = GP64(), GP64(), GP64(), GP64()
	maxRow := (dwconvRows-1)*s + k - 1
	g.bases = []Register{g.p}
	for range maxRow / 3 {
		g.bases = append(g.bases, GP64())
	}

	Label(g.name + "_loop4")
	CMPQ(rows, U8(dwconvRows))
	JL(LabelRef(g.name + "_rest"))
	g.pass(dwconvRows)
	SUBQ(U8(dwconvRows), rows)
	JMP(LabelRef(g.name + "_loop4"))

	Label(g.name + "_rest")
	for u := dwconvRows - 1; u >= 1; u-- {
		CMPQ(rows, U8(u))
		JE(LabelRef(fmt.Sprintf("%s_rows%d", g.name, u)))
	}
	JMP(LabelRef(g.name + "_done"))
	for u := dwconvRows - 1; u >= 1; u-- {
		Label(fmt.Sprintf("%s_rows%d", g.name, u))
		g.pass(u)
		JMP(LabelRef(g.name + "_done"))
	}
	Label(g.name + "_done")
	VZEROUPPER()
	RET()
}

// pass computes u output rows, vector by vector, and moves spass and dpass past them.
func (g *dwconvGen) pass(u int) {
	lbl := fmt.Sprintf("%s_p%d", g.name, u)
	vb := 4 * g.l.vl
	MOVQ(g.spass, g.p)
	MOVQ(g.dpass, g.dp)
	MOVQ(g.vectors, g.c)
	Label(lbl + "_loop")
	DECQ(g.c)
	JZ(LabelRef(lbl + "_last"))
	g.vector(u, false)
	ADDQ(U32(g.s*vb), g.p)
	ADDQ(U32(vb), g.dp)
	JMP(LabelRef(lbl + "_loop"))
	Label(lbl + "_last")
	g.vector(u, true)
	// spass += u*s rows, dpass += u rows
	for range u * g.s {
		ADDQ(g.ld4, g.spass)
	}
	for range u {
		ADDQ(g.ldd4, g.dpass)
	}
}

// src returns the address of src row m of the pass (0 <= m <= maxRow) at float offset off.
func (g *dwconvGen) src(m, off int) Mem {
	b := g.bases[m/3]
	if m%3 == 0 {
		return Mem{Base: b, Disp: 4 * off}
	}
	return Mem{Base: b, Index: g.ld4, Scale: uint8(m % 3), Disp: 4 * off}
}

// vector computes one vector of u output rows at p, dp; masked stores through the mask.
func (g *dwconvGen) vector(u int, masked bool) {
	l, k, s := g.l, g.k, g.s
	for b := 1; b < len(g.bases); b++ {
		LEAQ(Mem{Base: g.bases[b-1], Index: g.ld3, Scale: 1}, g.bases[b])
	}
	for r := range u {
		VBROADCASTSS(scalarParam("bias"), g.acc[r])
	}
	// weight returns tap t in a register (AVX2: broadcast from memory into the 8th register).
	weight := func(t int) VecPhysical {
		if g.w != nil {
			return g.w[t]
		}
		VBROADCASTSS(Mem{Base: g.wp, Disp: 4 * t}, l.regs[7])
		return l.regs[7]
	}
	if s == 1 && l.vl == 16 {
		// Each src row of the pass is loaded as two vectors, and its k shifted windows are
		// made with VALIGND: k unaligned loads per row would each straddle two cache lines.
		// Row m serves the accumulators r = m-i, in the same order of taps per accumulator.
		v0, v1, sh := g.tmp[0], g.tmp[1], g.tmp[2]
		for m := range u + k - 1 {
			VMOVUPS(g.src(m, 0), v0)
			VMOVUPS(g.src(m, l.vl), v1)
			for j := range k {
				x := v0
				if j > 0 {
					VALIGND(U8(j), v0, v1, sh)
					x = sh
				}
				for i := range k {
					if r := m - i; r >= 0 && r < u {
						VFMADD231PS(x, g.w[i*k+j], g.acc[r])
					}
				}
			}
		}
	}
	for i := range k {
		if s == 1 && l.vl == 16 {
			break
		}
		if s == 1 {
			for j := range k {
				w := weight(i*k + j)
				for r := range u {
					VFMADD231PS(g.src(r+i, j), w, g.acc[r])
				}
			}
			continue
		}
		// Stride 2: VSHUFPS splits two vectors at offset j into the even (tap j) and odd (tap
		// j+1) columns, 64-bit pairs permuted; the accumulators stay permuted until the store.
		for j := 0; j < k; j += 2 {
			for r := range u {
				a, b, e := g.tmp[0], g.tmp[1], g.tmp[2]
				VMOVUPS(g.src(2*r+i, j), a)
				VMOVUPS(g.src(2*r+i, j+l.vl), b)
				VSHUFPS(U8(0x88), b, a, e)
				VFMADD231PS(e, weight(i*k+j), g.acc[r])
				if j+1 < k {
					VSHUFPS(U8(0xDD), b, a, b)
					VFMADD231PS(b, weight(i*k+j+1), g.acc[r])
				}
			}
		}
	}
	if s == 2 {
		for r := range u {
			if l.vl == 8 {
				VPERMPD(U8(0xD8), g.acc[r], g.acc[r])
			} else {
				VMOVUPS(unpermuteIdx(), g.tmp[0])
				VPERMPD(g.acc[r], g.tmp[0], g.acc[r])
			}
		}
	}
	for r := range u {
		d := Mem{Base: g.dp}
		switch r {
		case 1, 2:
			d = Mem{Base: g.dp, Index: g.ldd4, Scale: uint8(r)}
		case 3:
			LEAQ(Mem{Base: g.dp, Index: g.ldd4, Scale: 2}, g.tmpGP)
			d = Mem{Base: g.tmpGP, Index: g.ldd4, Scale: 1}
		}
		if masked {
			l.maskedStore(g.acc[r], g.mask, d)
		} else {
			VMOVUPS(g.acc[r], d)
		}
	}
}
