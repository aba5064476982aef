package onnx

import (
	"math"
	"testing"
)

func TestGelu(t *testing.T) {
	for _, mode := range []string{"none", "tanh"} {
		b := newBuilder(20, "x", -1, 2, 3, 3)
		b.nodeOut("Gelu", []string{"x"}, []string{"y"}, aString("approximate", mode))
		g, w := b.output("y").graph(t)
		in := ramp(36, 3)
		for i := range in {
			in[i] *= 8 // -4..4: both tails
		}
		out := run(t, g, w, in, 2)
		want := make([]float64, len(in))
		for i, v := range in {
			x := float64(v)
			if mode == "none" {
				want[i] = x * (1 + math.Erf(x/math.Sqrt2)) / 2
			} else {
				want[i] = x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))) / 2
			}
		}
		near(t, out, want, 1e-6)
	}
}

// The written-out forms: with the 0.5 before or after the product, the operands either way,
// and without it (2*gelu); a bracket that something else also reads stays computed.
func TestGeluPattern(t *testing.T) {
	bracket := func(b *builder, x string) string {
		e := b.node("Erf", []string{b.node("Div", []string{x, b.init("r2", nil, []float32{float32(math.Sqrt2)})})})
		return b.node("Add", []string{b.init("one", nil, []float32{1}), e})
	}
	for _, c := range []struct {
		build func(b *builder, x string) string
		want  string
	}{
		{func(b *builder, x string) string {
			h := b.node("Mul", []string{x, b.init("half", nil, []float32{0.5})})
			return b.node("Mul", []string{bracket(b, x), h})
		}, "input[2 3 3] gelu[2 3 3]"},
		{func(b *builder, x string) string { return b.node("Mul", []string{x, bracket(b, x)}) }, "input[2 3 3] gelu[2 3 3] affine[2 3 3]"},
		{func(b *builder, x string) string {
			br := bracket(b, x)
			return b.node("Add", []string{b.node("Mul", []string{br, x}), br})
		}, "input[2 3 3] affine[2 3 3] erf[2 3 3] affine[2 3 3] gelu[2 3 3] affine[2 3 3] add[2 3 3]"},
	} {
		b := newBuilder(13, "x", -1, 2, 3, 3)
		b.nodeOut("Identity", []string{c.build(b, "x")}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != c.want {
			t.Errorf("%s\nwant %s", got, c.want)
		}
	}
}
