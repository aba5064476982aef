package ir

import (
	"reflect"
	"testing"
)

// TestOpTable checks every op's definition for what the front and back ends rely on.
func TestOpTable(t *testing.T) {
	kinds := map[reflect.Type]bool{reflect.TypeOf(0): true, reflect.TypeOf(0.0): true, reflect.TypeOf(false): true,
		reflect.TypeOf(""): true, reflect.TypeOf([2]int{}): true, reflect.TypeOf([4]int{}): true,
		reflect.TypeOf([]float64{}): true, reflect.TypeOf(Shape{}): true}
	for _, d := range Ops() {
		if d.Doc == "" {
			t.Errorf("%s: no Doc", d.Op)
		}
		if d.Unary != nil && !d.Is(Elementwise) {
			t.Errorf("%s: Unary without the Elementwise flag", d.Op)
		}
		if d.Act != nil && d.Unary == nil {
			t.Errorf("%s: a kernel activation without float64 semantics (Unary)", d.Op)
		}
		if d.ONNXNew != nil && (d.New == nil || reflect.TypeOf(d.ONNXNew()) != reflect.TypeOf(d.New())) {
			t.Errorf("%s: ONNXNew and New make different types", d.Op)
		}
		if d.New == nil {
			continue
		}
		a := d.New()
		if reflect.TypeOf(a).Kind() != reflect.Pointer {
			t.Errorf("%s: attributes %T are not a pointer", d.Op, a)
		}
		seen := map[string]bool{}
		for _, f := range Fields(a) {
			if seen[f.Name] {
				t.Errorf("%s: attribute %q twice", d.Op, f.Name)
			}
			seen[f.Name] = true
			if f.Values != nil && (f.Value.Kind() != reflect.String || !slicesContains(f.Values, f.Value.String())) {
				t.Errorf("%s: attribute %q lists values %v, but is not a string with one of them by default", d.Op, f.Name, f.Values)
			}
			if !kinds[f.Value.Type()] {
				t.Errorf("%s: attribute %q has type %s, which front ends cannot read", d.Op, f.Name, f.Value.Type())
			}
		}
		// Clone is deep: changing the copy leaves the original alone.
		c := a.Clone()
		if !reflect.DeepEqual(a, c) {
			t.Errorf("%s: Clone differs from the original", d.Op)
		}
		for _, f := range Fields(c) {
			mutate(f.Value)
		}
		if len(Fields(c)) > 0 && reflect.DeepEqual(a, c) || !reflect.DeepEqual(a, d.New()) {
			t.Errorf("%s: Clone shares state with the original", d.Op)
		}
	}
}

func TestDefaults(t *testing.T) {
	p := &PoolAttrs{Kernel: [2]int{3, 2}}
	if got := Default(p, Def(OpMaxPool).New, "stride"); got != [2]int{3, 2} {
		t.Errorf("a pool's stride defaults to %v, want its kernel", got)
	}
	l := &LRNAttrs{Size: 5}
	if got := Default(l, Def(OpLRN).New, "lo"); got != 2 {
		t.Errorf("lrn lo defaults to %v, want size/2", got)
	}
	if got := Default(l, Def(OpLRN).New, "beta"); got != 0.75 {
		t.Errorf("lrn beta defaults to %v, want 0.75", got)
	}
	h := Def(OpHardSigmoid)
	if got := Default(&HardSigmoidAttrs{}, h.ONNXNew, "alpha"); got != 0.2 {
		t.Errorf("ONNX's hardsigmoid alpha defaults to %v, want 0.2", got)
	}
}

func TestShapeLimits(t *testing.T) {
	in := NewNode(OpInput, "input")
	in.Shape = Shape{4, 8, 8}
	c := NewNode(OpConv, "c", in)
	a := As[*ConvAttrs](c)
	a.Out, a.Kernel, a.Pad = 4, [2]int{3, 3}, [4]int{1000000000, 1000000000, 1000000000, 1000000000}
	c.SetParamKeys("c")
	if err := InferNode(in); err != nil {
		t.Fatal(err)
	}
	if err := InferNode(c); err == nil {
		t.Errorf("a conv whose output has %v elements is accepted", c.Shape)
	}
	a.Pad, a.Kernel, a.Out = [4]int{}, [2]int{3037000500, 3}, 4
	if err := InferNode(c); err == nil {
		t.Errorf("a kernel of 3037000500 is accepted")
	}
}

// mutate changes v, whatever its attribute type.
func mutate(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	case reflect.Array:
		mutate(v.Index(0))
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		if v.Float() == 0.5 {
			v.SetFloat(0.25)
		} else {
			v.SetFloat(0.5)
		}
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.String:
		v.SetString(v.String() + "x")
	}
}

func slicesContains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
