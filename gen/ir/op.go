package ir

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Attrs are one op's typed attributes: each op with attributes has a struct of its own
// (*ConvAttrs, *PoolAttrs, ...), ops without have nil. Fields tagged `attr:"name"` are the
// attributes as the front ends spell them (see Fields).
type Attrs interface {
	// Clone returns a deep copy.
	Clone() Attrs
}

// Defaulter is implemented by attributes whose default depends on other attributes (a pool's
// stride is its kernel): the value of the named field when a front end does not give it, or
// false to use the value OpDef.New gives.
type Defaulter interface {
	Default(field string) (any, bool)
}

// As returns n's attributes as T. Every node's attributes have the type its OpDef.New returns
// (Graph.Infer checks it), so a mismatch is a bug in the caller.
func As[T Attrs](n *Node) T {
	a, ok := n.Attrs.(T)
	if !ok {
		panic(fmt.Sprintf("ir: %s %q has attributes %T, not %T", n.Op, n.Name, n.Attrs, *new(T)))
	}
	return a
}

// Flags say how an op may be placed and run; see OpDef.
type Flags uint8

const (
	// Elementwise ops map each element (or channel) of their single input to the same position of
	// an output of the same shape: activations, batch norm, affine, clip, dropout. They may run in
	// place, and count no activation bytes (PyTorch runs them in place or folds them).
	Elementwise Flags = 1 << iota
	// InPlace ops may write their output over their first input (add, mul, softmax), but write a
	// tensor of their own in the activation count.
	InPlace
	// View ops reinterpret their input's buffer with another shape: no code, no memory.
	View
	// InferenceIdentity ops are the identity at inference (dropout): the passes remove them.
	InferenceIdentity
)

// Variadic is OpDef.Inputs of ops that take two or more inputs.
const Variadic = -1

// OpDef is everything the generator knows about one op, in one place: its attributes, its
// inputs and weights, shape inference, its cost, how it may be placed, its float64 semantics
// when it is elementwise, and the kernel it runs as. Front ends parse into it and back ends read
// it; see docs/architecture.md, "Adding an op".
type OpDef struct {
	Op  Op
	Doc string // what it computes, one line, in PyTorch's terms

	// New returns attributes holding the spec language's defaults (nil for ops without).
	New func() Attrs
	// ONNX is the ONNX operator lowered 1:1 to this op from the attributes of the same names
	// (simple elementwise ops); "" when the ONNX front end lowers it by hand or not at all.
	// ONNXNew gives ONNX's defaults where they differ from New's.
	ONNX    string
	ONNXNew func() Attrs

	Inputs int // number of inputs, or Variadic
	// Params lists the suffixes of the weight tensors the op reads, in order (nil: none).
	Params func(a Attrs) []string
	// Infer computes the output shape and the weights' shapes (in Params order) from the input
	// shapes, which have already been checked against Inputs. Errors come from Errf.
	Infer func(n *Node, in []Shape) (Shape, []Shape, error)
	// MACs counts multiply-accumulates per image (nil: none).
	MACs  func(n *Node) int64
	Flags Flags

	// Unary is an elementwise op's function in float64: the reference interpreter's semantics.
	Unary func(a Attrs) func(float64) float64
	// Act is the kernel activation an elementwise op runs as (nil: it has a kernel of its own).
	Act func(a Attrs) KernelAct
	// Blocked reports whether the node's kernel can read and write its feature maps in NCHW16c
	// (see Layout and CanBlock); nil: only NCHW, unless the op is an activation (Act).
	Blocked func(n *Node) bool
}

// KernelAct names the activation kernel an elementwise op runs as: the name kernels.ActByName
// takes and the activation's two parameters. Epilogue is set when a conv, linear or add can
// apply it to its output as it stores it (epilogue activations take no parameters).
type KernelAct struct {
	Name        string
	Alpha, Beta float64
	Epilogue    bool
}

// Is reports whether the op has all the given flags.
func (d *OpDef) Is(f Flags) bool { return d.Flags&f == f }

var defs = map[Op]*OpDef{}

func register(ds ...*OpDef) {
	for _, d := range ds {
		if defs[d.Op] != nil {
			panic("ir: op " + string(d.Op) + " registered twice")
		}
		if d.Infer == nil {
			panic("ir: op " + string(d.Op) + " has no Infer")
		}
		defs[d.Op] = d
	}
}

// Def returns the definition of op, or nil for an unknown op.
func Def(op Op) *OpDef { return defs[op] }

// Ops lists every op's definition, sorted by name.
func Ops() []*OpDef {
	ds := make([]*OpDef, 0, len(defs))
	for _, d := range defs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Op < ds[j].Op })
	return ds
}

// NewNode returns a node of op with the op's default attributes.
func NewNode(op Op, name string, inputs ...*Node) *Node {
	n := &Node{Op: op, Name: name, Inputs: inputs}
	if d := Def(op); d != nil && d.New != nil {
		n.Attrs = d.New()
	}
	return n
}

// Field is one attribute of an op as front ends spell it: a settable struct field.
type Field struct {
	Name     string // in specs and, unless ONNXName says otherwise, in ONNX
	ONNXName string
	Required bool          // no default: front ends must give it
	Values   []string      // a string attribute's possible values (tag values:"a,b"), nil for any
	Value    reflect.Value // settable: int, float64, bool, string, [2]int, [4]int, []float64 or Shape
}

// Fields lists the tagged fields of a (a pointer to an attribute struct) in declaration order,
// embedded structs' fields in place. The tag is `attr:"name[,required]"`, with `onnx:"name"` when
// ONNX names the attribute differently and `values:"a,b"` for a string with a fixed set of values
// (InferNode checks them).
func Fields(a Attrs) []Field {
	if a == nil {
		return nil
	}
	return fieldsOf(reflect.ValueOf(a).Elem())
}

func fieldsOf(v reflect.Value) []Field {
	var fs []Field
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			fs = append(fs, fieldsOf(v.Field(i))...)
			continue
		}
		tag, ok := sf.Tag.Lookup("attr")
		if !ok {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		f := Field{Name: name, ONNXName: name, Required: opt == "required", Value: v.Field(i)}
		if o, ok := sf.Tag.Lookup("onnx"); ok {
			f.ONNXName = o
		}
		if vs, ok := sf.Tag.Lookup("values"); ok {
			f.Values = strings.Split(vs, ",")
		}
		fs = append(fs, f)
	}
	return fs
}

// Default is the value field takes in a when a front end leaves it out: the Defaulter's, else
// the value in fresh attributes from newAttrs (OpDef.New or ONNXNew).
func Default(a Attrs, newAttrs func() Attrs, field string) any {
	if d, ok := a.(Defaulter); ok {
		if v, ok := d.Default(field); ok {
			return v
		}
	}
	for _, f := range Fields(newAttrs()) {
		if f.Name == field {
			return f.Value.Interface()
		}
	}
	return nil
}

// IsDefault reports whether field f of a holds its default value (so a writer may omit it).
func IsDefault(a Attrs, newAttrs func() Attrs, f Field) bool {
	return !f.Required && reflect.DeepEqual(f.Value.Interface(), Default(a, newAttrs, f.Name))
}
