package kernels

import "fmt"

// The GEMM of training. Training multiplies matrices that the forward pass never does: a batch's
// activations by a layer's weights (linear layers), gradients by activations summed over a batch
// (weight gradients), transposed weights by gradients (input gradients). Their operands are
// stored row-major or transposed, so Gemm packs either form into the micro-kernels' panels and
// runs the same blocked loop and the same micro-kernels as the convolutions (gemm.go), at the
// active ISA level: macroKernelEp over KC x NC blocks of B and MC x KC blocks of A.
//
// The micro-kernels read both operands along the sum's index (k-major panels), so an operand
// stored with its other dimension contiguous (Trans for A, row-major for B) packs by copying runs
// of MR or NR values, and the other form by interleaving MR or NR rows: Gemm's callers choose the
// cheaper form where they can (the convolutions' weight gradients transpose their activations to
// channels-last first, bwd_conv.go).

// Matrix is an operand of Gemm: Data holds it row-major with leading dimension Ld, or, with
// Trans, holds its transpose so (element (i, j) at Data[j*Ld+i]).
type Matrix struct {
	Data  []float32
	Ld    int
	Trans bool
}

// The operand kinds the driver packs from.
const (
	opRows    uint8 = iota // row-major
	opTrans                // the transpose stored row-major
	opPacked               // packed whole already (PackedB, or a conv's packed weights for A)
	opPatches              // B only: a convolution's patches from a channels-last input (bwd_conv.go)
)

// gemmMC bounds the rows of A packed at once (MC): A's block of MC x KC values (1 MiB) and B's of
// KC x NC (0.5 MiB) stay in L2 while the micro-kernels stream them. Operands with more rows (an
// input gradient's patches of a 3x3 layer of 512 channels: 4608) pack B once per MC block.
const gemmMC = 1024

// gemmZeros is the zero bias of a first KC block that overwrites C (epiInit): at most gemmMC rows.
var gemmZeros [gemmMC]float32

type aOperand struct {
	kind uint8
	data []float32
	ld   int
	mpad int // opPacked: rows rounded up to MR
}

type bOperand struct {
	kind  uint8
	data  []float32
	ld    int
	npad  int         // opPacked: columns rounded up to NR
	patch patchSource // opPatches (a value: a pointer to it would escape with the slices it holds)
}

// GemmScratchLen is the scratch Gemm needs for any m x n x k product at any level: A's block
// and B's block.
func GemmScratchLen() int {
	return maxShape(func(s gemmShape) int { return gemmMC * s.kc }) + maxKCNC
}

// Gemm sets C (m x n, rows ldc apart) to A*B, or adds A*B to it when acc, for A m x k and B
// k x n, computing only C's columns [j0, j1): parts of C split by columns are computed by the
// same operations as the whole (each value is the same sum in the same order), so callers may
// split a product over goroutines, each with its own scratch of GemmScratchLen values. C must
// not overlap A or B. It does not allocate.
func Gemm(m, n, k int, a, b Matrix, c []float32, ldc int, acc bool, j0, j1 int, scratch []float32) {
	ao := aOperand{kind: opRows, data: a.Data, ld: a.Ld}
	if a.Trans {
		ao.kind = opTrans
	}
	bo := bOperand{kind: opRows, data: b.Data, ld: b.Ld}
	if b.Trans {
		bo.kind = opTrans
	}
	checkTrainGemm(m, n, k, &a, &b, c, ldc, j0, j1)
	gemmDrive(activeImpl(), m, n, k, &ao, &bo, c, ldc, acc, j0, j1, scratch)
}

