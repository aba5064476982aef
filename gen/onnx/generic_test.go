package onnx

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// TestGenericOps imports every ONNX operator that gen/ir maps 1:1 to an op (OpDef.ONNX) with
// ONNX's default attributes, and checks the op, its attributes and, through the interpreter,
// its values: an op added to gen/ir with an ONNX name is covered here without a change.
func TestGenericOps(t *testing.T) {
	in := []float32{-7, -3, -1, 0, 0.5, 3, 7}
	seen := 0
	for _, d := range ir.Ops() {
		if d.ONNX == "" {
			continue
		}
		seen++
		t.Run(d.ONNX, func(t *testing.T) {
			if !slices.Contains(Operators(), d.ONNX) {
				t.Fatalf("Operators() lacks %s", d.ONNX)
			}
			newAttrs := d.ONNXNew
			if newAttrs == nil {
				newAttrs = d.New
			}
			if newAttrs != nil {
				for _, f := range ir.Fields(newAttrs()) {
					if f.Required {
						t.Skipf("attribute %s is required; no default model to build", f.ONNXName)
					}
				}
			}
			b := newBuilder(MaxOpset, "x", -1, int64(len(in)))
			b.nodeOut(d.ONNX, []string{"x"}, []string{"y"})
			g, w := b.output("y").graph(t)
			n := g.Output
			if n.Op != d.Op || len(g.Nodes) != 2 {
				t.Fatalf("graph %s, want input and %s", ops(g), d.Op)
			}
			var want ir.Attrs
			if newAttrs != nil {
				want = newAttrs()
			}
			if !reflect.DeepEqual(n.Attrs, want) {
				t.Errorf("attributes %+v, want ONNX's defaults %+v", n.Attrs, want)
			}
			if d.Unary == nil {
				return
			}
			f := d.Unary(n.Attrs)
			exp := make([]float64, len(in))
			for i, v := range in {
				exp[i] = f(float64(v))
			}
			near(t, run(t, g, w, in, 1), exp, 1e-6)
		})
	}
	if seen < 5 {
		t.Errorf("%d ops have an ONNX name; Relu, Sigmoid, Tanh, HardSwish and HardSigmoid at least should", seen)
	}
}

// TestGenericAttributes checks the generic lowering's attributes on HardSigmoid: given ones are
// read (FLOAT as the float32's shortest decimal), unknown ones and ones of the wrong type are
// refused, and x * HardSigmoid(x) with PyTorch's attributes still becomes a hardswish.
func TestGenericAttributes(t *testing.T) {
	b := newBuilder(13, "x", -1, 3)
	b.nodeOut("HardSigmoid", []string{"x"}, []string{"y"}, aFloat("alpha", 0.3), aFloat("beta", 0.25))
	g, _ := b.output("y").graph(t)
	if a := ir.As[*ir.HardSigmoidAttrs](g.Output); *a != (ir.HardSigmoidAttrs{Alpha: 0.3, Beta: 0.25}) {
		t.Errorf("attributes %+v", *a)
	}

	for _, c := range []struct {
		attr *onnxpb.AttributeProto
		want string
	}{
		{aFloat("gamma", 1), "attribute(s) gamma not supported"},
		{aInt("alpha", 1), "attribute alpha is INT, want FLOAT"},
	} {
		b := newBuilder(13, "x", -1, 3)
		b.nodeOut("HardSigmoid", []string{"x"}, []string{"y"}, c.attr)
		if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q lacks %q", err, c.want)
		}
	}
	b = newBuilder(13, "x", -1, 3)
	b.nodeOut("Relu", []string{"x", "x"}, []string{"y"})
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "takes one input, got 2") {
		t.Errorf("two inputs: %v", err)
	}

	b = newBuilder(13, "x", -1, 3)
	h := b.node("HardSigmoid", []string{"x"}, aFloat("alpha", 1.0/6))
	b.nodeOut("Mul", []string{h, "x"}, []string{"y"})
	g, _ = b.output("y").graph(t)
	if got := ops(g); got != "input[3] hardswish[3]" {
		t.Errorf("x * HardSigmoid(x): %s", got)
	}
}

// testAttrs has a field of every type the generic lowering reads.
type testAttrs struct {
	F    float64   `attr:"f"`
	I    int       `attr:"i" onnx:"onnx_i"`
	B    bool      `attr:"b"`
	S    string    `attr:"s"`
	P    [2]int    `attr:"p"`
	Fs   []float64 `attr:"fs"`
	Sh   ir.Shape  `attr:"sh"`
	Req  int       `attr:"req,required"`
	Dflt int       `attr:"dflt"`
}

func (a *testAttrs) Clone() ir.Attrs { c := *a; return &c }

// Default makes dflt default to i, as a pool's stride defaults to its kernel.
func (a *testAttrs) Default(field string) (any, bool) {
	if field == "dflt" {
		return a.I, true
	}
	return nil, false
}

func TestReadAttrs(t *testing.T) {
	newAttrs := func() ir.Attrs { return &testAttrs{F: 0.5, I: 2, S: "none", P: [2]int{1, 1}} }
	read := func(attrs ...*onnxpb.AttributeProto) (*testAttrs, string) {
		c := &call{attrs: map[string]*onnxpb.AttributeProto{}}
		for _, a := range attrs {
			c.attrs[a.GetName()] = a
		}
		a := newAttrs().(*testAttrs)
		c.readAttrs(a, newAttrs)
		return a, strings.Join(c.whys, "; ")
	}
	a, why := read(aFloat("f", 0.1), aInt("onnx_i", -3), aInt("b", 1), aString("s", "tanh"), aInts("p", 4, 5),
		&onnxpb.AttributeProto{Name: stringp("fs"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{0.1, 2}},
		aInts("sh", 3, 1, 1), aInt("req", 7))
	want := testAttrs{F: 0.1, I: -3, B: true, S: "tanh", P: [2]int{4, 5}, Fs: []float64{0.1, 2}, Sh: ir.Shape{3, 1, 1}, Req: 7, Dflt: -3}
	if why != "" || !reflect.DeepEqual(*a, want) {
		t.Errorf("read %+v (%s), want %+v", *a, why, want)
	}
	// Absent: the defaults, the Defaulter's after the given fields; a required one is missing.
	a, why = read()
	if want := (testAttrs{F: 0.5, I: 2, S: "none", P: [2]int{1, 1}, Dflt: 2}); !reflect.DeepEqual(*a, want) || why != "attribute req is required" {
		t.Errorf("defaults %+v (%s), want %+v", *a, why, want)
	}
	for _, c := range []struct {
		attr *onnxpb.AttributeProto
		want string
	}{
		{aInt("b", 2), "attribute b = 2: want 0 or 1"},
		{aInt("onnx_i", 1<<40), "out of range"},
		{aInts("p", 1, 2, 3), "want 2 values"},
		{aInts("sh", 1, 1<<40), "out of range"},
		{aFloat("s", 1), "attribute s is FLOAT, want STRING"},
		{aInt("i", 1), ""}, // the ONNX name is onnx_i: i is not read (Graph refuses it as unknown)
	} {
		_, why := read(c.attr, aInt("req", 1))
		if c.want == "" && why != "" || !strings.Contains(why, c.want) {
			t.Errorf("%s: %q, want %q", c.attr.GetName(), why, c.want)
		}
	}
}
