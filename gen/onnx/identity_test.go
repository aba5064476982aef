package onnx

import (
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestLongIdentityChain imports a Gemm behind 100,000 alternating Identity and Dropout nodes.
// Resolving each name through the chain afresh is quadratic: 5·10⁹ steps here, minutes instead
// of the fraction of a second the linear resolution takes.
func TestLongIdentityChain(t *testing.T) {
	const n = 100_000
	b := newBuilder(13, "x", -1, 3)
	x := "x"
	for i := range n {
		if i%2 == 0 {
			x = b.node("Identity", []string{x})
		} else {
			x = b.node("Dropout", []string{x}, aFloat("ratio", 0.5))
		}
	}
	b.nodeOut("Gemm", []string{x, b.init("w", []int64{2, 3}, []float32{1, 2, 3, -1, 0, 1})}, []string{"y"}, aInt("transB", 1))
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[3] linear[2]" || g.Nodes[1].Inputs[0] != g.Nodes[0] {
		t.Fatalf("graph %s", got)
	}
	near(t, run(t, g, w, []float32{1, 1, 1, 2, 0, -1}, 2), []float64{6, 0, -1, -3}, 0)
}

func TestResolver(t *testing.T) {
	alias := map[string]string{"b": "a", "c": "b", "d": "c", "x": "y", "y": "z", "z": "x", "e": ""}
	r := resolver(alias)
	for s, want := range map[string]string{"d": "a", "c": "a", "a": "a", "q": "q", "e": ""} {
		if got := r(s); got != want {
			t.Errorf("resolve(%q) = %q, want %q", s, got, want)
		}
	}
	// On a cycle every name resolves to one of the cycle, and again the same.
	for _, s := range []string{"x", "y", "z", "y"} {
		if got := r(s); !strings.Contains("xyz", got) || len(got) != 1 {
			t.Errorf("resolve(%q) = %q, want a name of the cycle", s, got)
		}
	}

	// A cycle of Identities in a model is an undefined value.
	b := newBuilder(13, "x", -1, 3)
	b.nodeOut("Identity", []string{"i2"}, []string{"i1"})
	b.nodeOut("Identity", []string{"i1"}, []string{"i2"})
	b.nodeOut("Add", []string{"x", "i1"}, []string{"y"})
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "is not produced by any node") {
		t.Errorf("identity cycle: %v", err)
	}
}

// TestDropoutConstantOperands: torch.onnx writes F.dropout(x, p=0.0, training=True) (as
// torchvision's Swin attention calls it in eval mode) as a Dropout-12+ whose ratio and
// training_mode are Constant nodes: ratio 0 makes it the identity whatever training_mode is, so
// it imports; a nonzero ratio in training mode is random, and refused naming the node, whether
// its operands are Constant nodes (in any file order), value_float/value_int Constants or
// initializers.
func TestDropoutConstantOperands(t *testing.T) {
	boolConst := func(b *builder, v bool) string {
		raw := []byte{0}
		if v {
			raw[0] = 1
		}
		return b.node("Constant", nil, aTensor("value", &onnxpb.TensorProto{Dims: []int64{}, DataType: proto.Int32(9), RawData: raw}))
	}
	floatConst := func(b *builder, v float32) string {
		return b.node("Constant", nil, aTensor("value", floatTensor("", []int64{}, []float32{v})))
	}
	for _, c := range []struct {
		name   string
		ratio  func(b *builder) string
		train  func(b *builder) string
		after  bool // the Constants follow the Dropout in the file
		refuse bool
	}{
		{"ratio 0, training", func(b *builder) string { return floatConst(b, 0) }, func(b *builder) string { return boolConst(b, true) }, false, false},
		{"ratio 0 after, training", func(b *builder) string { return floatConst(b, 0) }, func(b *builder) string { return boolConst(b, true) }, true, false},
		{"ratio 0.5, not training", func(b *builder) string { return floatConst(b, 0.5) }, func(b *builder) string { return boolConst(b, false) }, true, false},
		{"value_float 0, value_int 1", func(b *builder) string { return b.node("Constant", nil, aFloat("value_float", 0)) },
			func(b *builder) string { return b.node("Constant", nil, aInt("value_int", 1)) }, false, false},
		{"ratio 0.5, training", func(b *builder) string { return floatConst(b, 0.5) }, func(b *builder) string { return boolConst(b, true) }, false, true},
		{"ratio 0.5 after, training", func(b *builder) string { return floatConst(b, 0.5) }, func(b *builder) string { return boolConst(b, true) }, true, true},
		{"initializer ratio 0.5, training", func(b *builder) string { return b.init("ratio", []int64{}, []float32{0.5}) }, func(b *builder) string { return boolConst(b, true) }, false, true},
		{"computed ratio, training", func(b *builder) string { return b.node("ReduceMean", []string{"x"}) }, func(b *builder) string { return boolConst(b, true) }, false, true},
	} {
		b := newBuilder(13, "x", -1, 4)
		x := b.node("Relu", []string{"x"})
		ratio, train := "/r", "/t"
		if !c.after {
			ratio, train = c.ratio(b), c.train(b)
		}
		b.nodeOut("Dropout", []string{x, ratio, train}, []string{"y"})
		if c.after {
			b.g.Node[len(b.g.Node)-1].Input[1], b.g.Node[len(b.g.Node)-1].Input[2] = c.ratio(b), c.train(b)
		}
		b.output("y")
		if c.refuse {
			if err := b.graphErr(t); err == nil || !strings.Contains(err.Error(), `(Dropout): training_mode is not a constant false and the ratio is not a constant 0`) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		g, w := b.graph(t)
		if got := ops(g); got != "input[4] relu[4]" {
			t.Errorf("%s: %s", c.name, got)
		}
		near(t, run(t, g, w, []float32{1, -2, 3, -4}, 1), []float64{1, 0, 3, 0}, 0)
	}
}
