package ir

import (
	"fmt"
	"math"
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

func errf(n *Node, format string, args ...any) error {
	return &Error{Pos: n.Pos, Node: n.Name, Msg: fmt.Sprintf(format, args...)}
}

// ParamRoles lists, in order, the suffixes of the weight tensors an op reads; bias entries are
// present only when the node has a bias. Front ends name the tensors, inference shapes them.
func ParamRoles(n *Node) []string {
	switch n.Op {
	case OpConv:
		if n.Conv.Bias {
			return []string{"weight", "bias"}
		}
		return []string{"weight"}
	case OpLinear:
		if n.LinBias {
			return []string{"weight", "bias"}
		}
		return []string{"weight"}
	case OpBatchNorm:
		return []string{"weight", "bias", "running_mean", "running_var"}
	}
	return nil
}

// SetParamKeys names the node's weights prefix.role, torchvision's state_dict convention.
func (n *Node) SetParamKeys(prefix string) {
	n.Params = nil
	for _, r := range ParamRoles(n) {
		n.Params = append(n.Params, Param{Key: prefix + "." + r, Buffer: r == "running_mean" || r == "running_var"})
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
			return errf(n, "a graph has exactly one input")
		}
		if prev, dup := names[n.Name]; dup {
			return errf(n, "name %q is already used by the layer at %s", n.Name, prev.Pos)
		}
		names[n.Name] = n
		for _, in := range n.Inputs {
			if !seen[in] {
				return errf(n, "input %q is not computed before this layer (a cycle or a forward reference)", in.Name)
			}
			if in.TrainingOnly && !n.TrainingOnly {
				return errf(n, "reads %q, which is training-only", in.Name)
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
		return errf(g.Output, "the output layer is marked training-only")
	}
	if g.Classes != 0 && !g.Output.Shape.Equal(Shape{g.Classes}) {
		return errf(g.Output, "network output has shape %v, want [%d] for %d classes", g.Output.Shape, g.Classes, g.Classes)
	}
	return nil
}

func wantInputs(n *Node, k int) error {
	if len(n.Inputs) != k {
		return errf(n, "%s takes %d input(s), got %d", n.Op, k, len(n.Inputs))
	}
	return nil
}

func wantCHW(n *Node, s Shape) error {
	if len(s) != 3 {
		return errf(n, "%s needs a feature map [C H W] as input, got %v", n.Op, s)
	}
	return nil
}

// window computes a conv/pool output length the way PyTorch does.
func window(in, k, stride, padLo, padHi, dilation int, ceil bool) int {
	span := in + padLo + padHi - dilation*(k-1) - 1
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	out := (span+stride-1)/stride + 1
	// PyTorch drops a last window that would start inside the bottom/right padding.
	if (out-1)*stride >= in+padLo {
		out--
	}
	return out
}

// InferNode computes one node's output shape from its (already shaped) inputs and shapes its
// weights. Front ends call it while building so later layers can depend on earlier shapes.
func InferNode(n *Node) error {
	if n.Op == OpInput {
		if len(n.Shape) == 0 {
			return errf(n, "input has no shape")
		}
		for _, d := range n.Shape {
			if d <= 0 {
				return errf(n, "input shape %v has a non-positive dimension", n.Shape)
			}
		}
		return nil
	}
	if len(n.Inputs) == 0 {
		return errf(n, "%s has no input", n.Op)
	}
	in := n.Inputs[0].Shape
	var out Shape
	switch n.Op {
	case OpConv:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		a := n.Conv
		if err := checkWindow(n, a.Kernel, a.Stride, a.Pad, a.Dilation); err != nil {
			return err
		}
		if a.Out <= 0 {
			return errf(n, "conv needs out > 0 channels, got %d", a.Out)
		}
		if a.Groups <= 0 {
			return errf(n, "groups must be positive, got %d", a.Groups)
		}
		if in[0]%a.Groups != 0 || a.Out%a.Groups != 0 {
			return errf(n, "groups=%d must divide input channels %d and output channels %d", a.Groups, in[0], a.Out)
		}
		h := window(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], false)
		w := window(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], false)
		out = Shape{a.Out, h, w}
		shapes := []Shape{{a.Out, in[0] / a.Groups, a.Kernel[0], a.Kernel[1]}, {a.Out}}
		if err := shapeParams(n, shapes); err != nil {
			return err
		}
	case OpMaxPool, OpAvgPool:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		a := n.Pool
		if err := checkWindow(n, a.Kernel, a.Stride, a.Pad, [2]int{1, 1}); err != nil {
			return err
		}
		for i, p := range a.Pad {
			if 2*p > a.Kernel[i%2] {
				return errf(n, "pad %d must be at most half the kernel %d (a window entirely in padding has no value)", p, a.Kernel[i%2])
			}
		}
		h := window(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], 1, a.CeilMode)
		w := window(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], 1, a.CeilMode)
		out = Shape{in[0], h, w}
	case OpAdaptiveAvgPool:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		if n.OutSize[0] <= 0 || n.OutSize[1] <= 0 {
			return errf(n, "adaptive pooling needs a positive output size, got %v", n.OutSize)
		}
		out = Shape{in[0], n.OutSize[0], n.OutSize[1]}
	case OpGlobalAvgPool, OpGlobalMaxPool:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		out = Shape{in[0], 1, 1}
	case OpLRN:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		if n.LRN.Size <= 0 {
			return errf(n, "lrn size must be positive, got %d", n.LRN.Size)
		}
		if n.LRN.Lo < 0 || n.LRN.Lo >= n.LRN.Size {
			return errf(n, "lrn window start %d must be in [0, size)", n.LRN.Lo)
		}
		if !finite(n.LRN.Alpha) || !finite(n.LRN.Beta) || !finite(n.LRN.Bias) || n.LRN.Beta < 0 || n.LRN.Bias <= 0 && n.LRN.Alpha <= 0 {
			return errf(n, "lrn needs beta >= 0 and a positive k or alpha")
		}
		out = in
	case OpBatchNorm:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if len(in) != 3 && len(in) != 1 {
			return errf(n, "bn needs [C H W] or [C], got %v", in)
		}
		if !(n.Eps > 0) || !finite(n.Eps) {
			return errf(n, "bn eps must be positive, got %g", n.Eps)
		}
		c := Shape{in[0]}
		if err := shapeParams(n, []Shape{c, c, c, c}); err != nil {
			return err
		}
		out = in
	case OpReLU, OpReLU6, OpSigmoid, OpSiLU, OpTanh, OpHardSwish:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		out = in
	case OpHardSigmoid:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if !finite(n.HardAlpha) || !finite(n.HardBeta) || n.HardAlpha == 0 {
			return errf(n, "hardsigmoid needs a finite, non-zero alpha and a finite beta (got %g, %g)", n.HardAlpha, n.HardBeta)
		}
		out = in
	case OpDropout:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if !(n.Dropout >= 0 && n.Dropout <= 1) {
			return errf(n, "dropout probability %g is not in [0, 1]", n.Dropout)
		}
		out = in
	case OpAffine:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		for _, v := range append(append([]float64(nil), n.Scale...), n.Shift...) {
			if !finite(v) {
				return errf(n, "affine values must be finite")
			}
		}
		if len(n.Scale) != in[0] && len(n.Scale) != 1 || len(n.Shift) != in[0] && len(n.Shift) != 1 {
			return errf(n, "affine needs 1 or %d scale and shift values (one per channel), got %d and %d", in[0], len(n.Scale), len(n.Shift))
		}
		out = in
	case OpReshape:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if len(n.Target) == 0 || n.Target.Size() != in.Size() {
			return errf(n, "reshape of %v (%d values) to %v", in, in.Size(), n.Target)
		}
		out = append(Shape(nil), n.Target...)
	case OpClip:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if math.IsNaN(n.ClipMin) || math.IsNaN(n.ClipMax) || n.ClipMin > n.ClipMax {
			return errf(n, "clip bounds [%g, %g] are not an interval", n.ClipMin, n.ClipMax)
		}
		out = in
	case OpPad:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if err := wantCHW(n, in); err != nil {
			return err
		}
		for _, p := range n.Pads {
			if p < 0 {
				return errf(n, "negative padding %v", n.Pads)
			}
		}
		if !finite(n.PadValue) {
			return errf(n, "pad value %g is not finite", n.PadValue)
		}
		out = Shape{in[0], in[1] + n.Pads[0] + n.Pads[2], in[2] + n.Pads[1] + n.Pads[3]}
	case OpSoftmax, OpLogSoftmax:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		end := n.AxisEnd
		if end == 0 {
			end = len(in)
		}
		if n.Axis < 0 || n.Axis >= end || end > len(in) {
			return errf(n, "%s over dims [%d, %d) of %v", n.Op, n.Axis, end, in)
		}
		out = in
	case OpFlatten:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		out = Shape{in.Size()}
	case OpLinear:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		if len(in) != 1 {
			return errf(n, "linear needs a flat input; add a flatten before it (input is %v)", in)
		}
		if n.Features <= 0 {
			return errf(n, "linear needs out > 0 features, got %d", n.Features)
		}
		w := Shape{n.Features, in[0]}
		if g := n.Gemm; g != nil {
			if !finite(g.Alpha) || !finite(g.Beta) {
				return errf(n, "gemm alpha and beta must be finite")
			}
			if g.TransW {
				w = Shape{in[0], n.Features}
			}
		}
		if err := shapeParams(n, []Shape{w, {n.Features}}); err != nil {
			return err
		}
		out = Shape{n.Features}
	case OpAdd:
		if len(n.Inputs) < 2 {
			return errf(n, "add needs at least 2 inputs, got %d", len(n.Inputs))
		}
		for _, x := range n.Inputs[1:] {
			if !x.Shape.Equal(in) {
				return errf(n, "add of unequal shapes: %q is %v, %q is %v", n.Inputs[0].Name, in, x.Name, x.Shape)
			}
		}
		out = in
	case OpMul:
		if err := wantInputs(n, 2); err != nil {
			return err
		}
		s := n.Inputs[1].Shape
		chanScale := len(in) == 3 && len(s) == 3 && s[0] == in[0] && s[1] == 1 && s[2] == 1
		if !s.Equal(in) && !chanScale {
			return errf(n, "mul needs equal shapes or a [C 1 1] second input: %q is %v, %q is %v", n.Inputs[0].Name, in, n.Inputs[1].Name, s)
		}
		out = in
	case OpConcat:
		if len(n.Inputs) < 2 {
			return errf(n, "concat needs at least 2 inputs, got %d", len(n.Inputs))
		}
		c := 0
		for _, x := range n.Inputs {
			s := x.Shape
			if len(s) != len(in) || len(s) == 3 && (s[1] != in[1] || s[2] != in[2]) {
				return errf(n, "concat along channels needs equal spatial sizes: %q is %v, %q is %v", n.Inputs[0].Name, in, x.Name, s)
			}
			c += s[0]
		}
		out = append(Shape{c}, in[1:]...)
	default:
		return errf(n, "unknown op %q", n.Op)
	}
	for _, d := range out {
		if d <= 0 {
			return errf(n, "output shape %v is empty (input %v is too small for this layer)", out, in)
		}
	}
	n.Shape = out
	return nil
}

func checkWindow(n *Node, k, s [2]int, pad [4]int, d [2]int) error {
	for i := 0; i < 2; i++ {
		if k[i] <= 0 || s[i] <= 0 || d[i] <= 0 {
			return errf(n, "kernel, stride and dilation must be positive, got kernel %v stride %v dilation %v", k, s, d)
		}
	}
	for _, p := range pad {
		if p < 0 {
			return errf(n, "padding must not be negative, got %v", pad)
		}
	}
	return nil
}

// shapeParams assigns role shapes (weight, bias, ...) to the node's params in ParamRoles order.
func shapeParams(n *Node, shapes []Shape) error {
	roles := ParamRoles(n)
	if len(n.Params) != len(roles) {
		return errf(n, "%s has %d weight tensors, want %d (%v)", n.Op, len(n.Params), len(roles), roles)
	}
	for i := range n.Params {
		n.Params[i].Shape = shapes[i]
	}
	return nil
}

// finite reports whether v is a usable attribute value.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
