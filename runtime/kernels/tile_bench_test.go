package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkTile: one level's micro-kernel on panels that stay in cache (the kernel's ceiling).
func BenchmarkTile(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		im := activeImpl()
		rng := rand.New(rand.NewPCG(1, 1))
		for _, kc := range []int{64, 256, 512} {
			for _, mrows := range []int{im.mr, im.mr / 2} {
				b.Run(fmt.Sprintf("kc=%d,rows=%d", kc, mrows), func(b *testing.B) {
					a, bb := randSlice(rng, kc*im.mr), randSlice(rng, kc*im.nr)
					c := make([]float32, im.mr*im.nr)
					cpu := startCPU(b)
					for b.Loop() {
						im.tile(kc, a, bb, c, im.nr, mrows, im.nr, 0, nil, nil)
					}
					reportGFLOPS(b, 2*float64(mrows*im.nr*kc), cpu)
				})
			}
		}
	})
}
