package emit

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

func init() {
	opEmitters[ir.OpDilatedMaxPool] = (*emitter).dilatedPool
	opEmitters[ir.OpDilatedAvgPool] = (*emitter).dilatedPool
}

func (e *emitter) dilatedPool(n *ir.Node) (layerCode, error) {
	var a *ir.DilatedPoolAttrs
	incl := false
	if n.Op == ir.OpDilatedAvgPool {
		avg := ir.As[*ir.DilatedAvgPoolAttrs](n)
		a, incl = &avg.DilatedPoolAttrs, avg.CountIncludePad
	} else {
		a = ir.As[*ir.DilatedPoolAttrs](n)
	}
	s := n.Inputs[0].Shape
	k := kernels.DilatedPool{C: s[0], InH: s[1], InW: s[2], OutH: n.Shape[1], OutW: n.Shape[2], KH: a.Kernel[0], KW: a.Kernel[1],
		StrideH: a.Stride[0], StrideW: a.Stride[1], PadT: a.Pad[0], PadL: a.Pad[1], PadB: a.Pad[2], PadR: a.Pad[3],
		DilH: a.Dilation[0], DilW: a.Dilation[1], Avg: n.Op == ir.OpDilatedAvgPool, CountIncludePad: incl}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "DilatedPool", e.at(n), e.at(n.Inputs[0]))}}, nil
}
