package onnx

import (
	"math"
	"strings"
	"testing"
)

// ShuffleNet's channel shuffle, with the target shapes computed from Shape as PyTorch exports
// x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, -1, H, W).
func TestChannelShuffle(t *testing.T) {
	b := newBuilder(13, "x", -1, 6, 2, 2)
	r := b.node("Relu", []string{"x"})
	v := b.node("Reshape", []string{r, b.initInts("s5", 0, 3, 2, 2, 2)})
	tr := b.node("Transpose", []string{v}, aInts("perm", 0, 2, 1, 3, 4))
	b.nodeOut("Reshape", []string{tr, b.initInts("s4", 0, -1, 2, 2)}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got, want := ops(g), "input[6 2 2] relu[6 2 2] channel_shuffle[6 2 2]"; got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	in := ramp(2*24, 2)
	out := run(t, g, w, in, 2)
	want := make([]float64, len(in))
	for n := range 2 {
		for c := range 6 {
			src := (c%3)*2 + c/3 // output channel i*3+j is input channel j*2+i
			for p := range 4 {
				want[(n*6+c)*4+p] = max(0, float64(in[(n*6+src)*4+p]))
			}
		}
	}
	near(t, out, want, 0)
}

// A permutation to channels-last and back cancels; between them, per-position operators,
// arithmetic with per-channel constants, a MatMul over the channels and a reduction over them
// run on the untransposed tensor.
func TestChannelsLast(t *testing.T) {
	b := newBuilder(13, "x", -1, 3, 2, 2)
	x := b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1)) // [N 2 2 3]
	x = b.node("Relu", []string{x})
	x = b.node("Mul", []string{x, b.init("s", []int64{3}, []float32{1, 2, 3})})
	x = b.node("MatMul", []string{x, b.init("w", []int64{3, 4}, nil)}) // [N 2 2 4]
	x = b.node("Add", []string{b.init("bias", []int64{4}, nil), x})
	s := b.node("Sigmoid", []string{x})
	x = b.node("Mul", []string{x, s})
	b.nodeOut("Transpose", []string{x}, []string{"y"}, aInts("perm", 0, 3, 1, 2))
	g, w := b.output("y").graph(t)
	if got, want := ops(g), "input[3 2 2] relu[3 2 2] affine[3 2 2] conv[4 2 2] silu[4 2 2]"; got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	in := ramp(2*12, 4)
	out := run(t, g, w, in, 2)
	wt, bias := w["w"].Data, w["bias"].Data // the conv's weight is the transposed matrix
	want := make([]float64, 2*16)
	for n := range 2 {
		for p := range 4 {
			for o := range 4 {
				v := float64(bias[o])
				for c := range 3 {
					v += max(0, float64(in[(n*3+c)*4+p])) * float64(c+1) * float64(wt[o*3+c])
				}
				want[(n*4+o)*4+p] = v / (1 + math.Exp(-v))
			}
		}
	}
	near(t, out, want, 1e-6)

	// A reduction over the last axis of channels-last is one over the channels.
	b = newBuilder(18, "x", -1, 3, 2, 2)
	x = b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1))
	x = b.node("ReduceMax", []string{x, b.initInts("axes", -1)}, aInt("keepdims", 0)) // [N 2 2]
	b.nodeOut("Flatten", []string{x}, []string{"y"})
	if g, _ = b.output("y").graph(t); ops(g) != "input[3 2 2] reduce_max[2 2] flatten[4]" {
		t.Errorf("%s", ops(g))
	}
}

func TestTransposeErrors(t *testing.T) {
	for _, c := range []struct {
		build func(b *builder) string
		want  string
	}{
		{func(b *builder) string {
			return b.node("Flatten", []string{b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1))})
		}, "is a transposed tensor (perm [0 2 3 1] of [N 3 2 2]); Flatten reads it"},
		{func(b *builder) string { return b.node("Transpose", []string{"x"}, aInts("perm", 1, 0, 2, 3)) }, "moves the batch dimension"},
		{func(b *builder) string { return b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1)) }, "is a transposed tensor"},
	} {
		b := newBuilder(13, "x", -1, 3, 2, 2)
		b.nodeOut("Identity", []string{c.build(b)}, []string{"y"})
		if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v\nwant %q", err, c.want)
		}
	}
	// A permutation that only moves dims of size 1 keeps the values in order: a reshape.
	b := newBuilder(13, "x", -1, 3, 1, 1)
	x := b.node("Transpose", []string{"x"}, aInts("perm", 0, 2, 3, 1))
	b.nodeOut("Flatten", []string{x}, []string{"y"})
	g, _ := b.output("y").graph(t)
	if got, want := ops(g), "input[3 1 1] reshape[1 1 3] flatten[3]"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}
