package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestLRNSizes runs LRN at every level over plane sizes across the vector lengths, for beta
// 0.75 (the SIMD normalization) and 0.5, against the reference with guards.
func TestLRNSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(63, 64))
		for _, hw := range []int{1, 7, 8, 9, 15, 16, 17, 33, 64, 65, 169, 729} {
			for _, beta := range []float32{0.75, 0.5} {
				const c, size = 7, 5
				inBuf, in := guarded(c*hw, func(int) float32 { return rng.Float32()*8 - 4 })
				outBuf, out := guarded(c*hw, nil)
				LRN{C: c, HW: hw, Size: size, Lo: size / 2, Alpha: 1e-4, Beta: beta, K: 2}.Run(out, in)
				name := fmt.Sprintf("LRN hw=%d beta=%v", hw, beta)
				checkClose(t, name, out, refLRN(c, hw, size, size/2, float64(float32(1e-4)), float64(beta), 2, in), nil, 2*size)
				checkGuards(t, name, outBuf)
				checkGuards(t, name, inBuf)
			}
		}
	})
}

func BenchmarkLRN(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		const c, hw = 96, 55 * 55 // AlexNet's first LRN
		in, out := randSlice(rng, c*hw), make([]float32, c*hw)
		for b.Loop() {
			LRN{C: c, HW: hw, Size: 5, Lo: 2, Alpha: 1e-4, Beta: 0.75, K: 2}.Run(out, in)
		}
	})
}
