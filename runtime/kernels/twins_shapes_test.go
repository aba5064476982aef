package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The checks of TestKernelTwins for the kernels on 2-D shapes: the SGEMM micro-kernel and B-panel
// copy, the GEMV rows, the depthwise planes and rows, and the Winograd transforms.

// epiFlagSets are the epilogues the convolutions use (and plain accumulation with a clamp, which
// they do not, but the kernels support).
var epiFlagSets = []uint{
	0, epiInit, epiInit | epiRes, epiInit | epiReLU, epiInit | epiReLU6, epiInit | epiRes | epiReLU,
	epiInit | epiRes | epiReLU6, epiReLU, epiReLU6,
}

type tileFunc = func(kc int, a, b, c []float32, ldc, mrows, ncols int, flags uint, bias, res []float32)

// checkGemm checks the level's micro-kernel with every epilogue on every row and column count,
// with a gap of 3 floats between C's rows that must not change, and, for kc = 5, NaNs in the
// bias of the last row, the residual's first value and C's last that must come out NaN where
// they are read (through the clamps too); then the B-panel copy.
func checkGemm(t *testing.T, rng *rand.Rand, ks *kernelSet, _, _ any) {
	im, tw := ks.gemm, gemmTwins[ks.isa]
	if im.gemmShape != tw.gemmShape {
		t.Fatalf("%v: twin's shape %+v, kernel's %+v", ks.isa, tw.gemmShape, im.gemmShape)
	}
	nan := float32(math.NaN())
	for _, kc := range []int{1, 5, 17} {
		for _, flags := range epiFlagSets {
			for mrows := 1; mrows <= im.mr; mrows++ {
				for ncols := 1; ncols <= im.nr; ncols++ {
					ldc, off := ncols+3, (mrows+ncols+kc)%16
					n := (mrows-1)*ldc + ncols
					c4 := func(int) float32 { return rng.Float32()*8 - 4 } // so the clamps at 0 and 6 both bite
					ops := []operand{newOp(n, off, c4), newOp(kc*im.mr, (off+3)%16, uniform(rng, false)),
						newOp(kc*im.nr, (off+7)%16, uniform(rng, false)), newOp(mrows, off, c4), newOp(n, (off+11)%16, c4)}
					if kc == 5 {
						ops[3].v[mrows-1], ops[4].v[0], ops[0].v[n-1] = nan, nan, nan
					}
					// kc products, the bias and the residual in each sum; the gaps exact.
					sum := sumTol(kc + 2)
					tol := func(k, i int, w float32, mag [][]float32) float64 {
						if i%ldc >= ncols {
							return 0
						}
						return sum(k, i, w, mag)
					}
					name := fmt.Sprintf("kc=%d flags=%b %dx%d", kc, flags, mrows, ncols)
					compare(t, name, ops, []int{0}, tol, true, func(f any, s [][]float32) {
						f.(tileFunc)(kc, s[1], s[2], s[0], ldc, mrows, ncols, flags, s[3], s[4])
					}, im.tile, tw.tile)
				}
			}
		}
	}
	for _, kc := range []int{1, 3} {
		for panels := range 6 {
			stride, dst := im.nr*kc, 0
			if panels > 0 {
				dst = (panels-1)*stride + im.nr
			}
			ops := []operand{newOp(dst, panels%4, uniform(rng, true)), newOp(panels*im.nr, 1, uniform(rng, true))}
			compare(t, fmt.Sprintf("packRow kc=%d panels=%d", kc, panels), ops, []int{0}, exact, false, func(f any, s [][]float32) {
				f.(func(dst, src []float32, panels, stride int))(s[0], s[1], panels, stride)
			}, im.packRow, tw.packRow)
		}
	}
}

func checkGemv(rows int) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for _, n := range lengths(ks) {
			for _, off := range offsets {
				ld := n + 3
				ops := []operand{newOp(rows, off, uniform(rng, false)), newOp((rows-1)*ld+n, (off+5)%16, uniform(rng, false)),
					newOp(n, (off+9)%16, uniform(rng, false))}
				compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(n), true, func(f any, s [][]float32) {
					f.(func(w []float32, ld int, x, sums []float32))(s[1], ld, s[2], s[0])
				}, simd, twin)
			}
		}
	}
}