// checkTrainGemm panics unless the operands hold what their sizes say (b nil: packed, checked by
// its caller).
func checkTrainGemm(m, n, k int, a, b *Matrix, c []float32, ldc, j0, j1 int) {
	need := func(x *Matrix, rows, cols int) bool {
		if x == nil {
			return true
		}
		if x.Trans {
			rows, cols = cols, rows
		}
		return rows == 0 || cols == 0 || x.Ld >= cols && len(x.Data) >= (rows-1)*x.Ld+cols
	}
	if m < 0 || n < 0 || k < 0 || j0 < 0 || j0 > j1 || j1 > n || !need(a, m, k) || !need(b, k, n) ||
		m > 0 && n > 0 && (ldc < n || len(c) < (m-1)*ldc+n) {
		panic(fmt.Sprintf("kernels: Gemm: inconsistent arguments m=%d n=%d k=%d columns [%d, %d) ldc=%d", m, n, k, j0, j1, ldc))
	}
}

// PackedB is a B operand packed whole for the level that packed it, to be multiplied many times
// (a layer's weights, by every image of a step): Pack reuses its memory when the shape allows.
type PackedB struct {
	isa  ISA
	k, n int
	data []float32
}

// Pack packs the k x n matrix b into p for the active level.
func (p *PackedB) Pack(k, n int, b Matrix) {
	im := activeImpl()
	npad := roundUp(n, im.nr)
	size := k * npad
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data, p.isa, p.k, p.n = p.data[:size], im.isa, k, n
	bo := bOperand{kind: opRows, data: b.Data, ld: b.Ld}
	if b.Trans {
		bo.kind = opTrans
	}
	// The layout of gemmB.pre: block (pc, jc) at pc*npad + kcb*jc, panels of NR columns in it.
	for pc := 0; pc < k; pc += im.kc {
		kcb := min(im.kc, k-pc)
		bo.pack(im, p.data[pc*npad:pc*npad+kcb*npad], pc, kcb, 0, n)
	}
}

// GemmPackedB is Gemm with B packed already.
func GemmPackedB(m, n, k int, a Matrix, b *PackedB, c []float32, ldc int, acc bool, j0, j1 int, scratch []float32) {
	if b.k != k || b.n != n {
		panic(fmt.Sprintf("kernels: GemmPackedB: B packed as %d x %d, used as %d x %d", b.k, b.n, k, n))
	}
	ao := aOperand{kind: opRows, data: a.Data, ld: a.Ld}
	if a.Trans {
		ao.kind = opTrans
	}
	im := runImpl(b.isa)
	bo := bOperand{kind: opPacked, data: b.data, npad: roundUp(n, im.nr)}
	checkTrainGemm(m, n, k, &a, nil, c, ldc, j0, j1)
	gemmDrive(im, m, n, k, &ao, &bo, c, ldc, acc, j0, j1, scratch)
}

// gemmDrive is the blocked product: for each KC block of the sum, each MC block of A's rows
// (packed once) and each NC block of the columns [j0, j1) (packed once per MC block), the
// micro-kernels over the tiles. The first KC block overwrites C unless acc.
func gemmDrive(im *gemmImpl, m, n, k int, a *aOperand, b *bOperand, c []float32, ldc int, acc bool, j0, j1 int, scratch []float32) {
	if m == 0 || j0 >= j1 {
		return
	}
	if k == 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc+j0 : i*ldc+j1])
			}
		}
		return
	}
	aLen := maxShape(func(s gemmShape) int { return gemmMC * s.kc })
	if len(scratch) < aLen+maxKCNC {
		panic(fmt.Sprintf("kernels: Gemm: scratch of %d values, want %d", len(scratch), aLen+maxKCNC))
	}
	abuf, bbuf := scratch[:aLen], scratch[aLen:aLen+maxKCNC]
	mc := gemmMC
	if a.kind == opPacked {
		mc = m // packed whole: no block to fill
	}
	for pc := 0; pc < k; pc += im.kc {
		kcb := min(im.kc, k-pc)
		var te tileEpi
		for ic := 0; ic < m; ic += mc {
			mcb := min(mc, m-ic)
			ap := a.block(im, abuf, m, ic, mcb, pc, kcb)
			if pc == 0 && !acc {
				if mcb > gemmMC {
					// A packed A with more rows than the zero bias: clear C and accumulate.
					for i := ic; i < ic+mcb; i++ {
						clear(c[i*ldc+j0 : i*ldc+j1])
					}
				} else {
					te = tileEpi{flags: epiInit, bias: gemmZeros[:mcb]}
				}
			}
			for jc := j0; jc < j1; jc += im.nc {
				ncb := min(im.nc, j1-jc)
				bp := b.block(im, bbuf, pc, kcb, jc, ncb)
				macroKernelEp(im, mcb, ncb, kcb, ap, bp, c[ic*ldc+jc:], ldc, te, ActNone)
			}
		}
	}
}

