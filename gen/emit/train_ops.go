package emit

import (
	"fmt"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/plan"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

// Each op's training code: its state (kernel settings and parameters), its forward call and its
// backward call, trainrt's methods of the same name.

// v is the value of n for the current batch; g its gradient; dx where a backward pass puts n's
// gradient (nothing when n has none).
func (e *trainEmitter) v(n *ir.Node) jen.Code {
	return jen.Id("t").Dot("v").Call(jen.Id("val").Dot(e.ids[n]))
}

func (e *trainEmitter) gr(n *ir.Node) jen.Code {
	return jen.Id("t").Dot("g").Call(jen.Id("grad").Dot(e.ids[n]))
}

func (e *trainEmitter) dx(n *ir.Node) jen.Code {
	if _, ok := e.p.Grad[n]; !ok {
		return jen.Qual(trPath, "Grad").Values()
	}
	return jen.Id("t").Dot("dx").Call(jen.Id("grad").Dot(e.ids[n]))
}

// vIf is v(n) when the backward pass reads it, else nil (its memory may hold something else by
// then).
func (e *trainEmitter) vIf(n *ir.Node, read bool) jen.Code {
	if read {
		return e.v(n)
	}
	return jen.Nil()
}

func (e *trainEmitter) state(n *ir.Node) *jen.Statement {
	return jen.Op("&").Id("t").Dot("l").Dot(e.ids[n])
}

func xcall(method string, args ...jen.Code) jen.Code {
	return jen.Id("x").Dot(method).Call(args...)
}

// addParam registers a tensor: t.ps.Add("name", dims...).
func addParam(method string, p ir.Param, extra ...jen.Code) jen.Code {
	args := []jen.Code{jen.Lit(p.Key)}
	args = append(args, extra...)
	for _, d := range p.Shape {
		args = append(args, jen.Lit(d))
	}
	return jen.Id("t").Dot("ps").Dot(method).Call(args...)
}

func field(name string, v jen.Code) jen.Code { return jen.Id(name).Op(":").Add(v) }

func (e *trainEmitter) layer(n *ir.Node) (*trainLayer, error) {
	ins, out := plan.BackwardReads(n)
	in := n.Inputs[0]
	id := e.ids[n]
	tl := &trainLayer{}
	st := e.state(n)
	trType := func(name string) jen.Code { return jen.Qual(trPath, name) }
	kset := func(typ string, k any) {
		tl.state = trType(typ)
		tl.init = jen.Qual(trPath, typ).Values(field("K", literal(k)))
	}
	simple := func(method string, backArgs ...jen.Code) {
		tl.forward = []jen.Code{xcall(method, st, e.v(n), e.v(in))}
		tl.backward = []jen.Code{xcall(method+"Backward", append([]jen.Code{st, e.dx(in), e.gr(n)}, backArgs...)...)}
	}
	switch n.Op {
	case ir.OpConv:
		k, err := plan.ConvSettings(n)
		if err != nil {
			return nil, err
		}
		k.Layout = kernels.NCHW
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", n.Name, err)
		}
		fs := []jen.Code{field("K", literal(k)), field("W", addParam("Add", n.Params[0]))}
		if len(n.Params) > 1 {
			fs = append(fs, field("B", addParam("Add", n.Params[1])))
		}
		tl.state, tl.init, tl.weighted, tl.scratch = trType("Conv"), jen.Qual(trPath, "Conv").Values(fs...), true, true
		tl.forward = []jen.Code{xcall("Conv", st, e.v(n), e.v(in))}
		tl.backward = []jen.Code{xcall("ConvBackward", st, e.dx(in), e.gr(n), e.vIf(in, ins[0]), e.vIf(n, out))}
	case ir.OpLinear:
		a := ir.As[*ir.LinearAttrs](n)
		act, err := plan.FusedAct(n)
		if err != nil {
			return nil, err
		}
		fs := []jen.Code{field("In", jen.Lit(in.Shape[0])), field("Out", jen.Lit(a.Out))}
		if act != kernels.ActNone {
			fs = append(fs, field("Act", jen.Qual(kPath, act.Ident())))
		}
		fs = append(fs, field("Alpha", float32Lit(float32(a.Alpha))), field("Beta", float32Lit(float32(a.Beta))))
		if a.TransW {
			fs = append(fs, field("TransW", jen.True()))
		}
		fs = append(fs, field("W", addParam("Add", n.Params[0])))
		if len(n.Params) > 1 {
			fs = append(fs, field("B", addParam("Add", n.Params[1])))
		}
		tl.state, tl.init, tl.weighted, tl.scratch = trType("Linear"), jen.Qual(trPath, "Linear").Values(fs...), true, true
		tl.forward = []jen.Code{xcall("Linear", st, e.v(n), e.v(in))}
		tl.backward = []jen.Code{xcall("LinearBackward", st, e.dx(in), e.gr(n), e.vIf(in, ins[0]), e.vIf(n, out))}
	case ir.OpBatchNorm:
		return e.batchNorm(n, tl, ins, out)
	case ir.OpMaxPool, ir.OpAvgPool:
		var p *ir.PoolAttrs
		k := kernels.Pool{Avg: n.Op == ir.OpAvgPool}
		if k.Avg {
			a := ir.As[*ir.AvgPoolAttrs](n)
			p, k.CountIncludePad = &a.PoolAttrs, a.CountIncludePad
		} else {
			p = ir.As[*ir.PoolAttrs](n)
		}
		s := in.Shape
		k.C, k.InH, k.InW, k.OutH, k.OutW = s[0], s[1], s[2], n.Shape[1], n.Shape[2]
		k.KH, k.KW, k.StrideH, k.StrideW = p.Kernel[0], p.Kernel[1], p.Stride[0], p.Stride[1]
		k.PadT, k.PadL, k.PadB, k.PadR = p.Pad[0], p.Pad[1], p.Pad[2], p.Pad[3]
		kset("Pool", k)
		simple("Pool", e.vIf(in, ins[0]))
	case ir.OpAdaptiveAvgPool:
		s := in.Shape
		kset("AdaptivePool", kernels.AdaptiveAvgPool{C: s[0], InH: s[1], InW: s[2], OutH: n.Shape[1], OutW: n.Shape[2]})
		simple("AdaptivePool")
	case ir.OpGlobalAvgPool, ir.OpGlobalMaxPool:
		s := in.Shape
		kset("GlobalPool", kernels.GlobalPool{C: s[0], HW: s[1] * s[2], Max: n.Op == ir.OpGlobalMaxPool})
		simple("GlobalPool", e.vIf(in, ins[0]))
	case ir.OpLRN:
		l := ir.As[*ir.LRNAttrs](n)
		kset("LRN", kernels.LRN{C: n.Shape[0], HW: hw(n.Shape), Size: l.Size, Lo: l.Lo, Alpha: float32(l.Alpha), Beta: float32(l.Beta), K: float32(l.Bias)})
		tl.scratch = true
		simple("LRN", e.v(in))
	case ir.OpDropout:
		tl.state = trType("Dropout")
		tl.init = jen.Qual(trPath, "Dropout").Values(field("Name", jen.Lit(n.Name)), field("P", jen.Lit(ir.As[*ir.DropoutAttrs](n).P)))
		simple("Dropout")
	case ir.OpAdd:
		fargs, bargs := []jen.Code{e.v(n)}, []jen.Code{e.gr(n)}
		for _, x := range n.Inputs {
			fargs = append(fargs, e.v(x))
			bargs = append(bargs, e.dx(x))
		}
		tl.forward = []jen.Code{xcall("Add", fargs...)}
		tl.backward = []jen.Code{xcall("AddBackward", bargs...)}
	case ir.OpMul:
		x, s := n.Inputs[0], n.Inputs[1]
		kset("Mul", kernels.Mul{C: x.Shape[0], HW: x.Shape.Size() / x.Shape[0], PerChannel: !x.Shape.Equal(s.Shape)})
		tl.forward = []jen.Code{xcall("Mul", st, e.v(n), e.v(x), e.v(s))}
		tl.backward = []jen.Code{xcall("MulBackward", st, e.dx(x), e.dx(s), e.gr(n), e.v(x), e.v(s))}
	case ir.OpConcat:
		var sizes, fargs, bargs []jen.Code
		fargs, bargs = []jen.Code{st, e.v(n)}, []jen.Code{st, e.gr(n)}
		for _, x := range n.Inputs {
			sizes = append(sizes, jen.Lit(x.Shape.Size()))
			fargs = append(fargs, e.v(x))
			bargs = append(bargs, e.dx(x))
		}
		tl.state = trType("Concat")
		tl.init = jen.Qual(trPath, "Concat").Values(field("Sizes", jen.Index().Int().Values(sizes...)))
		tl.forward = []jen.Code{xcall("Concat", fargs...)}
		tl.backward = []jen.Code{xcall("ConcatBackward", bargs...)}
	case ir.OpFlatten, ir.OpReshape:
		// A view: its value is its input's; so is its gradient when it is the input's only
		// reader, else it passes its own on.
		if e.p.AliasGrad[in] != e.p.AliasGrad[n] {
			tl.backward = []jen.Code{xcall("GradCopy", e.dx(in), e.gr(n))}
		}
	case ir.OpAffine:
		a, c := ir.As[*ir.AffineAttrs](n), n.Shape[0]
		per := func(v []float64) []float64 {
			for len(v) < c {
				v = append(v, v[0])
			}
			return v
		}
		tl.state = trType("Affine")
		tl.init = jen.Qual(trPath, "Affine").Values(field("C", jen.Lit(c)), field("HW", jen.Lit(hw(n.Shape))),
			field("Scale", floats(per(a.Scale))), field("Shift", floats(per(a.Shift))))
		simple("Affine")
	case ir.OpPad:
		s, p := in.Shape, ir.As[*ir.PadAttrs](n)
		kset("Pad", kernels.Pad{C: s[0], H: s[1], W: s[2], Top: p.Pads[0], Left: p.Pads[1], Bottom: p.Pads[2], Right: p.Pads[3], Value: float32(p.Value)})
		simple("Pad")
	case ir.OpSoftmax, ir.OpLogSoftmax:
		a, s := ir.As[*ir.SoftmaxAttrs](n), n.Shape
		end := a.End(len(s))
		kset("Softmax", kernels.Softmax{Outer: s[:a.Axis].Size(), Block: s[a.Axis:end].Size(), Inner: s[end:].Size(), Log: n.Op == ir.OpLogSoftmax})
		simple("Softmax", e.v(n))
	case ir.OpErf:
		tl.state, tl.init = trType("Erf"), jen.Qual(trPath, "Erf").Values()
		simple("Erf", e.v(in))
	default:
		d := ir.Def(n.Op)
		if d == nil || d.Act == nil {
			return nil, fmt.Errorf("%s: training code does not support %s", n.Name, n.Op)
		}
		act, ka, err := plan.KernelAct(n, n.Op, n.Attrs)
		if err != nil {
			return nil, err
		}
		tl.state = trType("Act")
		fs := []jen.Code{field("Act", jen.Qual(kPath, act.Ident()))}
		if ka.Alpha != 0 || ka.Beta != 0 {
			fs = append(fs, field("Alpha", float32Lit(float32(ka.Alpha))), field("Beta", float32Lit(float32(ka.Beta))))
		}
		tl.init = jen.Qual(trPath, "Act").Values(fs...)
		tl.forward = []jen.Code{xcall("Act", st, e.v(n), e.v(in))}
		tl.backward = []jen.Code{xcall("ActBackward", st, e.dx(in), e.gr(n), e.vIf(in, ins[0]), e.vIf(n, out))}
	}
	_ = id
	return tl, nil
}

