package emit

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

func init() {
	opEmitters[ir.OpLayerNorm] = (*emitter).layerNorm
	opEmitters[ir.OpErf] = (*emitter).erf
}

// layerNorm loads the weight and bias as they are and runs kernels.LayerNorm over the
// normalized dims, addressed as outer x block x inner.
func (e *emitter) layerNorm(n *ir.Node) (layerCode, error) {
	a := ir.As[*ir.LayerNormAttrs](n)
	outer, block, inner := a.Split(n.Inputs[0].Shape)
	return layerCode{
		settings: kernels.LayerNorm{Outer: outer, Block: block, Inner: inner, Eps: float32(a.Eps)},
		weights:  jen.Qual(rtPath, "NormWeights"),
		load: jen.List(jen.Id("w").Dot(e.ids[n]), jen.Err()).Op("=").Qual(rtPath, "LoadNorm").Call(jen.Id("f"),
			jen.Lit(paramKey(n, "weight")), jen.Lit(paramKey(n, "bias")), jen.Lit(block)),
		body: []jen.Code{e.call(n, "LayerNorm", e.at(n), e.at(n.Inputs[0]), jen.Op("&").Add(e.weightsOf(n)))},
	}, nil
}

func (e *emitter) erf(n *ir.Node) (layerCode, error) {
	return layerCode{settings: kernels.Erf{}, body: []jen.Code{e.call(n, "Erf", e.at(n), e.at(n.Inputs[0]))}}, nil
}
