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