// checkDWConv checks a whole-plane depthwise kernel over plane shapes across the vector length,
// with gaps between the output rows and the input's slack the kernels may read (dwPlaneRun's).
func checkDWConv(k, s int) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for rows := 1; rows <= 5; rows++ {
			for cols := 1; cols <= 2*vlOf(ks)+3; cols++ {
				ld, ldd, off := s*(cols-1)+k+cols%3, cols+2, (rows+cols)%16
				bias := rng.Float32()
				src := (s*(rows-1)+k-1)*ld + s*roundUp(cols, 16) + k - 1 + 16
				ops := []operand{newOp((rows-1)*ldd+cols, off, uniform(rng, false)), newOp(src, (off+5)%16, uniform(rng, false)),
					newOp(k*k, 0, uniform(rng, false))}
				sum := sumTol(k*k + 1)
				tol := func(j, i int, w float32, mag [][]float32) float64 {
					if i%ldd >= cols {
						return 0
					}
					return sum(j, i, w, mag)
				}
				compare(t, fmt.Sprintf("%dx%d", rows, cols), ops, []int{0}, tol, true, func(f any, v [][]float32) {
					f.(func(dst, src, w []float32, bias float32, rows, cols, ld, ldd int))(v[0], v[1], v[2], bias, rows, cols, ld, ldd)
				}, simd, twin)
			}
		}
	}
}

func checkCopyPlane(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for rows := range 4 {
		for cols := range 2*vlOf(ks) + 3 {
			ldd, dst := cols+2, 0
			if rows > 0 {
				dst = (rows-1)*ldd + cols
			}
			ops := []operand{newOp(dst, cols%16, uniform(rng, true)), newOp(rows*cols, rows, uniform(rng, true))}
			compare(t, fmt.Sprintf("%dx%d", rows, cols), ops, []int{0}, exact, false, func(f any, s [][]float32) {
				f.(func(dst, src []float32, rows, cols, ldd int))(s[0], s[1], rows, cols, ldd)
			}, simd, twin)
		}
	}
}

func checkDWConvRow(k, s int) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for _, n := range lengths(ks) {
			for _, off := range offsets {
				src := 0
				if n > 0 {
					src = s*(n-1) + k
				}
				ops := []operand{newOp(n, off, uniform(rng, false)), newOp(src, (off+5)%16, uniform(rng, false)), newOp(k, 0, uniform(rng, false))}
				compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(k+1), true, func(f any, v [][]float32) {
					f.(func(dst, src, w []float32))(v[0], v[1], v[2])
				}, simd, twin)
			}
		}
	}
}

// checkWino checks the F(m x m, 3x3) transforms on every run length, with gaps between the
// positions of the input transform's output and between the output transform's rows: the same
// operations in the same order, so exactly.
func checkWino(m int) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		x, gx := simd.(winoXform), twin.(winoXform)
		g, a := x.g, m+2
		a2 := a * a
		for n := 1; n <= g; n++ {
			ld, ds := m*g+4+3, 2*g+1
			ops := []operand{newOp((a2-1)*ds+n, n%16, uniform(rng, false)), newOp((a-1)*ld+m*g+4, (n+5)%16, uniform(rng, false))}
			compare(t, fmt.Sprintf("in n=%d", n), ops, []int{0}, exact, false, func(f any, s [][]float32) {
				f.(func(src []float32, ld int, dst []float32, ds, n int))(s[1], ld, s[0], ds, n)
			}, x.in, gx.in)
		}
		for cols := 1; cols <= m*g; cols++ {
			for rows := 1; rows <= m; rows++ {
				for _, relu := range []bool{false, true} {
					for _, withRes := range []bool{false, true} {
						ss, ldd, bias := g+3, m*g+5, rng.Float32()-0.5
						n := (rows-1)*ldd + cols
						ops := []operand{newOp(n, cols%16, uniform(rng, false)), newOp((a2-1)*ss+g, rows, uniform(rng, false)),
							newOp(n, (cols+7)%16, uniform(rng, false))}
						name := fmt.Sprintf("out %dx%d relu=%v res=%v", rows, cols, relu, withRes)
						compare(t, name, ops, []int{0}, exact, false, func(f any, s [][]float32) {
							res := s[2]
							if !withRes {
								res = nil
							}
							f.(func(src []float32, ss int, dst []float32, ldd int, res []float32, bias float32, relu bool, rows, cols int))(
								s[1], ss, s[0], ldd, res, bias, relu, rows, cols)
						}, x.out, gx.out)
					}
				}
			}
		}
	}
}
