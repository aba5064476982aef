package kernels

import (
	"math/rand/v2"
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
			pw, scrLen := packAs16c(&c, algoWino16c, randSlice(rng, c.OutC*c.InC*9), randSlice(rng, c.OutC))
			checkConv16cSplits(t, rng, &c, pw, max(scrLen, c.ScratchLen()), 2, 3, 4)
		}
	})
}
