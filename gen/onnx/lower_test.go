package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"github.com/cnngen/cnngen/gen/weights"
	"github.com/cnngen/cnngen/runtime"
)

// run evaluates g on in with the reference interpreter.
func run(t *testing.T, g *ir.Graph, w map[string]Tensor, in []float32, batch int) []float32 {
	t.Helper()
	out, err := interp.Run(g, mapWeights(w), in, batch)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func near(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("value %d: got %g, want %g (all: %v vs %v)", i, got[i], want[i], got, want)
		}
	}
}

func keys(g *ir.Graph) []string {
	var k []string
	for _, p := range g.AllParams() {
		k = append(k, p.Key)
	}
	return k
}

func TestConvBNReluPoolGemm(t *testing.T) {
	b := newBuilder(13, "input", -1, 1, 8, 8)
	x := b.node("Conv", []string{"input", b.init("conv1.weight", []int64{4, 1, 3, 3}, nil), b.init("conv1.bias", []int64{4}, nil)},
		aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 1, 1), aInts("dilations", 1, 1), aInt("group", 1))
	x = b.node("BatchNormalization", []string{x, b.init("bn1.weight", []int64{4}, nil), b.init("bn1.bias", []int64{4}, nil),
		b.init("bn1.running_mean", []int64{4}, nil), b.init("bn1.running_var", []int64{4}, []float32{1, 2, 0.5, 0.25})}, aFloat("epsilon", 1e-5), aFloat("momentum", 0.9))
	x = b.node("Relu", []string{x})
	x = b.node("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInts("pads", 0, 0, 0, 0), aInt("ceil_mode", 0))
	x = b.node("Flatten", []string{x}, aInt("axis", 1))
	b.nodeOut("Gemm", []string{x, b.init("fc.weight", []int64{10, 64}, nil), b.init("fc.bias", []int64{10}, nil)}, []string{"logits"},
		aFloat("alpha", 1), aFloat("beta", 1), aInt("transB", 1))
	b.output("logits")
	g, w := b.graph(t)

	if got, want := ops(g), "input[1 8 8] conv[4 8 8] bn[4 8 8] relu[4 8 8] maxpool[4 4 4] flatten[64] linear[10]"; got != want {
		t.Fatalf("graph %s\nwant  %s", got, want)
	}
	wantKeys := []string{"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "fc.weight", "fc.bias"}
	if got := keys(g); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v, want %v", got, wantKeys)
	}
	if len(w) != len(wantKeys) {
		t.Fatalf("%d weights, want %d", len(w), len(wantKeys))
	}
	for _, p := range g.AllParams() {
		if !slices.Equal(w[p.Key].Shape, []int(p.Shape)) || len(w[p.Key].Data) != p.Shape.Size() {
			t.Errorf("%s: weight shape %v (%d values), param %v", p.Key, w[p.Key].Shape, len(w[p.Key].Data), p.Shape)
		}
		if p.Buffer != strings.HasPrefix(p.Key, "bn1.running") {
			t.Errorf("%s: Buffer %v", p.Key, p.Buffer)
		}
	}
	conv := g.Nodes[1]
	if conv.Name != "Conv_0" || conv.Conv.Pad != [4]int{1, 1, 1, 1} || !conv.Conv.Bias || conv.Conv.Out != 4 {
		t.Errorf("conv %s %+v", conv.Name, *conv.Conv)
	}
	if g.Nodes[2].Eps != 1e-5 {
		t.Errorf("bn eps %v, want exactly 1e-5", g.Nodes[2].Eps)
	}
	if fc := g.Nodes[6]; fc.Gemm != nil || !fc.LinBias || fc.Features != 10 {
		t.Errorf("fc %+v", fc)
	}
	if g.Classes != 10 || g.Output != g.Nodes[6] || !strings.Contains(g.Description, "opset 13") {
		t.Errorf("classes %d, output %s, description %q", g.Classes, g.Output.Name, g.Description)
	}
	// The graph runs at any batch size.
	out := run(t, g, w, make([]float32, 3*64), 3)
	if len(out) != 30 {
		t.Fatalf("%d outputs", len(out))
	}
}

