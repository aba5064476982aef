package spec

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// seq expands `seq: {name: P, layers}`, whose items are numbered P.0, P.1, ... as in
// nn.Sequential.
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

// repeat expands its layers count times, with i defined, continuing any enclosing numbering.
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
	if count > b.caps.MaxNodes {
		return nil, b.errAt(a.raw("count"), "repeat: count too large: %d > max %d (the node limit; raise it with -max-nodes)", count, b.caps.MaxNodes)
	}
	layers := a.raw("layers")
	if layers == nil {
		return nil, a.missing("layers", "the layers to repeat")
	}
	for i := 0; i < count; i++ {
		if err := b.step(a.raw("count")); err != nil {
			return nil, err
		}
		inner := c
		inner.sc = &scope{vars: map[string]any{"i": int64(i)}, parent: c.sc}
		if x, err = b.items(layers, inner, x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// aux expands a training-only head from x; the main path goes on from x, so it returns x.
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

// merge expands a merge op (add, concat, mul: every op of more than one input): branches that
// all start from x, or the named layers of `inputs`.
func (b *builder) merge(key string, d *ir.OpDef, keyNode, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	var branches *yaml.Node
	name := ""
	var a *attrs
	if body != nil && body.Kind == yaml.SequenceNode {
		branches = body
		a, _ = b.attrs(key, keyNode, nil, c.sc) // the list form gives no attributes: no error
	} else {
		var err error
		if a, err = b.attrs(key, keyNode, body, c.sc); err != nil {
			return nil, err
		}
		if err := a.checkKnown(knownFields(d, "name", "if", "from", "branches", "inputs")...); err != nil {
			return nil, err
		}
		skip, nm, err := b.common(a)
		if err != nil || skip {
			return x, err
		}
		name = nm
		if a.has("inputs") {
			return b.mergeInputs(key, d, keyNode, a, name, c)
		}
		if x, err = b.source(a, c, x); err != nil {
			return nil, err
		}
		if branches = a.raw("branches"); branches == nil {
			return nil, a.missing("branches", "a list of branches, or inputs: a list of layer names")
		}
		if branches.Kind != yaml.SequenceNode {
			return nil, b.errAt(branches, "%s: branches must be a list, found %s", key, nodeKind(branches))
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
			ba, err := b.attrs(key+" branch", br, br, c.sc)
			if err != nil {
				return nil, err
			}
			if err := ba.checkKnown("name", "if", "layers"); err != nil {
				return nil, err
			}
			skip, bn, err := b.common(ba)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
			if layers = ba.raw("layers"); layers == nil {
				return nil, ba.missing("layers", "the branch's layer list")
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
		return nil, b.errAt(keyNode, "%s: no branches (all skipped?)", key)
	case len(outs) == 1:
		return outs[0], nil
	case d.Inputs != ir.Variadic && len(outs) != d.Inputs:
		return nil, b.errAt(keyNode, "%s takes exactly %d branches, found %d", key, d.Inputs, len(outs))
	}
	if b.names[full] != nil {
		full = "" // the branches took the name; the merge gets an internal one
	}
	return b.layer(key, d, keyNode, a, full, outs, c)
}

// mergeInputs builds `add: {name: N, inputs: [A, B, ...]}`, a merge of named earlier layers.
func (b *builder) mergeInputs(key string, d *ir.OpDef, keyNode *yaml.Node, a *attrs, name string, c ctx) (*ir.Node, error) {
	for _, k := range []string{"branches", "from"} {
		if a.has(k) {
			return nil, b.errAt(a.keyNode(k), "%s: give inputs or %s, not both", key, k)
		}
	}
	list := a.raw("inputs")
	if list.Kind != yaml.SequenceNode {
		return nil, b.errAt(list, "%s: inputs must be a list of layer names, found %s", key, nodeKind(list))
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
			return nil, b.errAt(e, "%s: inputs must hold layer names, found %s", key, kindName(v))
		}
		in, err := b.lookup(key+": inputs", s, e, c)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	switch {
	case d.Inputs != ir.Variadic && len(ins) != d.Inputs:
		return nil, b.errAt(list, "%s takes exactly %d inputs, found %d", key, d.Inputs, len(ins))
	case len(ins) < 2:
		return nil, b.errAt(list, "%s needs at least 2 inputs, found %d", key, len(ins))
	}
	return b.layer(key, d, keyNode, a, c.fullName(name), ins, c)
}
