// Package spec reads the YAML architecture language of docs/spec.md and lowers it to the graph IR.
// It knows nothing of weights, code generation or assembly: its output is an *ir.Graph with every
// shape inferred, and its errors name file:line:col.
package spec

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// Error is a spec problem at a source position.
type Error struct {
	Pos ir.Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

type blockDef struct {
	name     string
	node     *yaml.Node
	params   []string              // in declaration order
	defaults map[string]*yaml.Node // nil value = required
	let      *yaml.Node
	layers   *yaml.Node
}

type builder struct {
	file    string
	g       *ir.Graph
	blocks  map[string]*blockDef
	names   map[string]*ir.Node
	weights map[string]*ir.Node // weight key -> the layer reading it
	auto    int
	active  map[string]bool // blocks being expanded, to reject recursion
	steps   int             // items expanded so far, see maxSteps
}

// maxNodes and maxSteps bound expansion so a hostile spec (nested repeats of a billion, even of
// nothing) fails fast instead of eating memory or time.
const (
	maxNodes = 10000
	maxSteps = 50000
	maxRank  = 8 // dimensions of a per-image shape (input, reshape)
)

// Parse reads a spec and returns its graph with shapes inferred. file is used in messages only.
func Parse(src []byte, file string) (g *ir.Graph, err error) {
	b := &builder{file: file, blocks: map[string]*blockDef{}, names: map[string]*ir.Node{}, weights: map[string]*ir.Node{}, active: map[string]bool{}}
	defer func() {
		// yaml.v3 has panicked on malformed input in the past; a spec error must never crash cnngen.
		if r := recover(); r != nil {
			g, err = nil, &Error{Pos: ir.Pos{File: file}, Msg: fmt.Sprintf("cannot parse spec: %v", r)}
		}
	}()
	if len(strings.TrimSpace(string(src))) == 0 {
		return nil, &Error{Pos: ir.Pos{File: file, Line: 1, Col: 1}, Msg: "empty spec (want a mapping with name, input and layers)"}
	}
	if !utf8.Valid(src) || strings.ContainsRune(string(src), 0) {
		return nil, &Error{Pos: ir.Pos{File: file, Line: 1, Col: 1}, Msg: "not a text file (a spec is UTF-8 YAML)"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, b.yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{Pos: ir.Pos{File: file, Line: 1, Col: 1}, Msg: "empty spec (want a mapping with name, input and layers)"}
	}
	return b.build(doc.Content[0])
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
	return &Error{Pos: b.pos(n), Msg: fmt.Sprintf(format, args...)}
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
	if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(name) {
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
	return b.g, nil
}

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
	size := 1
	for _, d := range shape {
		if size *= d; size > 1<<28 {
			return nil, b.errAt(a.raw(field), "input %v is unreasonably large", shape)
		}
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
		v, err := a.floats(k, false)
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

func (b *builder) readBlocks(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return b.errAt(n, "blocks: expected a mapping of block names to definitions, found %s", nodeKind(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := b.blocks[k.Value]; dup {
			return b.errAt(k, "block %q defined twice", k.Value)
		}
		if _, isOp := primitives[k.Value]; isOp || containers[k.Value] {
			return b.errAt(k, "block name %q is already an op", k.Value)
		}
		if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k.Value) {
			return b.errAt(k, "block name %q must be an identifier", k.Value)
		}
		a, err := b.attrs("block "+k.Value, v, v, nil)
		if err != nil {
			return err
		}
		if err := a.checkKnown("params", "let", "layers"); err != nil {
			return err
		}
		d := &blockDef{name: k.Value, node: k, defaults: map[string]*yaml.Node{}, let: a.raw("let"), layers: a.raw("layers")}
		if d.layers == nil {
			return a.missing("layers", "the block's layer list")
		}
		if p := a.raw("params"); p != nil {
			if p.Kind != yaml.MappingNode {
				return b.errAt(p, "block %s: params must map names to defaults (null = required)", k.Value)
			}
			for j := 0; j+1 < len(p.Content); j += 2 {
				name := p.Content[j].Value
				if reserved[name] {
					return b.errAt(p.Content[j], "block %s: %q is reserved", k.Value, name)
				}
				if _, dup := d.defaults[name]; dup {
					return b.errAt(p.Content[j], "block %s: param %q given twice", k.Value, name)
				}
				def := p.Content[j+1]
				if def.Kind == yaml.ScalarNode && def.Tag == "!!null" {
					def = nil
				}
				d.defaults[name] = def
				d.params = append(d.params, name)
			}
		}
		if d.let != nil && d.let.Kind != yaml.MappingNode {
			return b.errAt(d.let, "block %s: let must be a mapping of names to expressions", k.Value)
		}
		b.blocks[k.Value] = d
	}
	return nil
}

var reserved = map[string]bool{"name": true, "if": true, "from": true, "cin": true, "hin": true, "win": true, "i": true, "true": true, "false": true}

// ctx is where items are being expanded.
type ctx struct {
	prefix   string
	sc       *scope
	seq      *int // next index when inside a seq (nil otherwise)
	training bool // inside an aux head
	block    string
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (b *builder) add(n *ir.Node) {
	b.g.Nodes = append(b.g.Nodes, n)
	b.names[n.Name] = n
}

// items expands a layer list starting from x and returns the last output.
func (b *builder) items(list *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	if list.Kind != yaml.SequenceNode {
		return nil, b.errAt(list, "expected a list of layers, found %s", nodeKind(list))
	}
	for _, it := range list.Content {
		var err error
		if x, err = b.item(it, c, x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// item expands one list entry.
func (b *builder) item(it *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	b.steps++
	if len(b.g.Nodes) > maxNodes || b.steps > maxSteps {
		return nil, b.errAt(it, "the network expands to more than %d layers", maxNodes)
	}
	var key string
	var body *yaml.Node
	switch {
	case it.Kind == yaml.ScalarNode && it.Tag == "!!str":
		key = it.Value
	case it.Kind == yaml.MappingNode && len(it.Content) == 2:
		key, body = it.Content[0].Value, it.Content[1]
	case it.Kind == yaml.MappingNode:
		var ks []string
		for i := 0; i < len(it.Content); i += 2 {
			ks = append(ks, it.Content[i].Value)
		}
		return nil, b.errAt(it, "a layer is a mapping with one key (the op), found keys %s; put attributes under the op, e.g. `- conv: {out: 64, kernel: 3}`", strings.Join(ks, ", "))
	default:
		return nil, b.errAt(it, "expected a layer (an op name or `op: {attributes}`), found %s", nodeKind(it))
	}
	keyNode := it
	if body != nil {
		keyNode = it.Content[0]
	}
	switch {
	case key == "add" || key == "concat" || key == "mul":
		return b.merge(key, keyNode, body, c, x)
	case key == "seq":
		return b.seq(keyNode, body, c, x)
	case key == "repeat":
		return b.repeat(keyNode, body, c, x)
	case key == "aux":
		return b.aux(keyNode, body, c, x)
	}
	if _, ok := primitives[key]; ok {
		return b.primitive(key, keyNode, body, c, x)
	}
	if d, ok := b.blocks[key]; ok {
		return b.invoke(d, keyNode, body, c, x)
	}
	return nil, b.errAt(keyNode, "unknown op or block %q (ops: %s; blocks: %s)", key, strings.Join(opNames(), ", "), strings.Join(b.blockNames(), ", "))
}

func (b *builder) blockNames() []string {
	var ns []string
	for k := range b.blocks {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	if len(ns) == 0 {
		return []string{"none defined"}
	}
	return ns
}

// common reads the item-level fields `if` and `name`. skip is true when `if` is false.
func (b *builder) common(a *attrs) (skip bool, name string, err error) {
	if a.has("if") {
		cond, n, err := a.get("if")
		if err != nil {
			return false, "", err
		}
		bv, ok := cond.(bool)
		if !ok {
			return false, "", b.errAt(n, "%s: if must be a boolean, found %s", a.owner, kindName(cond))
		}
		if !bv {
			return true, "", nil
		}
	}
	name, nn, err := a.str("name")
	if err != nil {
		return false, "", err
	}
	if nn != nil && !namePattern.MatchString(name) {
		return false, "", b.errAt(nn, "%s: name %q must match [A-Za-z0-9_.#]+", a.owner, name)
	}
	return false, name, nil
}

// fullName resolves an item's module path: its own name, the next number in a seq, or "".
func (c ctx) fullName(name string) string {
	if name != "" {
		if c.seq != nil {
			*c.seq++
		}
		return join(c.prefix, name)
	}
	if c.seq != nil {
		n := *c.seq
		*c.seq++
		return join(c.prefix, fmt.Sprint(n))
	}
	return ""
}

func (b *builder) seq(key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs("seq", key, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown("name", "if", "from", "layers"); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	if x, err = b.source(a, c, x); err != nil {
		return nil, err
	}
	layers := a.raw("layers")
	if layers == nil {
		return nil, a.missing("layers", "the sequence's layer list")
	}
	inner := c
	if p := c.fullName(name); p != "" {
		inner.prefix = p
	}
	idx := 0
	inner.seq = &idx
	return b.items(layers, inner, x)
}

func (b *builder) repeat(key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs("repeat", key, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown("count", "layers", "if", "from"); err != nil {
		return nil, err
	}
	if skip, _, err := b.common(a); err != nil || skip {
		return x, err
	}
	if x, err = b.source(a, c, x); err != nil {
		return nil, err
	}
	count, err := a.int("count", 0, true, 0)
	if err != nil {
		return nil, err
	}
	if count > maxNodes {
		return nil, b.errAt(a.raw("count"), "repeat: count %d is too large", count)
	}
	layers := a.raw("layers")
	if layers == nil {
		return nil, a.missing("layers", "the layers to repeat")
	}
	for i := 0; i < count; i++ {
		if b.steps++; b.steps > maxSteps {
			return nil, b.errAt(a.raw("count"), "repeat: the network expands to too many items")
		}
		inner := c
		inner.sc = &scope{vars: map[string]any{"i": int64(i)}, parent: c.sc}
		if x, err = b.items(layers, inner, x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (b *builder) aux(key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs("aux", key, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown("name", "if", "from", "layers"); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	inner := c
	inner.training = true
	from, err := b.source(a, inner, x)
	if err != nil {
		return nil, err
	}
	layers := a.raw("layers")
	if layers == nil {
		return nil, a.missing("layers", "the auxiliary head's layers")
	}
	inner.seq = nil
	if p := c.fullName(name); p != "" {
		inner.prefix = p
	}
	if _, err := b.items(layers, inner, from); err != nil {
		return nil, err
	}
	return x, nil // the main path goes on from the same tensor
}

func (b *builder) merge(op string, key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	var branches *yaml.Node
	name := ""
	if body != nil && body.Kind == yaml.SequenceNode {
		branches = body
	} else {
		a, err := b.attrs(op, key, body, c.sc)
		if err != nil {
			return nil, err
		}
		if err := a.checkKnown("name", "if", "from", "branches", "inputs"); err != nil {
			return nil, err
		}
		skip, nm, err := b.common(a)
		if err != nil || skip {
			return x, err
		}
		name = nm
		if a.has("inputs") {
			return b.mergeInputs(op, key, a, name, c)
		}
		if x, err = b.source(a, c, x); err != nil {
			return nil, err
		}
		if branches = a.raw("branches"); branches == nil {
			return nil, a.missing("branches", "a list of branches, or inputs: a list of layer names")
		}
		if branches.Kind != yaml.SequenceNode {
			return nil, b.errAt(branches, "%s: branches must be a list, found %s", op, nodeKind(branches))
		}
	}
	inner := c
	inner.seq = nil
	full := c.fullName(name)
	if full != "" {
		inner.prefix = full
	}
	var outs []*ir.Node
	for _, br := range branches.Content {
		layers, bc := br, inner
		if br.Kind == yaml.MappingNode {
			a, err := b.attrs(op+" branch", br, br, c.sc)
			if err != nil {
				return nil, err
			}
			if err := a.checkKnown("name", "if", "layers"); err != nil {
				return nil, err
			}
			skip, bn, err := b.common(a)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
			if layers = a.raw("layers"); layers == nil {
				return nil, a.missing("layers", "the branch's layer list")
			}
			if bn != "" {
				bc.prefix = join(inner.prefix, bn)
				idx := 0
				bc.seq = &idx
			}
		}
		out, err := b.items(layers, bc, x)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	switch {
	case len(outs) == 0:
		return nil, b.errAt(key, "%s: no branches (all skipped?)", op)
	case len(outs) == 1:
		return outs[0], nil
	case op == "mul" && len(outs) != 2:
		return nil, b.errAt(key, "mul takes exactly 2 branches, found %d", len(outs))
	}
	nodeName := full
	if nodeName == "" || b.names[nodeName] != nil {
		nodeName = b.autoName(c, op)
	}
	n := &ir.Node{Name: nodeName, Op: mergeOps[op], Inputs: outs, Pos: b.pos(key), TrainingOnly: c.training}
	return b.place(n, c)
}

var mergeOps = map[string]ir.Op{"add": ir.OpAdd, "concat": ir.OpConcat, "mul": ir.OpMul}

// mergeInputs builds `add: {name: N, inputs: [A, B, ...]}`, a merge of named earlier layers.
func (b *builder) mergeInputs(op string, key *yaml.Node, a *attrs, name string, c ctx) (*ir.Node, error) {
	for _, k := range []string{"branches", "from"} {
		if a.has(k) {
			return nil, b.errAt(a.keyNode(k), "%s: give inputs or %s, not both", op, k)
		}
	}
	list := a.raw("inputs")
	if list.Kind != yaml.SequenceNode {
		return nil, b.errAt(list, "%s: inputs must be a list of layer names, found %s", op, nodeKind(list))
	}
	var ins []*ir.Node
	for _, e := range list.Content {
		v, err := b.value(e, c.sc)
		if err != nil {
			return nil, err
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int64:
			s = fmt.Sprint(x)
		default:
			return nil, b.errAt(e, "%s: inputs must hold layer names, found %s", op, kindName(v))
		}
		in, err := b.lookup(op+": inputs", s, e, c)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	switch {
	case op == "mul" && len(ins) != 2:
		return nil, b.errAt(list, "mul takes exactly 2 inputs, found %d", len(ins))
	case len(ins) < 2:
		return nil, b.errAt(list, "%s needs at least 2 inputs, found %d", op, len(ins))
	}
	nodeName := c.fullName(name)
	if nodeName == "" {
		nodeName = b.autoName(c, op)
	}
	n := &ir.Node{Name: nodeName, Op: mergeOps[op], Inputs: ins, Pos: b.pos(key), TrainingOnly: c.training}
	return b.place(n, c)
}

// place infers a new node's shape and appends it to the graph.
func (b *builder) place(n *ir.Node, c ctx) (*ir.Node, error) {
	if prev := b.names[n.Name]; prev != nil {
		return nil, &Error{Pos: n.Pos, Msg: fmt.Sprintf("%s: name %q is already used by the layer at %s", n.Op, n.Name, prev.Pos)}
	}
	if err := ir.InferNode(n); err != nil {
		var ie *ir.Error
		if errors.As(err, &ie) {
			return nil, &Error{Pos: n.Pos, Msg: ie.Node + ": " + ie.Msg + c.where()}
		}
		return nil, err
	}
	b.add(n)
	return n, nil
}

func (c ctx) where() string {
	if c.block == "" {
		return ""
	}
	return " (" + c.block + ")"
}

func (b *builder) invoke(d *blockDef, key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs(d.name, key, body, c.sc)
	if err != nil {
		return nil, err
	}
	allowed := append([]string{"name", "if", "from"}, d.params...)
	if err := a.checkKnown(allowed...); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	if x, err = b.source(a, c, x); err != nil {
		return nil, err
	}
	if b.active[d.name] {
		return nil, b.errAt(key, "block %q invokes itself (a cycle)", d.name)
	}
	sc := shapeScope(nil, x)
	for _, p := range d.params {
		if a.has(p) {
			v, _, err := a.get(p)
			if err != nil {
				return nil, err
			}
			sc.vars[p] = v
			continue
		}
		def := d.defaults[p]
		if def == nil {
			return nil, a.missing(p, "a required parameter of block "+d.name)
		}
		v, err := b.value(def, sc)
		if err != nil {
			return nil, err
		}
		sc.vars[p] = v
	}
	if d.let != nil {
		for i := 0; i+1 < len(d.let.Content); i += 2 {
			k := d.let.Content[i]
			if reserved[k.Value] {
				return nil, b.errAt(k, "block %s: %q is reserved", d.name, k.Value)
			}
			v, err := b.value(d.let.Content[i+1], sc)
			if err != nil {
				return nil, err
			}
			sc.vars[k.Value] = v
		}
	}
	inner := ctx{prefix: c.prefix, sc: sc, training: c.training,
		block: fmt.Sprintf("in block %s used at %s", d.name, b.pos(key))}
	if c.block != "" {
		inner.block += ", " + strings.TrimPrefix(c.block, "in ")
	}
	if p := c.fullName(name); p != "" {
		inner.prefix = p
	}
	b.active[d.name] = true
	defer delete(b.active, d.name)
	out, err := b.items(d.layers, inner, x)
	if err != nil {
		return nil, err
	}
	return out, nil
}