// block returns rows [ic, ic+mcb), columns [pc, pc+kcb) of A in MR-row panels.
func (a *aOperand) block(im *gemmImpl, buf []float32, m, ic, mcb, pc, kcb int) []float32 {
	switch a.kind {
	case opPacked:
		return a.data[pc*a.mpad+ic*kcb:]
	case opTrans:
		packATrans(buf, a.data, a.ld, m, ic, mcb, pc, kcb, im.mr)
	default:
		packAPanels(buf, a.data, a.ld, m, ic, mcb, pc, kcb, im.mr)
	}
	return buf
}

// packATrans is packAPanels for an A stored transposed (A[i][p] = at[p*lda+i]): each panel row
// of the block is a run of MR consecutive values of at.
func packATrans(dst, at []float32, lda, m, ic, mcb, pc, kcb, mr int) {
	for ir := 0; ir < mcb; ir += mr {
		rows := min(mr, mcb-ir, m-ic-ir)
		d := dst[ir*kcb : ir*kcb+mr*kcb]
		for p := range kcb {
			src := at[(pc+p)*lda+ic+ir:]
			dp := d[p*mr : p*mr+mr]
			copy(dp, src[:rows])
			clear(dp[rows:])
		}
	}
}

// block returns rows [pc, pc+kcb), columns [jc, jc+ncb) of B in NR-column panels (zero past ncb).
func (b *bOperand) block(im *gemmImpl, buf []float32, pc, kcb, jc, ncb int) []float32 {
	if b.kind == opPacked {
		return b.data[pc*b.npad+kcb*jc:]
	}
	b.pack(im, buf, pc, kcb, jc, ncb)
	return buf
}

func (b *bOperand) pack(im *gemmImpl, dst []float32, pc, kcb, jc, ncb int) {
	switch b.kind {
	case opTrans:
		packBTrans(dst, b.data, b.ld, pc, kcb, jc, ncb, im.nr)
	case opPatches:
		b.patch.pack(dst, pc, kcb, jc, ncb, im.nr)
	default:
		packB(im, dst, b.data, b.ld, pc, kcb, jc, ncb)
	}
}

// packBTrans packs a block of a B stored transposed (B[p][j] = bt[j*ldb+p]): each panel
// interleaves NR rows of bt, read side by side (NR sequential streams).
func packBTrans(dst, bt []float32, ldb, pc, kcb, jc, ncb, nr int) {
	var rows [32][]float32 // 32: the widest NR
	for jr := 0; jr < ncb; jr += nr {
		cols := min(nr, ncb-jr)
		d := dst[jr*kcb : jr*kcb+nr*kcb]
		for r := range cols {
			row := (jc + jr + r) * ldb
			rows[r] = bt[row+pc : row+pc+kcb]
		}
		if cols == nr {
			for p := range kcb {
				dp := d[p*nr : p*nr+nr]
				for r := range dp {
					dp[r] = rows[r][p]
				}
			}
			continue
		}
		for p := range kcb {
			dp := d[p*nr : p*nr+nr]
			for r := range cols {
				dp[r] = rows[r][p]
			}
			clear(dp[cols:])
		}
	}
}
