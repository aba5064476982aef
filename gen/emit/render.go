package emit

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/cnngen/cnngen/templates"
)

// netTemplate is the fixed API, parsed once.
var netTemplate = template.Must(template.New("net.go.tmpl").Parse(templates.Net))

// templateData are the template's inputs (see templates/net.go.tmpl).
type templateData struct {
	Package, Arch, Command      string
	Doc                         []string
	Embed, LabelsFile, LabelSet string
	HasFeatures                 bool
	InputChannels, InputHeight  int
	InputWidth, NumClasses      int
	FeatureSize                 int
}

func (e *emitter) templateData() templateData {
	g := e.g
	doc := fmt.Sprintf("Package %s is the %s network, compiled by cnngen into fixed-shape Go.", e.o.Package, g.Name)
	if g.Description != "" {
		doc += "\n\n" + strings.TrimSpace(g.Description)
	}
	doc += "\n\nThe Net is immutable after loading and safe for concurrent use; Forward allocates nothing\nonce warm: each call takes one of a bounded set of planned arenas (see WithArenas)."
	in := g.Input().Shape
	dims := append(append([]int(nil), in...), 1, 1) // a flat input [F] is F x 1 x 1
	d := templateData{
		Package: e.o.Package, Arch: g.Name, Command: e.o.Command, Doc: strings.Split(doc, "\n"),
		Embed: e.o.Embed, LabelsFile: e.o.Labels, InputChannels: dims[0], InputHeight: dims[1], InputWidth: dims[2],
		NumClasses: g.Output.Shape.Size(),
	}
	if e.o.Labels == "" {
		d.LabelSet = g.Labels
	}
	if f := e.features(); f != nil {
		d.HasFeatures, d.FeatureSize = true, f.Shape.Size()
	}
	return d
}

// render writes the package: the template's file, with the graph part's imports merged into its
// import block (standard library first, then modules) and the graph part's declarations after
// its own, formatted by go/format.
func (e *emitter) render() ([]byte, error) {
	var fixed, graph bytes.Buffer
	if err := netTemplate.Execute(&fixed, e.templateData()); err != nil {
		return nil, err
	}
	if err := e.f.Render(&graph); err != nil {
		return nil, err
	}
	return merge(fixed.Bytes(), graph.Bytes())
}

// merge joins a template's file and the graph part: one import block, then the template's
// declarations, then the graph's, formatted.
func merge(fixed, graph []byte) ([]byte, error) {
	head, fixedImports, fixedBody, err := splitImports(fixed)
	if err != nil {
		return nil, fmt.Errorf("the template: %w", err)
	}
	_, graphImports, graphBody, err := splitImports(graph)
	if err != nil {
		return nil, fmt.Errorf("the graph part: %w", err)
	}
	var out bytes.Buffer
	out.Write(head)
	writeImports(&out, append(fixedImports, graphImports...))
	out.Write(fixedBody)
	out.WriteString("\n")
	out.Write(graphBody)
	return format.Source(out.Bytes())
}

// importSpec is one import: its path and the name it is given ("" for the package's own).
type importSpec struct{ name, path string }

// splitImports cuts a Go file into the text before its import declarations (header, package
// clause), the imports, and the text after them.
func splitImports(src []byte) (head []byte, imports []importSpec, body []byte, err error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, nil, nil, err
	}
	start := fset.Position(f.Name.End()).Offset
	end := start
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			break
		}
		end = fset.Position(gd.End()).Offset
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			path, _ := strconv.Unquote(is.Path.Value)
			spec := importSpec{path: path}
			if is.Name != nil {
				spec.name = is.Name.Name
			}
			imports = append(imports, spec)
		}
	}
	return src[:start], imports, src[end:], nil
}

// writeImports writes one import block: the standard library, a blank line, then modules, each
// sorted by path, without duplicates.
func writeImports(b *bytes.Buffer, specs []importSpec) {
	slices.SortFunc(specs, func(x, y importSpec) int { return strings.Compare(x.path+" "+x.name, y.path+" "+y.name) })
	specs = slices.Compact(specs)
	var std, mods []importSpec
	for _, s := range specs {
		if first, _, _ := strings.Cut(s.path, "/"); strings.Contains(first, ".") {
			mods = append(mods, s)
		} else {
			std = append(std, s)
		}
	}
	b.WriteString("\n\nimport (\n")
	for i, group := range [][]importSpec{std, mods} {
		if i == 1 && len(std) > 0 && len(mods) > 0 {
			b.WriteString("\n")
		}
		for _, s := range group {
			if s.name != "" {
				b.WriteString("\t" + s.name + " ")
			} else {
				b.WriteString("\t")
			}
			b.WriteString(strconv.Quote(s.path) + "\n")
		}
	}
	b.WriteString(")\n")
}
