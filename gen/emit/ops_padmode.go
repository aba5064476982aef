package emit

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

func init() {
	opEmitters[ir.OpReflectionPad] = (*emitter).padBorder
	opEmitters[ir.OpReplicationPad] = (*emitter).padBorder
}

func (e *emitter) padBorder(n *ir.Node) (layerCode, error) {
	s, p := n.Inputs[0].Shape, ir.As[*ir.BorderPadAttrs](n).Pads
	k := kernels.PadBorder{C: s[0], H: s[1], W: s[2], Top: p[0], Left: p[1], Bottom: p[2], Right: p[3], Reflect: n.Op == ir.OpReflectionPad}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "PadBorder", e.at(n), e.at(n.Inputs[0]))}}, nil
}
