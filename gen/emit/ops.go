package emit

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/plan"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

// opEmitters write the ops with kernels of their own. Every elementwise op whose OpDef names a
// kernel activation (OpDef.Act) runs as kernels.Eltwise and needs no entry here.
var opEmitters = map[ir.Op]func(e *emitter, n *ir.Node) (layerCode, error){
	ir.OpConv:            (*emitter).conv,
	ir.OpLinear:          (*emitter).linear,
	ir.OpMaxPool:         (*emitter).pool,
	ir.OpAvgPool:         (*emitter).pool,
	ir.OpAdaptiveAvgPool: (*emitter).adaptivePool,
	ir.OpGlobalAvgPool:   (*emitter).globalPool,
	ir.OpGlobalMaxPool:   (*emitter).globalPool,
	ir.OpLRN:             (*emitter).lrn,
	ir.OpBatchNorm:       (*emitter).batchNorm,
	ir.OpAffine:          (*emitter).affine,
	ir.OpAdd:             (*emitter).add,
	ir.OpMul:             (*emitter).mul,
	ir.OpPad:             (*emitter).pad,
	ir.OpConcat:          (*emitter).concat,
	ir.OpSoftmax:         (*emitter).softmax,
	ir.OpLogSoftmax:      (*emitter).softmax,
	ir.OpReorder:         (*emitter).reorder,
}

// layer writes the code of one node.
func (e *emitter) layer(n *ir.Node) (layerCode, error) {
	if f := opEmitters[n.Op]; f != nil {
		return f(e, n)
	}
	if d := ir.Def(n.Op); d != nil && d.Act != nil {
		return e.eltwise(n)
	}
	return layerCode{}, fmt.Errorf("%s: code generation does not support %s yet", n.Name, n.Op)
}

// at is the arena slice holding n's output.
func (e *emitter) at(n *ir.Node) *jen.Statement {
	id := e.ids[n]
	return jen.Id("a").Dot("At").Call(jen.Id(id+offSuffix), jen.Id(id+lenSuffix))
}

// call is a.method(&cfg.id, args...): how every layer runs its kernel.
func (e *emitter) call(n *ir.Node, method string, args ...jen.Code) jen.Code {
	return jen.Id("a").Dot(method).Call(append([]jen.Code{jen.Op("&").Id("cfg").Dot(e.ids[n])}, args...)...)
}

// weightsOf is the layer's field of the loaded weights.
func (e *emitter) weightsOf(n *ir.Node) *jen.Statement { return jen.Id("n").Dot("w").Dot(e.ids[n]) }

func (e *emitter) eltwise(n *ir.Node) (layerCode, error) {
	act, ka, err := plan.KernelAct(n, n.Op, n.Attrs)
	if err != nil {
		return layerCode{}, err
	}
	return layerCode{
		settings: kernels.Eltwise{Act: act, Alpha: float32(ka.Alpha), Beta: float32(ka.Beta)},
		body:     []jen.Code{e.call(n, "Eltwise", e.at(n), e.at(n.Inputs[0]))},
	}, nil
}

func paramKey(n *ir.Node, role string) string {
	for i, r := range ir.ParamRoles(n) {
		if r == role {
			return n.Params[i].Key
		}
	}
	return ""
}

