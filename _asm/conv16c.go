package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The f32conv16c group: the direct convolution micro-kernels of NCHW16c feature maps
// (runtime/kernels/conv16c.go has the algorithm; f32Conv16cGo the semantics).
//
// f32Conv16cEpi6x64AVX512 computes up to 4 output channel blocks of 16 for up to 6 output pixels
// of one row (up to 8 pixels of 3 blocks, 12 of 2, 14 of 1: conv16cTiles512), as the SGEMM's
// micro-kernel computes its tile: one zmm accumulator per (pixel, block), at most 24; each input
// channel step loads the blocks' weight vectors into zmm, then broadcasts each pixel's input value
// into one of two zmm and issues its FMAs: 10 loads a step for 24 FMAs. (MLAS's order,
// SconvKernelAvx512F, broadcasting the 6 pixels first and loading each weight vector before its
// 6 FMAs, ran as fast: 78-84% of the FMA peak in L1. A 7x4 tile, 28 accumulators with the input
// values broadcast from memory by the FMAs ({1to16}, no register for them), ran at 60%: the
// broadcast operands cost more than the loads they save.) The 16 channels of a block are
// unrolled, the kernel's columns, rows and the chunk's input blocks are loops. A body per (pixels, blocks) count, chosen by a chain of
// compares, so a partial tile costs what it computes. The last block of a call may hold fewer
// than 16 channels (cl: the input's last block, or a 3-channel image): a loop over them.

const conv16cSig = "func(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32)"

// conv16cSet is the f32conv16c group.
func conv16cSet() {
	conv16cLevel(lvl512, conv16cTiles512)
	conv16cLevel(lvl256, conv16cTiles256)
	dw16c(lvl512)
	dw16c(lvl256)
	wino16cSet()
}

// conv16cTiles512 is the most pixels a call computes for each count of blocks (1-4): 24
// accumulators at most, and at least 14 (more than the 8 FMAs in flight) when a block is
// alone, so that its bodies stay few.
var conv16cTiles512 = []int{1: 14, 2: 12, 3: 8, 4: 6}

// conv16cTiles256 is AVX2's: one block (two ymm a pixel) of 6 pixels, 12 accumulators, the
// block's weight vector in two ymm and the broadcasts in the last two of the 16. (Two blocks
// would leave room for 2 pixels, 8 accumulators: a load a step for every 2 FMAs.)
var conv16cTiles256 = []int{1: 6}

// conv16cLevel generates f32Conv16cEpi<p>x<16f><ISA> with tiles[nf] the most pixels of nf
// blocks (f = len(tiles)-1 blocks at most, p = tiles[f]).
func conv16cLevel(l *level, tiles []int) {
	fmax := len(tiles) - 1
	name := fmt.Sprintf("f32Conv16cEpi%dx%d%s", tiles[fmax], 16*fmax, l.name)
	TEXT(name, NOSPLIT, conv16cSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32Conv16cGo with %s for nf <= %d output channel blocks and n <= %v[nf] pixels:", name, isaName(l), fmax, tiles[1:]),
		"it sums the chunk's input blocks, kernel rows and columns and channels into one vector per pixel",
		"and block half, and stores them with the epilogue flags selects.")
	nf := Load(Param("nf"), GP64())
	n := Load(Param("n"), GP64())
	for f := fmax; f >= 1; f-- {
		for p := tiles[f]; p >= 1; p-- {
			CMPQ(nf, U8(f))
			JNE(LabelRef(fmt.Sprintf("%s_not%dx%d", name, p, f)))
			CMPQ(n, U8(p))
			JEQ(LabelRef(fmt.Sprintf("%s_%dx%d", name, p, f)))
			Label(fmt.Sprintf("%s_not%dx%d", name, p, f))
		}
	}
	VZEROUPPER() // (no vector register is used yet)
	RET()        // n or nf out of range: the Go callers never pass one
	// Locals: the loop counters and the pointer steps that do not fit in registers.
	local := AllocLocal(8 * 8)
	for f := fmax; f >= 1; f-- {
		for p := tiles[f]; p >= 1; p-- {
			body := fmt.Sprintf("%s_%dx%d", name, p, f)
			Label(body)
			conv16cBody(l, body, p, f, local)
		}
	}
}

