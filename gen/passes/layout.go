package passes

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
)

// minBlockedConvInput is the fewest input channels a convolution must have to run blocked: a
// stem's 3 (or 1) channels padded to a block of 16 would cost it 5-16 times the work, more than
// the reorder of its output.
const minBlockedConvInput = ir.BlockC / 2

// ChooseLayout puts the feature maps of the ops that can run blocked (ir.CanBlock) in NCHW16c,
// and inserts a reorder wherever a tensor meets a reader that wants the other layout (an op that
// cannot run blocked, a conv's fused residual, the graph's output). A convolution runs blocked
// when it has at least minBlockedConvInput input channels; the other blockable ops follow their
// first input, so that they add no reorder of their own. The graph's input is NCHW.
func ChooseLayout(g *ir.Graph) {
	for _, n := range g.Nodes {
		n.Layout = ir.NCHW
		if n.Op == ir.OpInput || !ir.CanBlock(n) {
			continue
		}
		in := n.Inputs[0]
		switch {
		case n.Op == ir.OpConv:
			if in.Layout == ir.NCHW16c || in.Shape[0] >= minBlockedConvInput {
				n.Layout = ir.NCHW16c
			}
		default:
			n.Layout = in.Layout
		}
	}
	var out []*ir.Node
	names := map[string]bool{}
	for _, n := range g.Nodes {
		names[n.Name] = true
	}
	reorders := map[[2]any]*ir.Node{} // (tensor, layout) -> its reorder, shared by its readers
	reorder := func(x *ir.Node, to ir.Layout) *ir.Node {
		if len(x.Shape) != 3 || x.Layout == to {
			return x
		}
		key := [2]any{x, to}
		if r := reorders[key]; r != nil {
			return r
		}
		name := x.Name + "." + to.String()
		for k := 2; names[name]; k++ {
			name = fmt.Sprintf("%s.%s#%d", x.Name, to, k)
		}
		names[name] = true
		r := ir.NewNode(ir.OpReorder, name, x)
		ir.As[*ir.ReorderAttrs](r).To = to.String()
		r.Shape, r.Layout, r.Pos = x.Shape, to, x.Pos
		reorders[key] = r
		out = append(out, r)
		return r
	}
	for _, n := range g.Nodes {
		want := n.Layout
		for i, x := range n.Inputs {
			n.Inputs[i] = reorder(x, want)
		}
		if f := n.Fused; f != nil && f.Residual != nil {
			f.Residual = reorder(f.Residual, want)
		}
		out = append(out, n)
	}
	g.Output = reorder(g.Output, ir.NCHW)
	g.Nodes = out
}
