package plan

import (
	"fmt"
	"slices"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
)

// The training arena. A training step runs the forward pass (step i is node i), computes the
// loss (step L, L nodes), then the backward pass in reverse (node i's at step 2L-i). Every
// tensor of the batch, a node's value or its gradient, is live from the step that writes it
// first to the last step that reads it, and the values the backward pass reads live until then:
// the placement is the inference planner's (greedy by size over lifetimes), over both kinds.
//
// Tensors are shared where a computation allows it:
//   - views (flatten, reshape) share their input's value, and their gradient is their input's;
//   - an elementwise op (activation, dropout, affine, add, mul, softmax) writes over its input
//     when nothing reads the input afterwards, the backward pass included;
//   - an op whose backward can compute its input's gradient in place over its own (the
//     elementwise ones, batch norm, the first factor of a product) shares it with that input,
//     when the op is the input's only reader.

// TrainPlan places a batch's values and gradients in one arena.
type TrainPlan struct {
	Batch int
	Arena int // floats
	// Val is where each node's value lies (per-image Size; Off in the arena), Grad where its
	// gradient does, for the nodes that have one.
	Val, Grad map[*ir.Node]Region
	// Req is whether a node's output depends on a trainable weight (its gradient exists).
	Req   map[*ir.Node]bool
	Heads []*ir.Node
	// AliasGrad: the node whose gradient buffer a node's gradient is (its only reader's, or
	// itself).
	AliasGrad map[*ir.Node]*ir.Node
}

// BackwardReads says which values a node's backward pass reads: each input's, and its output's.
func BackwardReads(n *ir.Node) (inputs []bool, output bool) {
	inputs = make([]bool, len(n.Inputs))
	act := n.Fused != nil && n.Fused.Act != ""
	switch n.Op {
	case ir.OpConv, ir.OpLinear, ir.OpBatchNorm:
		inputs[0], output = true, act
	case ir.OpMaxPool, ir.OpGlobalMaxPool, ir.OpLRN, ir.OpErf:
		inputs[0] = true
	case ir.OpMul:
		inputs[0], inputs[1] = true, true
	case ir.OpSoftmax, ir.OpLogSoftmax:
		output = true
	default:
		if d := ir.Def(n.Op); d.Act != nil {
			ka, err := kernels.ActByName(d.Act(n.Attrs).Name)
			if err == nil && kernels.ActGradFromOutput(ka) {
				output = true
			} else {
				inputs[0] = true
			}
		}
	}
	return inputs, output
}

// gradInPlace reports whether n's backward pass can compute the gradient of its input i over
// its own gradient.
func gradInPlace(n *ir.Node, i int) bool {
	switch n.Op {
	case ir.OpFlatten, ir.OpReshape, ir.OpDropout, ir.OpAffine, ir.OpSoftmax, ir.OpLogSoftmax, ir.OpErf:
		return true
	case ir.OpBatchNorm:
		return i == 0
	case ir.OpAdd, ir.OpMul:
		return i == 0
	}
	return ir.Def(n.Op).Act != nil
}