// conv16cBody emits the body for p pixels and f blocks: accumulator (pixel q, block g, half h)
// in register (q*f+g)*halves+h, the weight vectors (block g, half h) in the f*halves registers
// before the last two, the broadcast input values in the last two.
func conv16cBody(l *level, name string, p, f int, local Mem) {
	halves := 16 / l.vl
	regs := l.regs
	acc := func(q, g, h int) VecPhysical { return regs[(q*f+g)*halves+h] }
	nr := len(regs)
	fr, bc := regs[nr-2-f*halves:nr-2], regs[nr-2:]
	if p*f*halves > nr-2-f*halves {
		panic("conv16cBody: too many accumulators")
	}
	for i := range p * f * halves {
		l.zero(regs[i])
	}
	slot := func(i int) Mem { return local.Offset(8 * i) }
	cbCnt, iCnt, jCnt, cCnt := slot(0), slot(1), slot(2), slot(3)
	ldkB, rowAdv, cbAdv, wAdv := slot(4), slot(5), slot(6), slot(7)

	kh := Load(Param("kh"), GP64())
	TESTQ(kh, kh)
	JE(LabelRef(name + "_epilogue"))
	kw := Load(Param("kw"), GP64())
	t := GP64()
	// ldkB = 4*ldk; rowAdv = 4*(ldr - kw*ldk); cbAdv = 4*(ldcb - kh*ldr); wAdv = 4*(ldwc - kh*kw*256)
	ldk := Load(Param("ldk"), GP64())
	SHLQ(U8(2), ldk)
	MOVQ(ldk, ldkB)
	IMULQ(kw, ldk)
	Load(Param("ldr"), t)
	SHLQ(U8(2), t)
	SUBQ(ldk, t)
	MOVQ(t, rowAdv)
	ldr := Load(Param("ldr"), GP64())
	IMULQ(kh, ldr)
	Load(Param("ldcb"), t)
	SUBQ(ldr, t)
	SHLQ(U8(2), t)
	MOVQ(t, cbAdv)
	IMULQ(kw, kh)
	SHLQ(U8(10), kh) // kh*kw*256 floats, in bytes
	Load(Param("ldwc"), t)
	SHLQ(U8(2), t)
	SUBQ(kh, t)
	MOVQ(t, wAdv)

	s := loadBase("src")
	w := loadBase("w")
	ldp := Load(Param("ldp"), GP64())
	SHLQ(U8(2), ldp)
	var ldp3, ldp5 GPVirtual
	if p > 2 {
		ldp3 = GP64()
		LEAQ(Mem{Base: ldp, Index: ldp, Scale: 2}, ldp3)
	}
	if p > 5 {
		ldp5 = GP64()
		LEAQ(Mem{Base: ldp, Index: ldp, Scale: 4}, ldp5)
	}
	var ldf, ldf3 GPVirtual
	if f > 1 {
		ldf = GP64()
		Load(Param("ldf"), ldf)
		SHLQ(U8(2), ldf)
	}
	if f > 3 {
		ldf3 = GP64()
		LEAQ(Mem{Base: ldf, Index: ldf, Scale: 2}, ldf3)
	}
	// pix is the address of pixel q's input value, filt of block g's weight vector.
	// Pixels 7 to 13 are addressed from s7 = s + 7*ldp as pixels 0 to 6 are from s.
	var s7 GPVirtual
	if p > 7 {
		s7 = GP64()
		LEAQ(Mem{Base: s, Index: ldp3, Scale: 2}, s7)
		ADDQ(ldp, s7)
	}
	pix := func(q int, disp int) Mem {
		b := s
		if q >= 7 {
			b, q = s7, q-7
		}
		switch q {
		case 0:
			return Mem{Base: b, Disp: disp}
		case 1:
			return Mem{Base: b, Index: ldp, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: b, Index: ldp, Scale: 2, Disp: disp}
		case 3:
			return Mem{Base: b, Index: ldp3, Scale: 1, Disp: disp}
		case 4:
			return Mem{Base: b, Index: ldp, Scale: 4, Disp: disp}
		case 5:
			return Mem{Base: b, Index: ldp5, Scale: 1, Disp: disp}
		}
		return Mem{Base: b, Index: ldp3, Scale: 2, Disp: disp}
	}
	// addS adds x to the input pointers.
	addS := func(x Op) {
		ADDQ(x, s)
		if p > 7 {
			ADDQ(x, s7)
		}
	}
	filt := func(g int, disp int) Mem {
		switch g {
		case 0:
			return Mem{Base: w, Disp: disp}
		case 1:
			return Mem{Base: w, Index: ldf, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: w, Index: ldf, Scale: 2, Disp: disp}
		}
		return Mem{Base: w, Index: ldf3, Scale: 1, Disp: disp}
	}
	// step emits input channel c of the current tap: the weight vectors, then the FMAs pixel by
	// pixel.
	step := func(c int) {
		for g := range f {
			for h := range halves {
				VMOVUPS(filt(g, 64*c+4*l.vl*h), fr[g*halves+h])
			}
		}
		for q := range p {
			VBROADCASTSS(pix(q, 4*c), bc[q%2])
			for g := range f {
				for h := range halves {
					VFMADD231PS(bc[q%2], fr[g*halves+h], acc(q, g, h))
				}
			}
		}
	}

	Load(Param("icb"), t)
	MOVQ(t, cbCnt)
	Label(name + "_cb")
	// The last block of the call with fewer than 16 channels runs the channel loop.
	CMPQ(cbCnt, U8(1))
	JNE(LabelRef(name + "_full"))
	cl := Load(Param("cl"), GP64())
	CMPQ(cl, U8(16))
	JNE(LabelRef(name + "_part"))

	Label(name + "_full")
	nest := func(label string, taps func()) {
		Load(Param("kh"), t)
		MOVQ(t, iCnt)
		Label(label + "_i")
		Load(Param("kw"), t)
		MOVQ(t, jCnt)
		Label(label + "_j")
		taps()
		addS(ldkB)
		ADDQ(U32(1024), w)
		DECQ(jCnt)
		JNE(LabelRef(label + "_j"))
		addS(rowAdv)
		DECQ(iCnt)
		JNE(LabelRef(label + "_i"))
	}
	nest(name+"_full", func() {
		for c := range 16 {
			step(c)
		}
	})
	JMP(LabelRef(name + "_next"))

	Label(name + "_part")
	nest(name+"_part", func() {
		Load(Param("cl"), t)
		MOVQ(t, cCnt)
		Label(name + "_c")
		step(0)
		addS(U8(4))
		ADDQ(U8(64), w)
		DECQ(cCnt)
		JNE(LabelRef(name + "_c"))
		Load(Param("cl"), t)
		SHLQ(U8(2), t)
		SUBQ(t, s)
		if p > 7 {
			SUBQ(t, s7)
		}
		SHLQ(U8(4), t)
		SUBQ(t, w)
	})

	Label(name + "_next")
	addS(cbAdv)
	ADDQ(wAdv, w)
	DECQ(cbCnt)
	JNE(LabelRef(name + "_cb"))

	Label(name + "_epilogue")
	conv16cEpilogue(l, name, p, f, acc, bc[0], bc[1])
	VZEROUPPER()
	RET()
}

