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
	fs := []field{{"name", mustStr(n.Name)}}
	switch n.Op {
	case ir.OpAdd, ir.OpConcat, ir.OpMul:
		names := make([]string, len(n.Inputs))
		for i, x := range n.Inputs {
			names[i] = mustStr(x.Name)
		}
		fs = append(fs, field{"inputs", "[" + strings.Join(names, ", ") + "]"})
	default:
		if len(n.Inputs) != 1 {
			return "", werr(n, "%s with %d inputs", n.Op, len(n.Inputs))
		}
		if n.Inputs[0] != prev {
			fs = append(fs, field{"from", mustStr(n.Inputs[0].Name)})
		}
	}
	attrs, err := opFields(n)
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

// opFields lists the attributes that reproduce the node, omitting the language's defaults.
func opFields(n *ir.Node) ([]field, error) {
	var fs []field
	add := func(k, v string) { fs = append(fs, field{k, v}) }
	num := func(k string, v, def float64) error {
		if v == def {
			return nil
		}
		s, err := fmtFloat(v)
		if err != nil {
			return werr(n, "%s: %v", k, err)
		}
		add(k, s)
		return nil
	}
	switch n.Op {
	case ir.OpConv:
		a := n.Conv
		if a == nil {
			return nil, werr(n, "conv without attributes")
		}
		add("out", strconv.Itoa(a.Out))
		add("kernel", pair(a.Kernel))
		if a.Stride != [2]int{1, 1} {
			add("stride", pair(a.Stride))
		}
		if a.Pad != [4]int{} {
			add("pad", pads(a.Pad))
		}
		if a.Dilation != [2]int{1, 1} {
			add("dilation", pair(a.Dilation))
		}
		if a.Groups != 1 {
			add("groups", strconv.Itoa(a.Groups))
		}
		if !a.Bias {
			add("bias", "false")
		}
	case ir.OpMaxPool, ir.OpAvgPool:
		a := n.Pool
		if a == nil {
			return nil, werr(n, "pool without attributes")
		}
		add("kernel", pair(a.Kernel))
		if a.Stride != a.Kernel {
			add("stride", pair(a.Stride))
		}
		if a.Pad != [4]int{} {
			add("pad", pads(a.Pad))
		}
		if a.CeilMode {
			add("ceil_mode", "true")
		}
		if n.Op == ir.OpAvgPool && !a.CountIncludePad {
			add("count_include_pad", "false")
		}
	case ir.OpAdaptiveAvgPool:
		add("out", pair(n.OutSize))
	case ir.OpLRN:
		a := n.LRN
		if a == nil {
			return nil, werr(n, "lrn without attributes")
		}
		add("size", strconv.Itoa(a.Size))
		for _, f := range []struct {
			k      string
			v, def float64
		}{{"alpha", a.Alpha, 1e-4}, {"beta", a.Beta, 0.75}, {"k", a.Bias, 1}} {
			if err := num(f.k, f.v, f.def); err != nil {
				return nil, err
			}
		}
		if a.Lo != a.Size/2 {
			add("lo", strconv.Itoa(a.Lo))
		}
	case ir.OpBatchNorm:
		if err := num("eps", n.Eps, 1e-5); err != nil {
			return nil, err
		}
	case ir.OpHardSigmoid:
		if err := num("alpha", n.HardAlpha, 1.0/6); err != nil {
			return nil, err
		}
		if err := num("beta", n.HardBeta, 0.5); err != nil {
			return nil, err
		}
	case ir.OpLinear:
		add("out", strconv.Itoa(n.Features))
		if !n.LinBias {
			add("bias", "false")
		}
		if g := n.Gemm; g != nil {
			if err := num("alpha", g.Alpha, 1); err != nil {
				return nil, err
			}
			if err := num("beta", g.Beta, 1); err != nil {
				return nil, err
			}
			if g.TransW {
				add("transposed", "true")
			}
		}
	case ir.OpDropout:
		if err := num("p", n.Dropout, 0.5); err != nil {
			return nil, err
		}
	case ir.OpAffine:
		for _, f := range []struct {
			k string
			v []float64
		}{{"scale", n.Scale}, {"shift", n.Shift}} {
			s, err := fmtFloats(f.v)
			if len(f.v) == 1 { // one value for every channel
				s, err = fmtFloat(f.v[0])
			}
			if err != nil {
				return nil, werr(n, "%s: %v", f.k, err)
			}
			add(f.k, s)
		}
	case ir.OpReshape:
		if len(n.Target) == 0 || len(n.Target) > maxRank {
			return nil, werr(n, "reshape to %v: want 1 to %d dimensions", n.Target, maxRank)
		}
		add("shape", intList(n.Target))
	case ir.OpClip:
		if err := num("min", n.ClipMin, math.Inf(-1)); err != nil {
			return nil, err
		}
		if err := num("max", n.ClipMax, math.Inf(1)); err != nil {
			return nil, err
		}
	case ir.OpSoftmax, ir.OpLogSoftmax:
		if n.Axis != 0 {
			add("axis", strconv.Itoa(n.Axis))
		}
		if n.AxisEnd != 0 {
			add("axis_end", strconv.Itoa(n.AxisEnd))
		}
	case ir.OpPad:
		add("pads", pads(n.Pads))
		if err := num("value", n.PadValue, 0); err != nil {
			return nil, err
		}
	case ir.OpGlobalAvgPool, ir.OpGlobalMaxPool, ir.OpReLU, ir.OpReLU6, ir.OpSigmoid, ir.OpSiLU,
		ir.OpTanh, ir.OpHardSwish, ir.OpFlatten, ir.OpAdd, ir.OpConcat, ir.OpMul:
	default:
		return nil, werr(n, "op %q has no spec form", n.Op)
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

// Diff reports the first difference between two graphs in anything a spec describes: the
// name, description, classes, labels, preprocessing, the output, and every node's name, op,
// input names, shape, weights (key, shape, buffer), training-only mark and attributes. Positions
// and Source are not compared; a nil Gemm equals the default one, an empty interpolation
// equals "bilinear" (the spec default), and max pooling's CountIncludePad (meaningless) is
// ignored. It returns nil when the graphs agree.
func Diff(want, got *ir.Graph) error {
	d := func(format string, args ...any) error { return fmt.Errorf(format, args...) }
	if want.Name != got.Name {
		return d("name %q, want %q", got.Name, want.Name)
	}
	if want.Description != got.Description {
		return d("description %q, want %q", got.Description, want.Description)
	}
	if want.Classes != got.Classes || want.Labels != got.Labels {
		return d("classes %d labels %q, want %d %q", got.Classes, got.Labels, want.Classes, want.Labels)
	}
	if pw, pg := normPre(want.Preprocess), normPre(got.Preprocess); !reflect.DeepEqual(pw, pg) {
		return d("preprocess %+v, want %+v", pg, pw)
	}
	if len(want.Nodes) != len(got.Nodes) {
		return d("%d nodes, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i, w := range want.Nodes {
		g := got.Nodes[i]
		at := fmt.Sprintf("node %d %q", i, w.Name)
		if w.Name != g.Name || w.Op != g.Op {
			return d("%s: got %s %q, want %s %q", at, g.Op, g.Name, w.Op, w.Name)
		}
		if w.TrainingOnly != g.TrainingOnly {
			return d("%s: training-only %v, want %v", at, g.TrainingOnly, w.TrainingOnly)
		}
		if iw, ig := inputNames(w), inputNames(g); !reflect.DeepEqual(iw, ig) {
			return d("%s: inputs %v, want %v", at, ig, iw)
		}
		if !w.Shape.Equal(g.Shape) {
			return d("%s: shape %v, want %v", at, g.Shape, w.Shape)
		}
		if len(w.Params) != len(g.Params) {
			return d("%s: %d weights, want %d", at, len(g.Params), len(w.Params))
		}
		for k, p := range w.Params {
			q := g.Params[k]
			if p.Key != q.Key || !p.Shape.Equal(q.Shape) || p.Buffer != q.Buffer {
				return d("%s: weight %d is %q %v buffer=%v, want %q %v buffer=%v", at, k, q.Key, q.Shape, q.Buffer, p.Key, p.Shape, p.Buffer)
			}
		}
		if (w.Fused == nil) != (g.Fused == nil) {
			return d("%s: fused %v, want %v", at, g.Fused != nil, w.Fused != nil)
		}
		if aw, ag := nodeAttrs(w), nodeAttrs(g); !reflect.DeepEqual(aw, ag) {
			return d("%s: attributes\n  %s\nwant\n  %s", at, showAttrs(ag), showAttrs(aw))
		}
	}
	outName := func(g *ir.Graph) string {
		if g.Output == nil {
			return ""
		}
		return g.Output.Name
	}
	if outName(want) != outName(got) {
		return d("output %q, want %q", outName(got), outName(want))
	}
	return nil
}

func inputNames(n *ir.Node) []string {
	s := make([]string, len(n.Inputs))
	for i, x := range n.Inputs {
		s[i] = x.Name
	}
	return s
}

func normPre(p ir.Preprocess) ir.Preprocess {
	if p.Interpolation == "" {
		p.Interpolation = "bilinear"
	}
	if len(p.Mean) == 0 {
		p.Mean = nil
	}
	if len(p.Std) == 0 {
		p.Std = nil
	}
	return p
}

// nodeAttrs is n without what Diff compares separately or not at all, normalized.
func nodeAttrs(n *ir.Node) ir.Node {
	c := *n
	c.Name, c.Inputs, c.Shape, c.Params, c.Pos, c.TrainingOnly, c.Fused = "", nil, nil, nil, ir.Pos{}, false, nil
	if c.Gemm != nil && *c.Gemm == (ir.GemmAttrs{Alpha: 1, Beta: 1}) {
		c.Gemm = nil
	}
	if c.Op == ir.OpMaxPool && c.Pool != nil {
		p := *c.Pool
		p.CountIncludePad = false
		c.Pool = &p
	}
	if len(c.Target) == 0 {
		c.Target = nil
	}
	if len(c.Scale) == 0 {
		c.Scale = nil
	}
	if len(c.Shift) == 0 {
		c.Shift = nil
	}
	return c
}

func showAttrs(n ir.Node) string {
	s := fmt.Sprintf("%+v", n)
	for _, p := range []struct {
		name string
		v    any
	}{{"Conv", n.Conv}, {"Pool", n.Pool}, {"LRN", n.LRN}, {"Gemm", n.Gemm}} {
		if !reflect.ValueOf(p.v).IsNil() {
			s += fmt.Sprintf(" %s=%+v", p.name, reflect.ValueOf(p.v).Elem().Interface())
		}
	}
	return s
}
