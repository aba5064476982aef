package passes

import (
	"fmt"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
)

// Training rewrites: the graph generated training code computes. Unlike inference, batch norms
// keep their statistics (they are computed per batch), dropout and the training-only heads stay,
// and nothing is folded into weights. What is fused is what the backward pass does not need
// apart: an activation whose derivative its output gives, applied by the conv, linear layer or
// batch norm before it, and a residual add into the batch norm before it (ResNet's
// bn2 + shortcut + ReLU, one pass forward and back).

// TrainableOps are the ops generated training code has a forward and backward pass for.
var TrainableOps = map[ir.Op]bool{
	ir.OpInput: true, ir.OpConv: true, ir.OpLinear: true, ir.OpBatchNorm: true, ir.OpLRN: true,
	ir.OpMaxPool: true, ir.OpAvgPool: true, ir.OpAdaptiveAvgPool: true, ir.OpGlobalAvgPool: true,
	ir.OpGlobalMaxPool: true, ir.OpDropout: true, ir.OpAdd: true, ir.OpMul: true, ir.OpConcat: true,
	ir.OpFlatten: true, ir.OpReshape: true, ir.OpSoftmax: true, ir.OpLogSoftmax: true,
	ir.OpAffine: true, ir.OpPad: true,
	ir.OpReLU: true, ir.OpReLU6: true, ir.OpSigmoid: true, ir.OpSiLU: true, ir.OpTanh: true,
	ir.OpHardSigmoid: true, ir.OpHardSwish: true, ir.OpClip: true, ir.OpGELU: true, ir.OpErf: true,
}

// outputDerived are the activations whose derivative their output determines (with torch's
// choices at the kinks), so that the layer before them may apply them and keep only the output.
var outputDerived = map[ir.Op]bool{ir.OpReLU: true, ir.OpReLU6: true, ir.OpSigmoid: true, ir.OpTanh: true}

// Training returns a copy of g ready for training code: the output's final softmax or
// log-softmax dropped (the loss takes the logits), residual adds fused into the batch norm that
// computes one of their inputs last, and output-derived activations fused into the conv, linear
// layer or batch norm they follow. An op without a training form is an error naming every such
// node.
func Training(g *ir.Graph) (*ir.Graph, error) { return training(g, false) }

// TrainingUpstream is Training for a graph whose backward pass starts from a given gradient of
// its output (tests of the backward pass): its output stays as it is, softmax included.
func TrainingUpstream(g *ir.Graph) (*ir.Graph, error) { return training(g, true) }

func training(g *ir.Graph, upstream bool) (*ir.Graph, error) {
	var bad []string
	for _, n := range g.Nodes {
		if !TrainableOps[n.Op] {
			bad = append(bad, fmt.Sprintf("%s (%s)", n.Name, n.Op))
		} else if n.Fused != nil {
			return nil, fmt.Errorf("%s: has work fused by the inference passes: train the graph as the front end built it", n.Name)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("training code does not support these nodes' ops: %s", strings.Join(bad, ", "))
	}
	c := g.Clone()
	for !upstream && (c.Output.Op == ir.OpSoftmax || c.Output.Op == ir.OpLogSoftmax) {
		old := c.Output
		c.Output = old.Inputs[0]
		remove(c, old)
	}
	fuseResidualBN(c)
	fuseTrainActivation(c)
	if err := c.Infer(); err != nil {
		return nil, fmt.Errorf("after training passes: %w", err)
	}
	if !upstream {
		if _, err := Heads(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Heads are the nodes the loss reads: the output, then every training-only node that nothing
// reads (an auxiliary classifier), each [classes] logits like the output.
func Heads(g *ir.Graph) ([]*ir.Node, error) {
	heads := []*ir.Node{g.Output}
	read := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		for _, x := range n.Inputs {
			read[x] = true
		}
		if n.Fused != nil && n.Fused.Residual != nil {
			read[n.Fused.Residual] = true
		}
	}
	for _, n := range g.Nodes {
		if n.TrainingOnly && !read[n] {
			heads = append(heads, n)
		}
	}
	for _, h := range heads {
		if len(h.Shape) != 1 || !h.Shape.Equal(g.Output.Shape) {
			return nil, fmt.Errorf("%s: a loss head must output [classes] logits like %s %v, got %v", h.Name, g.Output.Name, g.Output.Shape, h.Shape)
		}
	}
	return heads, nil
}

// fuseResidualBN turns add(bn, y) into bn with y added before its activation, when the batch
// norm feeds only the add, runs after y, and neither is the output.
func fuseResidualBN(g *ir.Graph) {
	for changed := true; changed; {
		changed = false
		cons := g.Consumers()
		pos := positions(g)
		for _, n := range g.Nodes {
			if n.Op != ir.OpAdd || len(n.Inputs) != 2 || n.Inputs[0] == n.Inputs[1] {
				continue
			}
			a, b := n.Inputs[0], n.Inputs[1]
			if pos[a] < pos[b] {
				a, b = b, a
			}
			if a.Op != ir.OpBatchNorm || a.Fused != nil || !soleReader(cons, g, a, n) || a.TrainingOnly != n.TrainingOnly {
				continue
			}
			fusion(a).Residual = b
			replace(g, n, a)
			changed = true
			break
		}
	}
}

// fuseTrainActivation moves an output-derived activation into the conv, linear layer or batch
// norm that feeds only it.
func fuseTrainActivation(g *ir.Graph) {
	cons := g.Consumers()
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		if !outputDerived[n.Op] {
			continue
		}
		p := n.Inputs[0]
		if p.Op != ir.OpConv && p.Op != ir.OpLinear && p.Op != ir.OpBatchNorm || !soleReader(cons, g, p, n) ||
			p.Fused != nil && p.Fused.Act != "" || p.TrainingOnly != n.TrainingOnly {
			continue
		}
		f := fusion(p)
		f.Act, f.ActAttrs = n.Op, n.Attrs
		replace(g, n, p)
		cons = g.Consumers()
	}
}
