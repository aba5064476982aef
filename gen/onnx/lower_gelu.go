package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// Gelu (opset 20) is lowered to the nodes PyTorch's exporter writes for torch.nn.GELU before it
// existed, with the same float32 constants, so that both forms import to the same graph:
//
//	none: x * (1 + erf(x / sqrt(2))) * 0.5
//	tanh: x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x*x*x))) * 0.5

func lowerGelu(c *call) {
	mode := c.attrString("approximate", "none")
	if mode != "none" && mode != "tanh" {
		c.fail("approximate %q is not none or tanh", mode)
	}
	if !c.ok() {
		return
	}
	x, perm := c.dynView(0)
	if x == nil {
		return
	}
	f32 := func(v float64) float64 { return float64(float32(v)) }
	var inner *ir.Node
	if mode == "none" {
		inner = c.chain(c.affineNode(x, 1/f32(math.Sqrt2), 0), ir.OpErf)
	} else {
		sq := c.binaryNode(ir.OpMul, x, x)
		cube := c.binaryNode(ir.OpMul, x, sq)
		sum := c.binaryNode(ir.OpAdd, x, c.affineNode(cube, f32(0.044715), 0))
		inner = c.chain(c.affineNode(sum, f32(math.Sqrt(2/math.Pi)), 0), ir.OpTanh)
	}
	y := c.affineNode(c.binaryNode(ir.OpMul, x, c.affineNode(inner, 1, 1)), 0.5, 0)
	if y != nil {
		c.setView(0, y, perm)
	}
}

// affineNode emits x*scale + shift (nil after a failure, or for a nil x).
func (c *call) affineNode(x *ir.Node, scale, shift float64) *ir.Node {
	if x == nil {
		return nil
	}
	n := c.newNode(ir.OpAffine, x)
	n.Attrs = &ir.AffineAttrs{Scale: []float64{scale}, Shift: []float64{shift}}
	if !c.emit(n) {
		return nil
	}
	return n
}

// binaryNode emits op of a and b (nil after a failure, or for a nil operand).
func (c *call) binaryNode(op ir.Op, a, b *ir.Node) *ir.Node {
	if a == nil || b == nil {
		return nil
	}
	n := c.newNode(op, a, b)
	if !c.emit(n) {
		return nil
	}
	return n
}

// chain emits the elementwise op of x (nil after a failure, or for a nil x).
func (c *call) chain(x *ir.Node, op ir.Op) *ir.Node {
	if x == nil {
		return nil
	}
	n := c.newNode(op, x)
	if !c.emit(n) {
		return nil
	}
	return n
}