// PyTorch's x.view(x.size(0), -1) and reshapes to other per-image shapes.
func TestFlattenChain(t *testing.T) {
	for _, opset := range []int64{9, 11, 13, 17} {
		for _, static := range []bool{false, true} {
			batch := int64(-1)
			if static {
				batch = 1
			}
			b := newBuilder(opset, "x", batch, 2, 3, 3)
			r := b.node("Relu", []string{"x"})
			shape := b.node("Shape", []string{r})
			dim0 := b.node("Gather", []string{shape, b.node("Constant", nil, aInt("value_int", 0))}, aInt("axis", 0))
			var u string
			if opset < 13 {
				u = b.node("Unsqueeze", []string{dim0}, aInts("axes", 0))
			} else {
				u = b.node("Unsqueeze", []string{dim0, b.initInts("axes0", 0)})
			}
			target := b.node("Concat", []string{u, b.initInts("minus1", -1)}, aInt("axis", 0))
			flat := b.node("Reshape", []string{r, target})
			// [N, 2, 9] through a computed shape: Concat(Shape[0:2], [9])
			g2 := b.node("Gather", []string{shape, b.initInts("idx01", 0, 1)}, aInt("axis", 0))
			t3 := b.node("Concat", []string{g2, b.initInts("nine", 9)}, aInt("axis", 0))
			r3 := b.node("Reshape", []string{r, t3})
			back := b.node("Reshape", []string{r3, b.initInts("back", 0, 18)})
			b.nodeOut("Add", []string{flat, back}, []string{"y"})
			b.output("y")
			g, _ := b.graph(t)
			if got, want := ops(g), "input[2 3 3] relu[2 3 3] flatten[18] reshape[2 9] flatten[18] add[18]"; got != want {
				t.Errorf("opset %d static %v: %s\nwant %s", opset, static, got, want)
			}
		}
	}
	// With a static batch, a literal batch size in the target shape is the batch.
	b := newBuilder(13, "x", 1, 2, 3, 3)
	b.nodeOut("Reshape", []string{"x", b.initInts("s", 1, -1)}, []string{"y"})
	g, _ := b.output("y").graph(t)
	if got := ops(g); got != "input[2 3 3] flatten[18]" {
		t.Errorf("static reshape: %s", got)
	}
}

// PyTorch's exporter shares equal initializers through Identity nodes named after the state_dict
// key they replace: each use must read the right data under its own key.
func TestSharedInitializer(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 4, 4)
	bias := b.init("features.0.bias", []int64{2}, []float32{0.5, -0.25})
	shared := b.node("Identity", []string{bias})
	b.g.Node[len(b.g.Node)-1].Output = []string{"features.2.bias"}
	_ = shared
	x := b.node("Conv", []string{"x", b.init("features.0.weight", []int64{2, 2, 1, 1}, nil), bias})
	x = b.node("Conv", []string{x, b.init("features.2.weight", []int64{2, 2, 1, 1}, nil), "features.2.bias"})
	// A third conv reading the initializer again directly.
	b.nodeOut("Conv", []string{x, b.init("features.4.weight", []int64{2, 2, 1, 1}, nil), bias}, []string{"y"})
	b.output("y")
	g, w := b.graph(t)
	want := []string{"features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias", "features.4.weight", "Conv_3.bias"}
	if got := keys(g); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	for _, k := range []string{"features.0.bias", "features.2.bias", "Conv_3.bias"} {
		if d := w[k].Data; !slices.Equal(d, []float32{0.5, -0.25}) {
			t.Errorf("%s = %v", k, d)
		}
	}
	if len(w) != len(want) {
		t.Errorf("%d weights, want %d", len(w), len(want))
	}
}

func TestSiLUAndHardSwishPatterns(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 4, 4)
	c := b.node("Conv", []string{"x", b.init("w", []int64{2, 2, 1, 1}, nil)})
	s := b.node("Sigmoid", []string{c})
	y := b.node("Mul", []string{c, s})
	s2 := b.node("Sigmoid", []string{y})
	y = b.node("Mul", []string{s2, y}) // the other operand order
	h := b.node("HardSigmoid", []string{y}, aFloat("alpha", 1.0/6), aFloat("beta", 0.5))
	y = b.node("Mul", []string{y, h})
	h2 := b.node("HardSigmoid", []string{y}) // ONNX's defaults 0.2, 0.5: not a HardSwish
	b.nodeOut("Mul", []string{y, h2}, []string{"out"})
	g, w := b.output("out").graph(t)
	if got, want := ops(g), "input[2 4 4] conv[2 4 4] silu[2 4 4] silu[2 4 4] hardswish[2 4 4] hardsigmoid[2 4 4] mul[2 4 4]"; got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	if hs := g.Nodes[5]; hs.HardAlpha != 0.2 || hs.HardBeta != 0.5 {
		t.Errorf("hardsigmoid %g %g", hs.HardAlpha, hs.HardBeta)
	}
	in := ramp(32, 3)
	out := run(t, g, w, in, 1)
	// conv is a 1x1 channel mix; check the chain at one point.
	wt := w["w"].Data
	silu := func(v float64) float64 { return v / (1 + math.Exp(-v)) }
	hsw := func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) }
	hsg := func(v float64) float64 { return math.Max(0, math.Min(1, 0.2*v+0.5)) }
	want := make([]float64, 32)
	for c := 0; c < 2; c++ {
		for p := 0; p < 16; p++ {
			v := float64(wt[2*c])*float64(in[p]) + float64(wt[2*c+1])*float64(in[16+p])
			v = hsw(silu(silu(v)))
			want[16*c+p] = v * hsg(v)
		}
	}
	near(t, out, want, 1e-6)
}

