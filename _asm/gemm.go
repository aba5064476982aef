package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The f32gemm group: the SGEMM micro-kernels, the copy of B's panels and the FMA-peak loops.
//
// A micro-kernel computes C[0:mrows][0:ncols] += A*B for one micro-tile over one kc block: A is
// a packed panel of MR rows (k-major: a[p*MR+r]), B a packed panel of NR columns (b[p*NR+j]), C
// row-major with leading dimension ldc. One routine per level, f32GemmEpi14x32AVX512 and
// f32GemmEpi6x16AVX2, holds a body for each row count mrows = 1..MR (all reading panels of stride
// MR), chosen by a chain of compares, so a partial row tile costs what it computes; partial
// column tiles are handled with masks. One call is one micro-tile over at most a few hundred k
// steps, a few microseconds, so the Go scheduler can preempt between calls.
//
// The tiles use the registers as fully as the levels allow: AVX-512 keeps 14 rows x 2 zmm = 28
// accumulators, the B row in 2 and A's broadcasts in 2 of the 32 zmm; AVX2 6 x 2 = 12 ymm
// accumulators, 2 for B and 2 for A of the 16. Each k step is then 28 (12) FMAs on 2 loads of B
// and 14 (6) broadcasts, enough independent FMAs to cover their latency (4 cycles, 2 per cycle:
// 8 in flight) several times over.
//
// A flags word selects a convolution's epilogue (the bits are runtime/kernels' epi* constants):
// epiInit (the first kc block) starts the tile from bias[row] (+ the residual tile res, epiRes,
// leading dimension ldc) instead of reading C, so the caller need not pre-fill C; epiReLU or
// epiReLU6 (the last kc block) clamp the tile before the store, so no separate pass runs over
// the output. Flags 0 is plain C += A*B.

const (
	mr512  = 14 // rows of the AVX-512 micro-tile
	nr512  = 32 // columns: two zmm
	mr256  = 6  // rows of the AVX2 micro-tile
	nr256  = 16 // columns: two ymm
	unroll = 4  // k steps per loop iteration: the loop overhead (3 instructions) under 1% of the 4*42 of a 14-row step
)

// gemmSig is the signature of the micro-kernels (and of their Go twins).
const gemmSig = "func(kc int, a, b, c []float32, ldc, mrows, ncols int, flags uint, bias, res []float32)"

// gemmSet is the f32gemm group.
func gemmSet() {
	gemmAVX512()
	gemmAVX2()
	packB(nr512)
	packB(nr256)
	peakAVX512()
	peakAVX2()
}

// gemmRows emits the compare chain that jumps to the body for mrows (1..mr), most likely first.
func gemmRows(name string, mr int) {
	rows := Load(Param("mrows"), GP64())
	for m := mr; m >= 1; m-- {
		CMPQ(rows, U8(m))
		JEQ(LabelRef(fmt.Sprintf("%s_m%d", name, m)))
	}
	VZEROUPPER() // (no vector register is used yet)
	RET()        // mrows out of range: the Go callers never pass one
}

