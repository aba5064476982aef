package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestWino16cSplitIsExact runs blocked Winograd convolutions whose tile-row blocks and output
// channel groups do not divide between the parts (ResNet's 64-channel layers: one block and
// one group), which runWino16c then cuts into smaller blocks, and requires Run's bits.
func TestWino16cSplitIsExact(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, c := range []Conv{
			convCase(64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU), // ResNet's layer1
			convCase(64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),
			convCase(20, 27, 30, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),  // partial tiles and blocks
			convCase(48, 28, 28, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU6), // 3 blocks out
		} {
			c.Layout = NCHW16c
			name := fmt.Sprintf("%dto%d@%dx%d", c.InC, c.OutC, c.OutH, c.OutW)
			pw, scrLen := packAs16c(&c, algoWino16c, randSlice(rng, c.OutC*c.InC*9), randSlice(rng, c.OutC))
			scrLen = max(scrLen, c.ScratchLen())
			_, in := toBlockedGuarded(rng, randSlice(rng, c.InC*c.InH*c.InW), c.InC, c.InH*c.InW)
			_, res := toBlockedGuarded(rng, randSlice(rng, c.OutC*c.OutH*c.OutW), c.OutC, c.OutH*c.OutW)
			n := BlockedLen(c.OutC, c.OutH*c.OutW)
			want := make([]float32, n)
			c.RunPart(0, 1, want, in, pw, res, make([]float32, scrLen))
			for _, parts := range []int{2, 3, 4} {
				got := make([]float32, n)
				var wg sync.WaitGroup
				for part := range parts {
					wg.Go(func() { c.RunPart(part, parts, got, in, pw, res, make([]float32, scrLen)) })
				}
				wg.Wait()
				for i := range want {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("%s, %d parts: value %d is %v, want %v", name, parts, i, got[i], want[i])
					}
				}
			}
		}
	})
}
