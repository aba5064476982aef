// Package ir is the one graph representation every front end (YAML specs, ONNX) lowers to and every
// pass, the reference interpreter and the emitter read. Shapes are static except for the batch
// dimension, which is never stored: a Shape is the per-image shape (C,H,W for feature maps, F for
// flat vectors).
package ir

import (
	"fmt"
	"strings"
)

// Op names an operation. The set is closed: passes and back ends switch over it.
type Op string

const (
	OpInput           Op = "input"
	OpConv            Op = "conv"
	OpMaxPool         Op = "maxpool"
	OpAvgPool         Op = "avgpool"
	OpAdaptiveAvgPool Op = "adaptive_avgpool" // output size fixed, windows as PyTorch computes them
	OpGlobalAvgPool   Op = "global_avgpool"
	OpGlobalMaxPool   Op = "global_maxpool"
	OpLRN             Op = "lrn"
	OpBatchNorm       Op = "bn"
	OpReLU            Op = "relu"
	OpReLU6           Op = "relu6"
	OpSigmoid         Op = "sigmoid"
	OpSiLU            Op = "silu"
	OpTanh            Op = "tanh"
	OpHardSigmoid     Op = "hardsigmoid"
	OpHardSwish       Op = "hardswish"
	OpFlatten         Op = "flatten"
	OpLinear          Op = "linear"
	OpDropout         Op = "dropout"
	OpConcat          Op = "concat" // along channels
	OpAdd             Op = "add"    // elementwise, equal shapes
	OpMul             Op = "mul"    // elementwise; the second input may be [C,1,1] (squeeze-and-excitation)
	OpSoftmax         Op = "softmax"
	OpAffine          Op = "affine"  // per-channel x*scale+shift with constant scale/shift (torchvision's transform_input)
	OpReshape         Op = "reshape" // a view with another per-image shape (Target)
	OpClip            Op = "clip"    // clamp to [ClipMin, ClipMax]
	OpLogSoftmax      Op = "logsoftmax"
	OpPad             Op = "pad" // constant padding of H and W (Pads, PadValue)
)

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

// ConvAttrs describe a 2-D convolution. Pads are top, left, bottom, right.
type ConvAttrs struct {
	Out      int
	Kernel   [2]int
	Stride   [2]int
	Pad      [4]int
	Dilation [2]int
	Groups   int
	Bias     bool
}

// PoolAttrs describe max and average pooling. Pads are top, left, bottom, right.
type PoolAttrs struct {
	Kernel          [2]int
	Stride          [2]int
	Pad             [4]int
	CeilMode        bool
	CountIncludePad bool // average pooling only; PyTorch's default is true
}

// LRNAttrs follow PyTorch/ONNX: b = a / (k + alpha/size * sum(a^2))^beta over size channels,
// the window [c-Lo, c-Lo+size). Lo is size/2 in PyTorch and (size-1)/2 in ONNX: they differ
// for even sizes.
type LRNAttrs struct {
	Size              int
	Alpha, Beta, Bias float64
	Lo                int
}

// GemmAttrs generalize a linear layer to ONNX's Gemm: y = Alpha*W x + Beta*b, with W stored
// [in, out] when TransW (ONNX transB=0). A nil *GemmAttrs is PyTorch's nn.Linear.
type GemmAttrs struct {
	Alpha, Beta float64
	TransW      bool
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

	Conv                *ConvAttrs
	Pool                *PoolAttrs
	LRN                 *LRNAttrs
	Eps                 float64   // bn
	OutSize             [2]int    // adaptive_avgpool
	Features            int       // linear: output features
	LinBias             bool      // linear: has bias
	Scale               []float64 // affine
	Shift               []float64 // affine
	Dropout             float64   // dropout probability (identity at inference)
	HardAlpha, HardBeta float64   // hardsigmoid: max(0, min(1, alpha*x+beta))

	Target           Shape      // reshape: the per-image output shape
	ClipMin, ClipMax float64    // clip
	Axis, AxisEnd    int        // softmax, logsoftmax: normalize over per-image dims [Axis, AxisEnd); AxisEnd 0 = to the end
	Pads             [4]int     // pad: top, left, bottom, right
	PadValue         float64    // pad
	Gemm             *GemmAttrs // linear: ONNX Gemm's alpha, beta and weight layout

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
	// Act is an activation applied last (OpReLU, OpReLU6, OpSigmoid, OpSiLU, ...), "" for none.
	Act Op
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
		if n.Conv != nil {
			a := *n.Conv
			cp.Conv = &a
		}
		if n.Pool != nil {
			a := *n.Pool
			cp.Pool = &a
		}
		if n.LRN != nil {
			a := *n.LRN
			cp.LRN = &a
		}
		if n.Gemm != nil {
			a := *n.Gemm
			cp.Gemm = &a
		}
		cp.Target = append(Shape(nil), n.Target...)
		cp.Scale = append([]float64(nil), n.Scale...)
		cp.Shift = append([]float64(nil), n.Shift...)
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
func IsView(op Op) bool { return op == OpFlatten || op == OpReshape }

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
