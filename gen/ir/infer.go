package ir

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// Error is a problem tied to a node, reported with its source position.
type Error struct {
	Pos  Pos
	Node string
	Msg  string
}

func (e *Error) Error() string {
	where := e.Pos.String()
	if where == "" {
		where = "graph"
	}
	if e.Node != "" {
		return fmt.Sprintf("%s: %s: %s", where, e.Node, e.Msg)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

// Errf is an error about node n.
func Errf(n *Node, format string, args ...any) error {
	return &Error{Pos: n.Pos, Node: n.Name, Msg: fmt.Sprintf(format, args...)}
}

// ParamRoles lists, in order, the suffixes of the weight tensors n reads; bias entries are
// present only when the node has a bias. Front ends name the tensors, inference shapes them.
func ParamRoles(n *Node) []string {
	if d := Def(n.Op); d != nil && d.Params != nil && n.Attrs != nil {
		return d.Params(n.Attrs)
	}
	return nil
}

// bufferRoles are weight tensors that are not trainable parameters (BN running statistics).
var bufferRoles = map[string]bool{"running_mean": true, "running_var": true}

// SetParamKeys names the node's weights prefix.role, torchvision's state_dict convention.
func (n *Node) SetParamKeys(prefix string) {
	n.Params = nil
	for _, r := range ParamRoles(n) {
		n.Params = append(n.Params, Param{Key: prefix + "." + r, Buffer: bufferRoles[r]})
	}
}

// Infer checks the graph's structure and computes every node's output shape and weight shapes.
func (g *Graph) Infer() error {
	if len(g.Nodes) == 0 || g.Nodes[0].Op != OpInput {
		return &Error{Pos: Pos{File: g.Source}, Msg: "graph has no input node"}
	}
	seen := map[*Node]bool{}
	names := map[string]*Node{}
	for i, n := range g.Nodes {
		if n.Op == OpInput && i != 0 {
			return Errf(n, "a graph has exactly one input")
		}
		if prev, dup := names[n.Name]; dup {
			return Errf(n, "name %q is already used by the layer at %s", n.Name, prev.Pos)
		}
		names[n.Name] = n
		for _, in := range n.Inputs {
			if !seen[in] {
				return Errf(n, "input %q is not computed before this layer (a cycle or a forward reference)", in.Name)
			}
			if in.TrainingOnly && !n.TrainingOnly {
				return Errf(n, "reads %q, which is training-only", in.Name)
			}
		}
		if err := InferNode(n); err != nil {
			return err
		}
		seen[n] = true
	}
	if g.Output == nil {
		g.Output = g.Nodes[len(g.Nodes)-1]
	}
	if !seen[g.Output] {
		return &Error{Pos: Pos{File: g.Source}, Msg: fmt.Sprintf("output %q is not a node of the graph", g.Output.Name)}
	}
	if g.Output.TrainingOnly {
		return Errf(g.Output, "the output layer is marked training-only")
	}
	if g.Classes != 0 && !g.Output.Shape.Equal(Shape{g.Classes}) {
		return Errf(g.Output, "network output has shape %v, want [%d] for %d classes", g.Output.Shape, g.Classes, g.Classes)
	}
	return nil
}

// InferNode computes one node's output shape from its (already shaped) inputs and shapes its
// weights, after checking its inputs and attributes against its OpDef. Front ends call it while
// building so later layers can depend on earlier shapes.
func InferNode(n *Node) error {
	d := Def(n.Op)
	if d == nil {
		return Errf(n, "unknown op %q", n.Op)
	}
	if d.New == nil && n.Attrs != nil || d.New != nil && reflect.TypeOf(n.Attrs) != reflect.TypeOf(d.New()) {
		return Errf(n, "internal error: %s has attributes of type %T", n.Op, n.Attrs)
	}
	for _, f := range Fields(n.Attrs) {
		if v := f.Value; f.Values != nil && !slices.Contains(f.Values, v.String()) {
			return Errf(n, "%s: %s %q is not one of %s", n.Op, f.Name, v.String(), strings.Join(f.Values, ", "))
		}
	}
	in := make([]Shape, len(n.Inputs))
	for i, x := range n.Inputs {
		in[i] = x.Shape
	}
	switch {
	case n.Op == OpInput:
	case d.Inputs == Variadic && len(in) < 2:
		return Errf(n, "%s needs at least 2 inputs, got %d", n.Op, len(in))
	case d.Inputs != Variadic && len(in) != d.Inputs:
		return Errf(n, "%s takes %d input(s), got %d", n.Op, d.Inputs, len(in))
	}
	out, params, err := d.Infer(n, in)
	if err != nil {
		return err
	}
	if err := checkShape(n, out); err != nil {
		return err
	}
	roles := ParamRoles(n)
	if len(n.Params) != len(roles) || len(params) != len(roles) {
		return Errf(n, "%s has %d weight tensors, want %d (%v)", n.Op, len(n.Params), len(roles), roles)
	}
	for i := range n.Params {
		if err := checkShape(n, params[i]); err != nil {
			return err
		}
		n.Params[i].Shape = params[i]
	}
	n.Shape = out
	return nil
}

// MaxElems bounds the elements of any one tensor (2^31-1): a per-image tensor as large is
// already far outside what a CNN uses, and every size computed from it fits an int64.
const MaxElems = math.MaxInt32

// checkShape refuses empty and oversized shapes, so no later size computation can overflow.
func checkShape(n *Node, s Shape) error {
	size := int64(1)
	for _, d := range s {
		if d <= 0 {
			return Errf(n, "output shape %v is empty (the input is too small for this layer)", s)
		}
		if size *= int64(min(d, MaxElems+1)); size > MaxElems {
			return Errf(n, "shape %v has more than %d elements", s, MaxElems)
		}
	}
	return nil
}

// wantCHW checks that a node's input is a feature map [C H W].
func wantCHW(n *Node, s Shape) error {
	if len(s) != 3 {
		return Errf(n, "%s needs a feature map [C H W] as input, got %v", n.Op, s)
	}
	return nil
}

// Window computes a conv/pool output length the way PyTorch does (pooling_output_shape_pad_lr):
// the number of windows of extent dilation*(k-1)+1 at the given stride over the padded input,
// rounding up in ceil mode except that a last window starting inside the end padding is dropped.
// It is 0 when no window fits.
func Window(in, k, stride, padLo, padHi, dilation int, ceil bool) int {
	span := int64(in) + int64(padLo) + int64(padHi) - int64(dilation)*int64(k-1) - 1
	if span < 0 || stride <= 0 {
		return 0
	}
	s := int64(stride)
	if !ceil {
		return clampInt(span/s + 1)
	}
	out := (span+s-1)/s + 1
	if (out-1)*s >= int64(in)+int64(padLo) {
		out--
	}
	return clampInt(out)
}

// clampInt keeps a count that cannot be a real size above MaxElems, where checkShape refuses it.
func clampInt(v int64) int { return int(min(v, MaxElems+1)) }

// checkWindow checks a conv or pool window's attributes.
func checkWindow(n *Node, k, s [2]int, pad [4]int, d [2]int) error {
	for i := 0; i < 2; i++ {
		if k[i] <= 0 || s[i] <= 0 || d[i] <= 0 {
			return Errf(n, "kernel, stride and dilation must be positive, got kernel %v stride %v dilation %v", k, s, d)
		}
		if k[i] > MaxElems || s[i] > MaxElems || d[i] > MaxElems {
			return Errf(n, "kernel %v, stride %v or dilation %v is too large (max %d)", k, s, d, MaxElems)
		}
	}
	for _, p := range pad {
		if p < 0 || p > MaxElems {
			return Errf(n, "padding %v must be in [0, %d]", pad, MaxElems)
		}
	}
	return nil
}

// finite reports whether v is a usable attribute value.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// same is the Infer of ops whose output has their first input's shape.
func same(n *Node, in []Shape) (Shape, []Shape, error) { return in[0], nil, nil }