func gemmAVX512() {
	name := fmt.Sprintf("f32GemmEpi%dx%dAVX512", mr512, nr512)
	TEXT(name, NOSPLIT, gemmSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32GemmEpi%dx%dGo with AVX-512: it adds the product of the packed panels a (kc x %d,", name, mr512, nr512, mr512),
		fmt.Sprintf("rows 0..mrows-1 used) and b (kc x %d) to the mrows x ncols tile at c (leading dimension ldc),", nr512),
		"with the epilogue flags selects (bias[0:mrows], res laid out as c).")
	gemmRows(name, mr512)
	for m := mr512; m >= 1; m-- {
		Label(fmt.Sprintf("%s_m%d", name, m))
		gemmAVX512Rows(fmt.Sprintf("%s_m%d", name, m), m)
	}
}

// gemmAVX512Rows emits the body for mr rows: accumulators Z0..Z(2mr-1) (row r in Z(2r),
// Z(2r+1)), the B row in Z28/Z29, broadcasts of A alternating in Z30/Z31.
func gemmAVX512Rows(name string, mr int) {
	kc := Load(Param("kc"), GP64())
	a := loadBase("a")
	b := loadBase("b")
	prefetchC(name, mr, 2)
	acc := zmm[:2*mr]
	b0, b1 := Z28, Z29
	bc := []VecPhysical{Z30, Z31}
	for _, z := range acc {
		VPXORD(z, z, z)
	}
	step := func(u int) {
		VMOVUPS(Mem{Base: b, Disp: 4 * nr512 * u}, b0)
		VMOVUPS(Mem{Base: b, Disp: 4*nr512*u + 64}, b1)
		for r := range mr {
			t := bc[r%2]
			VBROADCASTSS(Mem{Base: a, Disp: 4 * (mr512*u + r)}, t)
			VFMADD231PS(b0, t, acc[2*r])
			VFMADD231PS(b1, t, acc[2*r+1])
		}
	}
	kLoops(name, kc, a, b, 4*mr512, 4*nr512, step)

	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	Comment("the columns below ncols: K1 (0-15), K2 (16-31)")
	lvl512.broadcastInt(Load(Param("ncols"), GP64()).(GP), Z28)
	lvl512.lanesBelow(Z28, 0, K1)
	lvl512.lanesBelow(Z28, 16, K2)
	flags := Load(Param("flags"), GP64())
	k := []Op{K1, K2}
	epilogue(name, mr, acc, flags, ldc, epilogueOps{
		load: func(p Register, h int, t VecPhysical) { VMOVUPS_Z(Mem{Base: p, Disp: 64 * h}, k[h], t) },
		store: func(p Register, h int, v VecPhysical) {
			VMOVUPS(v, k[h], Mem{Base: p, Disp: 64 * h})
		},
		zero: func(t VecPhysical) { VPXORD(t, t, t) },
		six: func(t VecPhysical) {
			s := GP32()
			MOVL(U32(six), s)
			VPBROADCASTD(s, t)
		},
		tr: Z28, tb: Z29,
	})
	VZEROUPPER()
	RET()
}

func gemmAVX2() {
	name := fmt.Sprintf("f32GemmEpi%dx%dAVX2", mr256, nr256)
	TEXT(name, NOSPLIT, gemmSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32GemmEpi%dx%dGo with AVX2: it adds the product of the packed panels a (kc x %d,", name, mr256, nr256, mr256),
		fmt.Sprintf("rows 0..mrows-1 used) and b (kc x %d) to the mrows x ncols tile at c (leading dimension ldc),", nr256),
		"with the epilogue flags selects (bias[0:mrows], res laid out as c).")
	gemmRows(name, mr256)
	for m := mr256; m >= 1; m-- {
		Label(fmt.Sprintf("%s_m%d", name, m))
		gemmAVX2Rows(fmt.Sprintf("%s_m%d", name, m), m)
	}
}

// gemmAVX2Rows emits the body for mr rows: accumulators Y0..Y(2mr-1), the B row in Y12/Y13,
// broadcasts of A alternating in Y14/Y15. Columns: all 16 when ncols == 16, else the first ncols
// through VMASKMOVPS, whose masks then take Y12/Y13.
func gemmAVX2Rows(name string, mr int) {
	kc := Load(Param("kc"), GP64())
	a := loadBase("a")
	b := loadBase("b")
	prefetchC(name, mr, 1)
	acc := ymm[:2*mr]
	b0, b1 := Y12, Y13
	bc := []VecPhysical{Y14, Y15}
	for _, y := range acc {
		VXORPS(y, y, y)
	}
	step := func(u int) {
		VMOVUPS(Mem{Base: b, Disp: 4 * nr256 * u}, b0)
		VMOVUPS(Mem{Base: b, Disp: 4*nr256*u + 32}, b1)
		for r := range mr {
			t := bc[r%2]
			VBROADCASTSS(Mem{Base: a, Disp: 4 * (mr256*u + r)}, t)
			VFMADD231PS(b0, t, acc[2*r])
			VFMADD231PS(b1, t, acc[2*r+1])
		}
	}
	kLoops(name, kc, a, b, 4*mr256, 4*nr256, step)

	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flags := Load(Param("flags"), GP64())
	nc := Load(Param("ncols"), GP64())
	ops := epilogueOps{
		load:  func(p Register, h int, t VecPhysical) { VMOVUPS(Mem{Base: p, Disp: 32 * h}, t) },
		store: func(p Register, h int, v VecPhysical) { VMOVUPS(v, Mem{Base: p, Disp: 32 * h}) },
		zero:  func(t VecPhysical) { VXORPS(t, t, t) },
		six: func(t VecPhysical) {
			s := GP32()
			MOVL(U32(six), s)
			VMOVD(s, t.AsX())
			VBROADCASTSS(t.AsX(), t)
		},
		tr: Y14, tb: Y15,
	}
	CMPQ(nc, U8(nr256))
	JNE(LabelRef(name + "_partial"))
	Comment("all 16 columns")
	epilogue(name+"_full", mr, acc, flags, ldc, ops)
	VZEROUPPER()
	RET()

	Label(name + "_partial")
	Comment("the first ncols columns: masks in Y12 (0-7), Y13 (8-15)")
	m := []VecPhysical{Y12, Y13}
	lvl256.broadcastInt(nc.(GP), Y12)
	lvl256.lanesBelow(Y12, 8, Y13)
	lvl256.lanesBelow(Y12, 0, Y12)
	ops.load = func(p Register, h int, t VecPhysical) { VMASKMOVPS(Mem{Base: p, Disp: 32 * h}, m[h], t) }
	ops.store = func(p Register, h int, v VecPhysical) { VMASKMOVPS(v, m[h], Mem{Base: p, Disp: 32 * h}) }
	epilogue(name+"_part", mr, acc, flags, ldc, ops)
	VZEROUPPER()
	RET()
}

// The epilogue flags: runtime/kernels' epiInit, epiRes, epiReLU, epiReLU6.
const (
	epiInit  = 1
	epiRes   = 2
	epiReLU  = 4
	epiReLU6 = 8

	six = 0x40c00000 // float32 6, ReLU6's bound
)

// epilogueOps are the level- and mask-specific pieces of epilogue: load and store move half h
// (0 or 1) of a tile row between memory at p and a register, zero and six fill a register with 0
// or 6, and tr and tb are the two registers free after the k loop.
type epilogueOps struct {
	load, store func(p Register, h int, v VecPhysical)
	zero, six   func(t VecPhysical)
	tr, tb      VecPhysical
}

// epilogue emits what follows the k loop: combine the accumulators acc (row r in acc[2r],
// acc[2r+1]) with C (flags 0), or with the bias and residual (epiInit, epiRes), clamp them
// (epiReLU, epiReLU6) and store them to C. Labels start with name.
//
// The additions are the pure-Go twin's: C + acc, bias + acc, (res + bias) + acc. The clamps put
// the accumulator in VMAXPS/VMINPS's second source (the first operand in Go's order), the one
// they return when either is NaN, so NaN stays NaN as in PyTorch.
func epilogue(name string, mr int, acc []VecPhysical, flags, ldc Register, o epilogueOps) {
	TESTQ(U32(epiInit), flags)
	JNZ(LabelRef(name + "_init"))
	Comment("C + accumulators")
	c := loadBase("c")
	for r := range mr {
		for h := range 2 {
			o.load(c, h, o.tr)
			VADDPS(o.tr, acc[2*r+h], acc[2*r+h])
		}
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	JMP(LabelRef(name + "_act"))

	Label(name + "_init")
	bias := loadBase("bias")
	TESTQ(U32(epiRes), flags)
	JNZ(LabelRef(name + "_res"))
	Comment("bias + accumulators")
	for r := range mr {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * r}, o.tb)
		VADDPS(o.tb, acc[2*r], acc[2*r])
		VADDPS(o.tb, acc[2*r+1], acc[2*r+1])
	}
	JMP(LabelRef(name + "_act"))

	Label(name + "_res")
	Comment("(residual + bias) + accumulators")
	res := loadBase("res")
	for r := range mr {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * r}, o.tb)
		for h := range 2 {
			o.load(res, h, o.tr)
			VADDPS(o.tb, o.tr, o.tr)
			VADDPS(o.tr, acc[2*r+h], acc[2*r+h])
		}
		if r < mr-1 {
			ADDQ(ldc, res)
		}
	}

	Label(name + "_act")
	TESTQ(U32(epiReLU|epiReLU6), flags)
	JZ(LabelRef(name + "_store"))
	Comment("ReLU: max(x, 0)")
	o.zero(o.tb)
	for _, v := range acc {
		VMAXPS(v, o.tb, v)
	}
	TESTQ(U32(epiReLU6), flags)
	JZ(LabelRef(name + "_store"))
	Comment("ReLU6: min(x, 6)")
	o.six(o.tr)
	for _, v := range acc {
		VMINPS(v, o.tr, v)
	}

	Label(name + "_store")
	cs := loadBase("c")
	for r := range mr {
		for h := range 2 {
			o.store(cs, h, acc[2*r+h])
		}
		if r < mr-1 {
			ADDQ(ldc, cs)
		}
	}
}

