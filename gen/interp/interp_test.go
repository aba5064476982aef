package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// mapWeights is a Weights backed by a map.
type mapWeights map[string][]float32

func (m mapWeights) Float32(key string) ([]float32, error) {
	v, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return v, nil
}

func input(shape ...int) *ir.Node {
	return &ir.Node{Name: "input", Op: ir.OpInput, Shape: shape}
}

// chain builds a graph where every node reads the previous one (unless it has inputs already),
// names unnamed nodes, gives weighted nodes their parameter keys and runs shape inference.
func chain(t *testing.T, nodes ...*ir.Node) *ir.Graph {
	t.Helper()
	g := &ir.Graph{Name: "test", Nodes: nodes}
	for i, n := range nodes {
		if n.Name == "" {
			n.Name = fmt.Sprintf("n%d", i)
		}
		if i > 0 && n.Inputs == nil {
			n.Inputs = []*ir.Node{nodes[i-1]}
		}
		if len(ir.ParamRoles(n)) > 0 && n.Params == nil {
			n.SetParamKeys(n.Name)
		}
	}
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	return g
}

func seq(n int, f func(i int) float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

func randVals(r *rand.Rand, n int) []float32 {
	return seq(n, func(int) float32 { return float32(r.NormFloat64()) })
}

func mustRun(t *testing.T, g *ir.Graph, w Weights, in []float32, batch int) []float32 {
	t.Helper()
	out, err := Run(g, w, in, batch)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*max(1, math.Abs(a), math.Abs(b))
}

func expect(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if !near(float64(got[i]), want[i], tol) {
			t.Fatalf("value %d: got %v, want %v\n got %v\nwant %v", i, got[i], want[i], got, want)
		}
	}
}

