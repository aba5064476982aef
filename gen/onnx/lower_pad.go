package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Pad. Its operands moved between versions: Pad-1 reads the pads from an attribute called
// paddings, Pad-2 from pads (with the value), Pad-11 from inputs, and Pad-18 adds an axes input
// saying which dimensions the pads are for. Modes constant (pad), reflect (reflection_pad) and
// edge (replication_pad); Pad-19's wrap is not supported.

var padModes = map[string]ir.Op{"constant": ir.OpPad, "reflect": ir.OpReflectionPad, "edge": ir.OpReplicationPad}

func lowerPad(c *call) {
	mode := c.attrString("mode", "constant")
	op, ok := padModes[mode]
	if !ok {
		c.fail("mode %q of %s is not supported (constant, reflect and edge are)", mode, c.versionName())
	}
	pads, value := c.padOperands()
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil || len(c.whys) > 0 || !c.needCHW(x) {
		return
	}
	if pads == nil {
		pads = c.padsFor(rank(x))
		if pads == nil {
			return
		}
	}
	if len(pads) != 8 {
		c.fail("pads %v: want 8 values for [N C H W]", pads)
		return
	}
	for _, p := range pads {
		if p < 0 || p > maxAttr {
			c.fail("pads %v: negative pads (cropping) are not supported", pads)
			return
		}
	}
	if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		c.fail("pads %v pad the batch or channel dimension; only H and W are supported", pads)
		return
	}
	p := [4]int{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])}
	if p == [4]int{} {
		c.rebind(x)
		return
	}
	n := c.newNode(op, x)
	if op == ir.OpPad {
		n.Attrs = &ir.PadAttrs{Pads: p, Value: value}
	} else {
		n.Attrs = &ir.BorderPadAttrs{Pads: p}
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

// padOperands reads the attributes of Pad-1 and Pad-2: the pads (nil from Pad-11 on, where they
// are an input that padsFor reads once the input's rank is known) and the constant value.
func (c *call) padOperands() ([]int64, float64) {
	value := 0.0
	switch {
	case c.ver >= 11:
		if v, ok := c.scalar(c.konstOpt(2), "constant_value"); ok {
			value = v
		}
		return nil, value
	case c.ver >= 2:
		if !c.has("pads") {
			c.fail("pads is required in %s", c.versionName())
		}
		return c.attrInts("pads"), c.attrFloat("value", 0)
	default:
		if !c.has("paddings") {
			c.fail("paddings is required in %s", c.versionName())
		}
		return c.attrInts("paddings"), c.attrFloat("value", 0)
	}
}

// padsFor reads Pad-11's pads input for a tensor of rank r; with Pad-18's axes input the pads
// are for those axes only, the others unpadded.
func (c *call) padsFor(r int) []int64 {
	pads := c.ints(c.konst(1), "pads")
	if pads == nil || !c.present(3) {
		return pads
	}
	axes := c.ints(c.konst(3), "axes")
	if axes == nil {
		return nil
	}
	if len(pads) != 2*len(axes) {
		c.fail("pads %v: want 2 values per axis of %v", pads, axes)
		return nil
	}
	full := make([]int64, 2*r)
	seen := make([]bool, r)
	for k, a := range axes {
		ax, ok := c.normAxis(a, r, "axis")
		if !ok {
			return nil
		}
		if seen[ax] {
			c.fail("axis %d given twice", a)
			return nil
		}
		seen[ax] = true
		full[ax], full[r+ax] = pads[k], pads[len(axes)+k]
	}
	return full
}
