package emit

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/plan"
	"github.com/cnngen/cnngen/templates"
	"github.com/dave/jennifer/jen"
)

// The training package (cnngen -train): templates/train.go.tmpl's Trainer, and from the graph,
// with jennifer, each layer's state (shape, parameters), the arena's regions of every value and
// gradient, a forward and a backward function per layer calling trainrt, and the tables that
// run them. Names derived from layers are struct fields (layers, val, grad) or methods ending
// in Forward or Backward, which no identifier of the template ends in.

const (
	trPath    = "github.com/cnngen/cnngen/runtime/trainrt"
	trainPath = "github.com/cnngen/cnngen/runtime/train"

	forwardSuffix  = "Forward"
	backwardSuffix = "Backward"
)

// TrainOptions say what to emit besides the network.
type TrainOptions struct {
	Package string
	Command string
	Batch   int    // the most images a Step takes
	Labels  string // file name of labels to //go:embed, "" for the spec's set
	// Upstream makes a package for tests of the backward pass from a given gradient of the
	// output: the output is kept as it is (no final softmax dropped, any shape).
	Upstream bool
	// InputGrad gives the input a gradient (the method InputGrad), for tests.
	InputGrad bool
}

// GenerateTrain emits the training package of g, the training graph gen/passes.Training made,
// with its loss heads and its plan (gen/plan.MakeTrain).
func GenerateTrain(g *ir.Graph, heads []*ir.Node, p *plan.TrainPlan, o TrainOptions) (*Result, error) {
	if err := CheckPackage(o.Package); err != nil {
		return nil, err
	}
	e := &trainEmitter{g: g, heads: heads, p: p, o: o, ids: layerIDs(g), f: jen.NewFile(o.Package), pos: map[*ir.Node]int{}}
	for i, n := range g.Nodes {
		e.pos[n] = i
	}
	e.f.ImportAlias(rtPath, "rt")
	e.f.ImportName(kPath, "kernels")
	e.f.ImportName(trPath, "trainrt")
	e.f.ImportName(trainPath, "train")
	if err := e.graph(); err != nil {
		return nil, err
	}
	code, err := e.render()
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", g.Name, err)
	}
	return &Result{Code: code, ArenaBytes: 4 * int64(p.Arena)}, nil
}

type trainEmitter struct {
	g     *ir.Graph
	heads []*ir.Node
	p     *plan.TrainPlan
	o     TrainOptions
	f     *jen.File
	ids   map[*ir.Node]string
	pos   map[*ir.Node]int
}

// trainLayer is what one node contributes: its state's type and value (nil: none), whether it
// has parameters or needs scratch, and its forward and backward statements (nil: none).
type trainLayer struct {
	state    jen.Code
	init     jen.Code
	weighted bool
	scratch  bool
	forward  []jen.Code
	backward []jen.Code
	aux      bool
	node     *ir.Node
	index    int // in weighted(), -1 for none
}