// MakeTrain plans g (the training graph, gen/passes.Training) for batches of batch images.
// With inputGrad the input has a gradient too (tests compare it with the reference's).
func MakeTrain(g *ir.Graph, heads []*ir.Node, batch int, inputGrad bool) (*TrainPlan, error) {
	if batch < 1 {
		return nil, fmt.Errorf("plan: batch must be at least 1, got %d", batch)
	}
	L := len(g.Nodes)
	pos := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	tp := &TrainPlan{Batch: batch, Val: map[*ir.Node]Region{}, Grad: map[*ir.Node]Region{},
		Req: map[*ir.Node]bool{}, Heads: heads, AliasGrad: map[*ir.Node]*ir.Node{}}
	isHead := map[*ir.Node]bool{}
	for _, h := range heads {
		isHead[h] = true
	}
	readers := map[*ir.Node][]*ir.Node{} // forward inputs and fused residuals
	for _, n := range g.Nodes {
		for _, x := range inputsOf(n) {
			readers[x] = append(readers[x], n)
		}
		req := len(Trainable(n)) > 0
		for _, x := range inputsOf(n) {
			req = req || tp.Req[x]
		}
		tp.Req[n] = req && n.Op != ir.OpInput || n.Op == ir.OpInput && inputGrad
	}
	back := func(n *ir.Node) int { return 2*L - pos[n] }

	// Values: reads by the forward pass, the loss, and the backward pass.
	lastRead := map[*ir.Node]int{}
	read := func(n *ir.Node, step int) { lastRead[n] = max(lastRead[n], step) }
	for _, n := range g.Nodes {
		for _, x := range inputsOf(n) {
			read(x, pos[n])
		}
		if isHead[n] {
			read(n, 2*L) // the logits stay readable after the step (Trainer.Logits)
		}
		if !tp.Req[n] {
			continue
		}
		ins, out := BackwardReads(n)
		for i, r := range ins {
			if r {
				read(n.Inputs[i], back(n))
			}
		}
		if out {
			read(n, back(n))
		}
	}
	p := &Plan{of: map[*ir.Node]*Tensor{}}
	valOf := map[*ir.Node]*Tensor{}
	gradOf := map[*ir.Node]*Tensor{}
	newTensor := func(n *ir.Node, size, def int) *Tensor {
		t := &Tensor{Size: batch * size, Def: def, Last: def}
		t.Len = (t.Size + Align - 1) / Align * Align
		p.Tensors = append(p.Tensors, t)
		return t
	}
	for i, n := range g.Nodes {
		var t *Tensor
		switch in := firstInput(n); {
		case ir.IsView(n.Op):
			t = valOf[in]
		case in != nil && inPlace(n.Op) && in.Shape.Size() == n.Shape.Size() && valOf[in].Last <= i && !readsTwice(n) && in.Op != ir.OpInput:
			t = valOf[in]
		default:
			t = newTensor(n, n.Shape.Size(), i)
		}
		t.Nodes = append(t.Nodes, n)
		valOf[n] = t
		t.Last = max(t.Last, lastRead[n], i)
	}
	// Gradients: written first by the backward pass of the reader that runs last forward (or
	// by the loss), read by the node's own backward pass.
	for i := L - 1; i >= 0; i-- {
		n := g.Nodes[i]
		if !tp.Req[n] || !isHead[n] && len(readers[n]) == 0 {
			continue
		}
		first := L
		if !isHead[n] {
			first = 2*L - pos[readers[n][len(readers[n])-1]]
		}
		if t := gradOf[n]; t != nil { // shared with the only reader's gradient
			t.Last = max(t.Last, back(n))
			continue
		}
		t := newTensor(n, n.Shape.Size(), first)
		t.Last = back(n)
		t.Nodes = append(t.Nodes, n)
		gradOf[n] = t
		tp.AliasGrad[n] = n
		// The inputs whose gradient n can compute in place over its own.
		for j, x := range n.Inputs {
			if tp.Req[x] && !isHead[x] && len(readers[x]) == 1 && readers[x][0] == n &&
				gradInPlace(n, j) && x.Shape.Size() == n.Shape.Size() && gradOf[x] == nil && !(n.Fused != nil && n.Fused.Residual == x) {
				gradOf[x] = t
				t.Nodes = append(t.Nodes, x)
				tp.AliasGrad[x] = n
			}
		}
	}
	// Fix the aliases transitively: a gradient shared down a chain is the chain's first node's.
	for n, a := range tp.AliasGrad {
		for tp.AliasGrad[a] != a {
			a = tp.AliasGrad[a]
		}
		tp.AliasGrad[n] = a
	}
	p.place()
	tp.Arena = p.Arena
	for _, n := range g.Nodes {
		tp.Val[n] = Region{Off: valOf[n].Off, Len: n.Shape.Size()}
		if t := gradOf[n]; t != nil {
			tp.Grad[n] = Region{Off: t.Off, Len: n.Shape.Size()}
		}
	}
	if err := validateTrain(p.Tensors); err != nil {
		return nil, err
	}
	return tp, nil
}

// inputsOf are the nodes n reads in the forward pass: its inputs and a fused residual.
func inputsOf(n *ir.Node) []*ir.Node {
	if n.Fused != nil && n.Fused.Residual != nil {
		return append(slices.Clip(n.Inputs), n.Fused.Residual)
	}
	return n.Inputs
}

func firstInput(n *ir.Node) *ir.Node {
	if len(n.Inputs) == 0 {
		return nil
	}
	return n.Inputs[0]
}

func readsTwice(n *ir.Node) bool {
	ins := inputsOf(n)
	for _, x := range ins[1:] {
		if x == ins[0] {
			return true
		}
	}
	return false
}

// Trainable lists the trainable weights of n (not its buffers: running statistics).
func Trainable(n *ir.Node) []ir.Param {
	var ps []ir.Param
	for _, p := range n.Params {
		if !p.Buffer {
			ps = append(ps, p)
		}
	}
	return ps
}

func validateTrain(ts []*Tensor) error {
	for i, a := range ts {
		for _, b := range ts[i+1:] {
			if live(a, b) && a.Off < b.End() && b.Off < a.End() {
				return fmt.Errorf("plan: training tensors of %s and %s overlap while both are live", a.Nodes[0].Name, b.Nodes[0].Name)
			}
		}
	}
	return nil
}
