package emit

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

// layerCode is what one layer contributes to the package.
type layerCode struct {
	settings any        // a kernels settings value, the layer's field of cfg (nil: none)
	weights  jen.Code   // the type of the layer's field of weights (nil: none)
	load     jen.Code   // the statement that loads that field
	body     []jen.Code // the layer function's statements
	note     string     // a line for the function's comment (a conv's lowering)
}

// layers writes, for every layer that runs code, its settings, weights and function, then the
// tables that tie them together: cfg, weights and its loader, convs and layers.
func (e *emitter) layers() error {
	var cfgTypes, cfgValues, wfields, loads, convs, fused, table []jen.Code
	featureLayers := 0
	feat := e.features()
	for _, n := range e.g.Nodes {
		if n.Op == ir.OpInput || ir.IsView(n.Op) {
			continue // the input is copied in by RunImage; views share their input's region
		}
		lc, err := e.layer(n)
		if err != nil {
			return err
		}
		id := e.ids[n]
		if lc.settings != nil {
			cfgTypes = append(cfgTypes, jen.Id(id).Qual(kPath, reflect.TypeOf(lc.settings).Name()))
			cfgValues = append(cfgValues, jen.Id(id).Op(":").Add(literal(lc.settings)))
			if _, ok := lc.settings.(kernels.Conv); ok {
				convs = append(convs, jen.Op("&").Id("cfg").Dot(id))
				if x, dw := e.p.ExpandDW(n); n == dw {
					fused = append(fused, jen.Values(jen.Id("E").Op(":").Op("&").Id("cfg").Dot(e.ids[x]), jen.Id("D").Op(":").Op("&").Id("cfg").Dot(id)))
				}
			}
		}
		if lc.weights != nil {
			wfields = append(wfields, jen.Id(id).Add(lc.weights))
			loads = append(loads, jen.Func().Params().Params(jen.Err().Error()).Block(lc.load, jen.Return()))
		}
		comment(e.f, header(n)+lc.note)
		e.f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id(id + layerSuffix).Params(jen.Id("a").Op("*").Qual(rtPath, "Arena")).Block(lc.body...)
		info := []jen.Code{jen.Id("Name").Op(":").Lit(n.Name), jen.Id("Op").Op(":").Lit(string(n.Op))}
		if macs := ir.NodeStats(n).MACs; macs != 0 {
			info = append(info, jen.Id("MACs").Op(":").Lit(int(macs)))
		}
		table = append(table, jen.Values(jen.Qual(rtPath, "Layer").Values(info...), jen.Parens(jen.Op("*").Id("Net")).Dot(id+layerSuffix)))
		if n == feat {
			featureLayers = len(table)
		}
	}
	if feat == e.g.Input() || feat != nil && ir.IsView(feat.Op) {
		// The features are the input or a view computed before any layer that follows.
		featureLayers = e.viewDepth(feat, len(table))
	}

	e.f.Comment("cfg holds every layer's kernel settings.")
	e.f.Var().Id("cfg").Op("=").Struct(cfgTypes...).Custom(multiline, cfgValues...)
	comment(e.f, "convs lists every convolution's settings: the scratch their kernels need depends on the\nkernels chosen at run time (the CPU's vector width).")
	e.f.Var().Id("convs").Op("=").Index().Op("*").Qual(kPath, "Conv").Custom(multiline, convs...)
	e.f.Comment("fused lists the expansions and depthwise convolutions that run together (Arena.ExpandDW).")
	e.f.Var().Id("fused").Op("=").Index().Qual(kPath, "ExpandDW").Custom(multiline, fused...)

	e.f.Comment("weights are the packed, BN-folded tensors of every layer.")
	e.f.Type().Id("weights").Struct(wfields...)
	// A function, not a method: weights' fields are named after layers, so it has no methods.
	e.f.Comment("loadWeights reads, folds and packs every layer's weights into w, up to threads layers at a time.")
	e.f.Func().Id("loadWeights").Params(jen.Id("w").Op("*").Id("weights"), jen.Id("f").Op("*").Qual(rtPath, "File"), jen.Id("threads").Int()).Error().
		Block(jen.Return(jen.Qual(rtPath, "LoadParallel").Call(jen.Id("threads"), jen.Index().Func().Params().Error().Custom(multiline, loads...))))

	e.f.Comment("layers are the layer functions RunImage runs, in order.")
	e.f.Var().Id("layers").Op("=").Index(jen.Op("...")).Struct(
		jen.Qual(rtPath, "Layer"),
		jen.Id("run").Func().Params(jen.Op("*").Id("Net"), jen.Op("*").Qual(rtPath, "Arena")),
	).Custom(multiline, table...)
	e.f.Comment("featureLayers is how many layers run before the features (the classifier head's input) are ready.")
	e.f.Const().Id("featureLayers").Op("=").Lit(featureLayers)
	return nil
}

// viewDepth is how many layers must run before a view n (or the input) is ready: those up to
// the layer that computes the buffer it views.
func (e *emitter) viewDepth(n *ir.Node, all int) int {
	for n.Op != ir.OpInput && ir.IsView(n.Op) {
		n = n.Inputs[0]
	}
	if n.Op == ir.OpInput {
		return 0
	}
	k := 0
	for _, m := range e.g.Nodes {
		if m.Op != ir.OpInput && !ir.IsView(m.Op) {
			k++
		}
		if m == n {
			return k
		}
	}
	return all
}

// header is the comment above a layer function: what it computes, in the spec's terms (the
// attributes a spec would spell out: required ones and those not at their defaults).
func header(n *ir.Node) string {
	var ins []string
	for _, in := range n.Inputs {
		ins = append(ins, fmt.Sprintf("%s %v", in.Name, in.Shape))
	}
	s := fmt.Sprintf("%s: %s%s", n.Name, n.Op, attrs(n.Op, n.Attrs))
	s += fmt.Sprintf("\n%s -> %v", strings.Join(ins, ", "), n.Shape)
	if f := n.Fused; f != nil {
		if f.BN != nil {
			s += fmt.Sprintf("\nbatch norm %s folded in (eps %g)", f.BN.Name, f.BN.Eps)
		}
		if f.Residual != nil {
			s += fmt.Sprintf("\nresidual %s added", f.Residual.Name)
		}
		if f.Act != "" {
			s += fmt.Sprintf("\nthen %s%s", f.Act, attrs(f.Act, f.ActAttrs))
		}
	}
	return s
}

// attrs lists an op's attributes that are required or not at their defaults, as " name value".
func attrs(op ir.Op, a ir.Attrs) string {
	var s string
	for _, f := range ir.Fields(a) {
		if !ir.IsDefault(a, ir.Def(op).New, f) {
			s += fmt.Sprintf(" %s %v", f.Name, f.Value.Interface())
		}
	}
	return s
}