func (e *trainEmitter) graph() error {
	var fields, builds, weighted, scratchers, fwd, bwd []jen.Code
	var tls []*trainLayer
	for _, n := range e.g.Nodes {
		if n.Op == ir.OpInput {
			continue
		}
		tl, err := e.layer(n)
		if err != nil {
			return err
		}
		tl.node, tl.aux = n, n.TrainingOnly
		tls = append(tls, tl)
	}
	e.regions()
	for _, tl := range tls {
		n, id := tl.node, e.ids[tl.node]
		if tl.state != nil {
			fields = append(fields, jen.Id(id).Add(tl.state))
			builds = append(builds, jen.Id("t").Dot("l").Dot(id).Op("=").Add(tl.init))
		}
		ref := jen.Op("&").Id("t").Dot("l").Dot(id)
		tl.index = -1
		if tl.weighted {
			tl.index = len(weighted)
			weighted = append(weighted, ref)
		}
		if tl.scratch {
			scratchers = append(scratchers, jen.Op("&").Id("t").Dot("l").Dot(id))
		}
		if tl.forward != nil {
			comment(e.f, header(n))
			e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id(id + forwardSuffix).Params(jen.Id("x").Op("*").Qual(trPath, "Exec")).Block(tl.forward...)
			fwd = append(fwd, jen.Values(jen.Lit(n.Name), jen.Lit(tl.aux), jen.Parens(jen.Op("*").Id("Trainer")).Dot(id+forwardSuffix)))
		}
	}
	for i := len(tls) - 1; i >= 0; i-- {
		tl := tls[i]
		n, id := tl.node, e.ids[tl.node]
		if tl.backward == nil || !e.p.Req[n] || e.p.Grad[n].Len == 0 {
			continue
		}
		e.f.Comment(fmt.Sprintf("%s%s is %s's backward pass.", id, backwardSuffix, n.Name))
		e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id(id + backwardSuffix).Params(jen.Id("x").Op("*").Qual(trPath, "Exec")).Block(tl.backward...)
		bwd = append(bwd, jen.Values(jen.Id("grad").Dot(id), jen.Parens(jen.Op("*").Id("Trainer")).Dot(id+backwardSuffix), jen.Lit(tl.index)))
	}
	comment(e.f, "layers holds every layer's shape, parameters and what it packs from them.")
	e.f.Type().Id("layers").Struct(fields...)
	comment(e.f, "build sets every layer's shape and registers its parameters, buffers and counters in\nnetwork order (torch's state_dict order).")
	e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id("build").Params().Block(builds...)
	e.f.Comment("weighted lists the layers with parameters, in network order.")
	e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id("weighted").Params().Index().Qual(trPath, "Weighted").
		Block(jen.Return(jen.Index().Qual(trPath, "Weighted").Custom(multiline, weighted...)))
	e.f.Comment("scratchers lists the layers that need scratch memory.")
	e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id("scratchers").Params().Index().Qual(trPath, "Layer").
		Block(jen.Return(jen.Index().Qual(trPath, "Layer").Custom(multiline, scratchers...)))
	e.requires()
	e.f.Comment("forward lists the layers' forward passes in order; aux marks training-only heads.")
	e.f.Var().Id("forward").Op("=").Index(jen.Op("...")).Struct(
		jen.Id("name").String(),
		jen.Id("aux").Bool(),
		jen.Id("run").Func().Params(jen.Op("*").Id("Trainer"), jen.Op("*").Qual(trPath, "Exec")),
	).Custom(multiline, fwd...)
	comment(e.f, "backward lists the backward passes in reverse order: each runs when its gradient was\nwritten in the step; layer is the layer's index in weighted (-1: no parameters), whose\ngradients are cleared when it does not run.")
	e.f.Var().Id("backward").Op("=").Index(jen.Op("...")).Struct(
		jen.Id("grad").Qual(trPath, "Region"),
		jen.Id("run").Func().Params(jen.Op("*").Id("Trainer"), jen.Op("*").Qual(trPath, "Exec")),
		jen.Id("layer").Int(),
	).Custom(multiline, bwd...)
	e.headTable()
	return nil
}

// regions writes the arena's layout: val and grad, a field per node, and arenaSize.
func (e *trainEmitter) regions() {
	var vf, vv, gf, gv []jen.Code
	for i, n := range e.g.Nodes {
		id := e.ids[n]
		r := e.p.Val[n]
		vf = append(vf, jen.Id(id).Qual(trPath, "Region"))
		vv = append(vv, jen.Id(id).Op(":").Qual(trPath, "Region").Values(jen.Id("Off").Op(":").Lit(r.Off), jen.Id("Size").Op(":").Lit(r.Len)))
		if gr, ok := e.p.Grad[n]; ok {
			gf = append(gf, jen.Id(id).Qual(trPath, "Region"))
			gv = append(gv, jen.Id(id).Op(":").Qual(trPath, "Region").Values(jen.Id("Off").Op(":").Lit(gr.Off), jen.Id("Size").Op(":").Lit(gr.Len),
				jen.Id("Node").Op(":").Lit(i), jen.Id("Buf").Op(":").Lit(e.pos[e.p.AliasGrad[n]])))
		}
	}
	e.f.Comment(fmt.Sprintf("arenaSize is the arena's floats: %d images' values and gradients, reused as they die.", e.p.Batch))
	e.f.Const().Id("arenaSize").Op("=").Lit(e.p.Arena)
	e.f.Comment("nodeCount is the number of nodes: the length of the gradients' bookkeeping.")
	e.f.Const().Id("nodeCount").Op("=").Lit(len(e.g.Nodes))
	e.f.Comment("val is where each node's values lie in the arena (Size per image, a batch from Off).")
	e.f.Var().Id("val").Op("=").Struct(vf...).Custom(multiline, vv...)
	comment(e.f, "grad is where each node's gradient lies: Node is its index, Buf the index of the node\nwhose buffer it shares (an in-place backward pass).")
	e.f.Var().Id("grad").Op("=").Struct(gf...).Custom(multiline, gv...)
}

