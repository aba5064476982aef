package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// ctx is where items are being expanded.
type ctx struct {
	prefix   string
	sc       *scope
	seq      *int // next index when inside a seq (nil otherwise)
	training bool // inside an aux head
	block    string
	depth    int // layer lists entered, see maxNesting
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
	if c.depth++; c.depth > maxNesting {
		return nil, b.errAt(list, "too deep: %d nested layer lists > max %d (containers, branches and block uses)", c.depth, maxNesting)
	}
	if len(c.prefix) > maxPathBytes {
		return nil, b.errAt(list, "name too long: the layers' prefix %q is %d bytes > max %d", short(c.prefix), len(c.prefix), maxPathBytes)
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
	if err := b.step(it); err != nil {
		return nil, err
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
	switch key {
	case "seq":
		return b.seq(keyNode, body, c, x)
	case "repeat":
		return b.repeat(keyNode, body, c, x)
	case "aux":
		return b.aux(keyNode, body, c, x)
	}
	if d := opOf(key); d != nil {
		if isMerge(d) {
			return b.merge(key, d, keyNode, body, c, x)
		}
		return b.primitive(key, d, keyNode, body, c, x)
	}
	if d, ok := b.blocks[key]; ok {
		return b.invoke(d, keyNode, body, c, x)
	}
	return nil, b.errAt(keyNode, "unknown op or block %q (ops: %s; blocks: %s)", key, strings.Join(opNames(), ", "), strings.Join(b.blockNames(), ", "))
}

// step counts an item expanded (or a repetition), failing at it past caps.steps.
func (b *builder) step(at *yaml.Node) error {
	if b.steps++; b.steps > b.caps.steps {
		return b.errAt(at, "too large: %d items expanded > max %d (%d per node of -max-nodes %d; repeats and blocks multiply their items)",
			b.steps, b.caps.steps, stepsPerNode, b.caps.MaxNodes)
	}
	return nil
}

// blockNames lists the spec's blocks for messages, at most 20 of them.
func (b *builder) blockNames() []string {
	var ns []string
	for k := range b.blocks {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	if len(ns) == 0 {
		return []string{"none defined"}
	}
	if len(ns) > 20 {
		ns = append(ns[:20], fmt.Sprintf("and %d more", len(ns)-20))
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
	if len(name) > maxNameBytes {
		return false, "", b.errAt(nn, "%s: name too long: %d bytes > max %d", a.owner, len(name), maxNameBytes)
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

// place infers a new node's shape and appends it to the graph.
func (b *builder) place(n *ir.Node, c ctx) (*ir.Node, error) {
	if prev := b.names[n.Name]; prev != nil {
		return nil, &Error{Pos: n.Pos, Msg: fmt.Sprintf("%s: name %q is already used by the layer at %s", n.Op, n.Name, prev.Pos)}
	}
	if err := b.caps.CheckNodes(len(b.g.Nodes) + 1); err != nil {
		return nil, &Error{Pos: n.Pos, Msg: err.Error(), Err: err}
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

// source resolves an item's `from: NAME`: the earlier layer it reads instead of x, the previous
// item's output.
func (b *builder) source(a *attrs, c ctx, x *ir.Node) (*ir.Node, error) {
	if !a.has("from") {
		return x, nil
	}
	name, n, err := a.str("from")
	if err != nil {
		return nil, err
	}
	return b.lookup(a.owner+": from", name, n, c)
}

// lookup finds the layer a `from` or an `inputs` entry names.
func (b *builder) lookup(what, name string, at *yaml.Node, c ctx) (*ir.Node, error) {
	src := b.names[name]
	if src == nil {
		return nil, b.errAt(at, "%s: no layer named %q before this one (give a full layer name, e.g. layer1.0.conv1, or %q for the network input)", what, name, b.g.Input().Name)
	}
	if src.TrainingOnly && !c.training {
		return nil, b.errAt(at, "%s: %q is in a training-only aux head, which the network cannot read", what, name)
	}
	return src, nil
}

func (b *builder) autoName(c ctx, op string) string {
	for {
		b.auto++
		if name := join(c.prefix, fmt.Sprintf("%s#%d", op, b.auto)); b.names[name] == nil {
			return name
		}
	}
}
