package ir

import (
	"fmt"
	"math"
)

// Limits bound what a graph may ask of the machine, so that a hostile or mistaken spec or model
// is refused with an error before anything is allocated for it. Every front end checks MaxNodes
// while it builds and every path in (spec, ONNX, cnngen run, generated New) checks the rest with
// Graph.Check before allocating. The defaults are far above every real CNN; the CLI raises them
// with -max-nodes, -max-activation-mb and -max-weights-mb.
type Limits struct {
	// MaxNodes bounds a graph's nodes (layers, after lowering). torchvision's largest CNNs lower to
	// a few thousand (EfficientNet-B7 ~3,000, DenseNet-201 ~700).
	MaxNodes int
	// MaxActivationBytes bounds one image's activations: the float32 bytes of the output of every
	// layer but views, which bounds the planned arena (at most that, less with reuse) and what
	// the reference interpreter holds (twice that per image, in float64). VGG16 at 224x224 comes
	// to 115 MB, ResNet-152 to 318 MB.
	MaxActivationBytes int64
	// MaxWeightBytes bounds the float32 bytes of the weights a graph declares (training-only heads
	// included). The largest torchvision CNN (RegNet-Y 128GF) has 2.6 GB.
	MaxWeightBytes int64
}

// DefaultLimits are the limits unless the user raises them.
var DefaultLimits = Limits{MaxNodes: 10000, MaxActivationBytes: 2 << 30, MaxWeightBytes: 16 << 30}

// LimitError is a graph that exceeds a limit: what, how much, the limit and how to raise it.
type LimitError struct {
	What       string // "nodes", "activation bytes per image", "weight bytes"
	Have, Max  int64
	Flag, Unit string // the cnngen flag that raises the limit, and the unit it takes
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too large: %d %s > max %d (raise it with -%s, in %s)", e.Have, e.What, e.Max, e.Flag, e.Unit)
}

// CheckNodes is the node-count check front ends run while they build.
func (l Limits) CheckNodes(n int) error {
	if n > l.MaxNodes {
		return &LimitError{What: "nodes", Have: int64(n), Max: int64(l.MaxNodes), Flag: "max-nodes", Unit: "nodes"}
	}
	return nil
}

// Check verifies an inferred graph against l. Sizes are summed with saturation, so no count can
// wrap around, however large the shapes.
func (g *Graph) Check(l Limits) error {
	if err := l.CheckNodes(len(g.Nodes)); err != nil {
		return err
	}
	var act, weights int64
	for _, n := range g.Nodes {
		if !Def(n.Op).Is(View) {
			act = SatAdd(act, SatMul(4, int64(n.Shape.Size())))
		}
		for _, p := range n.Params {
			weights = SatAdd(weights, SatMul(4, int64(p.Shape.Size())))
		}
	}
	if act > l.MaxActivationBytes {
		return &LimitError{What: "activation bytes per image", Have: act, Max: l.MaxActivationBytes, Flag: "max-activation-mb", Unit: "MB"}
	}
	if weights > l.MaxWeightBytes {
		return &LimitError{What: "weight bytes", Have: weights, Max: l.MaxWeightBytes, Flag: "max-weights-mb", Unit: "MB"}
	}
	return nil
}

// SatAdd is a + b for non-negative counts, saturating at math.MaxInt64.
func SatAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// SatMul is a * b for non-negative counts, saturating at math.MaxInt64.
func SatMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
