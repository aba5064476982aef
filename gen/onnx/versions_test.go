package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

func TestEveryOperatorHasVersions(t *testing.T) {
	for op := range opTable {
		vs := opVersions[op]
		if len(vs) == 0 {
			t.Errorf("%s has no version history in opVersions", op)
			continue
		}
		if !slices.IsSorted(vs) || vs[0] < MinOpset || vs[len(vs)-1] > MaxOpset {
			t.Errorf("%s: versions %v are not sorted within [%d, %d]", op, vs, MinOpset, MaxOpset)
		}
	}
	for op, spans := range attrSpans {
		for a, s := range spans {
			if !slices.Contains(opVersions[op], s[0]) || s[1] != 0 && !slices.Contains(opVersions[op], s[1]) {
				t.Errorf("%s's attribute %s spans %v, which are not versions of %s (%v)", op, a, s, op, opVersions[op])
			}
		}
	}
}

func TestOpVersion(t *testing.T) {
	for _, c := range []struct {
		op    string
		opset int64
		want  int64
	}{
		{"Pad", 1, 1}, {"Pad", 10, 2}, {"Pad", 11, 11}, {"Pad", 17, 13}, {"Pad", 18, 18}, {"Pad", 21, 21},
		{"HardSwish", 13, 0}, {"HardSwish", 14, 14}, {"GlobalAveragePool", 21, 1}, {"NoSuchOp", 13, 0},
	} {
		if got := opVersion(c.op, c.opset); got != c.want {
			t.Errorf("opVersion(%s, %d) = %d, want %d", c.op, c.opset, got, c.want)
		}
	}
}

// form is one way of writing a computation at an opset: build adds its nodes reading x and
// returns the output's name.
type form struct {
	opset int64
	build func(b *builder, x string) string
}

// sameAcrossVersions builds each form on an input of dims (batch first, -1 dynamic), imports it,
// and checks that all forms lower to the ops want ("": not checked) and compute the same values
// as the first.
func sameAcrossVersions(t *testing.T, dims []int64, want string, forms ...form) {
	t.Helper()
	var first []float32
	for i, f := range forms {
		b := newBuilder(f.opset, "x", dims...)
		b.nodeOut("Identity", []string{f.build(b, "x")}, []string{"y"})
		g, w := b.output("y").graph(t)
		if got := ops(g); want != "" && got != want {
			t.Errorf("opset %d: %s\nwant %s", f.opset, got, want)
			continue
		}
		size := 1
		for _, d := range g.Input().Shape {
			size *= d
		}
		out := run(t, g, w, ramp(2*size, 5), 2)
		if i == 0 {
			first = out
		} else if !slices.Equal(out, first) {
			t.Errorf("opset %d computes %v, opset %d %v", f.opset, out, forms[0].opset, first)
		}
	}
}

