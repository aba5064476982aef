package kernels

import (
	"fmt"
	"sync"
)

// The SGEMM is cache blocked: for each KC-row block of B (pc), A's matching KC-column block is
// packed (or was, for conv weights) into MR-row panels, k-major; then for each NC-column block of
// B (jc), B's KC x NC block is packed into NR-column panels, k-major, and the micro-kernel
// computes one MR x NR tile of C over the kc block from one panel of each. Every element of A
// and of B is packed once; C is read and written once per KC block.
//
// gemmShape is the blocking of one ISA level. The shapes of all levels are known in every build
// (not only those whose kernels are built), so that Conv.ScratchLen, which code generators bake
// into generated code, does not depend on the machine or build that computes it.
type gemmShape struct {
	mr, nr int // micro-tile
	kc     int // rows of a B block and columns of an A block
	nc     int // columns of a B block, a multiple of nr
	// jrOuter: loop over B's panels outside A's, keeping a B panel in L1 while an MC-row block of
	// A streams from L2 (the pure-Go 2x4 kernel, whose B panels are small). Otherwise loop over
	// A's panels outside: an A panel stays in L1 while B's block (KC x NC, 512 KiB, in L2)
	// streams (the SIMD kernels, whose B panels are KC x 16 or x 32).
	jrOuter bool
	mc      int // jrOuter only: rows of A per sweep of B's panels, a multiple of mr
}

// The blocking of each level. MR x NR is the register tile: AVX-512's 14x32 keeps 28
// accumulators, a B row (2) and A's broadcasts (2) in the 32 zmm; AVX2's 6x16 12 + 2 + 2 in the
// 16 ymm; Go's 2x4 fits its 15 usable float registers (see f32GemmEpi2x4Go). KC and NC were
// measured on ResNet-50's GEMMs on this 2-core Zen 4 VM (1 MiB L2; median of 5 alternating
// runs, GFLOP/s): KC = 128 loses 8-14% on the deep 7x7 layers (512x49x4608: 59 against 64 at
// AVX-512, 43 against 50 at AVX2) and KC = 512 is within 5% of 256 everywhere (it doubles the
// packed A block); NC = 256, 512 and 1024 are within 5% of each other (128x784x1152,
// 256x3136x64, 1024^3), and 512 keeps the KC x NC block of B (512 KiB) in half the L2. The Go
// level loops over B's panels outside (jrOuter): a KC x NR panel (4 KiB) stays in L1 while MC
// rows of A (128 KiB) stream from L2; MC = 64 to 256 are within 5% (an earlier measurement on
// ResNet-50 layers found NC = 1024 or MC = 256 a quarter slower on another machine).
var gemmShapes = [numISA]gemmShape{
	Generic: {mr: 2, nr: 4, kc: 256, nc: 512, jrOuter: true, mc: 128},
	AVX2:    {mr: 6, nr: 16, kc: 256, nc: 512},
	AVX512:  {mr: 14, nr: 32, kc: 256, nc: 512},
}

// maxKCNC is the largest B block of all shapes.
var maxKCNC = maxShape(func(s gemmShape) int { return s.kc * s.nc })

func maxShape(f func(gemmShape) int) int {
	m := 0
	for _, s := range gemmShapes {
		m = max(m, f(s))
	}
	return m
}

// gemmImpl is a level's blocking and micro-kernel, an entry of its kernelSet. tile adds the
// product of the packed panels a (kc x mr, rows 0..mrows-1 used) and b (kc x nr, columns
// 0..ncols-1 used) to the mrows x ncols tile at c (rows ldc apart), with the epilogue flags
// select (bias[0:mrows], res laid out as c): f32GemmEpi<mr>x<nr><ISA>. packRow copies panels
// runs of nr values from src to dst, dst[stride:], ...: the full panels of one row of a packed B
// block (f32PackB<nr><ISA>).
type gemmImpl struct {
	gemmShape
	isa     ISA // the level whose panel layout this is
	tile    func(kc int, a, b, c []float32, ldc, mrows, ncols int, flags uint, bias, res []float32)
	packRow func(dst, src []float32, panels, stride int)
}

