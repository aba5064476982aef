package ir

// Stats are the per-layer numbers of `cnngen -summary`, batch 1.
type Stats struct {
	Params          int64 // trainable parameters (BN running statistics excluded)
	MACs            int64 // multiply-accumulates of conv and linear layers
	ActivationBytes int64 // float32 bytes this layer writes to a new tensor (see WritesNewTensor)
}

// WritesNewTensor tells whether a layer's output is a tensor of its own, the rule behind
// activation_bytes. Elementwise activations, batch norm (folded into the conv at inference),
// dropout and affine run in place and flatten is a view; they count 0. Everything else writes a
// new tensor: convolutions, pools, LRN, linear layers, add, concat, mul and softmax, plus the
// input. (Later passes may fuse an add into its conv or let branches write into a concat's slices;
// that is the memory planner's saving, reported separately, not a change of this count.)
func WritesNewTensor(op Op) bool {
	switch op {
	case OpInput, OpConv, OpMaxPool, OpAvgPool, OpAdaptiveAvgPool, OpGlobalAvgPool, OpGlobalMaxPool,
		OpLRN, OpLinear, OpAdd, OpConcat, OpMul, OpSoftmax, OpLogSoftmax, OpPad:
		return true
	}
	return false
}

// NodeStats computes one node's numbers. Its shape must have been inferred.
func NodeStats(n *Node) Stats {
	var s Stats
	for _, p := range n.Params {
		if !p.Buffer {
			s.Params += int64(p.Shape.Size())
		}
	}
	switch n.Op {
	case OpConv:
		w := n.Params[0].Shape
		s.MACs = int64(n.Shape.Size()) * int64(w[1]*w[2]*w[3])
	case OpLinear:
		s.MACs = int64(n.Params[0].Shape.Size())
	}
	if WritesNewTensor(n.Op) {
		s.ActivationBytes = 4 * int64(n.Shape.Size())
	}
	return s
}

// Totals are a graph's summed numbers. Params and MACs exclude training-only layers;
// TrainParams includes them.
type Totals struct {
	Params, TrainParams, MACs, ActivationBytes int64
}

// Totals sums NodeStats over the graph.
func (g *Graph) Totals() Totals {
	var t Totals
	for _, n := range g.Nodes {
		s := NodeStats(n)
		t.TrainParams += s.Params
		if n.TrainingOnly {
			continue
		}
		t.Params += s.Params
		t.MACs += s.MACs
		t.ActivationBytes += s.ActivationBytes
	}
	return t
}