func (e *emitter) conv(n *ir.Node) (layerCode, error) {
	k, err := plan.ConvSettings(n)
	if err != nil {
		return layerCode{}, err
	}
	if err := k.Validate(); err != nil {
		return layerCode{}, fmt.Errorf("%s: %w", n.Name, err)
	}
	bn := jen.Nil()
	if n.Fused != nil && n.Fused.BN != nil {
		b := n.Fused.BN
		bn = jen.Op("&").Qual(rtPath, "BN").Values(jen.Id("Weight").Op(":").Lit(b.Params[0].Key), jen.Id("Bias").Op(":").Lit(b.Params[1].Key),
			jen.Id("Mean").Op(":").Lit(b.Params[2].Key), jen.Id("Var").Op(":").Lit(b.Params[3].Key), jen.Id("Eps").Op(":").Lit(b.Eps))
	}
	res := jen.Nil()
	if n.Fused != nil && n.Fused.Residual != nil {
		res = e.at(n.Fused.Residual)
	}
	// A blocked depthwise convolution whose output a global average pooling reads next (a
	// squeeze-and-excitation block) pools its blocks as it computes them (Arena.ConvPool).
	method := "Conv"
	if nx := e.p.Next(n); nx != nil && nx.Op == ir.OpGlobalAvgPool && nx.Inputs[0] == n && k.Layout == kernels.NCHW16c &&
		k.Groups > 1 && k.Groups == k.InC && k.Groups == k.OutC {
		method = "ConvPool"
	}
	body := []jen.Code{e.call(n, method, e.at(n), e.at(n.Inputs[0]), e.weightsOf(n), res)}
	// The lowering follows from the shape, so it is fixed here, at generation time.
	note := "\nlowered as " + k.Algorithm()
	switch x, dw := e.p.ExpandDW(n); n {
	case x:
		body, note = nil, note+", computed band by band by the next layer's call (Arena.ExpandDW)"
	case dw:
		body = []jen.Code{jen.Id("a").Dot("ExpandDW").Call(jen.Op("&").Id("cfg").Dot(e.ids[x]), jen.Op("&").Id("cfg").Dot(e.ids[n]),
			e.at(n), e.at(x.Inputs[0]), e.weightsOf(x), e.weightsOf(n))}
		note += ", with the expansion before it, band by band of its rows (Arena.ExpandDW)"
	}
	return layerCode{
		settings: k,
		weights:  jen.Op("*").Qual(kPath, "ConvWeights"),
		load: jen.List(jen.Id("w").Dot(e.ids[n]), jen.Err()).Op("=").Qual(rtPath, "LoadConv").Call(jen.Id("f"),
			jen.Op("&").Id("cfg").Dot(e.ids[n]), jen.Lit(paramKey(n, "weight")), jen.Lit(paramKey(n, "bias")), bn),
		body: body,
		note: note,
	}, nil
}

func (e *emitter) linear(n *ir.Node) (layerCode, error) {
	l := ir.As[*ir.LinearAttrs](n)
	act, err := plan.FusedAct(n)
	if err != nil {
		return layerCode{}, err
	}
	gemm := jen.Nil()
	if l.Alpha != 1 || l.Beta != 1 || l.TransW {
		gemm = jen.Op("&").Qual(rtPath, "Gemm").Values(jen.Id("Alpha").Op(":").Lit(l.Alpha), jen.Id("Beta").Op(":").Lit(l.Beta),
			jen.Id("TransW").Op(":").Lit(l.TransW))
	}
	return layerCode{
		settings: kernels.Linear{In: n.Inputs[0].Shape[0], Out: l.Out, Act: act},
		weights:  jen.Op("*").Qual(kPath, "LinearWeights"),
		load: jen.List(jen.Id("w").Dot(e.ids[n]), jen.Err()).Op("=").Qual(rtPath, "LoadLinear").Call(jen.Id("f"),
			jen.Op("&").Id("cfg").Dot(e.ids[n]), jen.Lit(paramKey(n, "weight")), jen.Lit(paramKey(n, "bias")), gemm),
		body: []jen.Code{e.call(n, "Linear", e.at(n), e.at(n.Inputs[0]), e.weightsOf(n))},
	}, nil
}

