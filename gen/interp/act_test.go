package interp

import (
	"math"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

func TestActivations(t *testing.T) {
	xs := []float32{-7, -3, -1, 0, 0.5, 3, 7}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	cases := []struct {
		op    ir.Op
		attrs ir.Attrs // nil: the op's defaults
		want  []float64
	}{
		{ir.OpReLU, nil, []float64{0, 0, 0, 0, 0.5, 3, 7}},
		{ir.OpReLU6, nil, []float64{0, 0, 0, 0, 0.5, 3, 6}},
		{ir.OpSigmoid, nil, []float64{sig(-7), sig(-3), sig(-1), 0.5, sig(0.5), sig(3), sig(7)}},
		{ir.OpSiLU, nil, []float64{-7 * sig(-7), -3 * sig(-3), -sig(-1), 0, 0.5 * sig(0.5), 3 * sig(3), 7 * sig(7)}},
		{ir.OpTanh, nil, []float64{math.Tanh(-7), math.Tanh(-3), math.Tanh(-1), 0, math.Tanh(0.5), math.Tanh(3), math.Tanh(7)}},
		{ir.OpHardSigmoid, nil, []float64{0, 0, 2.0 / 6, 0.5, 3.5 / 6, 1, 1}},
		{ir.OpHardSwish, nil, []float64{0, 0, -2.0 / 6, 0, 0.5 * 3.5 / 6, 3, 7}},
		{ir.OpDropout, nil, []float64{-7, -3, -1, 0, 0.5, 3, 7}},
		// ONNX's HardSigmoid defaults.
		{ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}, []float64{0, 0, 0.3, 0.5, 0.6, 1, 1}},
		{ir.OpClip, &ir.ClipAttrs{Min: -1, Max: 2}, []float64{-1, -1, -1, 0, 0.5, 2, 2}},
		{ir.OpClip, nil, []float64{-7, -3, -1, 0, 0.5, 3, 7}},
	}
	for _, tc := range cases {
		t.Run(string(tc.op), func(t *testing.T) {
			g := chain(t, input(7), &ir.Node{Op: tc.op, Attrs: tc.attrs})
			expect(t, mustRun(t, g, nil, xs, 1), tc.want, 1e-7)
		})
	}
}

// TestClipNaN checks that NaN goes through clamps unchanged, as in PyTorch.
func TestClipNaN(t *testing.T) {
	for _, n := range []*ir.Node{{Op: ir.OpReLU}, {Op: ir.OpReLU6}, {Op: ir.OpClip, Attrs: &ir.ClipAttrs{Min: 0, Max: 1}}} {
		g := chain(t, input(2), n)
		out := mustRun(t, g, nil, []float32{float32(math.NaN()), 9}, 1)
		if !math.IsNaN(float64(out[0])) {
			t.Errorf("%s(NaN) = %v", n.Op, out[0])
		}
	}
}

// TestEveryOp checks that the interpreter runs every op gen/ir defines, and that each
// elementwise op with a Unary (the ones with no evaluator of their own) computes it with its
// default attributes: an op added to gen/ir fails here until the interpreter can run it.
func TestEveryOp(t *testing.T) {
	xs := []float32{-7, -3, -1, 0, 0.5, 3, 7}
	for _, d := range ir.Ops() {
		if d.Op == ir.OpInput {
			continue
		}
		if evaluator(d.Op) == nil {
			t.Errorf("%s: no evaluator", d.Op)
			continue
		}
		if d.Unary == nil || !d.Is(ir.Elementwise) {
			continue
		}
		t.Run(string(d.Op), func(t *testing.T) {
			g := chain(t, input(7), &ir.Node{Op: d.Op})
			var attrs ir.Attrs
			if d.New != nil {
				attrs = d.New()
			}
			f := d.Unary(attrs)
			want := make([]float64, len(xs))
			for i, v := range xs {
				want[i] = float64(float32(f(float64(v))))
			}
			expect(t, mustRun(t, g, nil, xs, 1), want, 0)
		})
	}
}