// The epilogue flags of a micro-kernel call: what it does besides adding A*B to C. The
// convolutions use them so that no pass over the output runs before or after the GEMM: the
// first kc block of a tile starts from the bias (and residual) instead of a pre-filled C, the
// last clamps. The values are the generator's (../../_asm).
const (
	epiInit  = 1 << iota // C = bias[row] + A*B: C is not read
	epiRes               // with epiInit: C = (res + bias[row]) + A*B, res laid out as C
	epiReLU              // then C = max(C, 0)
	epiReLU6             // then C = min(max(C, 0), 6)
)

// tileEpi is one micro-kernel call's epilogue: flags, and the tile's rows of the bias (epiInit)
// and its residual tile (epiRes, leading dimension ldc), each from the tile's first row.
type tileEpi struct {
	flags uint
	bias  []float32
	res   []float32
}

// activeImpl is the implementation of the active level.
func activeImpl() *gemmImpl { return kern().gemm }

// runImpl is the implementation that runs data packed for level packed now: that level's kernel
// when it is at most the active level, else its pure-Go twin (on the same layout).
func runImpl(packed ISA) *gemmImpl {
	if packed <= Active() {
		return sets[packed].gemm
	}
	return gemmTwins[packed]
}

// gemmA is the left operand: either already packed whole (packed != nil; conv weights, see
// packA) or a row-major matrix packed a KC-column block at a time into buf.
type gemmA struct {
	packed []float32 // whole matrix: for each KC block of columns, Mpad x kcb in MR-row panels
	mpad   int       // rows rounded up to MR (packed only)
	row0   int       // the first row used, a multiple of MR (packed only): a part's share of rows

	raw []float32
	lda int
	buf []float32 // at least roundUp(m, MR)*min(k, KC)
}

// block returns the packed MR-row panels of all m rows and columns [pc, pc+kcb): the panel of
// rows ir (a multiple of MR) starts at ir*kcb and holds kcb x MR values, k-major.
func (a *gemmA) block(im *gemmImpl, m, pc, kcb int) []float32 {
	if a.packed != nil {
		return a.packed[pc*a.mpad+a.row0*kcb:]
	}
	packAPanels(a.buf, a.raw, a.lda, m, 0, roundUp(m, im.mr), pc, kcb, im.mr)
	return a.buf
}

