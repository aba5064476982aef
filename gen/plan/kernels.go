package plan

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
)

// The IR's translation into kernel settings lives here, not in gen/emit, because the plan's
// lifetimes depend on it too: which layers run fused (ExpandDW) is the kernels' decision on
// those settings, and the emitter must write exactly the pairs the plan laid out.

// KernelLayout is the kernels' name for n's layout.
func KernelLayout(n *ir.Node) kernels.Layout {
	if n.Layout == ir.NCHW16c {
		return kernels.NCHW16c
	}
	return kernels.NCHW
}

// KernelAct is the kernel activation of an elementwise op with attributes a.
func KernelAct(n *ir.Node, op ir.Op, a ir.Attrs) (kernels.Act, ir.KernelAct, error) {
	d := ir.Def(op)
	if d == nil || d.Act == nil {
		return 0, ir.KernelAct{}, fmt.Errorf("%s: %s has no activation kernel", n.Name, op)
	}
	ka := d.Act(a)
	act, err := kernels.ActByName(ka.Name)
	if err != nil {
		return 0, ka, fmt.Errorf("%s: %w", n.Name, err)
	}
	return act, ka, nil
}

// FusedAct is the activation the passes fused into n's epilogue (ActNone for none).
func FusedAct(n *ir.Node) (kernels.Act, error) {
	if n.Fused == nil || n.Fused.Act == "" {
		return kernels.ActNone, nil
	}
	act, ka, err := KernelAct(n, n.Fused.Act, n.Fused.ActAttrs)
	if err == nil && !ka.Epilogue {
		err = fmt.Errorf("%s: %s cannot run in an epilogue", n.Name, n.Fused.Act)
	}
	return act, err
}

// ConvSettings are a convolution n's kernel settings.
func ConvSettings(n *ir.Node) (kernels.Conv, error) {
	c, in := ir.As[*ir.ConvAttrs](n), n.Inputs[0].Shape
	act, err := FusedAct(n)
	return kernels.Conv{InC: in[0], InH: in[1], InW: in[2], OutC: n.Shape[0], OutH: n.Shape[1], OutW: n.Shape[2],
		KH: c.Kernel[0], KW: c.Kernel[1], StrideH: c.Stride[0], StrideW: c.Stride[1], PadT: c.Pad[0], PadL: c.Pad[1],
		DilH: c.Dilation[0], DilW: c.Dilation[1], Groups: c.Groups, Act: act, Layout: KernelLayout(n)}, err
}

// ExpandDW reports the pair a pointwise convolution and the depthwise convolution after it form
// when they run fused (kernels.ExpandDW, runtime's Arena.ExpandDW); given either node, it
// returns the expansion and the depthwise convolution, or nils. The expansion's output has no
// region: nothing writes or reads it in the arena.
func (p *Plan) ExpandDW(n *ir.Node) (exp, dw *ir.Node) {
	if m := p.fusedDW[n]; m != nil {
		return n, m
	}
	if x := p.fusedExp[n]; x != nil {
		return x, n
	}
	return nil, nil
}

// nextLayers maps each node that runs code to the one whose layer function runs right after it:
// the input and views run none.
func nextLayers(g *ir.Graph) map[*ir.Node]*ir.Node {
	next := map[*ir.Node]*ir.Node{}
	var prev *ir.Node
	for _, m := range g.Nodes {
		if m.Op == ir.OpInput || ir.IsView(m.Op) {
			continue
		}
		if prev != nil {
			next[prev] = m
		}
		prev = m
	}
	return next
}

// Next is the node whose layer function runs right after n's, or nil.
func (p *Plan) Next(n *ir.Node) *ir.Node { return p.next[n] }

// expandDWPairs finds the pairs that fuse: an expansion x whose output only the layer that runs
// right after it reads, as its input, on settings kernels.ExpandDW.Fuses accepts. x must not be
// a tensor anyone else sees (the output, the features the head reads, a residual).
func expandDWPairs(g *ir.Graph, next map[*ir.Node]*ir.Node, cons map[*ir.Node][]*ir.Node) map[*ir.Node]*ir.Node {
	pairs := map[*ir.Node]*ir.Node{}
	var feat *ir.Node
	if h := g.Head(); h != nil {
		feat = h.Inputs[0]
	}
	for prev, m := range next {
		if prev.Op != ir.OpConv || m.Op != ir.OpConv || len(cons[prev]) != 1 || cons[prev][0] != m ||
			m.Inputs[0] != prev || prev == g.Output || prev == feat ||
			prev.Fused != nil && prev.Fused.Residual != nil || m.Fused != nil && m.Fused.Residual != nil {
			continue
		}
		kx, err1 := ConvSettings(prev)
		km, err2 := ConvSettings(m)
		if err1 != nil || err2 != nil || !(kernels.ExpandDW{E: &kx, D: &km}).Fuses() {
			continue
		}
		pairs[prev] = m
	}
	return pairs
}
