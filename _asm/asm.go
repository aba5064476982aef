// Command asm generates the SIMD micro-kernels of runtime/kernels with avo:
//
//	cd _asm && go run . -out ../runtime/kernels/sgemm_amd64.s -stubs ../runtime/kernels/sgemm_stub_amd64.go -pkg kernels
//
// (runtime/kernels/doc.go runs the same through go generate.) It is its own module so that avo is
// not a dependency of cnngen, and its directory starts with an underscore so that ./... skips it.
//
// The GEMM micro-kernels compute C[0:mr][0:nr] += A*B for one micro-tile over one kc block:
// A is a packed panel of MR rows (k-major: a[p*MR+r]), B a packed panel of NR = 32 (AVX-512) or
// 16 (AVX2) columns (b[p*NR+j]), C row-major with leading dimension ldc. There is one function
// per row count mr = 1..MR (all reading panels of stride MR), so a partial row tile costs what it
// computes; partial column tiles are handled with masks (opmask registers for AVX-512,
// VMASKMOVPS for AVX2). One call is one micro-tile over at most a few hundred k steps, a few
// microseconds, so the Go scheduler can preempt between calls.
//
// The AVX2 kernels use only VEX encodings and the registers Y0-Y15, so they run on CPUs (and
// OSes) without AVX-512; a test in runtime/kernels checks this on the generated file.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const (
	mr512  = 14 // rows of the AVX-512 micro-tile
	nr512  = 32 // columns: two zmm
	mr256  = 6  // rows of the AVX2 micro-tile
	nr256  = 16 // columns: two ymm
	unroll = 4  // k steps per loop iteration
)

func main() {
	ConstraintExpr("!purego")
	for mr := 1; mr <= mr512; mr++ {
		sgemmAVX512(mr)
	}
	for mr := 1; mr <= mr256; mr++ {
		sgemmAVX2(mr)
	}
	packRow(nr512)
	packRow(nr256)
	peakAVX512()
	peakAVX2()
	Generate()
}

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

// sgemmAVX512 generates sgemmAVX512x<mr>: accumulators Z0..Z(2mr-1) (row r in Z(2r), Z(2r+1)),
// the B row in Z28/Z29, broadcasts of A alternating in Z30/Z31.
func sgemmAVX512(mr int) {
	name := fmt.Sprintf("sgemmAVX512x%d", mr)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, mask uint32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the product of the packed panels a (kc x %d, rows 0..%d used) and b (kc x %d)", name, mr512, mr-1, nr512),
		fmt.Sprintf("to the %d x %d tile at c (leading dimension ldc); bit j of mask enables column j.", mr, nr512))
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	prefetchC(mr, 2)
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

	Comment("C += accumulators, columns masked")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	m := Load(Param("mask"), GP32())
	KMOVW(m, K1)
	SHRL(U8(16), m)
	KMOVW(m, K2)
	for r := range mr {
		VMOVUPS_Z(Mem{Base: c}, K1, b0)
		VMOVUPS_Z(Mem{Base: c, Disp: 64}, K2, b1)
		VADDPS(b0, acc[2*r], acc[2*r])
		VADDPS(b1, acc[2*r+1], acc[2*r+1])
		VMOVUPS(acc[2*r], K1, Mem{Base: c})
		VMOVUPS(acc[2*r+1], K2, Mem{Base: c, Disp: 64})
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// sgemmAVX2 generates sgemmAVX2x<mr>: accumulators Y0..Y(2mr-1), the B row in Y12/Y13,
// broadcasts of A alternating in Y14/Y15. Columns: all 16 when nr == 16, else the first nr
// through VMASKMOVPS with the masks at mask (two ymm: -1 for a column in the tile, 0 past it).
func sgemmAVX2(mr int) {
	name := fmt.Sprintf("sgemmAVX2x%d", mr)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, nr int, mask *int32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the product of the packed panels a (kc x %d, rows 0..%d used) and b (kc x %d)", name, mr256, mr-1, nr256),
		fmt.Sprintf("to the %d x nr tile at c (leading dimension ldc); mask[0:16] is -1 for the columns below nr, 0 after.", mr))
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	prefetchC(mr, 1)
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

	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	nr := Load(Param("nr"), GP64())
	CMPQ(nr, U8(nr256))
	JNE(LabelRef(name + "_partial"))
	Comment("C += accumulators, all 16 columns")
	for r := range mr {
		VADDPS(Mem{Base: c}, acc[2*r], acc[2*r])
		VADDPS(Mem{Base: c, Disp: 32}, acc[2*r+1], acc[2*r+1])
		VMOVUPS(acc[2*r], Mem{Base: c})
		VMOVUPS(acc[2*r+1], Mem{Base: c, Disp: 32})
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	Label(name + "_partial")
	Comment("C += accumulators, the first nr columns")
	mp := Load(Param("mask"), GP64())
	m0, m1 := Y12, Y13
	VMOVUPS(Mem{Base: mp}, m0)
	VMOVUPS(Mem{Base: mp, Disp: 32}, m1)
	for r := range mr {
		VMASKMOVPS(Mem{Base: c}, m0, Y14)
		VMASKMOVPS(Mem{Base: c, Disp: 32}, m1, Y15)
		VADDPS(Y14, acc[2*r], acc[2*r])
		VADDPS(Y15, acc[2*r+1], acc[2*r+1])
		VMASKMOVPS(acc[2*r], m0, Mem{Base: c})
		VMASKMOVPS(acc[2*r+1], m1, Mem{Base: c, Disp: 32})
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// prefetchC prefetches the tile of C (mr rows of lines cache lines) into L1 before the k loop,
// so that its rows, often 4 KiB apart in a big matrix, arrive while the tile is computed.
func prefetchC(mr, lines int) {
	Comment("prefetch the tile of C")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for r := range mr {
		for l := range lines {
			PREFETCHT0(Mem{Base: c, Disp: 64 * l})
		}
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
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

// packRow generates packRow<nr>AVX(dst, src, panels, stride): copies panels groups of nr floats
// from src (contiguous: one row of B) to dst, dst+stride, dst+2*stride, ... (stride in floats:
// the panels of a packed B block), with ymm moves (AVX only, so every SIMD level can use it).
func packRow(nr int) {
	name := fmt.Sprintf("packRow%dAVX", nr)
	TEXT(name, NOSPLIT, "func(dst, src *float32, panels, stride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies panels runs of %d floats from src (contiguous) to dst + i*stride.", name, nr))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
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

// peakAVX512 generates fmaPeakAVX512(n): n iterations of 24 independent zmm FMA chains (on
// zeros, so no denormals), 24*n*32 flops.
func peakAVX512() {
	TEXT("fmaPeakAVX512", NOSPLIT, "func(n int)")
	Doc("fmaPeakAVX512 runs n iterations of 24 independent zmm FMAs (768*n flops).")
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

// peakAVX2 generates fmaPeakAVX2(n): n iterations of 12 independent ymm FMA chains, 12*n*16
// flops.
func peakAVX2() {
	TEXT("fmaPeakAVX2", NOSPLIT, "func(n int)")
	Doc("fmaPeakAVX2 runs n iterations of 12 independent ymm FMAs (192*n flops).")
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
