package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The depthwise kernels of NCHW16c feature maps, in the f32conv16c group: f32DWConv16cEpi<p><ISA>
// computes up to p output pixels of one row of one block of 16 channels (f32DWConv16cGo): an
// accumulator per pixel (a zmm, or two ymm), and for each tap the block's weight vector times
// each pixel's input vector, a memory operand of the FMA (one load per FMA: a depthwise
// convolution has no reuse for registers to exploit but the weights'). A body per pixel count.

const dw16cSig = "func(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32)"

// dw16cTile is the most pixels of a call: 16 zmm accumulators (AVX-512), 12 ymm (AVX2: 6 pixels
// of two halves, the weight vector's two halves and two spare of the 16).
func dw16cTile(l *level) int {
	if l.avx512() {
		return 16
	}
	return 6
}

func dw16c(l *level) {
	pmax := dw16cTile(l)
	name := fmt.Sprintf("f32DWConv16cEpi%d%s", pmax, l.name)
	TEXT(name, NOSPLIT, dw16cSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32DWConv16cGo with %s for n <= %d pixels: one accumulator per pixel, the", name, isaName(l), pmax),
		"taps' weight vectors times the pixels' input vectors, then the epilogue (epiInit implied).")
	n := Load(Param("n"), GP64())
	for p := pmax; p >= 1; p-- {
		CMPQ(n, U8(p))
		JEQ(LabelRef(fmt.Sprintf("%s_%d", name, p)))
	}
	VZEROUPPER()
	RET()
	for p := pmax; p >= 1; p-- {
		body := fmt.Sprintf("%s_%d", name, p)
		Label(body)
		dw16cBody(l, body, p)
	}
}

// dw16cBody emits the body for p pixels: pixel q's accumulator (half h) in register
// q*halves+h, the weight vector (halves) in the registers after the accumulators.
func dw16cBody(l *level, name string, p int) {
	halves := 16 / l.vl
	acc := func(q, h int) VecPhysical { return l.regs[q*halves+h] }
	wv := l.regs[p*halves : p*halves+halves]
	for i := range p * halves {
		l.zero(l.regs[i])
	}
	kh := Load(Param("kh"), GP64())
	TESTQ(kh, kh)
	JE(LabelRef(name + "_epilogue"))
	// ldkB = 4*ldk; rowAdv = 4*(ldr - kw*ldk)
	ldkB := Load(Param("ldk"), GP64())
	SHLQ(U8(2), ldkB)
	rowAdv := Load(Param("kw"), GP64())
	IMULQ(ldkB, rowAdv)
	NEGQ(rowAdv)
	t := Load(Param("ldr"), GP64())
	SHLQ(U8(2), t)
	ADDQ(t, rowAdv)
	w := loadBase("w")
	ldp := Load(Param("ldp"), GP64())
	SHLQ(U8(2), ldp)
	px := newPixels(loadBase("src").(GPVirtual), ldp.(GPVirtual), p)
	jCnt := GP64()
	Label(name + "_i")
	Load(Param("kw"), jCnt)
	Label(name + "_j")
	for h := range halves {
		VMOVUPS(Mem{Base: w, Disp: 4 * l.vl * h}, wv[h])
	}
	for q := range p {
		for h := range halves {
			VFMADD231PS(px.at(q, 4*l.vl*h), wv[h], acc(q, h))
		}
	}
	ADDQ(U8(64), w)
	px.add(ldkB)
	DECQ(jCnt)
	JNE(LabelRef(name + "_j"))
	px.add(rowAdv)
	DECQ(kh)
	JNE(LabelRef(name + "_i"))

	Label(name + "_epilogue")
	tb, tr := l.regs[len(l.regs)-2], l.regs[len(l.regs)-1]
	conv16cEpilogue(l, name, p, 1, func(q, _, h int) VecPhysical { return acc(q, h) }, tb, tr)
	VZEROUPPER()
	RET()
}
