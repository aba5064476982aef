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
		var x *winoXform
		switch lvl {
		case AVX512:
			x = &wino4AVX512
		case AVX2:
			x = &wino4AVX2
		}
		g := x.g
		for n := 1; n <= g; n++ {
			ld, ds := 4*g+4+3, 2*g+1
			src := randSlice(rng, 5*ld+4*g+4)
			wantBuf, want := guarded(35*ds+g, func(int) float32 { return 7 })
			gotBuf, got := guarded(35*ds+g, func(int) float32 { return 7 })
			winoIn4Go(src, ld, want, ds, n)
			x.in(src, ld, got, ds, n)
			name := fmt.Sprintf("%v in n=%d", lvl, n)
			checkGuards(t, name, gotBuf)
			checkGuards(t, name, wantBuf)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: [%d] (xi %d, tile %d) = %v, Go %v", name, i, i/ds, i%ds, got[i], want[i])
				}
			}
		}
		for cols := 1; cols <= 4*g; cols++ {
			for rows := 1; rows <= 4; rows++ {
				for _, relu := range []bool{false, true} {
					for _, withRes := range []bool{false, true} {
						ss, ldd := g+3, 4*g+5
						src := randSlice(rng, 35*ss+g)
						var res []float32
						if withRes {
							res = randSlice(rng, 3*ldd+4*g)
						}
						b := rng.Float32()
						_, want := guarded(3*ldd+4*g, func(int) float32 { return 7 })
						gotBuf, got := guarded(3*ldd+4*g, func(int) float32 { return 7 })
						winoOut4Go(src, ss, want, ldd, res, b, relu, rows, cols)
						x.out(src, ss, got, ldd, res, b, relu, rows, cols)
						name := fmt.Sprintf("%v out rows=%d cols=%d relu=%v res=%v", lvl, rows, cols, relu, withRes)
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