func TestAutoPad(t *testing.T) {
	cases := []struct {
		mode    string
		k, s    int64
		pads    [4]int
		outSize int
	}{
		{"SAME_UPPER", 3, 2, [4]int{1, 1, 1, 1}, 4},
		{"SAME_UPPER", 4, 2, [4]int{1, 1, 2, 2}, 4},
		{"SAME_LOWER", 4, 2, [4]int{2, 2, 1, 1}, 4},
		{"SAME_UPPER", 3, 1, [4]int{1, 1, 1, 1}, 7},
		{"VALID", 4, 2, [4]int{}, 2},
		{"NOTSET", 3, 2, [4]int{}, 3},
	}
	for _, c := range cases {
		for _, op := range []string{"Conv", "MaxPool", "AveragePool"} {
			b := newBuilder(11, "x", -1, 1, 7, 7)
			attrs := []*onnxpb.AttributeProto{aString("auto_pad", c.mode), aInts("strides", c.s, c.s), aInts("kernel_shape", c.k, c.k)}
			ins := []string{"x"}
			if op == "Conv" {
				ins = append(ins, b.init("w", []int64{3, 1, c.k, c.k}, nil))
			}
			b.nodeOut(op, ins, []string{"y"}, attrs...)
			g, _ := b.output("y").graph(t)
			n := g.Nodes[1]
			var pads [4]int
			if op == "Conv" {
				pads = n.Conv.Pad
			} else {
				pads = n.Pool.Pad
			}
			if pads != c.pads || n.Shape[1] != c.outSize || n.Shape[2] != c.outSize {
				t.Errorf("%s %s k%d s%d: pads %v shape %v, want %v and %d", op, c.mode, c.k, c.s, pads, n.Shape, c.pads, c.outSize)
			}
		}
	}
}

func TestMatMulAddAndGemmForms(t *testing.T) {
	// x @ W + b with W [in, out]: a linear layer with TransW and the Add folded in as its bias.
	b := newBuilder(13, "x", -1, 3)
	m := b.node("MatMul", []string{"x", b.init("W", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})})
	y := b.node("Add", []string{b.init("bias", []int64{2}, []float32{10, 20}), m})
	// Gemm with alpha, beta and transB=0, and a scalar C.
	b.nodeOut("Gemm", []string{y, b.init("G", []int64{2, 2}, []float32{1, 0, 0, 2}), b.init("c", []int64{1}, []float32{3})}, []string{"out"},
		aFloat("alpha", 0.5), aFloat("beta", 2))
	g, w := b.output("out").graph(t)
	if got, want := ops(g), "input[3] linear[2] linear[2]"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	l1, l2 := g.Nodes[1], g.Nodes[2]
	if l1.Gemm == nil || !l1.Gemm.TransW || !l1.LinBias || l1.Params[1].Key != "bias" {
		t.Errorf("matmul+add: %+v %+v", l1.Gemm, l1.Params)
	}
	if *l2.Gemm != (ir.GemmAttrs{Alpha: 0.5, Beta: 2, TransW: true}) || !slices.Equal(w["c"].Data, []float32{3, 3}) {
		t.Errorf("gemm: %+v, c %v", *l2.Gemm, w["c"])
	}
	out := run(t, g, w, []float32{1, 1, 1, 1, 0, -1}, 2)
	// image 0: [1 1 1]W = [9 12] + [10 20] = [19 32]; 0.5*[19 64] + 6 = [15.5 38]
	// image 1: [1 0 -1]W = [-4 -4] + b = [6 16]; 0.5*[6 32] + 6 = [9 22]
	near(t, out, []float64{15.5, 38, 9, 22}, 1e-9)
}

