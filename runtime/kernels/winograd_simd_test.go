//go:build !purego && amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinoSIMDVsGo compares the SIMD transforms with their Go twins on every run length, with
// guards around the outputs; the arithmetic is the same, so they agree to the last bit except
// for the sign of zero after ReLU.
func TestWinoSIMDVsGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, lvl := range testLevels[1:] {
		for _, m := range []int{4, 2} {
			testWinoSIMD(t, rng, lvl, m)
		}
	}
}

func testWinoSIMD(t *testing.T, rng *rand.Rand, lvl ISA, m int) {
	x := map[[2]int]*winoXform{
		{int(AVX512), 4}: &wino4AVX512, {int(AVX2), 4}: &wino4AVX2,
		{int(AVX512), 2}: &wino2AVX512, {int(AVX2), 2}: &wino2AVX2,
	}[[2]int{int(lvl), m}]
	goIn, goOut := winoIn4Go, winoOut4Go
	a := 6
	if m == 2 {
		goIn, goOut, a = winoIn2Go, winoOut2Go, 4
	}
	a2 := a * a
	{
		g := x.g
		for n := 1; n <= g; n++ {
			ld, ds := m*g+4+3, 2*g+1
			src := randSlice(rng, (a-1)*ld+m*g+4)
			wantBuf, want := guarded((a2-1)*ds+g, func(int) float32 { return 7 })
			gotBuf, got := guarded((a2-1)*ds+g, func(int) float32 { return 7 })
			goIn(src, ld, want, ds, n)
			x.in(src, ld, got, ds, n)
			name := fmt.Sprintf("%v F(%d) in n=%d", lvl, m, n)
			checkGuards(t, name, gotBuf)
			checkGuards(t, name, wantBuf)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: [%d] (xi %d, tile %d) = %v, Go %v", name, i, i/ds, i%ds, got[i], want[i])
				}
			}
		}
		for cols := 1; cols <= m*g; cols++ {
			for rows := 1; rows <= m; rows++ {
				for _, relu := range []bool{false, true} {
					for _, withRes := range []bool{false, true} {
						ss, ldd := g+3, m*g+5
						src := randSlice(rng, (a2-1)*ss+g)
						var res []float32
						if withRes {
							res = randSlice(rng, (m-1)*ldd+m*g)
						}
						b := rng.Float32()
						_, want := guarded((m-1)*ldd+m*g, func(int) float32 { return 7 })
						gotBuf, got := guarded((m-1)*ldd+m*g, func(int) float32 { return 7 })
						goOut(src, ss, want, ldd, res, b, relu, rows, cols)
						x.out(src, ss, got, ldd, res, b, relu, rows, cols)
						name := fmt.Sprintf("%v F(%d) out rows=%d cols=%d relu=%v res=%v", lvl, m, rows, cols, relu, withRes)
						checkGuards(t, name, gotBuf)
						for i := range want {
							if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
								t.Fatalf("%s: [%d] (row %d col %d) = %v, Go %v", name, i, i/ldd, i%ldd, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