// The boundaries where an operator's operands or meaning changed: each pair writes the same
// computation in the version before and the version after the change.
func TestVersionBoundaries(t *testing.T) {
	chw := []int64{-1, 2, 3, 3}
	t.Run("Clip-6/11", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] clip[2 3 3]",
			form{10, func(b *builder, x string) string {
				return b.node("Clip", []string{x}, aFloat("min", -0.25), aFloat("max", 0.5))
			}},
			form{11, func(b *builder, x string) string {
				return b.node("Clip", []string{x, b.init("lo", nil, []float32{-0.25}), b.init("hi", nil, []float32{0.5})})
			}})
	})
	t.Run("Clip-1 consumed_inputs", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] relu6[2 3 3]",
			form{1, func(b *builder, x string) string {
				return b.node("Clip", []string{x}, aFloat("min", 0), aFloat("max", 6), aInts("consumed_inputs", 0))
			}},
			form{6, func(b *builder, x string) string {
				return b.node("Clip", []string{x}, aFloat("min", 0), aFloat("max", 6))
			}})
	})
	t.Run("Squeeze-11/13", func(t *testing.T) {
		sameAcrossVersions(t, []int64{-1, 4, 1, 1}, "input[4 1 1] flatten[4]",
			form{12, func(b *builder, x string) string { return b.node("Squeeze", []string{x}, aInts("axes", 2, -1)) }},
			form{13, func(b *builder, x string) string { return b.node("Squeeze", []string{x, b.initInts("axes", 2, -1)}) }},
			form{21, func(b *builder, x string) string { return b.node("Squeeze", []string{x, b.initInts("axes", 2, -1)}) }})
	})
	t.Run("Unsqueeze-11/13", func(t *testing.T) {
		sameAcrossVersions(t, []int64{-1, 6}, "input[6] reshape[6 1 1]",
			form{12, func(b *builder, x string) string { return b.node("Unsqueeze", []string{x}, aInts("axes", 2, 3)) }},
			form{13, func(b *builder, x string) string { return b.node("Unsqueeze", []string{x, b.initInts("axes", 2, 3)}) }})
	})
	pad := func(b *builder, x string, v float32) string {
		return b.node("Pad", []string{x, b.initInts("pads", 0, 0, 1, 2, 0, 0, 0, 1), b.init("v", nil, []float32{v})})
	}
	t.Run("Pad-1/2/11/18", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] pad[2 4 6]",
			form{1, func(b *builder, x string) string {
				return b.node("Pad", []string{x}, aInts("paddings", 0, 0, 1, 2, 0, 0, 0, 1), aFloat("value", 0.5))
			}},
			form{2, func(b *builder, x string) string {
				return b.node("Pad", []string{x}, aInts("pads", 0, 0, 1, 2, 0, 0, 0, 1), aFloat("value", 0.5))
			}},
			form{11, func(b *builder, x string) string { return pad(b, x, 0.5) }},
			form{18, func(b *builder, x string) string {
				return b.node("Pad", []string{x, b.initInts("pads", 1, 2, 0, 1), b.init("v", nil, []float32{0.5}), b.initInts("axes", 2, -1)})
			}},
			form{21, func(b *builder, x string) string { return pad(b, x, 0.5) }})
	})
	t.Run("Pad-2/11 reflect", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] reflection_pad[2 4 6]",
			form{2, func(b *builder, x string) string {
				return b.node("Pad", []string{x}, aInts("pads", 0, 0, 1, 2, 0, 0, 0, 1), aString("mode", "reflect"))
			}},
			form{11, func(b *builder, x string) string {
				return b.node("Pad", []string{x, b.initInts("pads", 0, 0, 1, 2, 0, 0, 0, 1)}, aString("mode", "reflect"))
			}},
			form{18, func(b *builder, x string) string {
				return b.node("Pad", []string{x, b.initInts("pads", 1, 2, 0, 1), "", b.initInts("axes", -2, -1)}, aString("mode", "reflect"))
			}})
	})
	t.Run("Pad-1/13 edge", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] replication_pad[2 7 3]",
			form{1, func(b *builder, x string) string {
				return b.node("Pad", []string{x}, aInts("paddings", 0, 0, 4, 0, 0, 0, 0, 0), aString("mode", "edge"))
			}},
			form{13, func(b *builder, x string) string {
				return b.node("Pad", []string{x, b.initInts("pads", 0, 0, 4, 0, 0, 0, 0, 0)}, aString("mode", "edge"))
			}})
	})
	t.Run("Reshape-1/5", func(t *testing.T) {
		sameAcrossVersions(t, []int64{2, 2, 3, 3}, "input[2 3 3] reshape[6 3]",
			form{4, func(b *builder, x string) string { return b.node("Reshape", []string{x}, aInts("shape", 2, 6, 3)) }},
			form{5, func(b *builder, x string) string { return b.node("Reshape", []string{x, b.initInts("s", 2, 6, 3)}) }})
	})
	t.Run("Concat-1/4", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] relu[2 3 3] concat[4 3 3]",
			form{3, func(b *builder, x string) string {
				r := b.node("Relu", []string{x})
				return b.node("Concat", []string{x, r})
			}},
			form{4, func(b *builder, x string) string {
				r := b.node("Relu", []string{x})
				return b.node("Concat", []string{x, r}, aInt("axis", 1))
			}})
	})
	t.Run("Cast-1/6", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] relu[2 3 3]",
			form{5, func(b *builder, x string) string {
				return b.node("Relu", []string{b.node("Cast", []string{x}, aString("to", "FLOAT"))})
			}},
			form{6, func(b *builder, x string) string {
				return b.node("Relu", []string{b.node("Cast", []string{x}, aInt("to", int64(tFloat)))})
			}})
	})
	t.Run("Softmax-11/13", func(t *testing.T) {
		// Before version 13 the input is coerced to 2-D at axis; from 13 axis is one dimension.
		sameAcrossVersions(t, chw, "",
			form{12, func(b *builder, x string) string { return b.node("Softmax", []string{x}, aInt("axis", 1)) }},
			form{13, func(b *builder, x string) string {
				r := b.node("Reshape", []string{x, b.initInts("flat", 0, -1)})
				s := b.node("Softmax", []string{r}, aInt("axis", 1))
				return b.node("Reshape", []string{s, b.initInts("back", 0, 2, 3, 3)})
			}})
	})
	bnInputs := func(b *builder, x string) []string {
		return []string{x, b.init("g", []int64{2}, nil), b.init("b", []int64{2}, nil), b.init("m", []int64{2}, nil), b.init("v", []int64{2}, []float32{1, 2})}
	}
	t.Run("BatchNormalization-6/7/9/14", func(t *testing.T) {
		f := func(opset int64, attrs ...string) form {
			return form{opset, func(b *builder, x string) string {
				pb := b.nodeOut("BatchNormalization", bnInputs(b, x), []string{"bn"})
				for _, a := range attrs {
					pb.Attribute = append(pb.Attribute, aInt(a, 1))
				}
				return "bn"
			}}
		}
		sameAcrossVersions(t, chw, "input[2 3 3] bn[2 3 3]",
			f(1, "is_test", "spatial"), f(6, "is_test"), f(7, "spatial"), f(9), f(14), f(15))
	})
	t.Run("Gemm-6/7", func(t *testing.T) {
		sameAcrossVersions(t, []int64{-1, 3}, "input[3] linear[4]",
			form{6, func(b *builder, x string) string {
				return b.node("Gemm", []string{x, b.init("w", []int64{4, 3}, nil), b.init("c", []int64{4}, nil)}, aInt("transB", 1), aInt("broadcast", 1))
			}},
			form{7, func(b *builder, x string) string {
				return b.node("Gemm", []string{x, b.init("w", []int64{4, 3}, nil), b.init("c", []int64{4}, nil)}, aInt("transB", 1))
			}})
	})
	t.Run("Add-6/7", func(t *testing.T) {
		// Add-6 broadcasts B along axis 1 of A; Add-7 by NumPy's rules, where B needs trailing ones.
		sameAcrossVersions(t, chw, "input[2 3 3] affine[2 3 3]",
			form{1, func(b *builder, x string) string {
				return b.node("Add", []string{x, b.init("c", []int64{2}, nil)}, aInt("broadcast", 1), aInt("axis", 1), aInts("consumed_inputs", 0))
			}},
			form{6, func(b *builder, x string) string {
				return b.node("Add", []string{x, b.init("c", []int64{2}, nil)}, aInt("broadcast", 1), aInt("axis", 1))
			}},
			form{7, func(b *builder, x string) string {
				return b.node("Add", []string{x, b.init("c", []int64{2, 1, 1}, nil)})
			}})
	})
	t.Run("AveragePool-1/7", func(t *testing.T) {
		// AveragePool-1 always excludes the padding from the count: count_include_pad=0.
		sameAcrossVersions(t, chw, "input[2 3 3] avgpool[2 3 3]",
			form{1, func(b *builder, x string) string {
				return b.node("AveragePool", []string{x}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1))
			}},
			form{7, func(b *builder, x string) string {
				return b.node("AveragePool", []string{x}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInt("count_include_pad", 0))
			}})
	})
	t.Run("ReduceMean-13/18", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] reduce_mean[1 3 3]",
			form{1, func(b *builder, x string) string { return b.node("ReduceMean", []string{x}, aInts("axes", 1)) }},
			form{13, func(b *builder, x string) string { return b.node("ReduceMean", []string{x}, aInts("axes", 1)) }},
			form{18, func(b *builder, x string) string { return b.node("ReduceMean", []string{x, b.initInts("axes", 1)}) }})
	})
	t.Run("ReduceSum-11/13", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] reduce_sum[2 3]",
			form{11, func(b *builder, x string) string {
				return b.node("ReduceSum", []string{x}, aInts("axes", -1), aInt("keepdims", 0))
			}},
			form{13, func(b *builder, x string) string {
				return b.node("ReduceSum", []string{x, b.initInts("axes", -1)}, aInt("keepdims", 0))
			}})
	})
	t.Run("ReduceMax-13/18 noop", func(t *testing.T) {
		// Empty axes with noop_with_empty_axes (from version 18) is the identity.
		sameAcrossVersions(t, chw, "input[2 3 3] relu[2 3 3]",
			form{13, func(b *builder, x string) string { return b.node("Relu", []string{x}) }},
			form{18, func(b *builder, x string) string {
				return b.node("Relu", []string{b.node("ReduceMax", []string{x}, aInt("noop_with_empty_axes", 1))})
			}},
			form{20, func(b *builder, x string) string {
				return b.node("Relu", []string{b.node("ReduceMax", []string{x, b.initInts("none")}, aInt("noop_with_empty_axes", 1))})
			}})
	})
	split := func(b *builder, x string, attrs ...*onnxpb.AttributeProto) [2]string {
		return split2(b, []string{x}, attrs...)
	}
	addHalves := func(b *builder, h [2]string) string {
		return b.node("Add", []string{h[0], b.node("Relu", []string{h[1]})})
	}
	t.Run("Split-2/13/18", func(t *testing.T) {
		in4 := []int64{-1, 4, 2, 2}
		sameAcrossVersions(t, in4, "input[4 2 2] narrow[2 2 2] narrow[2 2 2] relu[2 2 2] add[2 2 2]",
			form{2, func(b *builder, x string) string {
				return addHalves(b, split(b, x, aInt("axis", 1), aInts("split", 2, 2)))
			}},
			form{11, func(b *builder, x string) string { return addHalves(b, split(b, x, aInt("axis", 1))) }},
			form{13, func(b *builder, x string) string {
				return addHalves(b, split2(b, []string{x, b.initInts("split", 2, 2)}, aInt("axis", 1)))
			}},
			form{18, func(b *builder, x string) string {
				return addHalves(b, split(b, x, aInt("axis", 1), aInt("num_outputs", 2)))
			}})
	})
	t.Run("Slice-1/10 of a tensor", func(t *testing.T) {
		sameAcrossVersions(t, chw, "input[2 3 3] narrow[1 3 3] narrow[1 2 3]",
			form{9, func(b *builder, x string) string {
				return b.node("Slice", []string{x}, aInts("starts", 1, 0), aInts("ends", 2, -1), aInts("axes", 1, 2))
			}},
			form{10, func(b *builder, x string) string {
				return b.node("Slice", []string{x, b.initInts("st", 1, 0), b.initInts("en", 2, -1), b.initInts("ax", 1, 2)})
			}},
			form{13, func(b *builder, x string) string {
				return b.node("Slice", []string{x, b.initInts("st", 0, 1, 0), b.initInts("en", math.MaxInt64, 2, -1), b.initInts("ax", 0, -3, -2), b.initInts("step", 1, 1, 1)})
			}})
	})
	t.Run("Gelu-20", func(t *testing.T) {
		// As torch.onnx writes torch.nn.GELU() before Gelu existed.
		sameAcrossVersions(t, chw, "input[2 3 3] gelu[2 3 3]",
			form{13, func(b *builder, x string) string {
				e := b.node("Erf", []string{b.node("Div", []string{x, b.init("r2", nil, []float32{float32(math.Sqrt2)})})})
				m := b.node("Mul", []string{x, b.node("Add", []string{e, b.init("one", nil, []float32{1})})})
				return b.node("Mul", []string{m, b.init("half", nil, []float32{0.5})})
			}},
			form{20, func(b *builder, x string) string { return b.node("Gelu", []string{x}) }})
		sameAcrossVersions(t, chw, "input[2 3 3] gelu[2 3 3]",
			form{13, func(b *builder, x string) string {
				cube := b.node("Mul", []string{x, b.node("Mul", []string{x, x})})
				in := b.node("Add", []string{x, b.node("Mul", []string{b.init("k", nil, []float32{0.044715}), cube})})
				th := b.node("Tanh", []string{b.node("Mul", []string{b.init("s", nil, []float32{float32(math.Sqrt(2 / math.Pi))}), in})})
				m := b.node("Mul", []string{x, b.node("Add", []string{b.init("one", nil, []float32{1}), th})})
				return b.node("Mul", []string{b.init("half", nil, []float32{0.5}), m})
			}},
			form{20, func(b *builder, x string) string { return b.node("Gelu", []string{x}, aString("approximate", "tanh")) }})
	})
	t.Run("Slice-1/10", func(t *testing.T) {
		// Folded: a constant sliced by attributes, then by inputs.
		sameAcrossVersions(t, chw, "input[2 3 3] affine[2 3 3]",
			form{9, func(b *builder, x string) string {
				s := b.node("Slice", []string{b.init("k", []int64{4}, nil)}, aInts("starts", 1), aInts("ends", 3), aInts("axes", 0))
				return b.node("Add", []string{x, b.node("Reshape", []string{s, b.initInts("s", 2, 1, 1)})})
			}},
			form{10, func(b *builder, x string) string {
				s := b.node("Slice", []string{b.init("k", []int64{4}, nil), b.initInts("st", 1), b.initInts("en", 3), b.initInts("ax", 0)})
				return b.node("Add", []string{x, b.node("Reshape", []string{s, b.initInts("s", 2, 1, 1)})})
			}})
	})
}