// conv16cEpilogue combines the accumulators with the output (flags 0), or the bias and the
// residual (epiInit, epiRes), clamps them (epiReLU, epiReLU6) and stores them: the pure-Go
// twin's order of operations, as the GEMM's epilogue. The tile is p pixels of f blocks, each
// block of a pixel in l's halves (1 zmm or 2 ymm): acc(q, g, h); tb and tr are free registers.
func conv16cEpilogue(l *level, name string, p, f int, acc func(q, g, h int) VecPhysical, tb, tr VecPhysical) {
	halves := 16 / l.vl
	var ldo, ldo3 GPVirtual
	if f > 1 {
		ldo = GP64()
		Load(Param("ldo"), ldo)
		SHLQ(U8(2), ldo)
	}
	if f > 3 {
		ldo3 = GP64()
		LEAQ(Mem{Base: ldo, Index: ldo, Scale: 2}, ldo3)
	}
	at := func(base Register, q, g, h int) Mem {
		m := Mem{Base: base, Disp: 64*q + 4*l.vl*h}
		switch g {
		case 1:
			m.Index, m.Scale = ldo, 1
		case 2:
			m.Index, m.Scale = ldo, 2
		case 3:
			m.Index, m.Scale = ldo3, 1
		}
		return m
	}
	each := func(f2 func(q, g, h int)) {
		for g := range f {
			for q := range p {
				for h := range halves {
					f2(q, g, h)
				}
			}
		}
	}
	flags := Load(Param("flags"), GP64())
	d := loadBase("dst")
	TESTQ(U32(epiInit), flags)
	JNZ(LabelRef(name + "_init"))
	Comment("output + accumulators")
	each(func(q, g, h int) { VADDPS(at(d, q, g, h), acc(q, g, h), acc(q, g, h)) })
	JMP(LabelRef(name + "_act"))

	Label(name + "_init")
	bias := loadBase("bias")
	TESTQ(U32(epiRes), flags)
	JNZ(LabelRef(name + "_res"))
	Comment("bias + accumulators")
	for g := range f {
		for h := range halves {
			VMOVUPS(Mem{Base: bias, Disp: 64*g + 4*l.vl*h}, tb)
			for q := range p {
				VADDPS(tb, acc(q, g, h), acc(q, g, h))
			}
		}
	}
	JMP(LabelRef(name + "_act"))

	Label(name + "_res")
	Comment("(residual + bias) + accumulators")
	res := loadBase("res")
	for g := range f {
		for h := range halves {
			VMOVUPS(Mem{Base: bias, Disp: 64*g + 4*l.vl*h}, tb)
			for q := range p {
				VADDPS(at(res, q, g, h), tb, tr)
				VADDPS(tr, acc(q, g, h), acc(q, g, h))
			}
		}
	}

	Label(name + "_act")
	TESTQ(U32(epiReLU|epiReLU6), flags)
	JZ(LabelRef(name + "_store"))
	Comment("ReLU: max(x, 0)")
	l.zero(tb)
	each(func(q, g, h int) { VMAXPS(acc(q, g, h), tb, acc(q, g, h)) })
	TESTQ(U32(epiReLU6), flags)
	JZ(LabelRef(name + "_store"))
	Comment("ReLU6: min(x, 6)")
	sx := GP64()
	MOVL(U32(six), sx.As32())
	l.broadcastInt(sx, tr)
	each(func(q, g, h int) { VMINPS(acc(q, g, h), tr, acc(q, g, h)) })

	Label(name + "_store")
	each(func(q, g, h int) { VMOVUPS(acc(q, g, h), at(d, q, g, h)) })
}

