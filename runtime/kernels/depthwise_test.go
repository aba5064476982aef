package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkDepthwise: EfficientNet-B0's depthwise shapes (TF-same padding for stride 2, as the
// ONNX export has it), single thread; the activation is SiLU as in the network, and "none" shows
// the convolution alone.
func BenchmarkDepthwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, bc := range []struct {
		name string
		c    Conv
	}{
		{"3x3_32x112x112s1", convCase(32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, ActSiLU)},
		{"3x3_96x112x112s2", convCase(96, 112, 112, 96, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 96, ActSiLU)},
		{"3x3_144x56x56s1", convCase(144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144, ActSiLU)},
		{"3x3_144x56x56s1_none", convCase(144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144, ActNone)},
		{"5x5_144x56x56s2", convCase(144, 56, 56, 144, 5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 144, ActSiLU)},
		{"5x5_240x28x28s1", convCase(240, 28, 28, 240, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 240, ActSiLU)},
		{"3x3_96x112x112s2_none", convCase(96, 112, 112, 96, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 96, ActNone)},
		{"5x5_672x14x14s2_none", convCase(672, 14, 14, 672, 5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 672, ActNone)},
		{"5x5_240x28x28s1_none", convCase(240, 28, 28, 240, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 240, ActNone)},
		{"3x3_480x14x14s1", convCase(480, 14, 14, 480, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 480, ActSiLU)},
		{"5x5_672x14x14s1", convCase(672, 14, 14, 672, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 672, ActSiLU)},
		{"5x5_672x14x14s2", convCase(672, 14, 14, 672, 5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 672, ActSiLU)},
		{"5x5_1152x7x7s1", convCase(1152, 7, 7, 1152, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1152, ActSiLU)},
		{"3x3_1152x7x7s1", convCase(1152, 7, 7, 1152, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1152, ActSiLU)},
	} {
		c := bc.c
		if c.algo() != algoDepthwise || c.Validate() != nil {
			b.Fatalf("%s: not a valid depthwise conv: %v", bc.name, c.Validate())
		}
		b.Run(bc.name, func(b *testing.B) {
			k := c.KH * c.KW
			w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
			if err != nil {
				b.Fatal(err)
			}
			in := randSlice(rng, c.InC*c.InH*c.InW)
			out := make([]float32, c.OutC*c.OutH*c.OutW)
			scr := make([]float32, c.ScratchLen())
			cpu := startCPU(b)
			for b.Loop() {
				c.Run(out, in, w, nil, scr)
			}
			reportGFLOPS(b, 2*float64(len(out)*k), cpu)
		})
	}
}

// TestDepthwiseRows sweeps the depthwise row kernels' shapes (3x3 and 5x5, stride 1 and 2,
// EfficientNet's paddings) over widths across the vector lengths at every level, flat and row by
// row: against the
// reference with guards (testConv), and RunPart against Run bit for bit.
func TestDepthwiseRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(45, 46))
		for _, k := range []int{3, 5} {
			for _, s := range []int{1, 2} {
				for _, pads := range [][2]int{{k / 2, k / 2}, {0, 1}, {k/2 - 1, k / 2}} {
					for _, w := range []int{1, 2, 5, 8, 9, 15, 16, 17, 18, 19, 31, 33, 34, 35, 36, 37, 40, 56, 67, 112, 113} {
						pl, pr := pads[0], pads[1]
						if w+pl+pr < k {
							continue
						}
						// Height 4 and 120: planes of one or two row groups, and of many. With a
						// residual (testConv's withRes) they run row by row, without on whole
						// planes (runDepthwisePlane).
						c := convCase(3, 4+116*(w%2), w, 3, k, k, s, s, pl, pl, pr, pr, 1, 1, 3, allActs[(w+k)%len(allActs)])
						if c.Validate() != nil || c.algo() != algoDepthwise {
							continue
						}
						testConv(t, rng, c, w%2 == 0, w%3 != 0)
						pw, err := c.Pack(randSlice(rng, c.OutC*k*k), randSlice(rng, c.OutC))
						if err != nil {
							t.Fatal(err)
						}
						in := randSlice(rng, c.InC*c.InH*c.InW)
						want, got := make([]float32, c.OutC*c.OutH*c.OutW), make([]float32, c.OutC*c.OutH*c.OutW)
						scr := make([]float32, c.ScratchLen())
						c.Run(want, in, pw, nil, scr)
						for part := range 3 {
							c.RunPart(part, 3, got, in, pw, nil, scr)
						}
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%+v: RunPart [%d] = %v, Run %v", c, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}