// A small CNN written with each operator in its opset-13 form and in its newest form (opset 21:
// Pad-21 with axes, Split-18's num_outputs, ReduceMean-18's axes input, LayerNormalization-17,
// Gelu-20) imports to the same graph and values. (Values only compare exactly because the
// written-out GELU is recognised as the gelu op; else they would differ by roundings.)
func TestVersionNetwork(t *testing.T) {
	// The weights do not depend on how many initializers come before them (ramp's seed).
	fixed := func(b *builder, name string, seed int, dims ...int64) string {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		return b.init(name, dims, ramp(n, seed))
	}
	net := func(opset int64) form {
		return form{opset, func(b *builder, x string) string {
			x = b.node("Conv", []string{x, fixed(b, "w", 1, 4, 2, 3, 3), fixed(b, "b", 2, 4)})
			x = b.node("Relu", []string{x})
			if opset >= 18 {
				x = b.node("Pad", []string{x, b.initInts("pads", 1, 1, 1, 1), "", b.initInts("axes", 2, 3)}, aString("mode", "reflect"))
			} else {
				x = b.node("Pad", []string{x, b.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)}, aString("mode", "reflect"))
			}
			x = b.node("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1))
			var h [2]string
			if opset >= 18 {
				h = split2(b, []string{x}, aInt("axis", 1), aInt("num_outputs", 2))
			} else {
				h = split2(b, []string{x, b.initInts("split", 2, 2)}, aInt("axis", 1))
			}
			x = b.node("Concat", []string{h[1], h[0]}, aInt("axis", 1))
			y := b.node("Transpose", []string{x}, aInts("perm", 0, 2, 3, 1))
			if opset >= 17 {
				y = b.node("LayerNormalization", []string{y, fixed(b, "lw", 3, 4), fixed(b, "lb", 4, 4)}, aFloat("epsilon", 1e-6))
			} else {
				y = decomposedNorm(b, y, []int64{-1}, fixed(b, "lw", 3, 4), fixed(b, "lb", 4, 4))
			}
			if opset >= 20 {
				y = b.node("Gelu", []string{y})
			} else {
				e := b.node("Erf", []string{b.node("Div", []string{y, b.init("r2", nil, []float32{float32(math.Sqrt2)})})})
				m := b.node("Mul", []string{y, b.node("Add", []string{e, b.init("one", nil, []float32{1})})})
				y = b.node("Mul", []string{m, b.init("half", nil, []float32{0.5})})
			}
			x = b.node("Transpose", []string{y}, aInts("perm", 0, 3, 1, 2))
			if opset >= 18 {
				x = b.node("ReduceMean", []string{x, b.initInts("raxes", 2, 3)}, aInt("keepdims", 0))
			} else {
				x = b.node("ReduceMean", []string{x}, aInts("axes", 2, 3), aInt("keepdims", 0))
			}
			return b.node("Gemm", []string{x, fixed(b, "fc", 5, 3, 4), fixed(b, "fcb", 6, 3)}, aInt("transB", 1))
		}}
	}
	sameAcrossVersions(t, []int64{-1, 2, 6, 6},
		"input[2 6 6] conv[4 4 4] relu[4 4 4] reflection_pad[4 6 6] maxpool[4 3 3] narrow[2 3 3] narrow[2 3 3] concat[4 3 3] "+
			"layernorm[4 3 3] gelu[4 3 3] global_avgpool[4 1 1] flatten[4] linear[3]",
		net(13), net(16), net(17), net(18), net(20), net(21))
}

