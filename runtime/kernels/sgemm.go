package kernels

import (
	"fmt"
	"sync"
)

// Blocking of the pure-Go SGEMM (GotoBLAS loop order). The micro-kernel computes an MR x NR tile
// of C from an MR-row panel of packed A and an NR-column panel of packed B, both stored k-major.
// A KC x NR panel of B (4 KiB) stays in L1 while the MC x KC block of A (128 KiB) streams from L2;
// the KC x NC block of B (512 KiB) stays in L2 too and is reused by every row block of A. (Measured
// on ResNet-50 layers: NC = 1024 or MC = 256 cost about a quarter of the speed; KC = 128 to 512
// made little difference.)
const (
	gemmMR = 2
	gemmNR = 4
	gemmKC = 256
	gemmMC = 128 // multiple of gemmMR
	gemmNC = 512
)

// gemmA is the left operand: either already packed whole (packed != nil; conv weights, see
// packA) or a row-major matrix packed block by block into buf.
type gemmA struct {
	packed []float32 // whole matrix: for each KC block of columns, Mpad x kcb in MR-row panels
	mpad   int       // rows rounded up to gemmMR (packed only)

	raw []float32
	lda int
	buf []float32 // at least gemmMC*gemmKC
}

// block returns the packed MR-row panels of rows [ic, ic+mcb) and columns [pc, pc+kcb): the panel
// of rows ic+ir (ir a multiple of MR) starts at ir*kcb and holds kcb x MR values, k-major.
func (a *gemmA) block(m, ic, mcb, pc, kcb int) []float32 {
	if a.packed != nil {
		return a.packed[pc*a.mpad+ic*kcb:]
	}
	packAPanels(a.buf, a.raw, a.lda, m, ic, mcb, pc, kcb)
	return a.buf
}

// packAPanels packs rows [ic, ic+mcb) (rows from m on read as zero), columns [pc, pc+kcb) of the
// row-major a into MR-row panels in dst.
func packAPanels(dst, a []float32, lda, m, ic, mcb, pc, kcb int) {
	for ir := 0; ir < mcb; ir += gemmMR {
		d := dst[ir*kcb : ir*kcb+gemmMR*kcb]
		for r := range gemmMR {
			row := ic + ir + r
			if ir+r >= mcb || row >= m {
				for p := range kcb {
					d[p*gemmMR+r] = 0
				}
				continue
			}
			src := a[row*lda+pc : row*lda+pc+kcb]
			for p, v := range src {
				d[p*gemmMR+r] = v
			}
		}
	}
}

// packedALen is the length of a whole m x k matrix packed by packA.
func packedALen(m, k int) int { return roundUp(m, gemmMR) * k }

// packA packs the whole row-major m x k matrix a (leading dimension lda) into dst for
// gemmA.packed: KC column blocks one after the other, each Mpad x kcb in MR-row panels.
func packA(dst, a []float32, lda, m, k int) {
	mpad := roundUp(m, gemmMR)
	for pc := 0; pc < k; pc += gemmKC {
		kcb := min(gemmKC, k-pc)
		packAPanels(dst[pc*mpad:pc*mpad+mpad*kcb], a, lda, m, 0, mpad, pc, kcb)
	}
}

// gemmB is the right operand: a row-major k x n matrix (b, ldb), or, when conv is set, the
// im2col matrix of one group of a convolution's input (b then holds that group's input planes).
type gemmB struct {
	b    []float32
	ldb  int
	conv *Conv
	col0 int // im2col only: the first column of the im2col matrix this B starts at
}

// packBLen is the pack buffer length gemm needs for a k x n right operand.
func packBLen(k, n int) int { return min(k, gemmKC) * roundUp(min(n, gemmNC), gemmNR) }

// pack packs rows [pc, pc+kcb), columns [jc, jc+ncb) of B into NR-column panels: the panel of
// columns jc+jr (jr a multiple of NR) starts at jr*kcb and holds kcb x NR values, k-major. Columns
// past ncb in the last panel are zero.
func (s *gemmB) pack(dst []float32, pc, kcb, jc, ncb int) {
	if s.conv != nil {
		s.conv.packIm2col(dst, s.b, pc, kcb, s.col0, jc, ncb)
		return
	}
	b, ldb := s.b, s.ldb
	full := ncb &^ (gemmNR - 1)
	for jr := 0; jr < full; jr += gemmNR {
		d := dst[jr*kcb : jr*kcb+gemmNR*kcb]
		off := pc*ldb + jc + jr
		for p := 0; p+gemmNR <= len(d); p += gemmNR {
			src := b[off : off+gemmNR : off+gemmNR]
			dd := d[p : p+gemmNR : p+gemmNR]
			dd[0], dd[1], dd[2], dd[3] = src[0], src[1], src[2], src[3]
			off += ldb
		}
	}
	if full < ncb {
		d := dst[full*kcb : full*kcb+gemmNR*kcb]
		w := ncb - full
		for p := range kcb {
			off := (pc+p)*ldb + jc + full
			dd := d[p*gemmNR : p*gemmNR+gemmNR]
			copy(dd, b[off:off+w])
			clear(dd[w:])
		}
	}
}