// batchNorm is a training batch norm, with its fused residual and activation.
func (e *trainEmitter) batchNorm(n *ir.Node, tl *trainLayer, ins []bool, out bool) (*trainLayer, error) {
	in := n.Inputs[0]
	act, err := plan.FusedAct(n)
	if err != nil {
		return nil, err
	}
	c := n.Shape[0]
	fs := []jen.Code{field("C", jen.Lit(c)), field("HW", jen.Lit(n.Shape.Size()/c)), field("Eps", jen.Lit(ir.As[*ir.BatchNormAttrs](n).Eps))}
	if act != kernels.ActNone {
		fs = append(fs, field("Act", jen.Qual(kPath, act.Ident())))
	}
	fs = append(fs, field("Weight", addParam("Add", n.Params[0])), field("Bias", addParam("Add", n.Params[1])),
		field("Mean", addParam("AddBuffer", n.Params[2], jen.Lit(0))), field("Var", addParam("AddBuffer", n.Params[3], jen.Lit(1))))
	if prefix, ok := strings.CutSuffix(n.Params[0].Key, ".weight"); ok && n.Params[1].Key == prefix+".bias" {
		// torch's num_batches_tracked, saved beside the statistics.
		fs = append(fs, field("Count", jen.Id("t").Dot("ps").Dot("AddCounter").Call(jen.Lit(prefix+".num_batches_tracked"))))
	}
	tl.state, tl.init, tl.weighted = jen.Qual(trPath, "BatchNorm"), jen.Qual(trPath, "BatchNorm").Values(fs...), true
	res, dres := jen.Code(jen.Nil()), jen.Code(jen.Qual(trPath, "Grad").Values())
	if n.Fused != nil && n.Fused.Residual != nil {
		res, dres = e.v(n.Fused.Residual), e.dx(n.Fused.Residual)
	}
	st := e.state(n)
	tl.forward = []jen.Code{xcall("BatchNorm", st, e.v(n), e.v(in), res)}
	tl.backward = []jen.Code{xcall("BatchNormBackward", st, e.dx(in), dres, e.gr(n), e.vIf(in, ins[0]), e.vIf(n, out))}
	return tl, nil
}
