package interp

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

func TestConvHand(t *testing.T) {
	g := chain(t, input(1, 3, 3),
		&ir.Node{Name: "c", Op: ir.OpConv, Attrs: &ir.ConvAttrs{Out: 1, Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}})
	w := mapWeights{"c.weight": {1, 1, 1, 1}, "c.bias": {10}}
	out := mustRun(t, g, w, seq(9, func(i int) float32 { return float32(i + 1) }), 1)
	// 1 2 3 / 4 5 6 / 7 8 9 summed over 2x2 windows, plus 10.
	expect(t, out, []float64{22, 26, 34, 38}, 0)

	// Stride 2, pad [top 1, left 0, bottom 0, right 1], no bias, kernel [[1 2] [3 4]]:
	// rows -1, 1 of the padded image; columns 0, 2.
	g = chain(t, input(1, 3, 3),
		&ir.Node{Name: "c", Op: ir.OpConv, Attrs: &ir.ConvAttrs{Out: 1, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, Pad: [4]int{1, 0, 0, 1}, Dilation: [2]int{1, 1}, Groups: 1}})
	out = mustRun(t, g, mapWeights{"c.weight": {1, 2, 3, 4}}, seq(9, func(i int) float32 { return float32(i + 1) }), 1)
	// (0,0): row -1 is padding; row 0 cols 0,1: 3*1+4*2 = 11.
	// (0,1): row 0 cols 2,3: 3*3+4*0 = 9.
	// (1,0): rows 1,2 cols 0,1: 1*4+2*5+3*7+4*8 = 67.
	// (1,1): rows 1,2 cols 2,3: 1*6+3*9 = 33.
	expect(t, out, []float64{11, 9, 67, 33}, 0)
}

