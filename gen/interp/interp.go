// Package interp is the reference interpreter of the graph IR: the oracle the generated code is
// tested against. It follows PyTorch's semantics op by op, accumulates and keeps activations in
// float64, and favours plain loops over speed; the only concessions to speed are loop orders whose
// innermost loop walks memory contiguously and running independent (image, channel) planes on
// up to GOMAXPROCS goroutines.
//
// Tensors are flat, batch-major slices: a node of per-image shape [C H W] holds batch*C*H*W values
// laid out [batch][C][H][W].
package interp

import (
	"fmt"
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// Weights gives float32 tensors by state_dict key. runtime.File has this method.
type Weights interface {
	Float32(key string) ([]float32, error)
}

// Run computes the graph's Output node for a batch of inputs. in holds batch images of the input
// node's shape, batch-major; the result is the output node's values, flattened [batch, ...].
// The graph must have been through ir.Graph.Infer. Nodes marked TrainingOnly are skipped and
// their weights are not read.
func Run(g *ir.Graph, w Weights, in []float32, batch int) ([]float32, error) {
	out, _, err := run(g, w, in, batch, false)
	return out, err
}

// RunNodes is Run that also returns every computed node's output in float64, batch-major, keyed
// by node name, for layer-by-layer comparisons. TrainingOnly nodes have no entry. Identity nodes
// (flatten, dropout) share their input's slice; treat the slices as read-only.
func RunNodes(g *ir.Graph, w Weights, in []float32, batch int) ([]float32, map[string][]float64, error) {
	return run(g, w, in, batch, true)
}

// nodeErr is an error about one node.
func nodeErr(n *ir.Node, format string, args ...any) error {
	return fmt.Errorf("interp: %s (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}

func run(g *ir.Graph, w Weights, in []float32, batch int, keep bool) ([]float32, map[string][]float64, error) {
	if g == nil || len(g.Nodes) == 0 || g.Nodes[0].Op != ir.OpInput {
		return nil, nil, fmt.Errorf("interp: graph has no input node")
	}
	if g.Output == nil {
		return nil, nil, fmt.Errorf("interp: graph %q has no output node (run Infer first)", g.Name)
	}
	if g.Output.TrainingOnly {
		return nil, nil, nodeErr(g.Output, "the output node is training-only")
	}
	if batch <= 0 {
		return nil, nil, fmt.Errorf("interp: batch must be positive, got %d", batch)
	}
	input := g.Nodes[0]
	if want := batch * input.Shape.Size(); len(input.Shape) == 0 || len(in) != want {
		return nil, nil, fmt.Errorf("interp: input has %d values, want %d (batch %d x %v)", len(in), want, batch, input.Shape)
	}

	// Check the structure and load every weight before computing anything, so that a bad weights
	// file fails at once rather than after minutes of convolutions.
	index := map[*ir.Node]int{}
	lastUse := map[*ir.Node]int{}
	weights := make([][][]float32, len(g.Nodes))
	outputFound := false
	for i, n := range g.Nodes {
		if n.TrainingOnly {
			continue
		}
		if len(n.Shape) == 0 {
			return nil, nil, nodeErr(n, "node has no shape (run Infer first)")
		}
		for _, x := range n.Inputs {
			if _, ok := index[x]; !ok {
				if x.TrainingOnly {
					return nil, nil, nodeErr(n, "reads training-only node %q", x.Name)
				}
				return nil, nil, nodeErr(n, "input %q is not computed before this node", x.Name)
			}
			lastUse[x] = i
		}
		index[n] = i
		if n == g.Output {
			outputFound = true
		}
		ws, err := loadWeights(n, w)
		if err != nil {
			return nil, nil, err
		}
		weights[i] = ws
	}
	if !outputFound {
		return nil, nil, fmt.Errorf("interp: output %q is not a node of the graph", g.Output.Name)
	}

	vals := map[*ir.Node][]float64{}
	var all map[string][]float64
	if keep {
		all = map[string][]float64{}
	}
	for i, n := range g.Nodes {
		if n.TrainingOnly {
			continue
		}
		var out []float64
		if i == 0 {
			out = make([]float64, len(in))
			for j, v := range in {
				out[j] = float64(v)
			}
		} else {
			xs := make([][]float64, len(n.Inputs))
			for j, x := range n.Inputs {
				xs[j] = vals[x]
			}
			var err error
			out, err = eval(n, xs, weights[i], batch)
			if err != nil {
				return nil, nil, err
			}
		}
		if want := batch * n.Shape.Size(); len(out) != want {
			return nil, nil, nodeErr(n, "computed %d values, want %d (batch %d x %v)", len(out), want, batch, n.Shape)
		}
		vals[n] = out
		weights[i] = nil
		if keep {
			all[n.Name] = out
		} else {
			// Drop activations nobody reads any more.
			for _, x := range n.Inputs {
				if lastUse[x] == i && x != g.Output {
					delete(vals, x)
				}
			}
		}
	}
	res := vals[g.Output]
	out := make([]float32, len(res))
	for i, v := range res {
		out[i] = float32(v)
	}
	return out, all, nil
}

// loadWeights reads a node's weight tensors in ir.ParamRoles order and checks their sizes, both
// against the ir's parameter shapes and against what the op needs.
func loadWeights(n *ir.Node, w Weights) ([][]float32, error) {
	roles := ir.ParamRoles(n)
	if len(n.Params) != len(roles) {
		return nil, nodeErr(n, "has %d weight tensors, want %d (%v)", len(n.Params), len(roles), roles)
	}
	if len(roles) == 0 {
		return nil, nil
	}
	if len(n.Inputs) == 0 || len(n.Inputs[0].Shape) == 0 {
		return nil, nodeErr(n, "has no shaped input")
	}
	need := paramSizes(n, n.Inputs[0].Shape)
	ws := make([][]float32, len(n.Params))
	for i, p := range n.Params {
		if p.Shape.Size() != need[i] || len(p.Shape) == 0 {
			return nil, nodeErr(n, "weight %q has shape %v in the graph, but the op needs %d values", p.Key, p.Shape, need[i])
		}
		if w == nil {
			return nil, nodeErr(n, "weight %q: no weights given", p.Key)
		}
		v, err := w.Float32(p.Key)
		if err != nil {
			return nil, fmt.Errorf("interp: %s: weight %q: %w", n.Name, p.Key, err)
		}
		if len(v) != need[i] {
			return nil, fmt.Errorf("interp: %s: weight %q has %d values, want %d (shape %v)", n.Name, p.Key, len(v), need[i], p.Shape)
		}
		ws[i] = v
	}
	return ws, nil
}

// paramSizes are the element counts of a node's weights in ParamRoles order, derived from the op's
// attributes and its input shape (independently of the ir's own parameter shapes).
func paramSizes(n *ir.Node, in ir.Shape) []int {
	switch n.Op {
	case ir.OpConv:
		a := n.Conv
		groups := max(a.Groups, 1)
		s := []int{a.Out * (in[0] / groups) * a.Kernel[0] * a.Kernel[1]}
		if a.Bias {
			s = append(s, a.Out)
		}
		return s
	case ir.OpLinear:
		s := []int{n.Features * in.Size()}
		if n.LinBias {
			s = append(s, n.Features)
		}
		return s
	case ir.OpBatchNorm:
		return []int{in[0], in[0], in[0], in[0]}
	}
	return nil
}

// eval computes one node from its inputs' values and its weights.
func eval(n *ir.Node, xs [][]float64, ws [][]float32, batch int) ([]float64, error) {
	in := n.Inputs[0].Shape
	x := xs[0]
	needCHW := func() error {
		if len(in) != 3 {
			return nodeErr(n, "needs a [C H W] input, got %v", in)
		}
		return nil
	}
	switch n.Op {
	case ir.OpConv:
		if err := needCHW(); err != nil {
			return nil, err
		}
		a := n.Conv
		if a.Groups <= 0 || in[0]%a.Groups != 0 || a.Out%a.Groups != 0 {
			return nil, nodeErr(n, "groups %d must divide %d input and %d output channels", a.Groups, in[0], a.Out)
		}
		oh := outLen(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], false)
		ow := outLen(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], false)
		if err := checkShape(n, ir.Shape{a.Out, oh, ow}); err != nil {
			return nil, err
		}
		var bias []float32
		if a.Bias {
			bias = ws[1]
		}
		return conv(a, x, in, ws[0], bias, batch, oh, ow), nil

	case ir.OpMaxPool, ir.OpAvgPool:
		if err := needCHW(); err != nil {
			return nil, err
		}
		a := n.Pool
		oh := outLen(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], 1, a.CeilMode)
		ow := outLen(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], 1, a.CeilMode)
		if err := checkShape(n, ir.Shape{in[0], oh, ow}); err != nil {
			return nil, err
		}
		if n.Op == ir.OpMaxPool {
			return maxPool(a, x, in, batch, oh, ow), nil
		}
		return avgPool(a, x, in, batch, oh, ow), nil

	case ir.OpAdaptiveAvgPool:
		if err := needCHW(); err != nil {
			return nil, err
		}
		if err := checkShape(n, ir.Shape{in[0], n.OutSize[0], n.OutSize[1]}); err != nil {
			return nil, err
		}
		return adaptiveAvgPool(x, in, batch, n.OutSize[0], n.OutSize[1]), nil

	case ir.OpGlobalAvgPool, ir.OpGlobalMaxPool:
		if err := needCHW(); err != nil {
			return nil, err
		}
		if err := checkShape(n, ir.Shape{in[0], 1, 1}); err != nil {
			return nil, err
		}
		return globalPool(x, in, batch, n.Op == ir.OpGlobalMaxPool), nil

	case ir.OpLRN:
		if err := needCHW(); err != nil {
			return nil, err
		}
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		return lrn(n.LRN, x, in, batch), nil

	case ir.OpBatchNorm:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		return batchNorm(x, in, batch, ws[0], ws[1], ws[2], ws[3], n.Eps), nil

	case ir.OpAffine:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		if len(n.Scale) != in[0] && len(n.Scale) != 1 || len(n.Shift) != in[0] && len(n.Shift) != 1 {
			return nil, nodeErr(n, "needs 1 or %d scale and shift values, got %d and %d", in[0], len(n.Scale), len(n.Shift))
		}
		return affine(x, in, batch, n.Scale, n.Shift), nil

	case ir.OpReLU, ir.OpReLU6, ir.OpSigmoid, ir.OpSiLU, ir.OpTanh, ir.OpHardSigmoid, ir.OpHardSwish:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		if n.Op == ir.OpHardSigmoid && n.HardAlpha == 0 {
			// A constant function: the front end forgot the attributes (PyTorch's are 1/6, 0.5).
			return nil, nodeErr(n, "hardsigmoid alpha is 0 (attributes not set?)")
		}
		f := activation(n)
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = f(v)
		}
		return out, nil

	case ir.OpDropout:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		return x, nil // identity at inference

	case ir.OpFlatten:
		if err := checkShape(n, ir.Shape{in.Size()}); err != nil {
			return nil, err
		}
		return x, nil // [C H W] row-major is already the flat order

	case ir.OpLinear:
		if len(in) != 1 {
			return nil, nodeErr(n, "needs a flat input, got %v", in)
		}
		if err := checkShape(n, ir.Shape{n.Features}); err != nil {
			return nil, err
		}
		var bias []float32
		if n.LinBias {
			bias = ws[1]
		}
		return linear(x, in[0], n.Features, ws[0], bias, batch, n.Gemm), nil

	case ir.OpSoftmax, ir.OpLogSoftmax:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		return softmax(x, in, n.Axis, n.AxisEnd, batch, n.Op == ir.OpLogSoftmax), nil

	case ir.OpReshape:
		if n.Target.Size() != in.Size() {
			return nil, nodeErr(n, "reshape of %v to %v", in, n.Target)
		}
		return x, nil // a view: row-major order is unchanged

	case ir.OpClip:
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v
			if v < n.ClipMin {
				out[i] = n.ClipMin
			} else if v > n.ClipMax {
				out[i] = n.ClipMax
			}
		}
		return out, nil

	case ir.OpPad:
		if err := needCHW(); err != nil {
			return nil, err
		}
		p := n.Pads
		if err := checkShape(n, ir.Shape{in[0], in[1] + p[0] + p[2], in[2] + p[1] + p[3]}); err != nil {
			return nil, err
		}
		return pad(x, in, n.Shape, p, n.PadValue, batch), nil

	case ir.OpConcat:
		return concat(n, xs, batch)

	case ir.OpAdd:
		if len(xs) < 2 {
			return nil, nodeErr(n, "needs at least 2 inputs, got %d", len(xs))
		}
		for _, y := range n.Inputs[1:] {
			if !y.Shape.Equal(in) {
				return nil, nodeErr(n, "adds unequal shapes %v and %v", in, y.Shape)
			}
		}
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		out := make([]float64, len(x))
		copy(out, x)
		for _, y := range xs[1:] {
			for i := range out {
				out[i] += y[i]
			}
		}
		return out, nil

	case ir.OpMul:
		if len(xs) != 2 {
			return nil, nodeErr(n, "needs 2 inputs, got %d", len(xs))
		}
		if err := checkShape(n, in); err != nil {
			return nil, err
		}
		return mul(n, x, in, xs[1], n.Inputs[1].Shape, batch)
	}
	return nil, nodeErr(n, "unsupported op")
}