// gemm computes C += A*B for an m x k A and a k x n B. bbuf holds at least packBLen(k, n) values.
func gemm(m, n, k int, a *gemmA, b *gemmB, c []float32, ldc int, bbuf []float32) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	for jc := 0; jc < n; jc += gemmNC {
		ncb := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kcb := min(gemmKC, k-pc)
			b.pack(bbuf, pc, kcb, jc, ncb)
			for ic := 0; ic < m; ic += gemmMC {
				mcb := min(gemmMC, m-ic)
				ap := a.block(m, ic, mcb, pc, kcb)
				macroKernel(mcb, ncb, kcb, ap, bbuf, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// macroKernel multiplies a packed mcb x kcb block of A by a packed kcb x ncb block of B into C.
func macroKernel(mcb, ncb, kcb int, ap, bp, c []float32, ldc int) {
	for jr := 0; jr < ncb; jr += gemmNR {
		nr := min(gemmNR, ncb-jr)
		b := bp[jr*kcb : jr*kcb+gemmNR*kcb]
		for ir := 0; ir < mcb; ir += gemmMR {
			mr := min(gemmMR, mcb-ir)
			a := ap[ir*kcb : ir*kcb+gemmMR*kcb]
			if mr == gemmMR && nr == gemmNR {
				kernel2x4(a, b, c[ir*ldc+jr:], ldc)
				continue
			}
			var t [gemmMR * gemmNR]float32
			kernel2x4(a, b, t[:], gemmNR)
			for r := range mr {
				row := c[(ir+r)*ldc+jr : (ir+r)*ldc+jr+nr]
				for j := range row {
					row[j] += t[r*gemmNR+j]
				}
			}
		}
	}
}

// kernel2x4 adds the 2x4 product of the packed panels a (k x 2) and b (k x 4) to c[0:4] and
// c[ldc:ldc+4].
//
// The k loop is unrolled four times: Go schedules the adds that feed the loop's phis after all
// the multiplies of their step, which costs spills once per iteration rather than once per step.
// Eight accumulators, two A values, four B values and a temporary fill the 15 usable X registers.
func kernel2x4(a, b, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	for len(a) >= 8 && len(b) >= 16 {
		a0, a1 := a[0], a[1]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = a[2], a[3]
		b0, b1, b2, b3 = b[4], b[5], b[6], b[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = a[4], a[5]
		b0, b1, b2, b3 = b[8], b[9], b[10], b[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = a[6], a[7]
		b0, b1, b2, b3 = b[12], b[13], b[14], b[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a = a[8:]
		b = b[16:]
	}
	for len(a) >= 2 && len(b) >= 4 {
		a0, a1 := a[0], a[1]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a = a[2:]
		b = b[4:]
	}
	r := c[0:4:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
}

// sgemmBufs are the pack buffers of Sgemm, pooled so that Sgemm does not allocate in steady state.
type sgemmBufs struct {
	a [gemmMC * gemmKC]float32
	b [gemmKC * gemmNC]float32
}

var sgemmPool = sync.Pool{New: func() any { return new(sgemmBufs) }}

// Sgemm computes C += A*B for row-major A (m x k, leading dimension lda), B (k x n, ldb) and
// C (m x n, ldc), with the same blocked kernel the convolutions use. C must not overlap A or B.
// It panics on inconsistent arguments, like BLAS.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	switch {
	case m < 0 || n < 0 || k < 0:
		panic(fmt.Sprintf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	case lda < max(1, k) || ldb < max(1, n) || ldc < max(1, n):
		panic(fmt.Sprintf("kernels: Sgemm: bad leading dimension lda=%d ldb=%d ldc=%d for m=%d n=%d k=%d", lda, ldb, ldc, m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 && (len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n) || len(c) < (m-1)*ldc+n {
		panic("kernels: Sgemm: slice too short")
	}
	if k == 0 {
		return
	}
	bufs := sgemmPool.Get().(*sgemmBufs)
	ga := gemmA{raw: a, lda: lda, buf: bufs.a[:]}
	gb := gemmB{b: b, ldb: ldb}
	gemm(m, n, k, &ga, &gb, c, ldc, bufs.b[:])
	sgemmPool.Put(bufs)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
