package ir

// Stats are the per-layer numbers of `cnngen -summary`, batch 1.
type Stats struct {
	Params          int64 // trainable parameters (BN running statistics excluded)
	MACs            int64 // multiply-accumulates (OpDef.MACs: conv and linear layers)
	ActivationBytes int64 // float32 bytes this layer writes to a new tensor (see WritesNewTensor)
}

// WritesNewTensor tells whether a layer's output is a tensor of its own, the rule behind
// activation_bytes: every op but views and elementwise ops (activations, batch norm, dropout,
// affine), which PyTorch runs in place or folds. (Later passes may fuse an add into its conv or
// let branches write into a concat's slices; that is the memory planner's saving, reported
// separately, not a change of this count.)
func WritesNewTensor(op Op) bool {
	d := Def(op)
	return d != nil && d.Flags&(View|Elementwise) == 0
}

// NodeStats computes one node's numbers. Its shape must have been inferred.
func NodeStats(n *Node) Stats {
	var s Stats
	for _, p := range n.Params {
		if !p.Buffer {
			s.Params = SatAdd(s.Params, int64(p.Shape.Size()))
		}
	}
	if d := Def(n.Op); d != nil && d.MACs != nil {
		s.MACs = d.MACs(n)
	}
	if WritesNewTensor(n.Op) {
		s.ActivationBytes = 4 * int64(n.Shape.Size())
	}
	return s
}

// Totals are a graph's summed numbers (saturating: Graph.Check refuses graphs where they would
// not fit). Params and MACs exclude training-only layers;
// TrainParams includes them.
type Totals struct {
	Params, TrainParams, MACs, ActivationBytes int64
}

// Totals sums NodeStats over the graph.
func (g *Graph) Totals() Totals {
	var t Totals
	for _, n := range g.Nodes {
		s := NodeStats(n)
		t.TrainParams = SatAdd(t.TrainParams, s.Params)
		if n.TrainingOnly {
			continue
		}
		t.Params = SatAdd(t.Params, s.Params)
		t.MACs = SatAdd(t.MACs, s.MACs)
		t.ActivationBytes = SatAdd(t.ActivationBytes, s.ActivationBytes)
	}
	return t
}