// pixels addresses the input values of a run of pixels ldp bytes apart (ldp in a register):
// a base register every 4 pixels, and the index registers ldp and ldp3 = 3*ldp.
type pixels struct {
	bases     []GPVirtual
	ldp, ldp3 GPVirtual
}

// newPixels makes the addressing of n pixels from s (which it takes as the first base).
func newPixels(s GPVirtual, ldp GPVirtual, n int) *pixels {
	px := &pixels{bases: []GPVirtual{s}, ldp: ldp}
	if n > 2 {
		px.ldp3 = GP64()
		LEAQ(Mem{Base: ldp, Index: ldp, Scale: 2}, px.ldp3)
	}
	for k := 4; k < n; k += 4 {
		b := GP64()
		LEAQ(Mem{Base: px.bases[len(px.bases)-1], Index: ldp, Scale: 4}, b)
		px.bases = append(px.bases, b)
	}
	return px
}

// at is the address of pixel q's value at byte offset disp.
func (px *pixels) at(q, disp int) Mem {
	m := Mem{Base: px.bases[q/4], Disp: disp}
	switch q % 4 {
	case 1:
		m.Index, m.Scale = px.ldp, 1
	case 2:
		m.Index, m.Scale = px.ldp, 2
	case 3:
		m.Index, m.Scale = px.ldp3, 1
	}
	return m
}

// add adds x to every base.
func (px *pixels) add(x Op) {
	for _, b := range px.bases {
		ADDQ(x, b)
	}
}
