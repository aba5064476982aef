package interp

import (
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// pool1 runs one pooling layer over a single row (kernel, stride and pads act on the width) or,
// with vertical, a single column, so the same hand-computed cases cover both axes.
func pool1(t *testing.T, op ir.Op, vals []float32, k, s, padLo, padHi int, ceil, inclPad, vertical bool) []float32 {
	t.Helper()
	a := ir.PoolAttrs{Kernel: [2]int{1, k}, Stride: [2]int{1, s}, Pad: [4]int{0, padLo, 0, padHi}, CeilMode: ceil}
	shape := ir.Shape{1, 1, len(vals)}
	if vertical {
		a = ir.PoolAttrs{Kernel: [2]int{k, 1}, Stride: [2]int{s, 1}, Pad: [4]int{padLo, 0, padHi, 0}, CeilMode: ceil}
		shape = ir.Shape{1, len(vals), 1}
	}
	var attrs ir.Attrs = &a
	if op == ir.OpAvgPool {
		attrs = &ir.AvgPoolAttrs{PoolAttrs: a, CountIncludePad: inclPad}
	}
	// Two channels and two images: the second plane of each is the first plus 100.
	g := chain(t, input(2, shape[1], shape[2]), &ir.Node{Name: "p", Op: op, Attrs: attrs})
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
	g := chain(t, input(1, 4, 4), &ir.Node{Name: "p", Op: ir.OpMaxPool, Attrs: &ir.PoolAttrs{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, CeilMode: true}})
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
		g := chain(t, input(1, 2, 2), &ir.Node{Name: "p", Op: ir.OpAvgPool, Attrs: &ir.AvgPoolAttrs{PoolAttrs: ir.PoolAttrs{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}}, CountIncludePad: incl}})
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
	g := chain(t, input(1, H, W), &ir.Node{Name: "p", Op: ir.OpAdaptiveAvgPool, Attrs: &ir.AdaptivePoolAttrs{Out: [2]int{3, 2}}})
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
	g = chain(t, input(1, 1, 2), &ir.Node{Name: "p", Op: ir.OpAdaptiveAvgPool, Attrs: &ir.AdaptivePoolAttrs{Out: [2]int{3, 3}}})
	expect(t, mustRun(t, g, nil, []float32{2, 4}, 1), []float64{2, 3, 4, 2, 3, 4, 2, 3, 4}, 0)

	// Global pools.
	g = chain(t, input(2, 2, 2), &ir.Node{Name: "p", Op: ir.OpGlobalAvgPool})
	expect(t, mustRun(t, g, nil, []float32{1, 2, 3, 4, -1, -2, -3, -7}, 1), []float64{2.5, -3.25}, 0)
	g = chain(t, input(2, 2, 2), &ir.Node{Name: "p", Op: ir.OpGlobalMaxPool})
	expect(t, mustRun(t, g, nil, []float32{1, 2, 3, 4, -1, -2, -3, -7}, 1), []float64{4, -1}, 0)
}
