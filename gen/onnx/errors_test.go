package onnx

import (
	"fmt"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func() *builder
		want  string
	}{
		{"opset too new", func() *builder { return newBuilder(MaxOpset+1, "x", -1, 3).output("x") }, fmt.Sprintf("opset %d is not supported", MaxOpset+1)},
		{"operator newer than the opset", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			b.nodeOut("HardSwish", []string{"x"}, []string{"y"})
			return b.output("y")
		}, "HardSwish does not exist at opset 13 (it was added at opset 14)"},
		{"attribute of another version", func() *builder {
			b := newBuilder(11, "x", -1, 3, 4, 4)
			b.nodeOut("Pad", []string{"x", b.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)}, []string{"y"}, aInts("pads", 0, 0, 1, 1, 0, 0, 1, 1))
			return b.output("y")
		}, "attribute pads is not part of Pad-11 (opset 11); it belongs to Pad-2"},
		{"no opset", func() *builder {
			b := newBuilder(13, "x", -1, 3).output("x")
			b.m.OpsetImport = nil
			return b
		}, "imports no ai.onnx"},
		{"dynamic spatial dim", func() *builder { return newBuilder(13, "x", -1, 3, -1, 8).output("x") }, "dimension 2 is dynamic (\"N\"): give one image's size (cnngen -input-shape C,H,W)"},
		{"input not float", func() *builder {
			b := newBuilder(13, "", 0)
			b.g.Input = append(b.g.Input, valueInfo("x", 7, -1, 3))
			return b.output("x")
		}, "INT64"},
		{"no input", func() *builder {
			b := newBuilder(13, "")
			b.init("w", []int64{1}, nil)
			return b.output("w")
		}, "no input"},
		{"two outputs", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			r := b.node("Relu", []string{"x"})
			return b.output(r).output("x")
		}, "2 outputs"},
		{"undefined input", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Add", []string{"x", "nowhere"}))
		}, `"nowhere" is not produced`},
		{"cycle", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			b.nodeOut("Add", []string{"x", "b"}, []string{"a"})
			b.nodeOut("Relu", []string{"a"}, []string{"b"})
			return b.output("b")
		}, "cycle"},
		{"second input", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			b.g.Input = append(b.g.Input, valueInfo("x2", 1, -1, 3))
			return b.output(b.node("Add", []string{"x", "x2"}))
		}, "exactly one input"},
		{"output is a constant", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Relu", []string{b.node("Constant", nil, aFloat("value_float", 1))}))
		}, "is a constant where"},
		{"reshape changes the batch", func() *builder {
			b := newBuilder(13, "x", -1, 4, 2)
			return b.output(b.node("Reshape", []string{"x", b.initInts("s", 2, -1)}))
		}, "changes the batch"},
		{"reshape to a scalar per image", func() *builder {
			b := newBuilder(13, "x", -1, 1)
			return b.output(b.node("Reshape", []string{"x", b.initInts("s", -1)}))
		}, "one value per image"},
		{"transA", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Gemm", []string{"x", b.init("w", []int64{3, 3}, nil)}, aInt("transA", 1)))
		}, "transA=1"},
		{"pad mode", func() *builder {
			b := newBuilder(19, "x", -1, 1, 3, 3)
			return b.output(b.node("Pad", []string{"x", b.initInts("p", 0, 0, 1, 1, 0, 0, 1, 1)}, aString("mode", "wrap")))
		}, `mode "wrap" of Pad-19 is not supported`},
		{"reflect pad too wide", func() *builder {
			b := newBuilder(13, "x", -1, 1, 3, 3)
			return b.output(b.node("Pad", []string{"x", b.initInts("p", 0, 0, 3, 0, 0, 0, 0, 0)}, aString("mode", "reflect")))
		}, "reflection padding 3 must be less than the dimension 3"},
		{"negative pad", func() *builder {
			b := newBuilder(13, "x", -1, 1, 3, 3)
			return b.output(b.node("Pad", []string{"x", b.initInts("p", 0, 0, -1, 0, 0, 0, 0, 0)}))
		}, "cropping"},
		{"dynamic weight", func() *builder {
			b := newBuilder(13, "x", -1, 1, 3, 3)
			return b.output(b.node("Conv", []string{"x", "x"}))
		}, "must be a constant"},
		{"1-D conv", func() *builder {
			b := newBuilder(13, "x", -1, 1, 3)
			return b.output(b.node("Conv", []string{"x", b.init("w", []int64{1, 1, 3}, nil)}))
		}, "only 2-D feature maps"},
		{"constant divided by a tensor", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Div", []string{b.init("k", nil, []float32{1}), "x"}))
		}, "division by a constant"},
		{"broadcast of two tensors", func() *builder {
			b := newBuilder(13, "x", -1, 3, 2, 2)
			return b.output(b.node("Add", []string{"x", b.node("GlobalAveragePool", []string{"x"})}))
		}, "broadcasting between computed tensors"},
		{"elementwise constant", func() *builder {
			b := newBuilder(13, "x", -1, 3, 2, 2)
			return b.output(b.node("Mul", []string{"x", b.init("k", []int64{2, 2}, nil)}))
		}, "neither a scalar nor one value per channel"},
		{"maxpool indices", func() *builder {
			b := newBuilder(13, "x", -1, 3, 2, 2)
			b.nodeOut("MaxPool", []string{"x"}, []string{"y", "idx"}, aInts("kernel_shape", 2, 2))
			return b.output(b.node("Add", []string{"y", b.node("Cast", []string{"idx"}, aInt("to", 1))}))
		}, `output 1 ("idx") is not supported`},
		{"dropout mask", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			b.nodeOut("Dropout", []string{"x"}, []string{"y", "mask"})
			return b.output("mask")
		}, "mask output"},
		{"custom domain", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			y := b.node("Relu", []string{"x"})
			b.g.Node[0].Domain = stringp("com.microsoft")
			return b.output(y)
		}, `domain "com.microsoft"`},
		{"attribute type", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Flatten", []string{"x"}, aFloat("axis", 1)))
		}, "attribute axis is FLOAT, want INT"},
		{"flatten axis", func() *builder {
			b := newBuilder(13, "x", -1, 3, 2)
			return b.output(b.node("Flatten", []string{"x"}, aInt("axis", 2)))
		}, "only flattening each image"},
		{"concat axis", func() *builder {
			b := newBuilder(13, "x", -1, 3, 2, 2)
			return b.output(b.node("Concat", []string{"x", "x"}, aInt("axis", 2)))
		}, "only channels"},
		{"pool dilation past the input", func() *builder {
			b := newBuilder(13, "x", -1, 3, 4, 4)
			return b.output(b.node("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("dilations", 4, 4)))
		}, "output shape [3 0 0] is empty"},
		{"bn training", func() *builder {
			b := newBuilder(14, "x", -1, 2)
			p := b.init("p", []int64{2}, nil)
			return b.output(b.node("BatchNormalization", []string{"x", p, p, p, p}, aInt("training_mode", 1)))
		}, "training_mode=1"},
		{"squeeze a non-1 dim", func() *builder {
			b := newBuilder(11, "x", -1, 3, 2)
			return b.output(b.node("Squeeze", []string{"x"}, aInts("axes", 1)))
		}, "squeezes axis 1 of size 3"},
		{"unsqueeze the batch", func() *builder {
			b := newBuilder(11, "x", -1, 3)
			return b.output(b.node("Unsqueeze", []string{"x"}, aInts("axes", 0)))
		}, "move the batch"},
		{"gather on the network", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Gather", []string{"x", b.initInts("i", 0)}))
		}, "only constant inputs"},
		{"shape arithmetic on the batch", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			s := b.node("Mul", []string{b.node("Shape", []string{"x"}), b.initInts("two", 2)})
			return b.output(b.node("Reshape", []string{"x", s}))
		}, "batch size is not supported"},
		{"cast to int", func() *builder {
			b := newBuilder(13, "x", -1, 3)
			return b.output(b.node("Cast", []string{"x"}, aInt("to", 7)))
		}, "only FLOAT"},
		{"too large output", func() *builder {
			b := newBuilder(13, "x", -1, 1, 1, 1)
			return b.output(b.node("Pad", []string{"x", b.initInts("p", 0, 0, 1<<24, 1<<24, 0, 0, 1<<24, 1<<24)}))
		}, "has more than 2147483647 elements"},
		{"folding budget spent", func() *builder {
			// Each fold is under maxFold; together they exceed foldBudget.
			b := newBuilder(13, "x", -1, 1, 1, 1)
			c := b.node("ConstantOfShape", []string{b.initInts("s", 1024, 4096)}, aTensor("value", floatTensor("", []int64{1}, []float32{1})))
			for range 4 {
				c = b.node("Add", []string{c, c})
			}
			return b.output(b.node("Reshape", []string{"x", b.node("Shape", []string{c})}))
		}, "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.build().graphErr(t)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func stringp(s string) *string { return &s }