// naiveConv is the textbook definition, written independently of conv: for every output element,
// every tap, with the zero padding made explicit by a bounds test.
func naiveConv(a *ir.ConvAttrs, x []float32, C, H, W int, w, bias []float32, batch, OH, OW int) []float64 {
	cg, og := C/a.Groups, a.Out/a.Groups
	out := make([]float64, 0, batch*a.Out*OH*OW)
	for b := 0; b < batch; b++ {
		for o := 0; o < a.Out; o++ {
			for y := 0; y < OH; y++ {
				for xo := 0; xo < OW; xo++ {
					s := 0.0
					if a.Bias {
						s = float64(bias[o])
					}
					for c := 0; c < cg; c++ {
						ci := (o/og)*cg + c
						for i := 0; i < a.Kernel[0]; i++ {
							for j := 0; j < a.Kernel[1]; j++ {
								yi := y*a.Stride[0] + i*a.Dilation[0] - a.Pad[0]
								xi := xo*a.Stride[1] + j*a.Dilation[1] - a.Pad[1]
								if yi < 0 || yi >= H || xi < 0 || xi >= W {
									continue
								}
								wv := w[((o*cg+c)*a.Kernel[0]+i)*a.Kernel[1]+j]
								s += float64(wv) * float64(x[((b*C+ci)*H+yi)*W+xi])
							}
						}
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		c, h, w int
		a       ir.ConvAttrs
	}{
		{3, 7, 9, ir.ConvAttrs{Out: 4, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}},
		{4, 8, 7, ir.ConvAttrs{Out: 6, Kernel: [2]int{3, 2}, Stride: [2]int{2, 3}, Pad: [4]int{1, 0, 2, 1}, Dilation: [2]int{1, 1}, Groups: 2, Bias: true}},
		{4, 9, 9, ir.ConvAttrs{Out: 4, Kernel: [2]int{3, 3}, Stride: [2]int{1, 2}, Pad: [4]int{2, 2, 2, 2}, Dilation: [2]int{2, 2}, Groups: 4}},
		{6, 10, 11, ir.ConvAttrs{Out: 9, Kernel: [2]int{2, 3}, Stride: [2]int{2, 1}, Pad: [4]int{0, 3, 1, 0}, Dilation: [2]int{3, 2}, Groups: 3, Bias: true}},
		{2, 5, 5, ir.ConvAttrs{Out: 3, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}},
		{3, 6, 6, ir.ConvAttrs{Out: 2, Kernel: [2]int{5, 5}, Stride: [2]int{3, 3}, Pad: [4]int{4, 4, 4, 4}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}},
		// 1x1 and Kx1 kernels: output rows map onto contiguous runs of input rows.
		{16, 6, 5, ir.ConvAttrs{Out: 8, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}},
		{3, 7, 4, ir.ConvAttrs{Out: 5, Kernel: [2]int{3, 1}, Stride: [2]int{1, 1}, Pad: [4]int{2, 0, 1, 0}, Dilation: [2]int{2, 1}, Groups: 1, Bias: true}},
		{8, 7, 7, ir.ConvAttrs{Out: 12, Kernel: [2]int{1, 1}, Stride: [2]int{2, 2}, Dilation: [2]int{1, 1}, Groups: 1}},
		// Channel blocks of 4 and a remainder per group.
		{4, 6, 6, ir.ConvAttrs{Out: 10, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 2, Bias: true}},
		// A row longer than the conv's row tile, so several tiles per plane.
		{2, 5, 700, ir.ConvAttrs{Out: 2, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 1}},
		{2, 40, 30, ir.ConvAttrs{Out: 3, Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 1}},
	}
	for k, tc := range cases {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			a := tc.a
			g := chain(t, input(tc.c, tc.h, tc.w), &ir.Node{Name: "c", Op: ir.OpConv, Attrs: &a})
			n := g.Output
			const batch = 2
			w := mapWeights{"c.weight": randVals(r, n.Params[0].Shape.Size())}
			var bias []float32
			if a.Bias {
				bias = randVals(r, a.Out)
				w["c.bias"] = bias
			}
			x := randVals(r, batch*tc.c*tc.h*tc.w)
			got := mustRun(t, g, w, x, batch)
			want := naiveConv(&a, x, tc.c, tc.h, tc.w, w["c.weight"], bias, batch, n.Shape[1], n.Shape[2])
			expect(t, got, want, 1e-6)
		})
	}
}

func benchConv(b *testing.B, c, h, w, out, k, stride, pad int) {
	r := rand.New(rand.NewPCG(3, 4))
	g := &ir.Graph{}
	in := input(c, h, w)
	cv := &ir.Node{Name: "c", Op: ir.OpConv, Inputs: []*ir.Node{in}, Attrs: &ir.ConvAttrs{Out: out, Kernel: [2]int{k, k}, Stride: [2]int{stride, stride}, Pad: [4]int{pad, pad, pad, pad}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}}
	cv.SetParamKeys("c")
	g.Nodes = []*ir.Node{in, cv}
	if err := g.Infer(); err != nil {
		b.Fatal(err)
	}
	wts := mapWeights{"c.weight": randVals(r, cv.Params[0].Shape.Size()), "c.bias": randVals(r, out)}
	x := randVals(r, c*h*w)
	macs := float64(ir.NodeStats(cv).MACs)
	b.ResetTimer()
	for range b.N {
		if _, err := Run(g, wts, x, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkConvVGG224(b *testing.B)  { benchConv(b, 64, 224, 224, 64, 3, 1, 1) }
func BenchmarkConvVGG28(b *testing.B)   { benchConv(b, 512, 28, 28, 512, 3, 1, 1) }
func BenchmarkConvVGG14(b *testing.B)   { benchConv(b, 512, 14, 14, 512, 3, 1, 1) }
func BenchmarkConvRes1x1(b *testing.B)  { benchConv(b, 2048, 7, 7, 512, 1, 1, 0) }
func BenchmarkConvResStem(b *testing.B) { benchConv(b, 3, 224, 224, 64, 7, 2, 3) }