func TestConvHand(t *testing.T) {
	g := chain(t, input(1, 3, 3),
		&ir.Node{Name: "c", Op: ir.OpConv, Conv: &ir.ConvAttrs{Out: 1, Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}})
	w := mapWeights{"c.weight": {1, 1, 1, 1}, "c.bias": {10}}
	out := mustRun(t, g, w, seq(9, func(i int) float32 { return float32(i + 1) }), 1)
	// 1 2 3 / 4 5 6 / 7 8 9 summed over 2x2 windows, plus 10.
	expect(t, out, []float64{22, 26, 34, 38}, 0)

	// Stride 2, pad [top 1, left 0, bottom 0, right 1], no bias, kernel [[1 2] [3 4]]:
	// rows -1, 1 of the padded image; columns 0, 2.
	g = chain(t, input(1, 3, 3),
		&ir.Node{Name: "c", Op: ir.OpConv, Conv: &ir.ConvAttrs{Out: 1, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, Pad: [4]int{1, 0, 0, 1}, Dilation: [2]int{1, 1}, Groups: 1}})
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
			g := chain(t, input(tc.c, tc.h, tc.w), &ir.Node{Name: "c", Op: ir.OpConv, Conv: &a})
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

// pool1 runs one pooling layer over a single row (kernel, stride and pads act on the width) or,
// with vertical, a single column, so the same hand-computed cases cover both axes.
func pool1(t *testing.T, op ir.Op, vals []float32, k, s, padLo, padHi int, ceil, inclPad, vertical bool) []float32 {
	t.Helper()
	a := &ir.PoolAttrs{Kernel: [2]int{1, k}, Stride: [2]int{1, s}, Pad: [4]int{0, padLo, 0, padHi}, CeilMode: ceil, CountIncludePad: inclPad}
	shape := ir.Shape{1, 1, len(vals)}
	if vertical {
		a = &ir.PoolAttrs{Kernel: [2]int{k, 1}, Stride: [2]int{s, 1}, Pad: [4]int{padLo, 0, padHi, 0}, CeilMode: ceil, CountIncludePad: inclPad}
		shape = ir.Shape{1, len(vals), 1}
	}
	// Two channels and two images: the second plane of each is the first plus 100.
	g := chain(t, input(2, shape[1], shape[2]), &ir.Node{Name: "p", Op: op, Pool: a})
	var x []float32
	for range 4 {
		x = append(x, vals...)
	}
	for i := range vals {
		x[len(vals)+i] += 100
		x[3*len(vals)+i] += 100
	}
	out := mustRun(t, g, nil, x, 2)
	m := len(out) / 4
	for i := range m {
		if out[i] != out[2*m+i] || !near(float64(out[m+i]), float64(out[i])+100, 1e-12) && op == ir.OpMaxPool {
			t.Fatalf("planes disagree: %v", out)
		}
	}
	return out[:m]
}

func TestMaxPool(t *testing.T) {
	for _, vertical := range []bool{false, true} {
		// W=5, k=3, s=3, pad 1: ceil mode would add a window starting at 6 = in+padLo, inside the
		// right padding; PyTorch drops it, leaving windows [-1,2) and [2,5).
		got := pool1(t, ir.OpMaxPool, []float32{-3, -1, -4, -1, -5}, 3, 3, 1, 1, true, false, vertical)
		expect(t, got, []float64{-1, -1}, 0) // padding is -inf, not 0
		got = pool1(t, ir.OpMaxPool, []float32{-3, -1, -4, -1, -5}, 3, 3, 1, 1, false, false, vertical)
		expect(t, got, []float64{-1, -1}, 0)

		// W=4, k=3, s=2, no pad: ceil mode adds a window [2,5) that starts inside the input; it
		// is kept and clipped to [2,4).
		got = pool1(t, ir.OpMaxPool, []float32{1, 5, 2, 7}, 3, 2, 0, 0, true, false, vertical)
		expect(t, got, []float64{5, 7}, 0)
		got = pool1(t, ir.OpMaxPool, []float32{1, 5, 2, 7}, 3, 2, 0, 0, false, false, vertical)
		expect(t, got, []float64{5}, 0)

		// Asymmetric pads: W=4, k=2, s=2, left 1, right 0: windows [-1,1), [1,3); the last
		// element has no window without ceil mode, and with it [3,5) starts in the input.
		got = pool1(t, ir.OpMaxPool, []float32{-2, -6, -1, -9}, 2, 2, 1, 0, false, false, vertical)
		expect(t, got, []float64{-2, -1}, 0)
		got = pool1(t, ir.OpMaxPool, []float32{-2, -6, -1, -9}, 2, 2, 1, 0, true, false, vertical)
		expect(t, got, []float64{-2, -1, -9}, 0)
	}

	// A 2-D window: 3x3 stride 2 ceil mode over a 4x4 image (AlexNet/GoogLeNet style).
	g := chain(t, input(1, 4, 4), &ir.Node{Name: "p", Op: ir.OpMaxPool, Pool: &ir.PoolAttrs{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, CeilMode: true}})
	x := []float32{
		1, 2, 3, 4,
		8, 7, 6, 5,
		9, 1, 1, 16,
		1, 13, 12, 1,
	}
	expect(t, mustRun(t, g, nil, x, 1), []float64{9, 16, 13, 16}, 0)
}

func TestAvgPool(t *testing.T) {
	v := []float32{1, 2, 3, 4, 5, 6}
	for _, vertical := range []bool{false, true} {
		// W=6, k=3, s=2, pad 1, ceil: windows start at -1, 1, 3, 5. The last, [5,8), is clipped
		// to in+pad = 7 for the divisor when padding counts (2), to the input when not (1).
		got := pool1(t, ir.OpAvgPool, v, 3, 2, 1, 1, true, true, vertical)
		expect(t, got, []float64{(0 + 1 + 2) / 3.0, 3, 5, 6 / 2.0}, 1e-7)
		got = pool1(t, ir.OpAvgPool, v, 3, 2, 1, 1, true, false, vertical)
		expect(t, got, []float64{(1 + 2) / 2.0, 3, 5, 6}, 1e-7)
		got = pool1(t, ir.OpAvgPool, v, 3, 2, 1, 1, false, true, vertical)
		expect(t, got, []float64{1, 3, 5}, 1e-7)
		got = pool1(t, ir.OpAvgPool, v, 3, 2, 1, 1, false, false, vertical)
		expect(t, got, []float64{1.5, 3, 5}, 1e-7)

		// No padding, ceil: the last window [4,7) runs past the input; either way it divides by 2.
		got = pool1(t, ir.OpAvgPool, v, 3, 2, 0, 0, true, true, vertical)
		expect(t, got, []float64{2, 4, 5.5}, 1e-7)
		got = pool1(t, ir.OpAvgPool, v, 3, 2, 0, 0, true, false, vertical)
		expect(t, got, []float64{2, 4, 5.5}, 1e-7)

		// Asymmetric pads: W=5, k=2, s=2, left 0, right 1: the last window [4,6) is half padding.
		got = pool1(t, ir.OpAvgPool, v[:5], 2, 2, 0, 1, false, true, vertical)
		expect(t, got, []float64{1.5, 3.5, 5 / 2.0}, 1e-7)
		got = pool1(t, ir.OpAvgPool, v[:5], 2, 2, 0, 1, false, false, vertical)
		expect(t, got, []float64{1.5, 3.5, 5}, 1e-7)
	}

	// 2-D with padding 1, 3x3 stride 1 over a 2x2 image: every window covers the whole image.
	for _, incl := range []bool{true, false} {
		g := chain(t, input(1, 2, 2), &ir.Node{Name: "p", Op: ir.OpAvgPool, Pool: &ir.PoolAttrs{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, CountIncludePad: incl}})
		want := 10 / 4.0
		if incl {
			want = 10 / 9.0
		}
		expect(t, mustRun(t, g, nil, []float32{1, 2, 3, 4}, 1), []float64{want, want, want, want}, 1e-7)
	}
}

func TestAdaptiveAvgPool(t *testing.T) {
	// 5x7 -> 3x2. Rows: [0,2) [1,4) [3,5); columns: [0,4) [3,7).
	H, W := 5, 7
	x := seq(H*W, func(i int) float32 { return float32(i*i%17) - 3 })
	g := chain(t, input(1, H, W), &ir.Node{Name: "p", Op: ir.OpAdaptiveAvgPool, OutSize: [2]int{3, 2}})
	rows := [][2]int{{0, 2}, {1, 4}, {3, 5}}
	cols := [][2]int{{0, 4}, {3, 7}}
	var want []float64
	for _, r := range rows {
		for _, c := range cols {
			s, n := 0.0, 0
			for y := r[0]; y < r[1]; y++ {
				for xx := c[0]; xx < c[1]; xx++ {
					s += float64(x[y*W+xx])
					n++
				}
			}
			want = append(want, s/float64(n))
		}
	}
	expect(t, mustRun(t, g, nil, x, 1), want, 1e-7)

	// Upsampling 1x2 -> 3x3: rows all [0,1); columns [0,1) [0,2) [1,2).
	g = chain(t, input(1, 1, 2), &ir.Node{Name: "p", Op: ir.OpAdaptiveAvgPool, OutSize: [2]int{3, 3}})
	expect(t, mustRun(t, g, nil, []float32{2, 4}, 1), []float64{2, 3, 4, 2, 3, 4, 2, 3, 4}, 0)

	// Global pools.
	g = chain(t, input(2, 2, 2), &ir.Node{Name: "p", Op: ir.OpGlobalAvgPool})
	expect(t, mustRun(t, g, nil, []float32{1, 2, 3, 4, -1, -2, -3, -7}, 1), []float64{2.5, -3.25}, 0)
	g = chain(t, input(2, 2, 2), &ir.Node{Name: "p", Op: ir.OpGlobalMaxPool})
	expect(t, mustRun(t, g, nil, []float32{1, 2, 3, 4, -1, -2, -3, -7}, 1), []float64{4, -1}, 0)
}

func TestLRN(t *testing.T) {
	// Four channels 1 2 3 4 at one pixel, alpha 1, beta 1, k 1.
	x := []float32{1, 2, 3, 4}
	// size 2: window [c-1, c]. Sums of squares 1, 5, 13, 25; b = a / (1 + sum/2).
	g := chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, LRN: &ir.LRNAttrs{Size: 2, Alpha: 1, Beta: 1, Bias: 1, Lo: 1}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{1 / 1.5, 2 / 3.5, 3 / 7.5, 4 / 13.5}, 1e-7)
	// size 3: window [c-1, c+1]. Sums 5, 14, 29, 25; b = a / (1 + sum/3).
	g = chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, LRN: &ir.LRNAttrs{Size: 3, Alpha: 1, Beta: 1, Bias: 1, Lo: 1}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{3.0 / 8, 6.0 / 17, 9.0 / 32, 3.0 / 7}, 1e-7)
	// size 4: window [c-2, c+1]. Sums 5, 14, 30, 29; beta 0.5, k 2, alpha 4 (alpha/size = 1):
	// b = a / sqrt(2 + sum).
	g = chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, LRN: &ir.LRNAttrs{Size: 4, Alpha: 4, Beta: 0.5, Bias: 2, Lo: 2}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{1 / math.Sqrt(7), 2 / 4.0, 3 / math.Sqrt(32), 4 / math.Sqrt(31)}, 1e-7)

	// Two pixels and two images: each pixel is normalised on its own; image 2 is image 1 times 2.
	// Size 5 covers every channel of 3: b = a / (1 + (0.3/5) * sum)^0.75.
	x = []float32{1, -1, 2, 0, 3, 1, 2, -2, 4, 0, 6, 2}
	g = chain(t, input(3, 1, 2), &ir.Node{Name: "l", Op: ir.OpLRN, LRN: &ir.LRNAttrs{Size: 5, Alpha: 0.3, Beta: 0.75, Bias: 1, Lo: 2}})
	var want []float64
	for b := range 2 {
		img := x[b*6 : b*6+6]
		for c := range 3 {
			for p := range 2 {
				s := 0.0
				for cc := range 3 {
					s += float64(img[cc*2+p] * img[cc*2+p])
				}
				want = append(want, float64(img[c*2+p])/math.Pow(1+0.06*s, 0.75))
			}
		}
	}
	expect(t, mustRun(t, g, nil, x, 2), want, 1e-7)
}

