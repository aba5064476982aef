// Package ir is the one graph representation every front end (YAML specs, ONNX) lowers to and every
// pass, the reference interpreter and the emitter read. Shapes are static except for the batch
// dimension, which is never stored: a Shape is the per-image shape (C,H,W for feature maps, F for
// flat vectors).
package ir

import (
	"fmt"
	"strings"
)

// Op names an operation. Each op is defined in one place, its OpDef (see Def), in the ops_*.go
// file of its family.
type Op string

// Pos is where a node came from, for error messages: a spec file position or an ONNX node name.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Shape is a per-image shape; the batch dimension is implicit.
type Shape []int

// Size is the number of elements per image.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Param is one weight tensor a node reads, keyed by its state_dict name.
type Param struct {
	Key   string // full weight name, e.g. "layer1.0.conv1.weight"
	Shape Shape
	// Buffer marks tensors that are not trainable parameters (BN running statistics): they are
	// loaded like weights but not counted in parameter totals, as torchvision does not count them.
	Buffer bool
}

// Node is one operation. Inputs point at earlier nodes of the same graph.
type Node struct {
	Name   string // unique in the graph; the module path for nodes with weights
	Op     Op
	Inputs []*Node
	Shape  Shape // output shape, set by inference
	Params []Param
	Pos    Pos

	// TrainingOnly marks nodes that only feed training-time heads (GoogLeNet's auxiliary
	// classifiers). They count in train_params and are dropped by inference passes.
	TrainingOnly bool

	// Attrs are the op's attributes: the type OpDef.New returns, nil for ops without.
	Attrs Attrs
	// Layout is the memory layout of the node's output, set by the layout pass (NCHW before).
	Layout Layout

	// Fused is set by the inference passes (gen/passes): work a back end does in this node's
	// epilogue instead of in nodes of its own. Front ends leave it nil.
	Fused *Fusion
}

// Fusion is what the inference passes folded into a conv or linear node (or, for Act, an add).
type Fusion struct {
	// BN is a batch norm folded into a conv's weights at load time: its tensor keys (weight, bias,
	// running_mean, running_var) and eps.
	BN *FoldedBN
	// Residual is a tensor added to the output before Act (a residual shortcut).
	Residual *Node
	// Act is an elementwise op applied last (OpReLU, OpSiLU, ...), "" for none, with its
	// attributes (nil for ops without).
	Act      Op
	ActAttrs Attrs
}

// FoldedBN names the batch-norm tensors folded into a conv.
type FoldedBN struct {
	Name   string // the BN node's name, for comments and messages
	Params []Param
	Eps    float64
}

// Preprocess is what a network expects of an image before its input layer. It belongs to the
// weights as much as to the architecture, so specs give a default that callers may override.
type Preprocess struct {
	Resize        int       // shorter side resized to this, 0 = resize straight to the input size
	Crop          int       // center crop, 0 = none
	Interpolation string    // "bilinear", "bicubic", "nearest"
	Mean, Std     []float64 // per channel, applied to [0,1] pixel values
	Grayscale     bool      // single-channel input
}

// Graph is a network: nodes in topological order, the first being the input.
type Graph struct {
	Name        string
	Description string
	Nodes       []*Node
	Output      *Node
	Classes     int
	Labels      string // name of a built-in label set ("imagenet", "fashion-mnist") or ""
	Preprocess  Preprocess
	Source      string // file the graph came from, for messages
}

// Input returns the graph's input node.
func (g *Graph) Input() *Node { return g.Nodes[0] }

// Clone returns a deep copy whose nodes can be rewritten without touching g.
func (g *Graph) Clone() *Graph {
	c := *g
	m := make(map[*Node]*Node, len(g.Nodes))
	c.Nodes = make([]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		cp := *n
		cp.Shape = append(Shape(nil), n.Shape...)
		cp.Params = append([]Param(nil), n.Params...)
		if n.Attrs != nil {
			cp.Attrs = n.Attrs.Clone()
		}
		c.Nodes[i] = &cp
		m[n] = &cp
	}
	for _, n := range c.Nodes {
		ins := make([]*Node, len(n.Inputs))
		for i, in := range n.Inputs {
			ins[i] = m[in]
		}
		n.Inputs = ins
		if n.Fused != nil {
			f := *n.Fused
			if f.Residual != nil {
				f.Residual = m[f.Residual]
			}
			if f.ActAttrs != nil {
				f.ActAttrs = f.ActAttrs.Clone()
			}
			if f.BN != nil {
				bn := *f.BN
				bn.Params = append([]Param(nil), bn.Params...)
				f.BN = &bn
			}
			n.Fused = &f
		}
	}
	c.Output = m[g.Output]
	c.Preprocess.Mean = append([]float64(nil), g.Preprocess.Mean...)
	c.Preprocess.Std = append([]float64(nil), g.Preprocess.Std...)
	return &c
}

// Consumers maps each node to the nodes that read it, in graph order (fused residuals included).
func (g *Graph) Consumers() map[*Node][]*Node {
	m := map[*Node][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			m[in] = append(m[in], n)
		}
		if n.Fused != nil && n.Fused.Residual != nil {
			m[n.Fused.Residual] = append(m[n.Fused.Residual], n)
		}
	}
	return m
}

// Head returns the classifier's last linear layer (the output, or the layer a final softmax
// reads), or nil when the network does not end in one.
func (g *Graph) Head() *Node {
	n := g.Output
	for n.Op == OpSoftmax {
		n = n.Inputs[0]
	}
	if n.Op != OpLinear {
		return nil
	}
	return n
}

// IsView reports whether op only reinterprets its input's buffer with another shape.
func IsView(op Op) bool { d := Def(op); return d != nil && d.Is(View) }

// Node returns the node with the given name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// AllParams lists every weight tensor of the graph in node order.
func (g *Graph) AllParams() []ParamRef {
	var ps []ParamRef
	for _, n := range g.Nodes {
		for i := range n.Params {
			ps = append(ps, ParamRef{Node: n, Param: n.Params[i]})
		}
	}
	return ps
}

// ParamRef is a parameter with the node that owns it.
type ParamRef struct {
	Node *Node
	Param
}