func TestArithmeticToAffine(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 1, 2)
	x := b.node("Sub", []string{"x", b.init("mean", []int64{1, 2, 1, 1}, []float32{1, 2})})
	x = b.node("Div", []string{x, b.init("std", []int64{2, 1, 1}, []float32{2, 4})})
	x = b.node("Mul", []string{x, b.init("k", nil, []float32{3})})
	x = b.node("Add", []string{x, b.init("zero", []int64{1}, []float32{0})})
	x = b.node("Relu", []string{x})
	x = b.node("Sub", []string{b.init("one", []int64{1}, []float32{1}), x})
	b.nodeOut("Mul", []string{x, b.init("unit", []int64{1, 1, 1, 1}, []float32{1})}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got, want := ops(g), "input[2 1 2] affine[2 1 2] relu[2 1 2] affine[2 1 2]"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	in := []float32{3, 5, 6, 10}
	out := run(t, g, w, in, 1)
	want := make([]float64, 4)
	for i, v := range in {
		c := i / 2
		mean, std := []float64{1, 2}[c], []float64{2, 4}[c]
		want[i] = 1 - math.Max(0, (float64(v)-mean)/std*3)
	}
	near(t, out, want, 1e-12)
}

func TestConvBiasFromAdd(t *testing.T) {
	b := newBuilder(13, "x", -1, 1, 3, 3)
	c := b.node("Conv", []string{"x", b.init("w", []int64{2, 1, 1, 1}, []float32{1, 2})})
	b.nodeOut("Add", []string{c, b.init("b", []int64{1, 2, 1, 1}, []float32{5, 7})}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[1 3 3] conv[2 3 3]" {
		t.Fatalf("%s", got)
	}
	if n := g.Nodes[1]; !n.Conv.Bias || n.Params[1].Key != "b" || !slices.Equal(w["b"].Shape, []int{2}) {
		t.Errorf("conv %+v params %+v weight %v", n.Conv, n.Params, w["b"])
	}
	// A conv output read twice keeps its Add separate.
	b = newBuilder(13, "x", -1, 1, 3, 3)
	c = b.node("Conv", []string{"x", b.init("w", []int64{2, 1, 1, 1}, nil)})
	a := b.node("Add", []string{c, b.init("b", []int64{2, 1, 1}, nil)})
	b.nodeOut("Add", []string{a, c}, []string{"y"})
	g, _ = b.output("y").graph(t)
	if got := ops(g); got != "input[1 3 3] conv[2 3 3] affine[2 3 3] add[2 3 3]" {
		t.Fatalf("%s", got)
	}
}

func TestPadFoldsIntoConv(t *testing.T) {
	for _, opset := range []int64{10, 11} {
		pad := func(b *builder, x string, value float32) string {
			if opset < 11 {
				return b.node("Pad", []string{x}, aInts("pads", 0, 0, 1, 2, 0, 0, 3, 4), aFloat("value", value), aString("mode", "constant"))
			}
			return b.node("Pad", []string{x, b.initInts("p", 0, 0, 1, 2, 0, 0, 3, 4), b.init("v", nil, []float32{value})})
		}
		b := newBuilder(opset, "x", -1, 1, 5, 5)
		p := pad(b, "x", 0)
		b.nodeOut("Conv", []string{p, b.init("w", []int64{2, 1, 3, 3}, nil)}, []string{"y"}, aInts("pads", 1, 1, 1, 1))
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != "input[1 5 5] conv[2 9 11]" || g.Nodes[1].Conv.Pad != [4]int{2, 3, 4, 5} {
			t.Errorf("opset %d: %s pads %v", opset, got, g.Nodes[1].Conv.Pad)
		}
		b = newBuilder(opset, "x", -1, 1, 5, 5)
		p = pad(b, "x", 1.5)
		b.nodeOut("Conv", []string{p, b.init("w", []int64{2, 1, 3, 3}, nil)}, []string{"y"})
		g, _ = b.output("y").graph(t)
		if got := ops(g); got != "input[1 5 5] pad[1 9 11] conv[2 7 9]" || g.Nodes[1].PadValue != 1.5 || g.Nodes[1].Pads != [4]int{1, 2, 3, 4} {
			t.Errorf("opset %d: %s", opset, got)
		}
	}
}

