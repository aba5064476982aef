package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// layoutLayers are layer shapes of ResNet-50, GoogLeNet and EfficientNet-B0 (224x224, batch 1),
// for BenchmarkConvLayout.
var layoutLayers = []struct {
	name string
	c    Conv
}{
	{"r50_stem_7x7s2_3to64@224", convCase(3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU)},
	{"r50_3x3_64@56", convCase(64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3_128@28", convCase(128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3_256@14", convCase(256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3_512@7", convCase(512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3s2_128@56", convCase(128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3s2_256@28", convCase(256, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_3x3s2_512@14", convCase(512, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"r50_1x1_64to256@56", convCase(64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1_256to64@56", convCase(256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"r50_1x1_512to128@28", convCase(512, 28, 28, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"r50_1x1_128to512@28", convCase(128, 28, 28, 512, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1_1024to256@14", convCase(1024, 14, 14, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"r50_1x1_256to1024@14", convCase(256, 14, 14, 1024, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1_2048to512@7", convCase(2048, 7, 7, 512, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"r50_1x1_512to2048@7", convCase(512, 7, 7, 2048, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1s2_512to1024@28", convCase(512, 28, 28, 1024, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1s2_1024to2048@14", convCase(1024, 14, 14, 2048, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"r50_1x1s2_256to512@56", convCase(256, 56, 56, 512, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"gn_3x3_96to128@28", convCase(96, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"gn_5x5_16to32@28", convCase(16, 28, 28, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, ActReLU)},
	{"gn_3x3_112to224@14", convCase(112, 14, 14, 224, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"gn_1x1_480to192@14", convCase(480, 14, 14, 192, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"gn_1x1_832to384@7", convCase(832, 7, 7, 384, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
	{"en_stem_3x3s2_3to32@224", convCase(3, 224, 224, 32, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 1, ActSiLU)},
	{"en_dw3x3_32@112", convCase(32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, ActSiLU)},
	{"en_dw3x3s2_96@112", convCase(96, 112, 112, 96, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 96, ActSiLU)},
	{"en_dw5x5s2_144@56", convCase(144, 56, 56, 144, 5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 144, ActSiLU)},
	{"en_dw5x5_672@14", convCase(672, 14, 14, 672, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 672, ActSiLU)},
	{"en_dw3x3_480@14", convCase(480, 14, 14, 480, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 480, ActSiLU)},
	{"en_1x1_16to96@112", convCase(16, 112, 112, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU)},
	{"en_1x1_144to24@56", convCase(144, 56, 56, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"en_1x1_240to40@28", convCase(240, 28, 28, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"en_1x1_480to80@14", convCase(480, 14, 14, 80, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"en_1x1_1152to320@7", convCase(1152, 7, 7, 320, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"vgg_3x3_64@224", convCase(64, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_3x3_256@56", convCase(256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_3x3_512@28", convCase(512, 28, 28, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
}

// BenchmarkConvLayout runs each layer in NCHW (today's algorithm for it) and in NCHW16c side by
// side, one thread, at each level: compare the two within one run (-count N alternates them;
// take medians). GFLOP/s counts the direct convolution's flops (Winograd's included), so it
// compares times.
func BenchmarkConvLayout(b *testing.B) { benchEachISA(b, benchConvLayout) }

func benchConvLayout(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, l := range layoutLayers {
		k := l.c.InC / l.c.Groups * l.c.KH * l.c.KW
		w, bias := randSlice(rng, l.c.OutC*k), randSlice(rng, l.c.OutC)
		variants := []string{"nchw", "nchw16c"}
		if c := l.c; c.wino16cEligible() {
			variants = append(variants, "nchw16c-direct", "nchw16c-wino")
		}
		for _, v := range variants {
			c := l.c
			layout := map[bool]Layout{false: NCHW, true: NCHW16c}[v != "nchw"]
			c.Layout = layout
			b.Run(l.name+"/"+v, func(b *testing.B) {
				pw, err := c.Pack(w, bias)
				if err != nil {
					b.Fatal(err)
				}
				scrLen := c.ScratchLen()
				switch v {
				case "nchw16c-direct":
					pw, scrLen = packAs16c(&c, algoDirect16c, w, bias)
				case "nchw16c-wino":
					pw, scrLen = packAs16c(&c, algoWino16c, w, bias)
				}
				in := randSlice(rng, layout.Len(c.InC, c.InH*c.InW))
				out := make([]float32, layout.Len(c.OutC, c.OutH*c.OutW))
				scr := make([]float32, max(scrLen, c.ScratchLen()))
				c.Run(out, in, pw, nil, scr)
				cpu := startCPU(b)
				for b.Loop() {
					c.Run(out, in, pw, nil, scr)
				}
				reportGFLOPS(b, 2*float64(c.OutC*c.OutH*c.OutW*k), cpu)
				b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
			})
		}
	}
}

// BenchmarkConv16cTile times the direct blocked kernel alone on operands in L1 (a whole tile,
// pointwise and 3x3, 4 input blocks): the kernel's own rate, without the convolution's memory
// traffic.
func BenchmarkConv16cTile(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		k := kern().conv16c
		rng := rand.New(rand.NewPCG(9, 9))
		for _, kk := range []int{1, 3} {
			const icb = 4
			ldp := 16
			p := k.p[k.f]
			ldr := (p + kk) * 16
			ldcb := kk * ldr
			ldwc := kk * kk * 256
			ldf := icb * ldwc
			ldo := p * 16
			src := randSlice(rng, icb*ldcb+64)
			w := randSlice(rng, k.f*ldf)
			dst := make([]float32, k.f*ldo)
			bias := make([]float32, k.f*16)
			b.Run(map[int]string{1: "1x1", 3: "3x3"}[kk], func(b *testing.B) {
				cpu := startCPU(b)
				for b.Loop() {
					k.tile(dst, src, w, p, k.f, icb, kk, kk, 16, ldp, 16, ldr, ldcb, ldf, ldwc, ldo, 0, bias, nil)
				}
				reportGFLOPS(b, 2*float64(p*k.f*16*icb*16*kk*kk), cpu)
			})
		}
	})
}

// BenchmarkPoolLayout runs max pools of ResNet-50, GoogLeNet and VGG in NCHW and NCHW16c side
// by side, one image, per level.
func BenchmarkPoolLayout(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, bc := range []struct {
			name string
			p    Pool
		}{
			{"resnet_64x112x112_3s2p1", poolCase(64, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, false, false)},
			{"googlenet_256x28x28_3s1p1", poolCase(256, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, true, false)},
			{"vgg_128x112x112_2s2", poolCase(128, 112, 112, 2, 2, 2, 2, 0, 0, 0, 0, false, false)},
		} {
			for _, layout := range []Layout{NCHW, NCHW16c} {
				p := bc.p
				p.Layout = layout
				in, out := randSlice(rng, layout.Len(p.C, p.InH*p.InW)), make([]float32, layout.Len(p.C, p.OutH*p.OutW))
				b.Run(bc.name+"/"+layout.String(), func(b *testing.B) {
					for b.Loop() {
						p.Run(out, in)
					}
					b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
				})
			}
		}
	})
}

// BenchmarkReorder converts an image (3x224x224) and a ResNet-50 feature map (256x56x56) both
// ways, per level.
func BenchmarkReorder(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, s := range [][2]int{{3, 224 * 224}, {256, 56 * 56}} {
			for _, to := range []Layout{NCHW16c, NCHW} {
				r := Reorder{C: s[0], HW: s[1], To: to}
				from := map[Layout]Layout{NCHW: NCHW16c, NCHW16c: NCHW}[to]
				in, out := randSlice(rng, from.Len(s[0], s[1])), make([]float32, to.Len(s[0], s[1]))
				b.Run(fmt.Sprintf("%dx%d/to_%v", s[0], s[1], to), func(b *testing.B) {
					for b.Loop() {
						r.Run(out, in)
					}
					b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
				})
			}
		}
	})
}

// packAs16c packs w and bias for the blocked algorithm a, whatever c's own, and returns the
// scratch length a needs.
func packAs16c(c *Conv, a convAlgo, w, bias []float32) (*ConvWeights, int) {
	cw := &ConvWeights{conv: *c, algo: a}
	cw.pack16c(w, bias)
	if a == algoWino16c {
		return cw, c.wino16cScratch()
	}
	g := c.geom16c()
	if !g.band {
		return cw, 0
	}
	return cw, g.planes * g.inRows * g.wp * BlockC
}
