package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// epiFlagSets are the epilogues the convolutions use (and plain accumulation with a clamp, which
// they do not, but the kernels support).
var epiFlagSets = []uint{
	0, epiInit, epiInit | epiRes, epiInit | epiReLU, epiInit | epiReLU6, epiInit | epiRes | epiReLU,
	epiInit | epiRes | epiReLU6, epiReLU, epiReLU6,
}

// TestTileEpilogue checks each level's micro-kernel with every epilogue against the Go twin on
// every row and column count, with guards around C and the residual, gaps between rows that
// must not change, and NaNs in the bias, the residual and C that must come out NaN through the
// clamps.
func TestTileEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	nan := float32(math.NaN())
	for _, isa := range testLevels {
		im := impls[isa]
		for _, kc := range []int{1, 5, 17} {
			a := randSlice(rng, kc*im.mr)
			b := randSlice(rng, kc*im.nr)
			for _, flags := range epiFlagSets {
				for mrows := 1; mrows <= im.mr; mrows++ {
					for ncols := 1; ncols <= im.nr; ncols++ {
						ldc := ncols + 3
						n := (mrows-1)*ldc + ncols
						cBuf, c := randGuarded(rng, n)
						for i := range c {
							c[i] *= 4 // so that the clamps at 0 and 6 both bite
						}
						biasBuf, bias := guarded(mrows, func(int) float32 { return rng.Float32()*8 - 2 })
						resBuf, res := randGuarded(rng, n)
						// A NaN in the bias of the last row, in the residual at the first
						// element and in C at the last.
						bias[mrows-1], res[0], c[n-1] = nan, nan, nan
						want := append([]float32(nil), c...)
						ep := tileEpi{flags: flags, bias: bias, res: res}
						tileGoEp(im.mr, im.nr, kc, a, b, want, ldc, mrows, ncols, ep)
						im.tileEp(kc, a, b, c, ldc, mrows, ncols, ep)
						name := fmt.Sprintf("%v kc=%d flags=%b %dx%d", isa, kc, flags, mrows, ncols)
						checkGuards(t, name, cBuf)
						checkGuards(t, name+" bias", biasBuf)
						checkGuards(t, name+" res", resBuf)
						for i := range c {
							if i%ldc >= ncols {
								if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s: wrote the gap at %d", name, i)
								}
								continue
							}
							if want[i] != want[i] {
								if c[i] == c[i] {
									t.Fatalf("%s: [%d] = %v, want NaN", name, i, c[i])
								}
								continue
							}
							if d := math.Abs(float64(c[i] - want[i])); d > 1e-5*math.Sqrt(float64(kc))*(1+math.Abs(float64(want[i]))) {
								t.Fatalf("%s: [%d] = %v, Go twin %v", name, i, c[i], want[i])
							}
						}
						// The NaNs must have reached the output wherever they are read.
						last := (mrows-1)*ldc + ncols - 1
						if flags&epiInit != 0 && c[(mrows-1)*ldc] == c[(mrows-1)*ldc] ||
							flags&epiRes != 0 && c[0] == c[0] || flags&epiInit == 0 && c[last] == c[last] {
							t.Fatalf("%s: a NaN did not propagate", name)
						}
					}
				}
			}
		}
	}
}

// TestTileEpilogueInPlace: the residual may be C itself (Conv.Run's residual == out).
func TestTileEpilogueInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, isa := range testLevels {
		im := impls[isa]
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
				im.tileEp(kc, a, b, want, ldc, mrows, ncols, tileEpi{flags: flags, bias: bias, res: res})
				im.tileEp(kc, a, b, c, ldc, mrows, ncols, tileEpi{flags: flags, bias: bias, res: c})
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
			im := impls[isa]
			if tw {
				im = twins[isa]
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