func TestBatchNorm(t *testing.T) {
	w := mapWeights{
		"bn.weight":       {2, 0.5},
		"bn.bias":         {1, -1},
		"bn.running_mean": {3, -2},
		"bn.running_var":  {4 - 1e-5, 0.25 - 1e-5},
	}
	// std = 2 and 0.5 once eps is added.
	g := chain(t, input(2, 1, 2), &ir.Node{Name: "bn", Op: ir.OpBatchNorm, Eps: 1e-5})
	expect(t, mustRun(t, g, w, []float32{3, 5, 0, -2}, 1), []float64{1, 3, 1, -1}, 1e-6)

	// On a [C] vector (BatchNorm1d after a flatten).
	g = chain(t, input(2, 1, 1), &ir.Node{Op: ir.OpFlatten}, &ir.Node{Name: "bn", Op: ir.OpBatchNorm, Eps: 1e-5})
	expect(t, mustRun(t, g, w, []float32{7, -1.5, 1, -3}, 2), []float64{5, -0.5, -1, -2}, 1e-6)
}

func TestSoftmax(t *testing.T) {
	g := chain(t, input(3), &ir.Node{Op: ir.OpSoftmax})
	out := mustRun(t, g, nil, []float32{1000, 1001, 1002, -1, 0, 5}, 2)
	for b := range 2 {
		s := 0.0
		for _, v := range out[b*3 : b*3+3] {
			if math.IsNaN(float64(v)) {
				t.Fatalf("NaN in %v", out)
			}
			s += float64(v)
		}
		if !near(s, 1, 1e-6) {
			t.Fatalf("image %d sums to %v: %v", b, s, out)
		}
	}
	e := math.Exp(1)
	d := 1 + e + e*e
	expect(t, out[:3], []float64{1 / d, e / d, e * e / d}, 1e-6)
}