// prefetchC prefetches the tile of C (mr rows of lines cache lines) into L1 before the k loop,
// so that its rows, often 4 KiB apart in a big matrix, arrive while the tile is computed; and
// the residual tile too when the epilogue reads one.
func prefetchC(name string, mr, lines int) {
	Comment("prefetch the tile of C")
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	rows := func(p Register) {
		for r := range mr {
			for l := range lines {
				PREFETCHT0(Mem{Base: p, Disp: 64 * l})
			}
			if r < mr-1 {
				ADDQ(ldc, p)
			}
		}
	}
	rows(loadBase("c"))
	flags := Load(Param("flags"), GP64())
	TESTQ(U32(epiRes), flags)
	JZ(LabelRef(name + "_prefetched"))
	Comment("and of the residual")
	rows(loadBase("res"))
	Label(name + "_prefetched")
}

// kLoops emits the k loop: unroll steps per iteration while at least unroll remain, then one
// step at a time. aStep and bStep are the bytes of A and B one step reads.
func kLoops(name string, kc, a, b Register, aStep, bStep int, step func(u int)) {
	Label(name + "_loop")
	CMPQ(kc, U8(unroll))
	JL(LabelRef(name + "_tail"))
	for u := range unroll {
		step(u)
	}
	ADDQ(U32(unroll*aStep), a)
	ADDQ(U32(unroll*bStep), b)
	SUBQ(U8(unroll), kc)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(kc, kc)
	JE(LabelRef(name + "_done"))
	step(0)
	ADDQ(U32(aStep), a)
	ADDQ(U32(bStep), b)
	DECQ(kc)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_done")
}

