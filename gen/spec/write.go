package spec

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cnngen/cnngen/gen/ir"
)

// Write writes g as a spec that Parse reads back as the same graph (Diff finds no difference):
// a flat `layers` list with one item per node in graph order, each named as its node, with
// `from` where a layer does not read the previous item, merges as `{name, inputs}`, explicit
// `keys` where a weight key is not NAME.role, and every attribute that is not the language's
// default. Consecutive training-only nodes become one `aux` item. The output is deterministic.
//
// g must be a front end's graph: shapes inferred (or at least consistent), no Fused nodes (the
// inference passes' rewrites have no spec form), the output the last node that is not
// training-only (or named by a top-level `output`). Nothing is written when g cannot be.
func Write(w io.Writer, g *ir.Graph) error {
	var buf bytes.Buffer
	if err := write(&buf, g); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteError is a graph that has no spec form.
type WriteError struct {
	Node string // "" for the graph itself
	Msg  string
}

func (e *WriteError) Error() string {
	if e.Node == "" {
		return "spec: cannot write the graph: " + e.Msg
	}
	return fmt.Sprintf("spec: cannot write node %q: %s", e.Node, e.Msg)
}

func werr(n *ir.Node, format string, args ...any) error {
	name := ""
	if n != nil {
		name = n.Name
	}
	return &WriteError{Node: name, Msg: fmt.Sprintf(format, args...)}
}

var graphName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func write(buf *bytes.Buffer, g *ir.Graph) error {
	if g == nil || len(g.Nodes) == 0 || g.Nodes[0].Op != ir.OpInput {
		return werr(nil, "no input node")
	}
	if !graphName.MatchString(g.Name) {
		return werr(nil, "name %q must match [a-z][a-z0-9_]*", g.Name)
	}
	in := g.Input()
	if len(in.Shape) == 0 || len(in.Shape) > maxRank {
		return werr(in, "input shape %v: want 1 to %d dimensions", in.Shape, maxRank)
	}
	// Check the structure: unique valid names, inputs computed earlier, nothing a spec cannot say.
	index := map[*ir.Node]int{}
	names := map[string]bool{}
	lastMain := in
	for i, n := range g.Nodes {
		if !namePattern.MatchString(n.Name) {
			return werr(n, "the name must match [A-Za-z0-9_.#]+")
		}
		if names[n.Name] {
			return werr(n, "the name is used twice")
		}
		names[n.Name] = true
		if i > 0 && n.Op == ir.OpInput {
			return werr(n, "a second input")
		}
		if n.Fused != nil {
			return werr(n, "fused by the inference passes; write the graph before they run")
		}
		for _, x := range n.Inputs {
			if _, ok := index[x]; !ok {
				return werr(n, "input %q is not an earlier node of the graph", x.Name)
			}
			if x.TrainingOnly && !n.TrainingOnly {
				return werr(n, "reads the training-only node %q", x.Name)
			}
		}
		if i > 0 && len(n.Inputs) == 0 {
			return werr(n, "no input")
		}
		if n.TrainingOnly && i == 0 {
			return werr(n, "the input is training-only")
		}
		index[n] = i
		if !n.TrainingOnly {
			lastMain = n
		}
	}
	out := g.Output
	if out == nil {
		out = g.Nodes[len(g.Nodes)-1]
	}
	if _, ok := index[out]; !ok {
		return werr(nil, "the output is not a node of the graph")
	}
	if out == in {
		return werr(nil, "the network has no layers: its output is its input")
	}
	if out.TrainingOnly {
		return werr(out, "the output must be a layer of the main path")
	}
	if lastMain == in {
		return werr(nil, "no layers")
	}
	if err := checkLabelSet(g.Labels, out.Shape.Size()); err != nil {
		return werr(nil, "labels: %v", err)
	}

	if g.Source != "" {
		fmt.Fprintf(buf, "# Written by cnngen import from %s.\n", commentText(g.Source))
	} else {
		fmt.Fprintf(buf, "# Written by cnngen import.\n")
	}
	fmt.Fprintf(buf, "name: %s\n", g.Name)
	text := func(k, v string) error {
		if v == "" {
			return nil
		}
		s, err := fmtStr(v)
		if err != nil {
			return werr(nil, "%s: %v", k, err)
		}
		fmt.Fprintf(buf, "%s: %s\n", k, s)
		return nil
	}
	if err := text("description", g.Description); err != nil {
		return err
	}
	shape := intList(in.Shape)
	if in.Name == "input" {
		fmt.Fprintf(buf, "input: %s\n", shape)
	} else {
		fmt.Fprintf(buf, "input: {name: %s, shape: %s}\n", mustStr(in.Name), shape)
	}
	if g.Classes != 0 {
		fmt.Fprintf(buf, "classes: %d\n", g.Classes)
	}
	if err := text("labels", g.Labels); err != nil {
		return err
	}
	if err := writePreprocess(buf, &g.Preprocess, in.Shape[0]); err != nil {
		return err
	}
	if out != lastMain {
		fmt.Fprintf(buf, "output: %s\n", mustStr(out.Name))
	}
	buf.WriteString("layers:\n")

	prev := in // the previous item's output on the main path
	var auxPrev *ir.Node
	for _, n := range g.Nodes[1:] {
		indent := "  "
		p := &prev
		if n.TrainingOnly {
			if auxPrev == nil { // a new aux head; it reads the main path's current output
				buf.WriteString("  - aux:\n      layers:\n")
				auxPrev = prev
			}
			indent, p = "        ", &auxPrev
		} else {
			auxPrev = nil
		}
		item, err := writeItem(n, *p)
		if err != nil {
			return err
		}
		fmt.Fprintf(buf, "%s- %s\n", indent, item)
		*p = n
	}
	return nil
}

// field is one attribute of an item, its value already in YAML.
type field struct{ k, v string }

// writeItem formats a node as a one-line item `op: {name: N, ...}`; prev is the output the item
// reads by default.
func writeItem(n *ir.Node, prev *ir.Node) (string, error) {
	d := ir.Def(n.Op)
	if d == nil || opOf(string(n.Op)) != d {
		return "", werr(n, "op %q has no spec form", n.Op)
	}
	fs := []field{{"name", mustStr(n.Name)}}
	if isMerge(d) {
		names := make([]string, len(n.Inputs))
		for i, x := range n.Inputs {
			names[i] = mustStr(x.Name)
		}
		fs = append(fs, field{"inputs", "[" + strings.Join(names, ", ") + "]"})
	} else {
		if len(n.Inputs) != 1 {
			return "", werr(n, "%s with %d inputs", n.Op, len(n.Inputs))
		}
		if n.Inputs[0] != prev {
			fs = append(fs, field{"from", mustStr(n.Inputs[0].Name)})
		}
	}
	attrs, err := opFields(n, d)
	if err != nil {
		return "", err
	}
	fs = append(fs, attrs...)
	kf, err := keyFields(n)
	if err != nil {
		return "", err
	}
	fs = append(fs, kf...)
	return string(n.Op) + ": " + mapping(fs), nil
}

func mapping(fs []field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.k + ": " + f.v
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// opFields lists the attributes that reproduce the node, omitting those that hold their default.
func opFields(n *ir.Node, d *ir.OpDef) ([]field, error) {
	if d.New == nil && n.Attrs != nil || d.New != nil && reflect.TypeOf(n.Attrs) != reflect.TypeOf(d.New()) {
		return nil, werr(n, "attributes of type %T", n.Attrs)
	}
	var fs []field
	for _, f := range ir.Fields(n.Attrs) {
		if ir.IsDefault(n.Attrs, d.New, f) {
			continue
		}
		k, ok := attrKinds[f.Value.Type()]
		if !ok {
			return nil, werr(n, "%s: a Go %s has no spec form", f.Name, f.Value.Type())
		}
		v, err := k.write(f.Value)
		if err != nil {
			return nil, werr(n, "%s: %v", f.Name, err)
		}
		fs = append(fs, field{f.Name, v})
	}
	return fs, nil
}

// keyFields writes `keys` when a weight key is not NAME.role: all roles then, for the reader.
func keyFields(n *ir.Node) ([]field, error) {
	roles := ir.ParamRoles(n)
	if len(n.Params) != len(roles) {
		return nil, werr(n, "%d weight tensors, want %d (%v)", len(n.Params), len(roles), roles)
	}
	custom := false
	for i, r := range roles {
		custom = custom || n.Params[i].Key != n.Name+"."+r
	}
	if !custom {
		return nil, nil
	}
	ks := make([]field, len(roles))
	for i, r := range roles {
		k := n.Params[i].Key
		if k == "" {
			return nil, werr(n, "the %s key is empty", r)
		}
		s, err := fmtStr(k)
		if err != nil {
			return nil, werr(n, "key %q: %v", k, err)
		}
		ks[i] = field{r, s}
	}
	return []field{{"keys", mapping(ks)}}, nil
}

func writePreprocess(buf *bytes.Buffer, p *ir.Preprocess, channels int) error {
	var fs []field
	if p.Resize < 0 || p.Crop < 0 {
		return werr(nil, "preprocess: negative resize or crop")
	}
	if p.Resize != 0 {
		fs = append(fs, field{"resize", strconv.Itoa(p.Resize)})
	}
	if p.Crop != 0 {
		fs = append(fs, field{"crop", strconv.Itoa(p.Crop)})
	}
	switch p.Interpolation {
	case "", "bilinear":
	case "bicubic", "nearest":
		fs = append(fs, field{"interpolation", p.Interpolation})
	default:
		return werr(nil, "preprocess: unknown interpolation %q", p.Interpolation)
	}
	for _, f := range []struct {
		k string
		v []float64
	}{{"mean", p.Mean}, {"std", p.Std}} {
		if len(f.v) == 0 {
			continue
		}
		if len(f.v) != channels {
			return werr(nil, "preprocess: %d %s values for %d channels", len(f.v), f.k, channels)
		}
		s, err := fmtFloats(f.v)
		if err != nil {
			return werr(nil, "preprocess: %s: %v", f.k, err)
		}
		fs = append(fs, field{f.k, s})
	}
	if p.Grayscale != (channels == 1) {
		fs = append(fs, field{"grayscale", strconv.FormatBool(p.Grayscale)})
	}
	if len(fs) > 0 {
		fmt.Fprintf(buf, "preprocess: %s\n", mapping(fs))
	}
	return nil
}

// fmtFloat formats a number so YAML and the spec reader give back exactly the same float64.
func fmtFloat(v float64) (string, error) {
	switch {
	case math.IsNaN(v):
		return "", fmt.Errorf("NaN has no spec form")
	case math.IsInf(v, 1):
		return ".inf", nil
	case math.IsInf(v, -1):
		return "-.inf", nil
	case v == 0 && math.Signbit(v):
		return "-0.0", nil
	}
	return strconv.FormatFloat(v, 'g', -1, 64), nil
}

func fmtFloats(vs []float64) (string, error) {
	parts := make([]string, len(vs))
	for i, v := range vs {
		s, err := fmtFloat(v)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, ", ") + "]", nil
}

func intList(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pair(p [2]int) string {
	if p[0] == p[1] {
		return strconv.Itoa(p[0])
	}
	return intList(p[:])
}

func pads(p [4]int) string {
	if p[0] == p[1] && p[1] == p[2] && p[2] == p[3] {
		return strconv.Itoa(p[0])
	}
	return intList(p[:])
}

var (
	plainString = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	yamlWords   = map[string]bool{"true": true, "True": true, "TRUE": true, "false": true, "False": true,
		"FALSE": true, "null": true, "Null": true, "NULL": true}
)

// fmtStr formats a string value: `$` doubled (the reader's escape), plain when YAML reads it back as
// the same string, else double-quoted (Go's escapes are a subset of YAML's).
func fmtStr(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("not valid UTF-8")
	}
	s = strings.ReplaceAll(s, "$", "$$")
	if plainString.MatchString(s) && !yamlWords[s] {
		return s, nil
	}
	return strconv.Quote(s), nil
}

// mustStr formats a string known to be valid UTF-8 (a checked node name).
func mustStr(s string) string {
	q, err := fmtStr(s)
	if err != nil {
		panic(err)
	}
	return q
}

// commentText makes s safe for a one-line comment.
func commentText(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}
