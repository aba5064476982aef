package interp

import "github.com/cnngen/cnngen/gen/ir"

func init() {
	evals[ir.OpChannelShuffle] = func(n *node) ([]float64, error) {
		g := ir.As[*ir.ChannelShuffleAttrs](n.Node).Groups
		if len(n.in) < 2 || g <= 0 || n.in[0]%g != 0 {
			return nil, nodeErr(n.Node, "shuffles %v in %d groups", n.in, g)
		}
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		// x.view(N, g, C/g, rest).transpose(1, 2): output channel i*g + j is input channel
		// j*(C/g) + i.
		c, plane := n.in[0], n.in.Size()/n.in[0]
		per := c / g
		x := n.x()
		out := make([]float64, len(x))
		for b := range n.batch {
			for i := range per {
				for j := range g {
					src := x[(b*c+j*per+i)*plane:][:plane]
					copy(out[(b*c+i*g+j)*plane:][:plane], src)
				}
			}
		}
		return out, nil
	}
	evals[ir.OpNarrow] = func(n *node) ([]float64, error) {
		a := ir.As[*ir.NarrowAttrs](n.Node)
		if a.Axis < 0 || a.Axis >= len(n.in) || a.Start < 0 || a.Length <= 0 || a.Start+a.Length > n.in[a.Axis] {
			return nil, nodeErr(n.Node, "narrows dim %d of %v to [%d, %d)", a.Axis, n.in, a.Start, a.Start+a.Length)
		}
		want := append(ir.Shape(nil), n.in...)
		want[a.Axis] = a.Length
		if err := checkShape(n.Node, want); err != nil {
			return nil, err
		}
		outer, dim, inner := n.in[:a.Axis].Size()*n.batch, n.in[a.Axis], n.in[a.Axis+1:].Size()
		x := n.x()
		out := make([]float64, 0, outer*a.Length*inner)
		for o := range outer {
			out = append(out, x[(o*dim+a.Start)*inner:(o*dim+a.Start+a.Length)*inner]...)
		}
		return out, nil
	}
}