func TestClip(t *testing.T) {
	cases := []struct {
		opset    int64
		min, max *float32
		op       ir.Op
	}{
		{10, f32(0), f32(6), ir.OpReLU6},
		{11, f32(0), f32(6), ir.OpReLU6},
		{13, f32(0), nil, ir.OpReLU},
		{13, f32(-1), f32(1), ir.OpClip},
		{10, nil, f32(2), ir.OpClip},
	}
	for _, c := range cases {
		b := newBuilder(c.opset, "x", -1, 4)
		if c.opset < 11 {
			var attrs []*onnxpb.AttributeProto
			if c.min != nil {
				attrs = append(attrs, aFloat("min", *c.min))
			}
			if c.max != nil {
				attrs = append(attrs, aFloat("max", *c.max))
			}
			b.nodeOut("Clip", []string{"x"}, []string{"y"}, attrs...)
		} else {
			ins := []string{"x", "", ""}
			if c.min != nil {
				ins[1] = b.init("min", nil, []float32{*c.min})
			}
			if c.max != nil {
				ins[2] = b.init("max", nil, []float32{*c.max})
			}
			b.nodeOut("Clip", ins, []string{"y"})
		}
		g, _ := b.output("y").graph(t)
		n := g.Nodes[1]
		if n.Op != c.op {
			t.Errorf("opset %d clip %v..%v: %s", c.opset, c.min, c.max, n.Op)
		}
		if n.Op == ir.OpClip {
			lo, hi := math.Inf(-1), math.Inf(1)
			if c.min != nil {
				lo = float64(*c.min)
			}
			if c.max != nil {
				hi = float64(*c.max)
			}
			if n.ClipMin != lo || n.ClipMax != hi {
				t.Errorf("clip bounds %g %g, want %g %g", n.ClipMin, n.ClipMax, lo, hi)
			}
		}
	}
}

func f32(v float32) *float32 { return &v }

func TestSoftmaxAxes(t *testing.T) {
	cases := []struct {
		opset      int64
		axis       *int64
		op         string
		axis0, end int
	}{
		{11, nil, "Softmax", 0, 3},       // default 1, coerced: all per-image dims
		{11, i64(2), "LogSoftmax", 1, 3}, // coerced from axis 2 to the end
		{13, nil, "Softmax", 2, 3},       // default -1: the last axis only
		{13, i64(1), "LogSoftmax", 0, 1}, // channels only
		{17, i64(-2), "Softmax", 1, 2},
	}
	for _, c := range cases {
		b := newBuilder(c.opset, "x", -1, 2, 3, 4)
		var attrs []*onnxpb.AttributeProto
		if c.axis != nil {
			attrs = append(attrs, aInt("axis", *c.axis))
		}
		b.nodeOut(c.op, []string{"x"}, []string{"y"}, attrs...)
		g, _ := b.output("y").graph(t)
		n := g.Nodes[1]
		if n.Axis != c.axis0 || n.AxisEnd != c.end || (n.Op == ir.OpLogSoftmax) != (c.op == "LogSoftmax") {
			t.Errorf("opset %d %s axis %v: %s [%d, %d), want [%d, %d)", c.opset, c.op, c.axis, n.Op, n.Axis, n.AxisEnd, c.axis0, c.end)
		}
	}
	b := newBuilder(13, "x", -1, 3)
	b.nodeOut("Softmax", []string{"x"}, []string{"y"}, aInt("axis", 0))
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "across the batch") {
		t.Errorf("axis 0: %v", err)
	}
}

func i64(v int64) *int64 { return &v }

func TestLRNWindow(t *testing.T) {
	for _, size := range []int64{4, 5} {
		b := newBuilder(13, "x", -1, 6, 2, 2)
		b.nodeOut("LRN", []string{"x"}, []string{"y"}, aInt("size", size), aFloat("alpha", 2e-4), aFloat("beta", 0.75), aFloat("bias", 2))
		g, _ := b.output("y").graph(t)
		a := g.Nodes[1].LRN
		if a.Lo != int(size-1)/2 || a.Size != int(size) || a.Alpha != 2e-4 || a.Bias != 2 || a.Beta != 0.75 {
			t.Errorf("size %d: %+v", size, *a)
		}
	}
}