// packB generates f32PackB<nr>AVX(dst, src []float32, panels, stride int): copies panels runs
// of nr floats from src (contiguous: one row of B) to dst, dst[stride:], ... (stride in floats:
// the panels of a packed B block), with ymm moves (AVX only, so every SIMD level can use it).
func packB(nr int) {
	name := fmt.Sprintf("f32PackB%dAVX", nr)
	TEXT(name, NOSPLIT, "func(dst, src []float32, panels, stride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32PackB%dGo with AVX: it copies src[i*%d:(i+1)*%d] to dst[i*stride:] for i < panels.", name, nr, nr, nr))
	dst := loadBase("dst")
	src := loadBase("src")
	n := Load(Param("panels"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	Label(name + "_loop")
	for i := range nr / 8 {
		VMOVUPS(Mem{Base: src, Disp: 32 * i}, ymm[i])
	}
	for i := range nr / 8 {
		VMOVUPS(ymm[i], Mem{Base: dst, Disp: 32 * i})
	}
	ADDQ(U32(4*nr), src)
	ADDQ(stride, dst)
	DECQ(n)
	JNE(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// peakAVX512 generates f32FMAPeakAVX512(n): n iterations of 24 independent zmm FMA chains (on
// zeros, so no denormals), 24*n*32 flops. 24 chains: more than the 8 in flight the FMA units
// hold (4-cycle latency, 2 per cycle), fewer than the 32 registers.
func peakAVX512() {
	TEXT("f32FMAPeakAVX512", NOSPLIT, "func(n int)")
	Doc("f32FMAPeakAVX512 is f32FMAPeakGo with AVX-512: n iterations of 24 independent zmm FMAs (768*n flops).")
	n := Load(Param("n"), GP64())
	for _, z := range zmm[:26] {
		VPXORD(z, z, z)
	}
	Label("peak512_loop")
	for i := range 24 {
		VFMADD231PS(Z24, Z25, zmm[i])
	}
	DECQ(n)
	JNE(LabelRef("peak512_loop"))
	VZEROUPPER()
	RET()
}

// peakAVX2 generates f32FMAPeakAVX2(n): n iterations of 12 independent ymm FMA chains, 12*n*16
// flops (12 of the 16 ymm, the other two the operands).
func peakAVX2() {
	TEXT("f32FMAPeakAVX2", NOSPLIT, "func(n int)")
	Doc("f32FMAPeakAVX2 is f32FMAPeakGo with AVX2: n iterations of 12 independent ymm FMAs (192*n flops).")
	n := Load(Param("n"), GP64())
	for _, y := range ymm[:14] {
		VXORPS(y, y, y)
	}
	Label("peak256_loop")
	for i := range 12 {
		VFMADD231PS(Y12, Y13, ymm[i])
	}
	DECQ(n)
	JNE(LabelRef("peak256_loop"))
	VZEROUPPER()
	RET()
}
