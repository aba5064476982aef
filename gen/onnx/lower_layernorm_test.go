package onnx

import (
	"math"
	"strings"
	"testing"
)

// decomposedNorm writes LayerNorm over the axes of x as PyTorch's exporter does before opset 17.
func decomposedNorm(b *builder, x string, axes []int64, w, bias string) string {
	m := b.node("ReduceMean", []string{x}, aInts("axes", axes...))
	d := b.node("Sub", []string{x, m})
	sq := b.node("Pow", []string{d, b.init("two", nil, []float32{2})})
	v := b.node("ReduceMean", []string{sq}, aInts("axes", axes...))
	ve := b.node("Add", []string{v, b.init("eps", nil, []float32{1e-6})})
	n := b.node("Div", []string{d, b.node("Sqrt", []string{ve})})
	if w != "" {
		n = b.node("Mul", []string{n, w})
	}
	if bias != "" {
		n = b.node("Add", []string{n, bias})
	}
	return n
}

func TestLayerNorm(t *testing.T) {
	// Over the last axis of [N 4 6], directly and written out.
	sameAcrossVersions(t, []int64{-1, 4, 6}, "input[4 6] layernorm[4 6]",
		form{17, func(b *builder, x string) string {
			return b.node("LayerNormalization", []string{x, b.init("w", []int64{6}, nil), b.init("b", []int64{6}, nil)},
				aInt("axis", -1), aFloat("epsilon", 1e-6))
		}},
		form{13, func(b *builder, x string) string {
			return decomposedNorm(b, x, []int64{-1}, b.init("w", []int64{6}, nil), b.init("b", []int64{6}, nil))
		}},
		form{9, func(b *builder, x string) string {
			return decomposedNorm(b, x, []int64{2}, b.init("w", []int64{6}, nil), b.init("b", []int64{6}, nil))
		}})

	// ConvNeXt's LayerNorm2d: over the channels, through channels-last and back.
	cl := func(b *builder, x string, norm func(b *builder, x string) string) string {
		y := b.node("Transpose", []string{x}, aInts("perm", 0, 2, 3, 1))
		return b.node("Transpose", []string{norm(b, y)}, aInts("perm", 0, 3, 1, 2))
	}
	sameAcrossVersions(t, []int64{-1, 3, 2, 2}, "input[3 2 2] layernorm[3 2 2]",
		form{17, func(b *builder, x string) string {
			return cl(b, x, func(b *builder, y string) string {
				return b.node("LayerNormalization", []string{y, b.init("w", []int64{3}, nil), b.init("b", []int64{3}, nil)}, aFloat("epsilon", 1e-6))
			})
		}},
		form{13, func(b *builder, x string) string {
			return cl(b, x, func(b *builder, y string) string {
				return decomposedNorm(b, y, []int64{-1}, b.init("w", []int64{3}, nil), b.init("b", []int64{3}, nil))
			})
		}})

	// Against a direct computation: over the channels of [N 3 2 2].
	b := newBuilder(17, "x", -1, 3, 2, 2)
	y := b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1))
	y = b.node("LayerNormalization", []string{y, b.init("w", []int64{3}, nil)}, aFloat("epsilon", 1e-6)) // no bias
	b.nodeOut("Transpose", []string{y}, []string{"y"}, aInts("perm", 0, 3, 1, 2))
	g, w := b.output("y").graph(t)
	in := ramp(24, 7)
	out := run(t, g, w, in, 2)
	wt := w["w"].Data
	want := make([]float64, 24)
	for n := range 2 {
		for p := range 4 {
			mean, v := 0.0, 0.0
			for c := range 3 {
				mean += float64(in[(n*3+c)*4+p]) / 3
			}
			for c := range 3 {
				d := float64(in[(n*3+c)*4+p]) - mean
				v += d * d / 3
			}
			for c := range 3 {
				want[(n*3+c)*4+p] = (float64(in[(n*3+c)*4+p]) - mean) / math.Sqrt(v+1e-6) * float64(wt[c])
			}
		}
	}
	near(t, out, want, 1e-5)
}

func TestLayerNormErrors(t *testing.T) {
	for _, c := range []struct {
		opset int64
		build func(b *builder, x string) string
		want  string
	}{
		{13, func(b *builder, x string) string { return b.node("Pow", []string{x, b.init("two", nil, []float32{2})}) },
			"Pow of a tensor is only supported as the square in a LayerNorm written out"},
		{13, func(b *builder, x string) string { return b.node("Sqrt", []string{b.node("Relu", []string{x})}) },
			"Sqrt of a tensor is only supported in a LayerNorm written out"},
		{13, func(b *builder, x string) string {
			// The centered value read by something else than the pattern's next step.
			m := b.node("ReduceMean", []string{x}, aInts("axes", -1))
			return b.node("Relu", []string{b.node("Sub", []string{x, m})})
		}, "is x - mean(x) of a LayerNorm written out (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div); Relu cannot read it"},
		{13, func(b *builder, x string) string {
			// The variance over other axes than the mean.
			m := b.node("ReduceMean", []string{x}, aInts("axes", -1))
			d := b.node("Sub", []string{x, m})
			return b.node("ReduceMean", []string{b.node("Pow", []string{d, b.init("two", nil, []float32{2})})}, aInts("axes", 1))
		}, "is (x - mean(x))^2 of a LayerNorm written out"},
		{17, func(b *builder, x string) string {
			return b.node("LayerNormalization", []string{x, b.init("w", []int64{3, 2}, nil)}, aInt("axis", 1))
		}, `Scale "w" has dims [3 2]; the normalized dims are [3 2 2]`},
		{16, func(b *builder, x string) string {
			return b.node("LayerNormalization", []string{x, b.init("s", []int64{2}, nil)})
		},
			"LayerNormalization does not exist at opset 16 (it was added at opset 17)"},
	} {
		b := newBuilder(c.opset, "x", -1, 3, 2, 2)
		b.nodeOut("Identity", []string{c.build(b, "x")}, []string{"y"})
		if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v\nwant %q", err, c.want)
		}
	}
}