// checkShape compares the shape the interpreter computes with the one shape inference recorded.
func checkShape(n *ir.Node, want ir.Shape) error {
	if !n.Shape.Equal(want) {
		return nodeErr(n, "shape inference says %v, the interpreter computes %v", n.Shape, want)
	}
	return nil
}

// outLen is PyTorch's conv/pool output length (pooling_output_shape_pad_lr): the number of
// windows of extent dilation*(k-1)+1 at the given stride over the padded input, rounding up in
// ceil mode except that a last window starting inside the right/bottom padding is dropped.
func outLen(in, k, stride, padLo, padHi, dilation int, ceil bool) int {
	span := in + padLo + padHi - dilation*(k-1) - 1
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	n := (span+stride-1)/stride + 1
	if (n-1)*stride >= in+padLo {
		n--
	}
	return n
}

// activation returns the elementwise function of an activation node. NaN goes through every
// clamp unchanged, as in PyTorch.
func activation(n *ir.Node) func(float64) float64 {
	relu6 := func(v float64) float64 {
		if v < 0 {
			return 0
		}
		if v > 6 {
			return 6
		}
		return v
	}
	sigmoid := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	switch n.Op {
	case ir.OpReLU:
		return func(v float64) float64 {
			if v < 0 {
				return 0
			}
			return v
		}
	case ir.OpReLU6:
		return relu6
	case ir.OpSigmoid:
		return sigmoid
	case ir.OpSiLU:
		return func(v float64) float64 { return v * sigmoid(v) }
	case ir.OpTanh:
		return math.Tanh
	case ir.OpHardSigmoid:
		alpha, beta := n.HardAlpha, n.HardBeta
		return func(v float64) float64 {
			y := alpha*v + beta
			if y < 0 {
				return 0
			}
			if y > 1 {
				return 1
			}
			return y
		}
	case ir.OpHardSwish:
		return func(v float64) float64 { return v * relu6(v+3) / 6 }
	}
	panic("interp: not an activation: " + string(n.Op))
}