// requires writes the method that marks the nodes whose output depends on a weight that trains.
func (e *trainEmitter) requires() {
	var body []jen.Code
	for i, n := range e.g.Nodes {
		if !e.p.Req[n] {
			continue
		}
		if n.Op == ir.OpInput {
			body = append(body, jen.Id("t").Dot("req").Index(jen.Lit(i)).Op("=").True().Comment("the input's gradient: InputGrad"))
			continue
		}
		var terms []jen.Code
		if len(plan.Trainable(n)) > 0 {
			terms = append(terms, jen.Id("t").Dot("l").Dot(e.ids[n]).Dot("Trainable").Call())
		}
		for _, x := range inputsAndResidual(n) {
			if e.p.Req[x] {
				terms = append(terms, jen.Id("t").Dot("req").Index(jen.Lit(e.pos[x])))
			}
		}
		expr := jen.Add(terms[0])
		for _, t := range terms[1:] {
			expr = expr.Op("||").Add(t)
		}
		body = append(body, jen.Id("t").Dot("req").Index(jen.Lit(i)).Op("=").Add(expr).Comment(n.Name))
	}
	comment(e.f, "requires marks the nodes whose output depends on a parameter that trains (after Freeze):\nthe backward pass stops below the others.")
	e.f.Func().Params(jen.Id("t").Op("*").Id("Trainer")).Id("requires").Params().Block(body...)
}

// headTable writes the loss heads and the layers their classifiers are.
func (e *trainEmitter) headTable() {
	var hs, layers []jen.Code
	for _, h := range e.heads {
		g := jen.Qual(trPath, "Region").Values()
		if _, ok := e.p.Grad[h]; ok {
			g = jen.Id("grad").Dot(e.ids[h])
		}
		hs = append(hs, jen.Values(jen.Id("val").Dot(e.ids[h]), g, jen.Lit(h.TrainingOnly)))
		for _, p := range h.Params {
			if name, _, ok := strings.Cut(p.Key, ".weight"); ok && !p.Buffer {
				layers = append(layers, jen.Lit(name))
				break
			}
		}
	}
	e.f.Comment("heads are the loss's inputs: the main head's logits first, then the auxiliary heads'.")
	e.f.Var().Id("heads").Op("=").Index(jen.Op("...")).Struct(
		jen.List(jen.Id("val"), jen.Id("grad")).Qual(trPath, "Region"),
		jen.Id("aux").Bool(),
	).Custom(multiline, hs...)
	e.f.Comment("headLayers are the classifiers' last layers, whose shapes a fine-tuned network changes.")
	e.f.Var().Id("headLayers").Op("=").Index(jen.Op("...")).String().Custom(multiline, layers...)
}

func inputsAndResidual(n *ir.Node) []*ir.Node {
	ins := append([]*ir.Node(nil), n.Inputs...)
	if n.Fused != nil && n.Fused.Residual != nil {
		ins = append(ins, n.Fused.Residual)
	}
	return ins
}

// trainTemplate is the training package's fixed API, parsed once.
var trainTemplate = template.Must(template.New("train.go.tmpl").Parse(templates.Train))

type trainData struct {
	Package, Arch, Command     string
	Doc                        []string
	LabelsFile, LabelSet       string
	Batch                      int
	InputChannels, InputHeight int
	InputWidth, NumClasses     int
	AuxDefault                 string
	InputGrad                  bool
}

func (e *trainEmitter) render() ([]byte, error) {
	g := e.g
	doc := fmt.Sprintf("Package %s trains the %s network, compiled by cnngen into fixed-shape Go: batches of up to\n%d images, forward and backward.", e.o.Package, g.Name, e.o.Batch)
	if g.Description != "" {
		doc += "\n\n" + strings.TrimSpace(g.Description)
	}
	in := append(append([]int(nil), g.Input().Shape...), 1, 1)
	aux := "0"
	if len(e.heads) > 1 {
		aux = "0.3" // Szegedy et al.'s weight of GoogLeNet's auxiliary classifiers
	}
	d := trainData{Package: e.o.Package, Arch: g.Name, Command: e.o.Command, Doc: strings.Split(doc, "\n"),
		LabelsFile: e.o.Labels, Batch: e.o.Batch, InputChannels: in[0], InputHeight: in[1], InputWidth: in[2],
		NumClasses: g.Output.Shape.Size(), AuxDefault: aux, InputGrad: e.o.InputGrad}
	if e.o.Labels == "" {
		d.LabelSet = g.Labels
	}
	var fixed, graph bytes.Buffer
	if err := trainTemplate.Execute(&fixed, d); err != nil {
		return nil, err
	}
	if err := e.f.Render(&graph); err != nil {
		return nil, err
	}
	return merge(fixed.Bytes(), graph.Bytes())
}
