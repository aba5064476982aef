// Package passes rewrites a graph for inference. Each rewrite is a small named function over the
// IR; Inference runs them in the order they depend on each other and re-validates the result.
// None of them touches weights: folding is recorded on the nodes (ir.Fusion) and carried out by
// the generated loader, so one rewritten graph serves any weights file.
package passes

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
)

// Inference returns a copy of g ready for code generation: training-only heads and dropout
// removed, batch norm folded into the preceding conv, residual adds and activations fused into the
// epilogue of the layer that produces their input.
func Inference(g *ir.Graph) (*ir.Graph, error) { return InferenceLayout(g, ir.NCHW) }

// InferenceLayout is Inference, then, for NCHW16c, ChooseLayout.
func InferenceLayout(g *ir.Graph, l ir.Layout) (*ir.Graph, error) {
	c := g.Clone()
	DropTrainingOnly(c)
	DropIdentities(c)
	FoldBatchNorm(c)
	FuseResidualAdd(c)
	FuseActivation(c)
	if l == ir.NCHW16c {
		ChooseLayout(c)
	}
	if err := c.Infer(); err != nil {
		return nil, fmt.Errorf("after inference passes: %w", err)
	}
	return c, nil
}

// replace makes every reader of old read new instead and removes old from the graph.
func replace(g *ir.Graph, old, new *ir.Node) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		if n.Fused != nil && n.Fused.Residual == old {
			n.Fused.Residual = new
		}
	}
	if g.Output == old {
		g.Output = new
	}
	remove(g, old)
}

func remove(g *ir.Graph, old *ir.Node) {
	out := g.Nodes[:0]
	for _, n := range g.Nodes {
		if n != old {
			out = append(out, n)
		}
	}
	g.Nodes = out
}

// DropTrainingOnly removes auxiliary heads: nothing on the inference path reads them.
func DropTrainingOnly(g *ir.Graph) {
	out := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !n.TrainingOnly {
			out = append(out, n)
		}
	}
	g.Nodes = out
}

// DropIdentities removes the ops that are the identity at inference (dropout).
func DropIdentities(g *ir.Graph) {
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		if ir.Def(n.Op).Is(ir.InferenceIdentity) {
			replace(g, n, n.Inputs[0])
		}
	}
}

func soleReader(cons map[*ir.Node][]*ir.Node, g *ir.Graph, n, reader *ir.Node) bool {
	rs := cons[n]
	return len(rs) == 1 && rs[0] == reader && g.Output != n
}

// FoldBatchNorm folds a batch norm into the conv before it when the conv feeds nothing else:
// w' = w*gamma/sqrt(var+eps), b' = (b-mean)*gamma/sqrt(var+eps) + beta, done at load time.
func FoldBatchNorm(g *ir.Graph) {
	cons := g.Consumers()
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		if n.Op != ir.OpBatchNorm {
			continue
		}
		p := n.Inputs[0]
		if p.Op != ir.OpConv || p.Fused != nil || !soleReader(cons, g, p, n) {
			continue
		}
		p.Fused = &ir.Fusion{BN: &ir.FoldedBN{Name: n.Name, Params: n.Params, Eps: ir.As[*ir.BatchNormAttrs](n).Eps}}
		replace(g, n, p)
		cons = g.Consumers()
	}
}

func fusion(n *ir.Node) *ir.Fusion {
	if n.Fused == nil {
		n.Fused = &ir.Fusion{}
	}
	return n.Fused
}

// FuseResidualAdd turns add(conv, y) into conv with y added in its epilogue, when the conv feeds
// only the add and y is computed before the conv runs.
func FuseResidualAdd(g *ir.Graph) {
	for changed := true; changed; {
		changed = false
		cons := g.Consumers()
		pos := positions(g)
		for _, n := range g.Nodes {
			if n.Op != ir.OpAdd || len(n.Inputs) != 2 {
				continue
			}
			a, b := n.Inputs[0], n.Inputs[1]
			if pos[a] < pos[b] {
				a, b = b, a // the later one runs last and can take the earlier one as residual
			}
			if a.Op != ir.OpConv || !soleReader(cons, g, a, n) || a.Fused != nil && (a.Fused.Residual != nil || a.Fused.Act != "") {
				continue
			}
			fusion(a).Residual = b
			replace(g, n, a)
			changed = true
			break
		}
	}
}

// actHosts are the ops whose kernels apply an activation to their output: a batch norm that
// could not be folded (DenseNet's, after a concatenation) runs as an affine map whose kernel
// applies its ReLU to each block while it is in cache, instead of another pass over the tensor.
var actHosts = map[ir.Op]bool{ir.OpConv: true, ir.OpLinear: true, ir.OpAdd: true, ir.OpBatchNorm: true, ir.OpAffine: true}

// FuseActivation moves an elementwise op that a kernel epilogue can apply (OpDef.Act) into the
// op of actHosts that feeds only it.
func FuseActivation(g *ir.Graph) {
	cons := g.Consumers()
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		if d := ir.Def(n.Op); d.Act == nil || !d.Act(n.Attrs).Epilogue {
			continue
		}
		p := n.Inputs[0]
		if !actHosts[p.Op] || !soleReader(cons, g, p, n) || p.Fused != nil && p.Fused.Act != "" {
			continue
		}
		f := fusion(p)
		f.Act, f.ActAttrs = n.Op, n.Attrs
		replace(g, n, p)
		cons = g.Consumers()
	}
}

func positions(g *ir.Graph) map[*ir.Node]int {
	m := make(map[*ir.Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		m[n] = i
	}
	return m
}

// SetClasses adapts a classifier to a new head: the last linear layer gets n outputs (a network
// fine-tuned on n classes keeps every other tensor). It edits g in place and re-infers shapes.
func SetClasses(g *ir.Graph, n int) error {
	if n < 1 {
		return fmt.Errorf("classes must be at least 1, got %d", n)
	}
	last := g.Head()
	if last == nil {
		return fmt.Errorf("%s does not end in a linear layer (%s is %s): cannot change its class count", g.Name, g.Output.Name, g.Output.Op)
	}
	ir.As[*ir.LinearAttrs](last).Out = n
	g.Classes = n
	return g.Infer()
}