// Operands of the wrong version are refused with the node, the version and why.
func TestVersionErrors(t *testing.T) {
	for _, c := range []struct {
		opset int64
		build func(b *builder, x string) string
		want  string
	}{
		{10, func(b *builder, x string) string { return b.node("Clip", []string{x, b.init("lo", nil, []float32{0})}) },
			"Clip-6 takes one input (min and max are attributes)"},
		{11, func(b *builder, x string) string { return b.node("Clip", []string{x}, aFloat("min", 0)) },
			"attribute min is not part of Clip-11 (opset 11); it belongs to Clip-1, Clip-6"},
		{13, func(b *builder, x string) string { return b.node("Squeeze", []string{x}, aInts("axes", 0)) },
			"attribute axes is not part of Squeeze-13 (opset 13); it belongs to Squeeze-1, Squeeze-11"},
		{6, func(b *builder, x string) string { return b.node("Relu", []string{x}, aInts("consumed_inputs", 0)) },
			"attribute consumed_inputs is not part of Relu-6 (opset 6); it belongs to Relu-1"},
		{6, func(b *builder, x string) string {
			return b.node("BatchNormalization", []string{x, b.init("g", []int64{2}, nil), b.init("b", []int64{2}, nil), b.init("m", []int64{2}, nil), b.init("v", []int64{2}, nil)})
		}, "is_test=0 is training mode in BatchNormalization-6"},
		{6, func(b *builder, x string) string { return b.node("Add", []string{x, b.init("c", []int64{2}, nil)}) },
			"B of dims [2] differs from A's [-1 2 3 3]; Add-6 broadcasts only with broadcast=1"},
		{18, func(b *builder, x string) string { return b.node("ReduceMean", []string{x}, aInts("axes", 1)) },
			"attribute axes is not part of ReduceMean-18 (opset 18); it belongs to ReduceMean-1, ReduceMean-11, ReduceMean-13"},
		{13, func(b *builder, x string) string { return b.node("ReduceSum", []string{x}, aInts("axes", 1)) },
			"attribute axes is not part of ReduceSum-13 (opset 13); it belongs to ReduceSum-1, ReduceSum-11"},
		{8, func(b *builder, x string) string {
			return b.node("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInt("ceil_mode", 1))
		}, "attribute ceil_mode is not part of MaxPool-8 (opset 8); it came with MaxPool-10"},
	} {
		b := newBuilder(c.opset, "x", -1, 2, 3, 3)
		b.nodeOut("Identity", []string{c.build(b, "x")}, []string{"y"})
		err := b.output("y").graphErr(t)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("opset %d: %v\nwant %q", c.opset, err, c.want)
		}
	}
}

// split2 adds a Split of two outputs and returns them.
func split2(b *builder, ins []string, attrs ...*onnxpb.AttributeProto) [2]string {
	b.n++
	o := [2]string{fmt.Sprintf("/Split_%d_0", b.n), fmt.Sprintf("/Split_%d_1", b.n)}
	b.nodeOut("Split", ins, o[:], attrs...)
	return o
}
