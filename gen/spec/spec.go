// Package spec reads the YAML architecture language of docs/spec.md and lowers it to the graph IR.
// It knows nothing of weights, code generation or assembly: its output is an *ir.Graph with every
// shape inferred, and its errors name file:line:col.
//
// The ops and their attributes are not listed here: they are gen/ir's op table (ops.go), read and
// written generically by their fields' types (kinds.go), so an op added to gen/ir is a layer of
// the language with no change to this package.
package spec

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// Error is a spec problem at a source position. Err, when set, is the error it reports (an
// *ir.LimitError says which flag raises the limit), for errors.As.
type Error struct {
	Pos ir.Pos
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

type builder struct {
	file    string
	caps    caps
	g       *ir.Graph
	blocks  map[string]*blockDef
	names   map[string]*ir.Node
	weights map[string]*ir.Node // weight key -> the layer reading it
	auto    int
	active  map[string]bool // blocks being expanded, to reject recursion
	steps   int64           // items expanded so far (caps.steps)
	work    int64           // work done so far (caps.work, see workPerNode)
}

// Parse reads a spec under ir.DefaultLimits and returns its graph with shapes inferred. file is
// used in messages only.
func Parse(src []byte, file string) (*ir.Graph, error) {
	return ParseLimits(src, file, ir.DefaultLimits)
}

// ParseLimits reads a spec and returns its graph with shapes inferred, within l: at most
// l.MaxNodes nodes (checked while expanding), and l's activation and weight bytes (Graph.Check).
// Whatever src holds, the time and memory it takes are bounded (see limits.go): a spec larger
// than MaxBytes(l), nested or repeated beyond the caps is an error naming the cap.
func ParseLimits(src []byte, file string, l ir.Limits) (g *ir.Graph, err error) {
	b := &builder{file: file, caps: newCaps(l), blocks: map[string]*blockDef{}, names: map[string]*ir.Node{}, weights: map[string]*ir.Node{}, active: map[string]bool{}}
	if max := MaxBytes(l); int64(len(src)) > max {
		return nil, TooLargeError(file, int64(len(src)), max)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &Error{Pos: ir.Pos{File: file, Line: 1, Col: 1}, Msg: "empty spec (want a mapping with name, input and layers)"}
	}
	if !utf8.Valid(src) || bytes.IndexByte(src, 0) >= 0 {
		return nil, &Error{Pos: ir.Pos{File: file, Line: 1, Col: 1}, Msg: "not a text file (a spec is UTF-8 YAML)"}
	}
	if err := b.checkSeparators(src); err != nil {
		return nil, err
	}
	root, err := b.decode(src)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Hostile input must never crash cnngen; a panic here is a bug, reported as one (the
		// fuzzers fail on "internal error").
		if r := recover(); r != nil {
			g, err = nil, &Error{Pos: ir.Pos{File: file}, Msg: fmt.Sprintf("internal error in the spec reader, please report it: %v", r)}
		}
	}()
	if g, err = b.build(root); err != nil {
		return nil, err
	}
	if err := g.Check(l); err != nil {
		return nil, &Error{Pos: ir.Pos{File: file}, Msg: err.Error(), Err: err}
	}
	return g, nil
}

// decode parses src as one YAML document and returns its root node.
func (b *builder) decode(src []byte) (root *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on malformed input in the past.
		if r := recover(); r != nil {
			root, err = nil, &Error{Pos: ir.Pos{File: b.file}, Msg: fmt.Sprintf("YAML: cannot parse: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{Pos: ir.Pos{File: b.file, Line: 1, Col: 1}, Msg: "empty spec (want a mapping with name, input and layers)"}
		}
		return nil, b.yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{Pos: ir.Pos{File: b.file, Line: 1, Col: 1}, Msg: "empty spec (want a mapping with name, input and layers)"}
	}
	// A second document would be ignored: refuse it rather than read half a file.
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		return nil, b.yamlError(err)
	default:
		return nil, b.errAt(&next, "a second YAML document starts here; a spec is one document (remove this --- and what follows it)")
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns yaml.v3's "yaml: line N: msg" into file:N:col: msg. yaml.v3 reports no column
// for syntax errors, so the column is that of the line's first non-blank character.
func (b *builder) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return &Error{Pos: ir.Pos{File: b.file, Line: line, Col: 1}, Msg: "YAML syntax: " + m[2]}
	}
	return &Error{Pos: ir.Pos{File: b.file, Line: 1, Col: 1}, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func (b *builder) pos(n *yaml.Node) ir.Pos {
	if n == nil {
		return ir.Pos{File: b.file}
	}
	return ir.Pos{File: b.file, Line: n.Line, Col: n.Column}
}

func (b *builder) errAt(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxMessageBytes {
		i := maxMessageBytes
		for i > 0 && !utf8.RuneStart(msg[i]) {
			i--
		}
		msg = fmt.Sprintf("%s… (%d more bytes)", msg[:i], len(msg)-i)
	}
	return &Error{Pos: b.pos(n), Msg: msg}
}

var topFields = []string{"name", "description", "input", "classes", "labels", "preprocess", "blocks", "layers", "output"}

func (b *builder) build(root *yaml.Node) (*ir.Graph, error) {
	if root.Kind != yaml.MappingNode {
		return nil, b.errAt(root, "a spec is a mapping with name, input and layers, found %s", nodeKind(root))
	}
	top, err := b.attrs("spec", root, root, &scope{vars: map[string]any{}})
	if err != nil {
		return nil, err
	}
	if err := top.checkKnown(topFields...); err != nil {
		return nil, err
	}
	b.g = &ir.Graph{Source: b.file}
	name, nn, err := top.str("name")
	if err != nil {
		return nil, err
	}
	if nn == nil {
		return nil, top.missing("name", "the network's name, [a-z0-9_]+")
	}
	if len(name) > maxNameBytes {
		return nil, b.errAt(nn, "name too long: %d bytes > max %d", len(name), maxNameBytes)
	}
	if !graphName.MatchString(name) {
		return nil, b.errAt(nn, "name %q must match [a-z][a-z0-9_]* (it becomes a Go package name)", name)
	}
	b.g.Name = name
	if b.g.Description, _, err = top.str("description"); err != nil {
		return nil, err
	}
	if b.g.Labels, _, err = top.str("labels"); err != nil {
		return nil, err
	}
	if b.g.Classes, err = top.int("classes", 0, false, 1); err != nil {
		return nil, err
	}
	in, err := b.input(top)
	if err != nil {
		return nil, err
	}
	if err := b.preprocess(top.raw("preprocess"), in.Shape[0]); err != nil {
		return nil, err
	}
	if bn := top.raw("blocks"); bn != nil {
		if err := b.readBlocks(bn); err != nil {
			return nil, err
		}
	}
	layers := top.raw("layers")
	if layers == nil {
		return nil, top.missing("layers", "the list of layers")
	}
	b.add(in)
	sc := shapeScope(nil, in)
	out, err := b.items(layers, ctx{sc: sc}, in)
	if err != nil {
		return nil, err
	}
	if on := top.raw("output"); on != nil {
		name, _, err := top.str("output")
		if err != nil {
			return nil, err
		}
		if out = b.names[name]; out == nil {
			return nil, b.errAt(on, "output: no layer named %q", name)
		}
		if out == in {
			return nil, b.errAt(on, "output: %q is the network input, not a layer", name)
		}
		if out.TrainingOnly {
			return nil, b.errAt(on, "output: %q is in a training-only aux head", name)
		}
	}
	if out == in {
		return nil, b.errAt(layers, "the network has no layers")
	}
	b.g.Output = out
	if err := b.g.Infer(); err != nil {
		return nil, err
	}
	if ln := top.raw("labels"); ln != nil {
		if err := b.checkLabels(ln, top.raw("classes")); err != nil {
			return nil, err
		}
	}
	return b.g, nil
}

// maxInputElems bounds the values of one input image: 2^28, an RGB image of 9459x9459, far above
// any CNN's input.
const maxInputElems = 1 << 28

// input reads the top-level `input`: a shape, or {name: N, shape: [...]}.
func (b *builder) input(top *attrs) (*ir.Node, error) {
	raw := top.raw("input")
	if raw == nil {
		return nil, top.missing("input", "the per-image input shape, e.g. [3, 224, 224]")
	}
	a, field, name := top, "input", "input"
	if raw.Kind == yaml.MappingNode {
		ia, err := b.attrs("input", raw, raw, top.sc)
		if err != nil {
			return nil, err
		}
		if err := ia.checkKnown("name", "shape"); err != nil {
			return nil, err
		}
		nm, nn, err := ia.str("name")
		if err != nil {
			return nil, err
		}
		if nn != nil {
			if len(nm) > maxNameBytes {
				return nil, b.errAt(nn, "input: name too long: %d bytes > max %d", len(nm), maxNameBytes)
			}
			if !namePattern.MatchString(nm) {
				return nil, b.errAt(nn, "input: name %q must match [A-Za-z0-9_.#]+", nm)
			}
			name = nm
		}
		a, field = ia, "shape"
	}
	shape, err := a.ints(field, nil, true, 1, anyLen)
	if err != nil {
		return nil, err
	}
	if len(shape) > maxRank {
		return nil, b.errAt(a.raw(field), "input has %d dimensions, at most %d are supported", len(shape), maxRank)
	}
	size := int64(1)
	for _, d := range shape {
		size = ir.SatMul(size, int64(d))
	}
	if size > maxInputElems {
		return nil, b.errAt(a.raw(field), "input %v too large: %d values > max %d", shape, size, maxInputElems)
	}
	return &ir.Node{Name: name, Op: ir.OpInput, Shape: ir.Shape(shape), Pos: b.pos(a.raw(field))}, nil
}

// shapeScope defines cin, hin and win, the dimensions of x (1 where x has fewer).
func shapeScope(parent *scope, x *ir.Node) *scope {
	s := &scope{vars: map[string]any{}, parent: parent}
	sh := x.Shape
	c, h, w := int64(sh[0]), int64(1), int64(1)
	if len(sh) >= 2 {
		h = int64(sh[1])
	}
	if len(sh) >= 3 {
		w = int64(sh[2])
	}
	s.vars["cin"], s.vars["hin"], s.vars["win"] = c, h, w
	return s
}

func (b *builder) preprocess(n *yaml.Node, channels int) error {
	p := &b.g.Preprocess
	p.Interpolation = "bilinear"
	if n == nil {
		return nil
	}
	a, err := b.attrs("preprocess", n, n, &scope{vars: map[string]any{}})
	if err != nil {
		return err
	}
	if err := a.checkKnown("resize", "crop", "interpolation", "mean", "std", "grayscale"); err != nil {
		return err
	}
	if p.Resize, err = a.int("resize", 0, false, 0); err != nil {
		return err
	}
	if p.Crop, err = a.int("crop", 0, false, 0); err != nil {
		return err
	}
	if p.Grayscale, err = a.bool("grayscale", channels == 1); err != nil {
		return err
	}
	interp, in, err := a.str("interpolation")
	if err != nil {
		return err
	}
	if in != nil {
		switch interp {
		case "bilinear", "bicubic", "nearest":
			p.Interpolation = interp
		default:
			return b.errAt(in, "preprocess: interpolation must be bilinear, bicubic or nearest, found %q", interp)
		}
	}
	for _, k := range []string{"mean", "std"} {
		v, err := a.floats(k, false, false, false)
		if err != nil {
			return err
		}
		if v != nil && len(v) != channels {
			return b.errAt(a.raw(k), "preprocess: %s needs one value per input channel (%d), found %d", k, channels, len(v))
		}
		if k == "mean" {
			p.Mean = v
		} else {
			for _, s := range v {
				if s <= 0 {
					return b.errAt(a.raw(k), "preprocess: std values must be positive")
				}
			}
			p.Std = v
		}
	}
	return nil
}
