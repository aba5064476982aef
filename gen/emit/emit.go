// Package emit writes the Go package of one network. The fixed API (Net, Load, New, Forward,
// Features, Classify) is Go text in templates/, rendered with a few values; what depends on the
// graph (the arena layout, each layer's kernel settings and function, the layer table, the
// expected weights and the loader) is written with jennifer. emit reads an inference graph and
// its memory plan, made by gen/passes and gen/plan (gen/pipeline composes the three); the
// arithmetic lives in runtime/kernels.
package emit

import (
	"fmt"
	"go/token"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/plan"
	"github.com/dave/jennifer/jen"
)

const (
	rtPath = "github.com/cnngen/cnngen/runtime"
	kPath  = "github.com/cnngen/cnngen/runtime/kernels"
)

// Options say what to emit besides the network itself.
type Options struct {
	Package string // Go package name
	Command string // the cnngen command line, recorded in the header
	Embed   string // file name (in the package folder) of weights to //go:embed; "" for none
	Labels  string // file name (in the package folder) of labels to //go:embed; "" to use the spec's built-in set
	// Layout is the layout gen/pipeline lays the feature maps out in where their ops can run it
	// (ir.NCHW16c), or ir.NCHW for all; emit itself follows each node's Layout.
	Layout ir.Layout
}

// Result is the generated file and the numbers -summary reports about it.
type Result struct {
	Code       []byte
	ArenaBytes int64 // planned activation arena per image
	TotalBytes int64 // all activations without reuse
	MaxLive    int64 // largest sum of simultaneously live tensors
}

// CheckPackage tells whether name can be a generated package's name: an identifier a program
// can import and refer to (not a keyword, not _, not main, which must be a command, nor init,
// which cannot be referred to).
func CheckPackage(name string) error {
	switch {
	case token.IsKeyword(name):
		return fmt.Errorf("package name %q is a Go keyword", name)
	case !token.IsIdentifier(name):
		return fmt.Errorf("package name %q is not a Go identifier", name)
	case name == "_" || name == "main" || name == "init":
		return fmt.Errorf("package name %q cannot be imported as a library", name)
	}
	return nil
}

// Generate emits the package for a network: orig is the front end's graph (every weight tensor a
// file may hold, training-only heads included), g the inference graph gen/passes made from it and
// p g's memory plan.
func Generate(orig, g *ir.Graph, p *plan.Plan, o Options) (*Result, error) {
	if err := CheckPackage(o.Package); err != nil {
		return nil, err
	}
	e := &emitter{orig: orig, g: g, p: p, o: o, ids: layerIDs(g), f: jen.NewFile(o.Package)}
	e.f.ImportAlias(rtPath, "rt")
	e.f.ImportName(kPath, "kernels")
	if err := e.graph(); err != nil {
		return nil, err
	}
	code, err := e.render()
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", g.Name, err)
	}
	return &Result{Code: code, ArenaBytes: 4 * int64(p.Arena),
		TotalBytes: 4 * int64(p.Total), MaxLive: 4 * int64(p.MaxLive)}, nil
}

type emitter struct {
	orig, g *ir.Graph
	p       *plan.Plan
	o       Options
	f       *jen.File // the graph part
	ids     map[*ir.Node]string
}

// features is the input of the last linear layer: what a classifier head reads.
func (e *emitter) features() *ir.Node {
	if h := e.g.Head(); h != nil {
		return h.Inputs[0]
	}
	return nil
}

// graph writes the graph part: preprocessing, the expected tensors, the arena layout, the layers
// and the loader.
func (e *emitter) graph() error {
	e.preprocess()
	e.expected()
	e.layout()
	return e.layers()
}

// comment writes text as // lines (jennifer would turn a multi-line comment into /* */).
func comment(f *jen.File, text string) {
	for _, line := range strings.Split(text, "\n") {
		f.Comment(line)
	}
}

func floats(v []float64) jen.Code {
	var items []jen.Code
	for _, x := range v {
		items = append(items, jen.Lit(x)) // an untyped constant: exact in the source, rounded once by the compiler
	}
	return jen.Index().Float32().Values(items...)
}

func (e *emitter) preprocess() {
	p := e.g.Preprocess
	in := e.g.Input().Shape
	mean, std := p.Mean, p.Std
	if mean == nil {
		mean = make([]float64, in[0])
	}
	if std == nil {
		std = make([]float64, in[0])
		for i := range std {
			std[i] = 1
		}
	}
	fields := []jen.Code{
		jen.Id("Channels").Op(":").Id("InputChannels"),
		jen.Id("Height").Op(":").Id("InputHeight"),
		jen.Id("Width").Op(":").Id("InputWidth"),
	}
	if p.Resize != 0 {
		fields = append(fields, jen.Id("Resize").Op(":").Lit(p.Resize))
	}
	if p.Crop != 0 {
		fields = append(fields, jen.Id("Crop").Op(":").Lit(p.Crop))
	}
	if p.Interpolation != "" {
		fields = append(fields, jen.Id("Interpolation").Op(":").Lit(p.Interpolation))
	}
	fields = append(fields, jen.Id("Mean").Op(":").Add(floats(mean)), jen.Id("Std").Op(":").Add(floats(std)))
	if p.Grayscale {
		fields = append(fields, jen.Id("Grayscale").Op(":").True())
	}
	e.f.Comment("DefaultPreprocess is what Classify does to an image unless rt.WithPreprocess says otherwise.")
	e.f.Var().Id("DefaultPreprocess").Op("=").Qual(rtPath, "Preprocess").Custom(multiline, fields...)
}

// multiline writes a composite literal one entry per line.
var multiline = jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}

// expected lists every tensor of the original graph, so a file with training-only heads loads too.
func (e *emitter) expected() {
	var items []jen.Code
	for _, pr := range e.orig.AllParams() {
		var dims []jen.Code
		for _, d := range pr.Shape {
			dims = append(dims, jen.Lit(d))
		}
		fields := []jen.Code{jen.Id("Name").Op(":").Lit(pr.Key), jen.Id("Shape").Op(":").Index().Int().Values(dims...)}
		if pr.Node.TrainingOnly {
			fields = append(fields, jen.Id("Optional").Op(":").True())
		}
		items = append(items, jen.Values(fields...))
	}
	e.f.Comment("expected are the tensors a weights file must hold (name, shape, optional).")
	e.f.Var().Id("expected").Op("=").Index().Qual(rtPath, "Expect").Custom(multiline, items...)
}
