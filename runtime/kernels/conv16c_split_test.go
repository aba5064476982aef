package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConv16cPixelSplitIsExact splits pointwise convolutions whose weights are smaller than
// their input, which runDirect16c cuts into runs of pixels rather than output channel groups,
// and requires Run's bits.
//
// TestConv16cBlockSplitIsExact does the same for convolutions whose groups of output channel
// blocks do not divide evenly between the parts, which share the blocks instead.
func TestConv16cPixelSplitIsExact(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, c := range []Conv{
			convCase(256, 28, 28, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU), // ResNet's layer2.x.conv1
			convCase(64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),  // its layer1.x.conv3
			convCase(40, 23, 19, 36, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU6),  // partial blocks and tiles
		} {
			c.Layout = NCHW16c
			name := fmt.Sprintf("%dto%d@%dx%d", c.InC, c.OutC, c.OutH, c.OutW)
			pw, err := c.Pack(randSlice(rng, c.OutC*c.InC), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			if g := c.geom16c(); !g.flat || g.gather || blocks(c.OutC)*BlockC >= g.cols {
				t.Fatalf("%s: not split by pixels", name)
			}
			checkConv16cSplits(t, rng, &c, pw, c.ScratchLen(), 2, 3, 4)
		}
	})
}

func TestConv16cBlockSplitIsExact(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		remapped := 0
		for _, c := range []Conv{
			convCase(64, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // ResNet's layer4: 11 groups of 3 or 2
			convCase(40, 9, 5, 1030, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone), // partial blocks
		} {
			c.Layout = NCHW16c
			pw, err := c.Pack(randSlice(rng, c.OutC*c.InC*9), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			k := kern().conv16c
			groups := (blocks(c.OutC) + k.tileBlocks(c.OutW) - 1) / k.tileBlocks(c.OutW)
			for _, parts := range []int{2, 3, 4} {
				if groups%parts != 0 && groups >= 4*parts {
					remapped++
				}
			}
			checkConv16cSplits(t, rng, &c, pw, c.ScratchLen(), 2, 3, 4)
		}
		if remapped == 0 {
			t.Error("no split shared blocks")
		}
	})
}

// checkConv16cSplits runs the blocked convolution c (weights pw, scratch of scrLen floats) on a
// random input and residual with guards after them, in one part and then split into each of
// parts run concurrently, and requires the same bits.
func checkConv16cSplits(t *testing.T, rng *rand.Rand, c *Conv, pw *ConvWeights, scrLen int, parts ...int) {
	t.Helper()
	name := fmt.Sprintf("%dto%d@%dx%d", c.InC, c.OutC, c.OutH, c.OutW)
	_, in := toBlockedGuarded(rng, randSlice(rng, c.InC*c.InH*c.InW), c.InC, c.InH*c.InW)
	_, res := toBlockedGuarded(rng, randSlice(rng, c.OutC*c.OutH*c.OutW), c.OutC, c.OutH*c.OutW)
	n := BlockedLen(c.OutC, c.OutH*c.OutW)
	want := make([]float32, n)
	c.RunPart(0, 1, want, in, pw, res, make([]float32, scrLen))
	for _, np := range parts {
		got := make([]float32, n)
		var wg sync.WaitGroup
		for part := range np {
			wg.Go(func() { c.RunPart(part, np, got, in, pw, res, make([]float32, scrLen)) })
		}
		wg.Wait()
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("%s, %d parts: value %d is %v, want %v", name, np, i, got[i], want[i])
			}
		}
	}
}