// packAPanels packs rows [ic, ic+mcb) (rows from m on read as zero), columns [pc, pc+kcb) of the
// row-major a into mr-row panels in dst.
func packAPanels(dst, a []float32, lda, m, ic, mcb, pc, kcb, mr int) {
	for ir := 0; ir < mcb; ir += mr {
		d := dst[ir*kcb : ir*kcb+mr*kcb]
		if mr <= 16 && ir+mr <= mcb && ic+ir+mr <= m { // 16: rows' size, more than any MR
			// A whole panel: read its mr rows side by side (mr sequential streams, which the
			// hardware prefetches together), write the panel in order.
			var rows [16][]float32
			for r := range mr {
				row := (ic + ir + r) * lda
				rows[r] = a[row+pc : row+pc+kcb]
			}
			for p := range kcb {
				dp := d[p*mr : p*mr+mr]
				for r := range dp {
					dp[r] = rows[r][p]
				}
			}
			continue
		}
		for r := range mr {
			row := ic + ir + r
			if ir+r >= mcb || row >= m {
				for p := range kcb {
					d[p*mr+r] = 0
				}
				continue
			}
			src := a[row*lda+pc : row*lda+pc+kcb]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
	}
}

// packedALen is the length of a whole m x k matrix packed by packA for im.
func packedALen(im *gemmImpl, m, k int) int { return roundUp(m, im.mr) * k }

// packA packs the whole row-major m x k matrix a (leading dimension lda) into dst for
// gemmA.packed: KC column blocks one after the other, each Mpad x kcb in MR-row panels.
func packA(im *gemmImpl, dst, a []float32, lda, m, k int) {
	mpad := roundUp(m, im.mr)
	for pc := 0; pc < k; pc += im.kc {
		kcb := min(im.kc, k-pc)
		packAPanels(dst[pc*mpad:pc*mpad+mpad*kcb], a, lda, m, 0, mpad, pc, kcb, im.mr)
	}
}

// gemmB is the right operand: a row-major k x n matrix (b, ldb), or, when conv is set, the
// im2col matrix of one group of a convolution's input (b then holds that group's input planes).
type gemmB struct {
	b    []float32
	ldb  int
	conv *Conv
	col0 int // im2col only: the first column of the im2col matrix this B starts at

	// pre, if not nil, is the whole B packed already (Conv.PackShared): the block of rows
	// [pc, pc+kcb), columns [jc, jc+ncb) at pc*roundUp(n, NR) + kcb*jc.
	pre []float32
}

// packBLen is the pack buffer length gemm needs for a k x n right operand with shape s.
func packBLen(s gemmShape, k, n int) int { return min(k, s.kc) * roundUp(min(n, s.nc), s.nr) }

// maxPackBLen is packBLen for the shape that needs the most: the scratch that serves every level.
func maxPackBLen(k, n int) int {
	return maxShape(func(s gemmShape) int { return packBLen(s, k, n) })
}

// pack packs rows [pc, pc+kcb), columns [jc, jc+ncb) of B into nr-column panels: the panel of
// columns jc+jr (jr a multiple of nr) starts at jr*kcb and holds kcb x nr values, k-major. Columns
// past ncb in the last panel are zero.
func (s *gemmB) pack(im *gemmImpl, dst []float32, pc, kcb, jc, ncb int) {
	if s.conv != nil {
		s.conv.packIm2col(im.nr, dst, s.b, pc, kcb, s.col0, jc, ncb)
		return
	}
	packB(im, dst, s.b, s.ldb, pc, kcb, jc, ncb)
}

// packB packs a block of a row-major B (see gemmB.pack), a row of B at a time: the full panels
// with the level's packRow, the last partial one here.
func packB(im *gemmImpl, dst, b []float32, ldb, pc, kcb, jc, ncb int) {
	nr := im.nr
	full := ncb / nr * nr
	for p := range kcb {
		src := b[(pc+p)*ldb+jc : (pc+p)*ldb+jc+ncb]
		o := p * nr
		if panels := full / nr; panels > 0 {
			im.packRow(dst[o:o+(panels-1)*nr*kcb+nr], src[:full], panels, nr*kcb)
		}
		if full < ncb {
			d := dst[full*kcb+o : full*kcb+o+nr]
			copy(d, src[full:])
			clear(d[ncb-full:])
		}
	}
}

// gemm computes C += A*B for an m x k A and a k x n B with im's blocking and kernel. bbuf holds
// at least packBLen(im, k, n) values.
func gemm(im *gemmImpl, m, n, k int, a *gemmA, b *gemmB, c []float32, ldc int, bbuf []float32) {
	gemmEp(im, m, n, k, a, b, c, ldc, bbuf, nil)
}

// epilogue is a GEMM's epilogue: C = act(A*B + bias[row] + res), C not read.
type epilogue struct {
	bias []float32 // per row of C
	res  []float32 // nil or laid out as C
	act  Act
}

// gemmEp is gemm with the epilogue ep, or C += A*B if ep is nil. k must not be 0 when ep is set.
// ReLU and ReLU6 run in the micro-kernels; other activations run on each MR-row block of C
// while it is still in cache.
func gemmEp(im *gemmImpl, m, n, k int, a *gemmA, b *gemmB, c []float32, ldc int, bbuf []float32, ep *epilogue) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	for pc := 0; pc < k; pc += im.kc {
		kcb := min(im.kc, k-pc)
		ap := a.block(im, m, pc, kcb)
		var te tileEpi
		post := ActNone
		if ep != nil {
			if pc == 0 {
				te.flags, te.bias = epiInit, ep.bias
				if ep.res != nil {
					te.flags |= epiRes
				}
			}
			if pc+kcb == k {
				switch ep.act {
				case ActReLU:
					te.flags |= epiReLU
				case ActReLU6:
					te.flags |= epiReLU6
				default:
					post = ep.act
				}
			}
		}
		for jc := 0; jc < n; jc += im.nc {
			ncb := min(im.nc, n-jc)
			bp := bbuf
			if b.pre != nil {
				bp = b.pre[pc*roundUp(n, im.nr)+kcb*jc:]
			} else {
				b.pack(im, bbuf, pc, kcb, jc, ncb)
			}
			if te.flags&epiRes != 0 {
				te.res = ep.res[jc:]
			}
			macroKernelEp(im, m, ncb, kcb, ap, bp, c[jc:], ldc, te, post)
		}
	}
}

