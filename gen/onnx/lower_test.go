package onnx

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
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
	if a := ir.As[*ir.ConvAttrs](conv); conv.Name != "Conv_0" || a.Pad != [4]int{1, 1, 1, 1} || !a.Bias || a.Out != 4 {
		t.Errorf("conv %s %+v", conv.Name, *a)
	}
	if eps := ir.As[*ir.BatchNormAttrs](g.Nodes[2]).Eps; eps != 1e-5 {
		t.Errorf("bn eps %v, want exactly 1e-5", eps)
	}
	if fc := ir.As[*ir.LinearAttrs](g.Nodes[6]); *fc != (ir.LinearAttrs{Out: 10, Bias: true, Alpha: 1, Beta: 1}) {
		t.Errorf("fc %+v", *fc)
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
	for _, s := range []string{`"/Transpose_0" (Transpose): perm [3 2 1 0] moves the batch dimension`, "bogus", "weight \"w\" has dims [2 3 3]", `"/Resize_4"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
}

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