func (e *emitter) pool(n *ir.Node) (layerCode, error) {
	var p *ir.PoolAttrs
	avg := n.Op == ir.OpAvgPool
	inclPad := false
	if avg {
		a := ir.As[*ir.AvgPoolAttrs](n)
		p, inclPad = &a.PoolAttrs, a.CountIncludePad
	} else {
		p = ir.As[*ir.PoolAttrs](n)
	}
	s := n.Inputs[0].Shape
	k := kernels.Pool{C: s[0], InH: s[1], InW: s[2], OutH: n.Shape[1], OutW: n.Shape[2], KH: p.Kernel[0], KW: p.Kernel[1],
		StrideH: p.Stride[0], StrideW: p.Stride[1], PadT: p.Pad[0], PadL: p.Pad[1], PadB: p.Pad[2], PadR: p.Pad[3],
		CountIncludePad: inclPad, Avg: avg, Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Pool", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func (e *emitter) adaptivePool(n *ir.Node) (layerCode, error) {
	s := n.Inputs[0].Shape
	k := kernels.AdaptiveAvgPool{C: s[0], InH: s[1], InW: s[2], OutH: n.Shape[1], OutW: n.Shape[2], Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "AdaptiveAvgPool", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func (e *emitter) globalPool(n *ir.Node) (layerCode, error) {
	s := n.Inputs[0].Shape
	k := kernels.GlobalPool{C: s[0], HW: s[1] * s[2], Max: n.Op == ir.OpGlobalMaxPool, Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "GlobalPool", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func (e *emitter) lrn(n *ir.Node) (layerCode, error) {
	l, s := ir.As[*ir.LRNAttrs](n), n.Shape
	k := kernels.LRN{C: s[0], HW: hw(s), Size: l.Size, Lo: l.Lo, Alpha: float32(l.Alpha), Beta: float32(l.Beta), K: float32(l.Bias), Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "LRN", e.at(n), e.at(n.Inputs[0]))}}, nil
}

// batchNorm is a batch norm the passes could not fold into a conv: a per-channel affine map whose
// scale and shift the loader computes.
func (e *emitter) batchNorm(n *ir.Node) (layerCode, error) {
	act, err := plan.FusedAct(n)
	if err != nil {
		return layerCode{}, err
	}
	bn := jen.Op("&").Qual(rtPath, "BN").Values(jen.Id("Weight").Op(":").Lit(n.Params[0].Key), jen.Id("Bias").Op(":").Lit(n.Params[1].Key),
		jen.Id("Mean").Op(":").Lit(n.Params[2].Key), jen.Id("Var").Op(":").Lit(n.Params[3].Key), jen.Id("Eps").Op(":").Lit(ir.As[*ir.BatchNormAttrs](n).Eps))
	return layerCode{
		settings: kernels.Affine{C: n.Shape[0], HW: hw(n.Shape), Act: act, Layout: plan.KernelLayout(n)},
		weights:  jen.Qual(rtPath, "ChannelAffine"),
		load:     jen.List(jen.Id("w").Dot(e.ids[n]), jen.Err()).Op("=").Qual(rtPath, "LoadBN").Call(jen.Id("f"), bn, jen.Lit(n.Shape[0])),
		body:     []jen.Code{e.call(n, "Affine", e.at(n), e.at(n.Inputs[0]), jen.Op("&").Add(e.weightsOf(n)))},
	}, nil
}

// affine has constant scale and shift; they are "loaded" from the code like a batch norm's
// (a single value applies to every channel, spelled out so the kernel stays per-channel).
func (e *emitter) affine(n *ir.Node) (layerCode, error) {
	act, err := plan.FusedAct(n)
	if err != nil {
		return layerCode{}, err
	}
	a, c := ir.As[*ir.AffineAttrs](n), n.Shape[0]
	perChannel := func(v []float64) []float64 {
		for len(v) < c {
			v = append(v, v[0])
		}
		return v
	}
	return layerCode{
		settings: kernels.Affine{C: c, HW: hw(n.Shape), Act: act, Layout: plan.KernelLayout(n)},
		weights:  jen.Qual(rtPath, "ChannelAffine"),
		load: jen.Id("w").Dot(e.ids[n]).Op("=").Qual(rtPath, "ChannelAffine").Values(
			jen.Id("Scale").Op(":").Add(floats(perChannel(a.Scale))), jen.Id("Shift").Op(":").Add(floats(perChannel(a.Shift)))),
		body: []jen.Code{e.call(n, "Affine", e.at(n), e.at(n.Inputs[0]), jen.Op("&").Add(e.weightsOf(n)))},
	}, nil
}

// add sums its inputs pairwise into the output; the fused activation applies to the last sum.
func (e *emitter) add(n *ir.Node) (layerCode, error) {
	act, err := plan.FusedAct(n)
	if err != nil {
		return layerCode{}, err
	}
	var body []jen.Code
	ins := n.Inputs
	for k := 1; k < len(ins); k++ {
		first := e.at(ins[0])
		if k > 1 {
			first = e.at(n)
		}
		if k < len(ins)-1 {
			body = append(body, jen.Id("a").Dot("Add").Call(jen.Op("&").Qual(kPath, "Add").Values(), e.at(n), first, e.at(ins[k])))
		} else {
			body = append(body, e.call(n, "Add", e.at(n), first, e.at(ins[k])))
		}
	}
	return layerCode{settings: kernels.Add{Act: act}, body: body}, nil
}

func (e *emitter) mul(n *ir.Node) (layerCode, error) {
	x, s := n.Inputs[0], n.Inputs[1]
	k := kernels.Mul{C: x.Shape[0], HW: x.Shape.Size() / x.Shape[0], PerChannel: !x.Shape.Equal(s.Shape), Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Mul", e.at(n), e.at(x), e.at(s))}}, nil
}

func (e *emitter) pad(n *ir.Node) (layerCode, error) {
	s, p := n.Inputs[0].Shape, ir.As[*ir.PadAttrs](n)
	k := kernels.Pad{C: s[0], H: s[1], W: s[2], Top: p.Pads[0], Left: p.Pads[1], Bottom: p.Pads[2], Right: p.Pads[3], Value: float32(p.Value), Layout: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Pad", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func (e *emitter) softmax(n *ir.Node) (layerCode, error) {
	a, s := ir.As[*ir.SoftmaxAttrs](n), n.Shape
	end := a.End(len(s))
	k := kernels.Softmax{Outer: s[:a.Axis].Size(), Block: s[a.Axis:end].Size(), Inner: s[end:].Size(), Log: n.Op == ir.OpLogSoftmax}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Softmax", e.at(n), e.at(n.Inputs[0]))}}, nil
}

// concat copies the inputs the planner could not place in its buffer (the others were written
// there by their producers).
func (e *emitter) concat(n *ir.Node) (layerCode, error) {
	var body []jen.Code
	rel := 0
	for _, x := range n.Inputs {
		if !e.p.InConcat(x, n) {
			dst := jen.Id("a").Dot("At").Call(jen.Id(e.ids[n]+offSuffix).Op("+").Lit(rel), jen.Id(e.ids[x]+lenSuffix))
			body = append(body, jen.Copy(dst, e.at(x)))
		}
		rel += x.PhysicalSize() // blocked inputs but the last fill whole blocks (ir.OpConcat's Blocked)
	}
	if len(body) == 0 {
		body = append(body, jen.Comment("every input was written here by its producer"))
	}
	return layerCode{body: body}, nil
}

// reorder converts a feature map between layouts.
func (e *emitter) reorder(n *ir.Node) (layerCode, error) {
	s := n.Shape
	k := kernels.Reorder{C: s[0], HW: s[1] * s[2], To: plan.KernelLayout(n)}
	return layerCode{settings: k, body: []jen.Code{e.call(n, "Reorder", e.at(n), e.at(n.Inputs[0]))}}, nil
}

func hw(s ir.Shape) int {
	if len(s) == 3 {
		return s[1] * s[2]
	}
	return 1
}
