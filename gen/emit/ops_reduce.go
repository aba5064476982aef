package emit

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

func init() {
	for _, op := range []ir.Op{ir.OpReduceMean, ir.OpReduceMax, ir.OpReduceSum, ir.OpReduceL2} {
		opEmitters[op] = (*emitter).reduce
	}
}

// reduce runs kernels.Reduce over the reduced dims of the input, addressed as outer x block x
// inner.
func (e *emitter) reduce(n *ir.Node) (layerCode, error) {
	outer, block, inner := ir.As[*ir.ReduceAttrs](n).Split(n.Inputs[0].Shape)
	k := kernels.Reduce{Outer: outer, Block: block, Inner: inner,
		Mean: n.Op == ir.OpReduceMean, Max: n.Op == ir.OpReduceMax, L2: n.Op == ir.OpReduceL2}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Reduce", e.at(n), e.at(n.Inputs[0]))}}, nil
}
