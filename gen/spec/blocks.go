package spec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// blockDef is a block as declared under `blocks`; its layers are expanded anew at each invocation.
type blockDef struct {
	name     string
	node     *yaml.Node
	params   []string              // in declaration order
	defaults map[string]*yaml.Node // nil value = required
	let      *yaml.Node
	layers   *yaml.Node
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readBlocks records the block definitions; their layers are checked when invoked, where the
// arguments are known.
func (b *builder) readBlocks(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return b.errAt(n, "blocks: expected a mapping of block names to definitions, found %s", nodeKind(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := b.blocks[k.Value]; dup {
			return b.errAt(k, "block %q defined twice", k.Value)
		}
		if opOf(k.Value) != nil || keywords[k.Value] {
			return b.errAt(k, "block name %q is already an op", k.Value)
		}
		if !identifier.MatchString(k.Value) {
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

// invoke expands a block with its arguments, in a scope of its own: a block sees its params, let
// values and the shape of its input, not its caller's variables.
func (b *builder) invoke(d *blockDef, key, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs(d.name, key, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := b.charge(key, len(d.params)); err != nil {
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
	inner := ctx{prefix: c.prefix, sc: sc, training: c.training, depth: c.depth,
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
