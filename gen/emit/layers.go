package emit

import (
	"fmt"
	"math"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

var acts = map[ir.Op]string{"": "ActNone", ir.OpReLU: "ActReLU", ir.OpReLU6: "ActReLU6", ir.OpSigmoid: "ActSigmoid",
	ir.OpSiLU: "ActSiLU", ir.OpTanh: "ActTanh", ir.OpHardSigmoid: "ActHardSigmoid", ir.OpHardSwish: "ActHardSwish"}

var kernelActs = map[ir.Op]kernels.Act{"": kernels.ActNone, ir.OpReLU: kernels.ActReLU, ir.OpReLU6: kernels.ActReLU6,
	ir.OpSigmoid: kernels.ActSigmoid, ir.OpSiLU: kernels.ActSiLU, ir.OpTanh: kernels.ActTanh,
	ir.OpHardSigmoid: kernels.ActHardSigmoid, ir.OpHardSwish: kernels.ActHardSwish}

func act(op ir.Op) jen.Code { return jen.Qual(kPath, acts[op]) }

func fusedAct(n *ir.Node) ir.Op {
	if n.Fused == nil {
		return ""
	}
	return n.Fused.Act
}

// buf is the arena slice holding n's output.
func (e *emitter) buf(n *ir.Node) *jen.Statement {
	r := e.p.Of(n)
	return jen.Id("a").Dot("Buf").Index(jen.Lit(r.Off), jen.Lit(r.End()))
}

func (e *emitter) conv(n *ir.Node) *kernels.Conv {
	c, in := n.Conv, n.Inputs[0].Shape
	return &kernels.Conv{InC: in[0], InH: in[1], InW: in[2], OutC: n.Shape[0], OutH: n.Shape[1], OutW: n.Shape[2],
		KH: c.Kernel[0], KW: c.Kernel[1], StrideH: c.Stride[0], StrideW: c.Stride[1], PadT: c.Pad[0], PadL: c.Pad[1],
		DilH: c.Dilation[0], DilW: c.Dilation[1], Groups: c.Groups, Act: kernelActs[fusedAct(n)]}
}

func fields(kv ...any) jen.Code {
	var items []jen.Code
	for i := 0; i < len(kv); i += 2 {
		items = append(items, jen.Id(kv[i].(string)).Op(":").Add(lit(kv[i+1])))
	}
	return jen.Values(items...)
}

func lit(v any) jen.Code {
	if c, ok := v.(jen.Code); ok {
		return c
	}
	return jen.Lit(v)
}

func paramKey(n *ir.Node, role string) string {
	for i, r := range ir.ParamRoles(n) {
		if r == role {
			return n.Params[i].Key
		}
	}
	return ""
}

// header is the comment above a layer function: what it computes, in the spec's terms.
func header(n *ir.Node) string {
	var ins []string
	for _, in := range n.Inputs {
		ins = append(ins, fmt.Sprintf("%s %v", in.Name, in.Shape))
	}
	s := fmt.Sprintf("%s: %s", n.Name, n.Op)
	switch n.Op {
	case ir.OpConv:
		c := n.Conv
		s += fmt.Sprintf(" %dx%d stride %v pad %v dilation %v groups %d bias %v", c.Kernel[0], c.Kernel[1], c.Stride, c.Pad, c.Dilation, c.Groups, c.Bias)
	case ir.OpMaxPool, ir.OpAvgPool:
		c := n.Pool
		s += fmt.Sprintf(" %dx%d stride %v pad %v ceil_mode %v", c.Kernel[0], c.Kernel[1], c.Stride, c.Pad, c.CeilMode)
		if n.Op == ir.OpAvgPool {
			s += fmt.Sprintf(" count_include_pad %v", c.CountIncludePad)
		}
	case ir.OpLRN:
		s += fmt.Sprintf(" size %d alpha %g beta %g k %g", n.LRN.Size, n.LRN.Alpha, n.LRN.Beta, n.LRN.Bias)
	case ir.OpLinear:
		s += fmt.Sprintf(" %d -> %d bias %v", n.Inputs[0].Shape[0], n.Features, n.LinBias)
	case ir.OpBatchNorm:
		s += fmt.Sprintf(" eps %g", n.Eps)
	}
	s += fmt.Sprintf("\n%s -> %v", strings.Join(ins, ", "), n.Shape)
	if f := n.Fused; f != nil {
		if f.BN != nil {
			s += fmt.Sprintf("\nbatch norm %s folded in (eps %g)", f.BN.Name, f.BN.Eps)
		}
		if f.Residual != nil {
			s += fmt.Sprintf("\nresidual %s added", f.Residual.Name)
		}
		if f.Act != "" {
			s += fmt.Sprintf("\nthen %s", f.Act)
		}
	}
	return s
}

// layer emits the function for one node, with its kernel settings, weights and loading code.
func (e *emitter) layer(n *ir.Node) error {
	id := e.ids[n]
	a := jen.Id("a").Op("*").Qual(rtPath, "Arena")
	var body []jen.Code
	var in *jen.Statement
	if len(n.Inputs) > 0 {
		in = e.buf(n.Inputs[0])
	}
	out := e.buf(n)
	switch n.Op {
	case ir.OpInput, ir.OpFlatten, ir.OpReshape:
		return nil // see noCode
	case ir.OpConv:
		cfg := id + "Conv"
		c := e.conv(n)
		e.convs = append(e.convs, cfg)
		e.f.Var().Id(cfg).Op("=").Qual(kPath, "Conv").Add(fields("InC", c.InC, "InH", c.InH, "InW", c.InW,
			"OutC", c.OutC, "OutH", c.OutH, "OutW", c.OutW, "KH", c.KH, "KW", c.KW, "StrideH", c.StrideH, "StrideW", c.StrideW,
			"PadT", c.PadT, "PadL", c.PadL, "DilH", c.DilH, "DilW", c.DilW, "Groups", c.Groups, "Act", act(fusedAct(n))))
		e.wfields = append(e.wfields, jen.Id(id).Op("*").Qual(kPath, "ConvWeights"))
		bn := jen.Nil()
		if n.Fused != nil && n.Fused.BN != nil {
			b := n.Fused.BN
			bn = jen.Op("&").Qual(rtPath, "BN").Add(fields("Weight", b.Params[0].Key, "Bias", b.Params[1].Key,
				"Mean", b.Params[2].Key, "Var", b.Params[3].Key, "Eps", b.Eps))
		}
		e.loads = append(e.loads, jen.Add(
			jen.List(jen.Id("w").Dot(id), jen.Err()).Op("=").Qual(rtPath, "LoadConv").Call(jen.Id("f"), jen.Op("&").Id(cfg),
				jen.Lit(paramKey(n, "weight")), jen.Lit(paramKey(n, "bias")), bn)))
		res := jen.Nil()
		if n.Fused != nil && n.Fused.Residual != nil {
			res = e.buf(n.Fused.Residual)
		}
		body = append(body, jen.Id("a").Dot("Conv").Call(jen.Op("&").Id(cfg), in, out, jen.Id("n").Dot("w").Dot(id), res))
	case ir.OpLinear:
		cfg := id + "Linear"
		e.f.Var().Id(cfg).Op("=").Qual(kPath, "Linear").Add(fields("In", n.Inputs[0].Shape[0], "Out", n.Features, "Act", act(fusedAct(n))))
		e.wfields = append(e.wfields, jen.Id(id).Op("*").Qual(kPath, "LinearWeights"))
		gemm := jen.Nil()
		if g := n.Gemm; g != nil {
			gemm = jen.Op("&").Qual(rtPath, "Gemm").Add(fields("Alpha", g.Alpha, "Beta", g.Beta, "TransW", g.TransW))
		}
		e.loads = append(e.loads, jen.Add(
			jen.List(jen.Id("w").Dot(id), jen.Err()).Op("=").Qual(rtPath, "LoadLinear").Call(jen.Id("f"), jen.Op("&").Id(cfg),
				jen.Lit(paramKey(n, "weight")), jen.Lit(paramKey(n, "bias")), gemm)))
		body = append(body, jen.Id("a").Dot("Linear").Call(jen.Op("&").Id(cfg), in, out, jen.Id("n").Dot("w").Dot(id)))
	case ir.OpMaxPool, ir.OpAvgPool:
		cfg := id + "Pool"
		p, s := n.Pool, n.Inputs[0].Shape
		e.f.Var().Id(cfg).Op("=").Qual(kPath, "Pool").Add(fields("C", s[0], "InH", s[1], "InW", s[2], "OutH", n.Shape[1], "OutW", n.Shape[2],
			"KH", p.Kernel[0], "KW", p.Kernel[1], "StrideH", p.Stride[0], "StrideW", p.Stride[1],
			"PadT", p.Pad[0], "PadL", p.Pad[1], "PadB", p.Pad[2], "PadR", p.Pad[3], "CountIncludePad", p.CountIncludePad))
		method := "MaxPool"
		if n.Op == ir.OpAvgPool {
			method = "AvgPool"
		}
		body = append(body, jen.Id("a").Dot(method).Call(jen.Op("&").Id(cfg), in, out))
	case ir.OpAdaptiveAvgPool:
		s := n.Inputs[0].Shape
		body = append(body, jen.Qual(kPath, "AdaptiveAvgPool").Call(jen.Lit(s[0]), jen.Lit(s[1]), jen.Lit(s[2]), jen.Lit(n.Shape[1]), jen.Lit(n.Shape[2]), in, out))
	case ir.OpGlobalAvgPool, ir.OpGlobalMaxPool:
		s := n.Inputs[0].Shape
		fn := "GlobalAvgPool"
		if n.Op == ir.OpGlobalMaxPool {
			fn = "GlobalMaxPool"
		}
		body = append(body, jen.Qual(kPath, fn).Call(jen.Lit(s[0]), jen.Lit(s[1]*s[2]), in, out))
	case ir.OpLRN:
		s, l := n.Shape, n.LRN
		body = append(body, jen.Qual(kPath, "LRN").Call(jen.Lit(s[0]), jen.Lit(hw(s)), jen.Lit(l.Size), jen.Lit(l.Lo), jen.Lit(l.Alpha), jen.Lit(l.Beta), jen.Lit(l.Bias), in, out))
	case ir.OpBatchNorm:
		e.wfields = append(e.wfields, jen.List(jen.Id(id+"Scale"), jen.Id(id+"Shift")).Index().Float32())
		e.loads = append(e.loads, jen.Add(
			jen.List(jen.Id("w").Dot(id+"Scale"), jen.Id("w").Dot(id+"Shift"), jen.Err()).Op("=").Qual(rtPath, "LoadBN").Call(jen.Id("f"),
				jen.Op("&").Qual(rtPath, "BN").Add(fields("Weight", n.Params[0].Key, "Bias", n.Params[1].Key, "Mean", n.Params[2].Key, "Var", n.Params[3].Key, "Eps", n.Eps)),
				jen.Lit(n.Shape[0]))))
		body = append(body, jen.Qual(kPath, "ChannelAffine").Call(jen.Lit(n.Shape[0]), jen.Lit(hw(n.Shape)),
			jen.Id("n").Dot("w").Dot(id+"Scale"), jen.Id("n").Dot("w").Dot(id+"Shift"), in, out, act("")))
	case ir.OpAffine:
		// A single value applies to every channel: spelled out so the kernel stays per-channel.
		perChannel := func(v []float64) []float64 {
			for len(v) < n.Shape[0] {
				v = append(v, v[0])
			}
			return v
		}
		e.f.Var().Defs(jen.Id(id+"Scale").Op("=").Add(floats(perChannel(n.Scale))), jen.Id(id+"Shift").Op("=").Add(floats(perChannel(n.Shift))))
		body = append(body, jen.Qual(kPath, "ChannelAffine").Call(jen.Lit(n.Shape[0]), jen.Lit(hw(n.Shape)),
			jen.Id(id+"Scale"), jen.Id(id+"Shift"), in, out, act("")))
	case ir.OpReLU, ir.OpReLU6, ir.OpSigmoid, ir.OpSiLU, ir.OpTanh, ir.OpHardSwish, ir.OpHardSigmoid, ir.OpSoftmax, ir.OpLogSoftmax, ir.OpClip:
		if !e.p.InPlace(n) {
			body = append(body, jen.Copy(out.Clone(), in))
		}
		switch {
		case n.Op == ir.OpSoftmax || n.Op == ir.OpLogSoftmax:
			s, end := n.Shape, n.AxisEnd
			if end == 0 {
				end = len(s)
			}
			body = append(body, jen.Qual(kPath, "SoftmaxAxis").Call(jen.Lit(s[:n.Axis].Size()), jen.Lit(s[n.Axis:end].Size()),
				jen.Lit(s[end:].Size()), out.Clone(), jen.Lit(n.Op == ir.OpLogSoftmax)))
		case n.Op == ir.OpClip:
			body = append(body, jen.Qual(kPath, "Clip").Call(out.Clone(), clipBound(n.ClipMin), clipBound(n.ClipMax)))
		case n.Op == ir.OpHardSigmoid && !(n.HardAlpha == 1.0/6 && n.HardBeta == 0.5):
			body = append(body, jen.Id("x").Op(":=").Add(out.Clone()),
				jen.For(jen.List(jen.Id("i"), jen.Id("v")).Op(":=").Range().Id("x")).Block(
					jen.Id("x").Index(jen.Id("i")).Op("=").Min(jen.Lit(1.0), jen.Max(jen.Lit(0.0),
						jen.Lit(n.HardAlpha).Op("*").Id("v").Op("+").Lit(n.HardBeta)))))
		default:
			body = append(body, jen.Qual(kPath, "Apply").Call(act(n.Op), out.Clone()))
		}
	case ir.OpAdd:
		ins := n.Inputs
		for k := 1; k < len(ins); k++ {
			first := e.buf(ins[0])
			if k > 1 {
				first = out.Clone()
			}
			a := act("")
			if k == len(ins)-1 {
				a = act(fusedAct(n))
			}
			body = append(body, jen.Qual(kPath, "Add").Call(out.Clone(), first, e.buf(ins[k]), a))
		}
	case ir.OpMul:
		x, s := n.Inputs[0], n.Inputs[1]
		if !x.Shape.Equal(s.Shape) {
			body = append(body, jen.Qual(kPath, "MulChannel").Call(jen.Lit(x.Shape[0]), jen.Lit(hw(x.Shape)), in, e.buf(s), out))
		} else {
			body = append(body, jen.Qual(kPath, "Mul").Call(out, in, e.buf(s)))
		}
	case ir.OpPad:
		s, p := n.Inputs[0].Shape, n.Pads
		body = append(body, jen.Qual(kPath, "Pad").Call(jen.Lit(s[0]), jen.Lit(s[1]), jen.Lit(s[2]), jen.Lit(p[0]), jen.Lit(p[1]), jen.Lit(p[2]), jen.Lit(p[3]),
			jen.Lit(n.PadValue), in, out))
	case ir.OpConcat:
		// Inputs the planner put in place were written here by their producers.
		off := e.p.Of(n).Off
		for _, x := range n.Inputs {
			size := x.Shape.Size()
			if !e.p.InConcat(x) {
				body = append(body, jen.Copy(jen.Id("a").Dot("Buf").Index(jen.Lit(off), jen.Lit(off+size)), e.buf(x)))
			}
			off += size
		}
		if len(body) == 0 {
			body = append(body, jen.Comment("every input was written here by its producer"))
		}
	default:
		return fmt.Errorf("%s: code generation does not support %s yet", n.Name, n.Op)
	}
	h := header(n)
	if n.Op == ir.OpConv {
		// The lowering follows from the shape, so it is fixed here, at generation time.
		h += "\nlowered as " + e.conv(n).Algorithm()
	}
	comment(e.f, h)
	e.f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id(id).Params(a).Block(body...)
	return nil
}

func hw(s ir.Shape) int {
	if len(s) == 3 {
		return s[1] * s[2]
	}
	return 1
}

// comment writes text as // lines (jennifer would turn a multi-line comment into /* */).
func comment(f *jen.File, text string) {
	for _, line := range strings.Split(text, "\n") {
		f.Comment(line)
	}
}

// clipBound spells a clip bound; ONNX's defaults are the float32 infinities.
func clipBound(v float64) jen.Code {
	switch {
	case math.IsInf(v, 1):
		return jen.Float32().Parens(jen.Qual("math", "Inf").Call(jen.Lit(1)))
	case math.IsInf(v, -1):
		return jen.Float32().Parens(jen.Qual("math", "Inf").Call(jen.Lit(-1)))
	}
	return jen.Lit(v)
}

// noCode ops have no layer function: the input is copied in by RunImage; flatten and reshape are
// views of their input's buffer.
func noCode(op ir.Op) bool { return op == ir.OpInput || ir.IsView(op) }