func TestActivations(t *testing.T) {
	xs := []float32{-7, -3, -1, 0, 0.5, 3, 7}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	cases := []struct {
		op   ir.Op
		want []float64
	}{
		{ir.OpReLU, []float64{0, 0, 0, 0, 0.5, 3, 7}},
		{ir.OpReLU6, []float64{0, 0, 0, 0, 0.5, 3, 6}},
		{ir.OpSigmoid, []float64{sig(-7), sig(-3), sig(-1), 0.5, sig(0.5), sig(3), sig(7)}},
		{ir.OpSiLU, []float64{-7 * sig(-7), -3 * sig(-3), -sig(-1), 0, 0.5 * sig(0.5), 3 * sig(3), 7 * sig(7)}},
		{ir.OpTanh, []float64{math.Tanh(-7), math.Tanh(-3), math.Tanh(-1), 0, math.Tanh(0.5), math.Tanh(3), math.Tanh(7)}},
		{ir.OpHardSigmoid, []float64{0, 0, 2.0 / 6, 0.5, 3.5 / 6, 1, 1}},
		{ir.OpHardSwish, []float64{0, 0, -2.0 / 6, 0, 0.5 * 3.5 / 6, 3, 7}},
		{ir.OpDropout, []float64{-7, -3, -1, 0, 0.5, 3, 7}},
	}
	for _, tc := range cases {
		t.Run(string(tc.op), func(t *testing.T) {
			g := chain(t, input(7), &ir.Node{Op: tc.op, HardAlpha: 1.0 / 6, HardBeta: 0.5, Dropout: 0.5})
			expect(t, mustRun(t, g, nil, xs, 1), tc.want, 1e-7)
		})
	}
}