// macroKernel multiplies the packed m x kcb block of A by a packed kcb x ncb block of B into C,
// one micro-tile (one kernel call, a few microseconds at most) at a time.
func macroKernel(im *gemmImpl, m, ncb, kcb int, ap, bp, c []float32, ldc int) {
	macroKernelEp(im, m, ncb, kcb, ap, bp, c, ldc, tileEpi{}, ActNone)
}

// macroKernelEp is macroKernel with the epilogue te (bias and res from C's first row and
// column), then the activation post over each block of rows, while it is hot in cache.
func macroKernelEp(im *gemmImpl, m, ncb, kcb int, ap, bp, c []float32, ldc int, te tileEpi, post Act) {
	mr, nr, tile := im.mr, im.nr, im.tile
	// run computes the tile at row ir, column jr, with its share of the epilogue's operands.
	run := func(a, b []float32, ir, jr, mrows, ncols int) {
		n := (mrows-1)*ldc + ncols // the tile's extent in C and the residual
		var bias, res []float32
		if te.flags&epiInit != 0 {
			bias = te.bias[ir : ir+mrows]
		}
		if te.flags&epiRes != 0 {
			res = te.res[ir*ldc+jr : ir*ldc+jr+n]
		}
		tile(kcb, a, b, c[ir*ldc+jr:ir*ldc+jr+n], ldc, mrows, ncols, te.flags, bias, res)
	}
	// activate applies post to rows [r0, r1) of the block.
	activate := func(r0, r1 int) {
		if post == ActNone {
			return
		}
		if ncb == ldc {
			// The rows are contiguous: one call, not one per row (on 7x7 and 14x14 images
			// the calls cost as much as the activation).
			apply(post, c[r0*ldc:(r1-1)*ldc+ncb])
			return
		}
		for r := r0; r < r1; r++ {
			apply(post, c[r*ldc:r*ldc+ncb])
		}
	}
	if im.jrOuter {
		for ic := 0; ic < m; ic += im.mc {
			mcb := min(im.mc, m-ic)
			for jr := 0; jr < ncb; jr += nr {
				b := bp[jr*kcb : jr*kcb+nr*kcb]
				for ir := ic; ir < ic+mcb; ir += mr {
					run(ap[ir*kcb:ir*kcb+mr*kcb], b, ir, jr, min(mr, m-ir), min(nr, ncb-jr))
				}
			}
			activate(ic, ic+mcb)
		}
		return
	}
	for ir := 0; ir < m; ir += mr {
		mrows := min(mr, m-ir)
		a := ap[ir*kcb : ir*kcb+mr*kcb]
		for jr := 0; jr < ncb; jr += nr {
			run(a, bp[jr*kcb:jr*kcb+nr*kcb], ir, jr, mrows, min(nr, ncb-jr))
		}
		activate(ir, ir+mrows)
	}
}

// sgemmBufs are the pack buffers of Sgemm, pooled so that Sgemm does not allocate in steady state
// (a grows to the largest roundUp(m, MR) x KC block of A seen).
type sgemmBufs struct {
	a []float32
	b []float32 // maxKCNC
}

var sgemmPool = sync.Pool{New: func() any { return &sgemmBufs{b: make([]float32, maxKCNC)} }}

// Sgemm computes C += A*B for row-major A (m x k, leading dimension lda), B (k x n, ldb) and
// C (m x n, ldc), with the same blocked kernel the convolutions use, at the Active level. C must
// not overlap A or B. It panics on inconsistent arguments, like BLAS.
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
	im := activeImpl()
	if !im.jrOuter && m <= 4*im.mr && k > im.kc {
		// Few rows (at most 4 A panels): each KC block of B is used by only a few A panels, and C
		// is read and written once per KC block. Deeper, narrower B blocks (same size) halve C's
		// passes: M=49 K=512 N=2048 ran 10% faster at AVX-512 (commit a6bda5b).
		short := *im
		short.kc, short.nc = 2*im.kc, im.nc/2
		im = &short
	}
	bufs := sgemmPool.Get().(*sgemmBufs)
	if need := roundUp(m, im.mr) * min(k, im.kc); len(bufs.a) < need {
		bufs.a = make([]float32, need)
	}
	ga := gemmA{raw: a, lda: lda, buf: bufs.a}
	gb := gemmB{b: b, ldb: ldb}
	gemm(im, m, n, k, &ga, &gb, c, ldc, bufs.b)
	sgemmPool.Put(bufs)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
