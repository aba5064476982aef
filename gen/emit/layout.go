package emit

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/dave/jennifer/jen"
)

// layout writes the arena layout: a pair of constants per tensor (idOff, idLen: where its
// float32s lie in the arena), spelled in terms of the buffer it shares (a view or an in-place op
// starts where its input does; a concat's input lies inside the concat's buffer; a fused
// expansion has an empty region), then the regions the template reads and the arena's size.
func (e *emitter) layout() {
	p := e.p
	var defs []jen.Code
	for _, n := range e.g.Nodes {
		id := e.ids[n]
		r := p.Of(n)
		off := jen.Lit(r.Off)
		if base, rel := p.Base(n); base != n {
			off = jen.Id(e.ids[base] + offSuffix)
			if rel != 0 {
				off = off.Op("+").Lit(rel)
			}
		}
		defs = append(defs, jen.List(jen.Id(id+offSuffix), jen.Id(id+lenSuffix)).Op("=").List(off, jen.Lit(r.Len)).
			Comment(fmt.Sprintf("%s %v", n.Name, n.Shape)))
	}
	fused := ""
	for _, n := range e.g.Nodes {
		if x, _ := p.ExpandDW(n); x == n {
			fused = "\nAn expansion the next layer computes band by band (Arena.ExpandDW) has none (length 0)."
			break
		}
	}
	comment(e.f, fmt.Sprintf("Arena layout of one image, in float32s: where each tensor lives. Views and in-place ops\n"+
		"share their input's buffer; tensors read only by a concatenation are written into its buffer.%s\n"+
		"%.2f MB planned (%.2f MB live at most; %.2f MB without reuse).",
		fused, float64(4*p.Arena)/1e6, float64(4*p.MaxLive)/1e6, float64(4*p.Total)/1e6))
	e.f.Const().Defs(defs...)
	e.f.Line()

	region := func(n *ir.Node) *jen.Statement {
		id := e.ids[n]
		return jen.Qual(rtPath, "Region").Values(jen.Id("Off").Op(":").Id(id+offSuffix), jen.Id("Len").Op(":").Id(id+lenSuffix))
	}
	feat := e.features()
	featRegion := jen.Qual(rtPath, "Region").Values()
	if feat != nil {
		featRegion = region(feat)
	}
	e.f.Comment("The regions RunImage copies the input to and the logits or the features from.")
	e.f.Var().Defs(
		jen.Id("inRegion").Op("=").Add(region(e.g.Input())),
		jen.Id("outRegion").Op("=").Add(region(e.g.Output)),
		jen.Id("featRegion").Op("=").Add(featRegion),
	)
	e.f.Comment("arenaSize float32s hold every activation of one image.")
	e.f.Const().Id("arenaSize").Op("=").Lit(p.Arena)
}
