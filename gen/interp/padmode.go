package interp

import "github.com/cnngen/cnngen/gen/ir"

func init() {
	for _, op := range []ir.Op{ir.OpReflectionPad, ir.OpReplicationPad} {
		evals[op] = func(n *node) ([]float64, error) {
			if err := needCHW(n); err != nil {
				return nil, err
			}
			p, in := ir.As[*ir.BorderPadAttrs](n.Node).Pads, n.in
			reflect := n.Op == ir.OpReflectionPad
			for i, v := range p {
				if dim := in[1+i%2]; v < 0 || reflect && v >= dim {
					return nil, nodeErr(n.Node, "pads %v of %v", p, in)
				}
			}
			C, H, W := in[0], in[1], in[2]
			OH, OW := H+p[0]+p[2], W+p[1]+p[3]
			if err := checkShape(n.Node, ir.Shape{C, OH, OW}); err != nil {
				return nil, err
			}
			x := n.x()
			out := make([]float64, n.batch*C*OH*OW)
			for t := range n.batch * C {
				for y := range OH {
					sy := border(y-p[0], H, reflect)
					for xo := range OW {
						out[(t*OH+y)*OW+xo] = x[(t*H+sy)*W+border(xo-p[1], W, reflect)]
					}
				}
			}
			return out, nil
		}
	}
}

// border maps an index i of a padded axis of n values to the input index it copies: mirrored at
// the edges without repeating them (reflect) or clamped to them.
func border(i, n int, reflect bool) int {
	switch {
	case i < 0 && reflect:
		return -i
	case i >= n && reflect:
		return 2*(n-1) - i
	}
	return min(max(i, 0), n-1)
}
