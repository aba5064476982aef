package emit

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

func init() {
	opEmitters[ir.OpChannelShuffle] = (*emitter).channelShuffle
	opEmitters[ir.OpNarrow] = (*emitter).narrow
}

func (e *emitter) channelShuffle(n *ir.Node) (layerCode, error) {
	s := n.Shape
	k := kernels.ChannelShuffle{C: s[0], HW: s.Size() / s[0], Groups: ir.As[*ir.ChannelShuffleAttrs](n).Groups}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "ChannelShuffle", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func (e *emitter) narrow(n *ir.Node) (layerCode, error) {
	a, s := ir.As[*ir.NarrowAttrs](n), n.Inputs[0].Shape
	k := kernels.Narrow{Outer: s[:a.Axis].Size(), Dim: s[a.Axis], Inner: s[a.Axis+1:].Size(), Start: a.Start, Length: a.Length}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Narrow", e.at(n), e.at(n.Inputs[0]))}}, nil
}