func TestLinearAndMerges(t *testing.T) {
	// input [2 1 2] -> flatten [4] -> fc [3] (W [3 4], bias)
	in := input(2, 1, 2)
	fl := &ir.Node{Name: "flat", Op: ir.OpFlatten, Inputs: []*ir.Node{in}}
	fc := &ir.Node{Name: "fc", Op: ir.OpLinear, Features: 3, LinBias: true, Inputs: []*ir.Node{fl}}
	g := chain(t, in, fl, fc)
	w := mapWeights{
		"fc.weight": {1, 0, 0, 0, 0, 1, 1, 0, 1, -1, 2, -2},
		"fc.bias":   {0, 10, 0.5},
	}
	expect(t, mustRun(t, g, w, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2), []float64{1, 15, 0.5 - 1 + 6 - 8, 5, 23, 0.5 - 1 + 14 - 16}, 1e-7)

	// Residual add of three, concat, SE-style mul, affine.
	in = input(2, 1, 2)
	r1 := &ir.Node{Name: "r1", Op: ir.OpReLU, Inputs: []*ir.Node{in}}
	r6 := &ir.Node{Name: "r6", Op: ir.OpReLU6, Inputs: []*ir.Node{in}}
	add := &ir.Node{Name: "add", Op: ir.OpAdd, Inputs: []*ir.Node{in, r1, r6}}
	cat := &ir.Node{Name: "cat", Op: ir.OpConcat, Inputs: []*ir.Node{add, in, r1}} // [6 1 2]
	gp := &ir.Node{Name: "gap", Op: ir.OpGlobalMaxPool, Inputs: []*ir.Node{cat}}   // [6 1 1]
	se := &ir.Node{Name: "se", Op: ir.OpMul, Inputs: []*ir.Node{cat, gp}}
	sq := &ir.Node{Name: "sq", Op: ir.OpMul, Inputs: []*ir.Node{se, se}}
	af := &ir.Node{Name: "af", Op: ir.OpAffine, Inputs: []*ir.Node{sq}, Scale: []float64{1, 2, 3, 4, 5, 6}, Shift: []float64{0, 0, 0, 0, 0, -1}}
	g = chain(t, in, r1, r6, add, cat, gp, se, sq, af)
	x := []float32{-1, 8, 2, 3, 1, 1, 1, 1}
	out, nodes, err := RunNodes(g, nil, x, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Image 1: in = [-1 8 | 2 3], r1 = [0 8 | 2 3], r6 = [0 6 | 2 3], add = [-1 22 | 6 9].
	// cat = [-1 22 | 6 9 | -1 8 | 2 3 | 0 8 | 2 3], channel maxima 22 9 8 3 8 3.
	cat1 := []float64{-1, 22, 6, 9, -1, 8, 2, 3, 0, 8, 2, 3}
	mx1 := []float64{22, 9, 8, 3, 8, 3}
	// Image 2: everything is 1 except add = 3.
	cat2 := []float64{3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}
	mx2 := []float64{3, 3, 1, 1, 1, 1}
	var want []float64
	for b, cv := range [][]float64{cat1, cat2} {
		mx := [][]float64{mx1, mx2}[b]
		for i, v := range cv {
			c := i / 2
			s := v * mx[c]
			want = append(want, s*s*float64(c+1)+[]float64{0, 0, 0, 0, 0, -1}[c])
		}
	}
	expect(t, out, want, 1e-7)
	if got := nodes["cat"]; len(got) != 24 || got[1] != 22 || got[12] != 3 {
		t.Fatalf("cat = %v", got)
	}
	if len(nodes) != len(g.Nodes) {
		t.Fatalf("RunNodes returned %d nodes, want %d", len(nodes), len(g.Nodes))
	}
}

func TestTrainingOnlySkipped(t *testing.T) {
	in := input(4)
	fc := &ir.Node{Name: "fc", Op: ir.OpLinear, Features: 2, Inputs: []*ir.Node{in}}
	aux := &ir.Node{Name: "aux.fc", Op: ir.OpLinear, Features: 5, LinBias: true, Inputs: []*ir.Node{in}, TrainingOnly: true}
	g := &ir.Graph{Nodes: []*ir.Node{in, fc, aux}, Output: fc}
	fc.SetParamKeys("fc")
	aux.SetParamKeys("aux.fc")
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	w := mapWeights{"fc.weight": {1, 1, 0, 0, 0, 0, 1, 1}} // no aux.fc weights
	out, nodes, err := RunNodes(g, w, []float32{1, 2, 3, 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, out, []float64{3, 7}, 0)
	if _, ok := nodes["aux.fc"]; ok {
		t.Fatal("training-only node was computed")
	}
}

func TestErrors(t *testing.T) {
	conv := func() *ir.Graph {
		return chain(t, input(2, 3, 3), &ir.Node{Name: "c", Op: ir.OpConv, Conv: &ir.ConvAttrs{Out: 2, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}})
	}
	good := mapWeights{"c.weight": make([]float32, 36), "c.bias": make([]float32, 2)}
	x := make([]float32, 18)
	if _, err := Run(conv(), good, x, 1); err != nil {
		t.Fatal(err)
	}
	check := func(err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one mentioning %q", wants)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("error %q does not mention %q", err, w)
			}
		}
	}
	_, err := Run(conv(), good, x[:17], 1)
	check(err, "17", "18")
	_, err = Run(conv(), good, x, 2)
	check(err, "18", "36")
	_, err = Run(conv(), good, nil, 0)
	check(err, "batch")

	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 36)}, x, 1)
	check(err, `"c.bias"`)
	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 35), "c.bias": make([]float32, 2)}, x, 1)
	check(err, `"c.weight"`, "35", "36")
	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 36), "c.bias": make([]float32, 3)}, x, 1)
	check(err, `"c.bias"`, "3", "2")
	_, err = Run(conv(), nil, x, 1)
	check(err, `"c.weight"`)

	// A shape that disagrees with the interpreter's own computation.
	g := chain(t, input(1, 5, 5), &ir.Node{Name: "p", Op: ir.OpMaxPool, Pool: &ir.PoolAttrs{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, CeilMode: true}})
	g.Output.Shape = ir.Shape{1, 2, 2}
	_, err = Run(g, nil, make([]float32, 25), 1)
	check(err, "[1 2 2]", "[1 3 3]")

	// Not inferred.
	in := input(3)
	r := &ir.Node{Name: "r", Op: ir.OpReLU, Inputs: []*ir.Node{in}}
	_, err = Run(&ir.Graph{Nodes: []*ir.Node{in, r}, Output: r}, nil, make([]float32, 3), 1)
	check(err, "Infer")
}

// TestOutputNotLast checks that an output node in the middle of the graph survives the freeing of
// activations and that later nodes do not disturb it.
func TestOutputNotLast(t *testing.T) {
	in := input(3)
	a := &ir.Node{Name: "a", Op: ir.OpTanh, Inputs: []*ir.Node{in}}
	b := &ir.Node{Name: "b", Op: ir.OpReLU, Inputs: []*ir.Node{a}}
	g := &ir.Graph{Nodes: []*ir.Node{in, a, b}, Output: a}
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	expect(t, mustRun(t, g, nil, []float32{-1, 0, 1}, 1), []float64{math.Tanh(-1), 0, math.Tanh(1)}, 1e-7)
}

func benchConv(b *testing.B, c, h, w, out, k, stride, pad int) {
	r := rand.New(rand.NewPCG(3, 4))
	g := &ir.Graph{}
	in := input(c, h, w)
	cv := &ir.Node{Name: "c", Op: ir.OpConv, Inputs: []*ir.Node{in}, Conv: &ir.ConvAttrs{Out: out, Kernel: [2]int{k, k}, Stride: [2]int{stride, stride}, Pad: [4]int{pad, pad, pad, pad}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}}
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