func TestSqueezeUnsqueeze(t *testing.T) {
	for _, opset := range []int64{11, 13} {
		axes := func(b *builder, op, x string, v ...int64) string {
			if opset < 13 {
				return b.node(op, []string{x}, aInts("axes", v...))
			}
			return b.node(op, []string{x, b.initInts(fmt.Sprint(op, "axes", len(b.g.Node)), v...)})
		}
		b := newBuilder(opset, "x", -1, 3, 4, 4)
		x := b.node("GlobalMaxPool", []string{"x"})
		x = axes(b, "Squeeze", x, 3, -2) // [N 3]
		x = axes(b, "Unsqueeze", x, 2)   // [N 3 1]
		x = axes(b, "Unsqueeze", x, -1)  // [N 3 1 1]
		b.nodeOut("GlobalAveragePool", []string{x}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got, want := ops(g), "input[3 4 4] global_maxpool[3 1 1] flatten[3] reshape[3 1] reshape[3 1 1] global_avgpool[3 1 1]"; got != want {
			t.Errorf("opset %d: %s\nwant %s", opset, got, want)
		}
	}
	b := newBuilder(13, "x", -1, 3, 1, 1)
	b.nodeOut("Squeeze", []string{"x"}, []string{"y"}) // no axes: every 1 but the batch
	g, _ := b.output("y").graph(t)
	if got := ops(g); got != "input[3 1 1] flatten[3]" {
		t.Errorf("squeeze all: %s", got)
	}
}

// Constants computed from Constant nodes, Cast, ConstantOfShape, Gather and arithmetic.
func TestConstantFolding(t *testing.T) {
	b := newBuilder(13, "x", -1, 4)
	two := b.node("Constant", nil, aInt("value_int", 2))
	twoF := b.node("Cast", []string{two}, aInt("to", int64(tFloat)))
	ones := b.node("ConstantOfShape", []string{b.initInts("s", 4)}, aTensor("value", floatTensor("", []int64{1}, []float32{1})))
	scale := b.node("Mul", []string{ones, twoF}) // [2 2 2 2]
	vals := b.node("Constant", nil, aTensor("value", floatTensor("", []int64{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})))
	row := b.node("Gather", []string{vals, b.node("Constant", nil, aInt("value_int", -1))}, aInt("axis", 0)) // [5 6 7 8]
	shift := b.node("Sub", []string{row, scale})                                                             // [3 4 5 6]
	x := b.node("Mul", []string{"x", scale})
	b.nodeOut("Add", []string{x, shift}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[4] affine[4]" {
		t.Fatalf("%s", got)
	}
	out := run(t, g, w, []float32{1, 2, 3, 4}, 1)
	near(t, out, []float64{5, 8, 11, 14}, 0)
}

func TestDeadNodesIdentityDropout(t *testing.T) {
	for _, opset := range []int64{7, 12, 17} {
		b := newBuilder(opset, "x", -1, 4)
		x := b.node("Identity", []string{"x"})
		x = b.node("Relu", []string{x})
		b.nodeOut("Dropout", []string{x}, []string{"d", "mask"}, aFloat("ratio", 0.3))
		b.node("Unsupported", []string{"d"}) // dead: feeds nothing the output needs
		b.nodeOut("Identity", []string{"d"}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != "input[4] relu[4]" {
			t.Errorf("opset %d: %s", opset, got)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"/features/features.0/Conv":                                "features.0.Conv",
		"/layer4/layer4.1/conv2/Conv":                              "layer4.1.conv2.Conv",
		"/features/features.1/features.1.0/block/block.1/fc1/Conv": "features.1.0.block.1.fc1.Conv",
		"onnx::Conv_193":                                           "onnx__Conv_193",
		"StatefulPartitionedCall/model/conv2d/Conv2D":              "StatefulPartitionedCall.model.conv2d.Conv2D",
		"":    "node",
		"///": "node",
		"a b": "a_b",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	b := newBuilder(13, "in put", -1, 4)
	x := b.node("Relu", []string{"in put"})
	x = b.node("Relu", []string{x})
	x = b.node("Relu", []string{x})
	b.g.Node[0].Name = nil // unnamed: named after its output
	b.g.Node[1].Name = b.g.Node[2].Name
	g, _ := b.output(x).graph(t)
	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"in_put", "Relu_1_output_0", "Relu_2", "Relu_2_2"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

func TestErrorsListEveryNode(t *testing.T) {
	b := newBuilder(13, "x", -1, 3, 8, 8)
	x := b.node("Transpose", []string{"x"})
	x = b.node("Relu", []string{x})                                                   // its input failed: not reported again
	x = b.node("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInt("bogus", 1)) // bad attribute, input failed
	y := b.node("Conv", []string{"x", b.init("w", []int64{2, 3, 3}, nil)})            // 1-D weight
	z := b.node("Resize", []string{"x"})
	a := b.node("Add", []string{x, y})
	a = b.node("Add", []string{a, z})
	b.nodeOut("Div", []string{b.init("k", nil, []float32{1}), a}, []string{"out"})
	err := b.output("out").graphErr(t)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	want := []string{"Transpose", "MaxPool", "Conv", "Resize"}
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.Op)
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v:\n%v", got, want, err)
	}
	for _, s := range []string{`"/Transpose_0" (Transpose): only constant inputs are supported`, "bogus", "weight \"w\" has dims [2 3 3]", `"/Resize_4"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func() *builder
		want  string
	}{
		{"opset too old", func() *builder { return newBuilder(6, "x", -1, 3).output("x") }, "opset 6 is not supported"},
		{"opset too new", func() *builder { return newBuilder(18, "x", -1, 3).output("x") }, "opset 18 is not supported"},
		{"no opset", func() *builder {
			b := newBuilder(13, "x", -1, 3).output("x")
			b.m.OpsetImport = nil
			return b
		}, "imports no ai.onnx"},
		{"dynamic spatial dim", func() *builder { return newBuilder(13, "x", -1, 3, -1, 8).output("x") }, "dimension 2 must be a static"},
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
			b := newBuilder(13, "x", -1, 1, 3, 3)
			return b.output(b.node("Pad", []string{"x", b.initInts("p", 0, 0, 1, 1, 0, 0, 1, 1)}, aString("mode", "reflect")))
		}, `mode "reflect"`},
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
		{"pool dilation", func() *builder {
			b := newBuilder(13, "x", -1, 3, 4, 4)
			return b.output(b.node("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("dilations", 2, 2)))
		}, "dilations [2 2]"},
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
		}, "too large"},
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

// A safetensors file written from the weights map is exactly what the graph expects, under the
// ONNX names and after KeyByNode.
func TestWeightsRoundTrip(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 4, 4)
	bias := b.init("features.0.bias", []int64{2}, nil)
	b.nodeOut("Identity", []string{bias}, []string{"features.2.bias"})
	x := b.node("Conv", []string{"x", b.init("features.0.weight", []int64{2, 2, 1, 1}, nil), bias})
	x = b.node("Conv", []string{x, b.init("features.2.weight", []int64{2, 2, 1, 1}, nil), "features.2.bias"})
	p := b.init("p", []int64{2}, []float32{1, 2})
	x = b.node("BatchNormalization", []string{x, p, p, p, p})
	x = b.node("Conv", []string{x, b.init("w3", []int64{2, 2, 1, 1}, nil), bias})
	x = b.node("Flatten", []string{x})
	b.nodeOut("Gemm", []string{x, b.init("fc", []int64{32, 3}, nil), b.init("fcb", []int64{1, 3}, nil)}, []string{"y"})
	g, w := b.output("y").graph(t)
	check := func(w map[string]Tensor) {
		t.Helper()
		var buf bytes.Buffer
		if err := runtime.WriteSafetensors(&buf, Tensors(w), nil); err != nil {
			t.Fatal(err)
		}
		f, err := runtime.OpenSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Check(weights.Expect(g)); err != nil {
			t.Fatal(err)
		}
		in := ramp(32, 1)
		want := run(t, g, w, in, 1)
		got, err := interp.Run(g, f, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("from the file %v, from the map %v", got, want)
		}
	}
	check(w)
	if got := keys(g); !slices.Equal(got, []string{"features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
		"p", "BatchNormalization_3.bias", "BatchNormalization_3.running_mean", "BatchNormalization_3.running_var",
		"w3", "Conv_4.bias", "fc", "fcb"}) {
		t.Errorf("keys %v", got)
	}
	w2 := KeyByNode(g, w)
	if got := keys(g); got[0] != "Conv_1.weight" || got[4] != "BatchNormalization_3.weight" || got[11] != "Gemm_6.bias" {
		t.Errorf("keys by node %v", got)
	}
	check(w2)
}

// Exporters for opsets before 10 emulate ceil_mode with end pads over half the kernel.
func TestPoolEndPadsAsCeilMode(t *testing.T) {
	b := newBuilder(9, "x", -1, 1, 8, 8)
	b.nodeOut("MaxPool", []string{"x"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 0, 0, 2, 2))
	g, _ := b.output("y").graph(t)
	if p := g.Nodes[1].Pool; p.Pad != [4]int{0, 0, 1, 1} || !p.CeilMode || !g.Nodes[1].Shape.Equal(ir.Shape{1, 4, 4}) {
		t.Errorf("pool %+v shape %v", *p, g.Nodes[1].Shape)
	}
	// Average pooling that counts the padding cannot be rewritten.
	b = newBuilder(9, "x", -1, 1, 8, 8)
	b.nodeOut("AveragePool", []string{"x"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 0, 0, 2, 2), aInt("count_include_pad", 1))
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "at most half the kernel") {
		t.Errorf("avgpool: %v", err)
	}
}

// Folding of Transpose, Slice (negative steps, clamped ends), Flatten, Squeeze, Cast and
// Reshape on constants, checked through the scale of the affine they end in.
func TestFoldConstantShapes(t *testing.T) {
	for _, opset := range []int64{9, 13} {
		b := newBuilder(opset, "x", -1, 3, 2, 2)
		slice := func(x string, start, end, axis, step int64) string {
			if opset < 10 {
				if step != 1 {
					// opset 9 has no steps: reverse with Gather instead
					return b.node("Gather", []string{x, b.initInts(fmt.Sprint("g", len(b.g.Node)), 2, 1, 0)}, aInt("axis", axis))
				}
				return b.node("Slice", []string{x}, aInts("starts", start), aInts("ends", end), aInts("axes", axis))
			}
			n := fmt.Sprint(len(b.g.Node))
			return b.node("Slice", []string{x, b.initInts("s"+n, start), b.initInts("e"+n, end), b.initInts("a"+n, axis), b.initInts("st"+n, step)})
		}
		k := b.init("K", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6.9})
		tr := b.node("Transpose", []string{k})               // [[1 4] [2 5] [3 6.9]]
		s := slice(tr, -1, math.MinInt64+1, 0, -1)           // [[3 6.9] [2 5] [1 4]]
		f := b.node("Flatten", []string{s}, aInt("axis", 0)) // [[3 6.9 2 5 1 4]]
		var q string
		if opset < 13 {
			q = b.node("Squeeze", []string{f}, aInts("axes", 0))
		} else {
			q = b.node("Squeeze", []string{f, b.initInts("sq", 0)})
		}
		u := slice(q, 1, 100, 0, 1) // [6.9 2 5 1 4]
		if opset >= 10 {
			u = slice(u, 0, 100, 0, 2) // [6.9 5 4]
		} else {
			u = b.node("Gather", []string{u, b.initInts("pick", 0, 2, 4)}, aInt("axis", 0))
		}
		ci := b.node("Cast", []string{u}, aInt("to", int64(tInt32))) // [6 5 4]
		cf := b.node("Cast", []string{ci}, aInt("to", int64(tFloat)))
		r := b.node("Reshape", []string{cf, b.initInts("shape", 1, -1, 1, 1)})
		b.nodeOut("Mul", []string{"x", r}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != "input[3 2 2] affine[3 2 2]" {
			t.Fatalf("opset %d: %s", opset, got)
		}
		if sc := g.Nodes[1].Scale; !slices.Equal(sc, []float64{6, 5, 4}) {
			t.Errorf("opset %d: scale %v, want [6 5 4]", opset, sc)
		}
	}
}

// PyTorch's F.pad at opset 11+ computes the ONNX pads from its own list with ConstantOfShape,
// Concat, Reshape, Slice (step -1), Transpose, Reshape and Cast.
func TestTorchPadChain(t *testing.T) {
	b := newBuilder(13, "x", -1, 1, 5, 5)
	zeros := b.node("ConstantOfShape", []string{b.initInts("four", 4)}, aTensor("value", intTensor("", 0)))
	cat := b.node("Concat", []string{b.initInts("torchpads", 1, 2, 1, 0), zeros}, aInt("axis", 0))
	r := b.node("Reshape", []string{cat, b.initInts("pairs", -1, 2)})
	rev := b.node("Slice", []string{r, b.initInts("st", -1), b.initInts("en", math.MinInt64+1), b.initInts("ax", 0), b.initInts("step", -1)})
	tr := b.node("Transpose", []string{rev}, aInts("perm", 1, 0))
	flat := b.node("Reshape", []string{tr, b.initInts("m1", -1)})
	pads := b.node("Cast", []string{flat}, aInt("to", int64(tInt64)))
	p := b.node("Pad", []string{"x", pads, ""}, aString("mode", "constant"))
	b.nodeOut("Conv", []string{p, b.init("w", []int64{1, 1, 3, 3}, nil)}, []string{"y"})
	g, _ := b.output("y").graph(t)
	// F.pad(x, (1, 2, 1, 0)): left 1, right 2, top 1, bottom 0.
	if got := ops(g); got != "input[1 5 5] conv[1 4 6]" || g.Nodes[1].Conv.Pad != [4]int{1, 1, 0, 2} {
		t.Errorf("%s pads %v", got, g.Nodes[1].Conv.Pad)
	}
}

func TestCastValues(t *testing.T) {
	for _, c := range []struct {
		to   int32
		v    float64
		want int64
	}{
		{tInt32, 6.9, 6}, {tInt32, -6.9, -6}, {tInt8, 200, -56}, {tUint8, -1, 255}, {tBool, 0.5, 1}, {tBool, 0, 0},
		{tInt64, math.NaN(), 0}, {tInt64, 1e300, math.MaxInt64}, {tInt64, -1e300, math.MinInt64},
	} {
		if got := castInt(c.to, c.v); got != c.want {
			t.Errorf("cast %g to %s = %d, want %d", c.v, typeName(c.to), got, c.want)
		}
	}
}
