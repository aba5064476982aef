package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestTileEpilogueInPlace: the residual may be C itself (Conv.Run's residual == out).
func TestTileEpilogueInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, isa := range testLevels {
		im := sets[isa].gemm
		kc := 9
		a, b := randSlice(rng, kc*im.mr), randSlice(rng, kc*im.nr)
		for _, mrows := range []int{1, im.mr} {
			for _, ncols := range []int{1, im.nr - 1, im.nr} {
				ldc := ncols + 1
				n := (mrows-1)*ldc + ncols
				c, bias := randSlice(rng, n), randSlice(rng, mrows)
				res := append([]float32(nil), c...)
				want := make([]float32, n)
				flags := uint(epiInit | epiRes | epiReLU)
				im.tile(kc, a, b, want, ldc, mrows, ncols, flags, bias, res)
				im.tile(kc, a, b, c, ldc, mrows, ncols, flags, bias, c)
				for i := range c {
					if i%ldc < ncols && math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v %dx%d: in place [%d] = %v, out of place %v", isa, mrows, ncols, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmEpilogue checks gemmEp at each level against a float64 reference over several kc and
// nc blocks (the epilogue must start on the first kc block and clamp on the last), with every
// activation (those not fused run per row block).
func TestGemmEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, isa := range testLevels {
		for _, tw := range []bool{false, true} {
			im := sets[isa].gemm
			if tw {
				im = gemmTwins[isa]
			}
			for _, s := range [][3]int{{1, 1, 1}, {7, 33, 5}, {im.mr + 1, im.nc + im.nr + 3, im.kc + 1}, {3*im.mr - 1, 70, 2*im.kc + 7}} {
				m, n, k := s[0], s[1], s[2]
				for _, act := range allActs {
					for _, withRes := range []bool{false, true} {
						ldc := n + 2
						a, b := randSlice(rng, m*k), randSlice(rng, k*n)
						bias := randSlice(rng, m)
						cBuf, c := guarded((m-1)*ldc+n, func(int) float32 { return float32(math.NaN()) })
						ep := epilogue{bias: bias, act: act}
						var res []float32
						if withRes {
							res = randSlice(rng, len(c))
							ep.res = res
						}
						bufA, bufB := make([]float32, roundUp(m, im.mr)*min(k, im.kc)), make([]float32, maxKCNC)
						gemmEp(im, m, n, k, &gemmA{raw: a, lda: k, buf: bufA}, &gemmB{b: b, ldb: n}, c, ldc, bufB, &ep)
						name := fmt.Sprintf("%v twin=%v m=%d n=%d k=%d %v res=%v", isa, tw, m, n, k, act, withRes)
						checkGuards(t, name, cBuf)
						for i := range m {
							for j := range n {
								sum, mag := float64(bias[i]), math.Abs(float64(bias[i]))
								if withRes {
									sum += float64(res[i*ldc+j])
									mag += math.Abs(float64(res[i*ldc+j]))
								}
								for p := range k {
									v := float64(a[i*k+p]) * float64(b[p*n+j])
									sum += v
									mag += math.Abs(v)
								}
								want := refAct(act, sum)
								if got := c[i*ldc+j]; !close(got, want, mag, k) {
									t.Fatalf("%s: [%d][%d] = %v, want %v", name, i, j, got, want)
								}
							}
							for j := n; j < ldc && i < m-1; j++ {
								if v := c[i*ldc+j]; v == v {
									t.Fatalf("%s: wrote the gap at [%d][%d]", name, i, j)
								}
							}
						}
					}
				}
			}
		}
	}
}
