package spec

import (
	"math"
	"reflect"
	"sort"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// The language's ops are the ir table's (ir.Ops), under their names, so an op registered in gen/ir
// is a layer here with no change to this package: its attributes are the tagged fields of its
// attribute struct, read by Go type (kinds.go). Only what a field's type cannot say needs code
// here, in fieldReaders.

// aliases are further spellings of ops.
var aliases = map[string]ir.Op{"gap": ir.OpGlobalAvgPool}

// keywords are the items that are not ops.
var keywords = map[string]bool{"seq": true, "repeat": true, "aux": true}

// opOf returns the op an item's key names, or nil. The input is the spec's top-level `input`,
// never an item.
func opOf(key string) *ir.OpDef {
	if op, ok := aliases[key]; ok {
		return ir.Def(op)
	}
	if d := ir.Def(ir.Op(key)); d != nil && d.Op != ir.OpInput {
		return d
	}
	return nil
}

// isMerge tells ops of several inputs, written as branches or `inputs` (add, concat, mul), from
// layers, which read the previous item.
func isMerge(d *ir.OpDef) bool { return d.Inputs != 1 }

func opNames() []string {
	var ns []string
	for _, d := range ir.Ops() {
		if d.Op != ir.OpInput {
			ns = append(ns, string(d.Op))
		}
	}
	for k := range aliases {
		ns = append(ns, k)
	}
	for k := range keywords {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	return ns
}

// knownFields lists the fields an item of op d may have: the item-level ones (extra), the op's
// attributes, and keys when it has weights.
func knownFields(d *ir.OpDef, extra ...string) []string {
	fs := append([]string(nil), extra...)
	if d.New != nil {
		for _, f := range ir.Fields(d.New()) {
			fs = append(fs, f.Name)
		}
	}
	if d.Params != nil {
		fs = append(fs, "keys")
	}
	return fs
}

// primitive expands a layer: an op of one input, reading the previous item's output or `from`.
func (b *builder) primitive(key string, d *ir.OpDef, keyNode, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	a, err := b.attrs(key, keyNode, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown(knownFields(d, "name", "if", "from")...); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	if x, err = b.source(a, c, x); err != nil {
		return nil, err
	}
	return b.layer(key, d, keyNode, a, c.fullName(name), []*ir.Node{x}, c)
}

// layer builds the node of op d that reads ins, with a's attributes and weight keys, and places
// it. An empty name gets an internal one, which layers with weights may not have.
func (b *builder) layer(key string, d *ir.OpDef, keyNode *yaml.Node, a *attrs, name string, ins []*ir.Node, c ctx) (*ir.Node, error) {
	n := ir.NewNode(d.Op, name, ins...)
	n.Pos, n.TrainingOnly = b.pos(keyNode), c.training
	if err := readAttrs(a, n); err != nil {
		return nil, err
	}
	var keyPos map[string]*yaml.Node
	if len(ir.ParamRoles(n)) > 0 {
		if n.Name == "" {
			return nil, b.errAt(keyNode, "%s needs a name: its weights are stored as NAME.weight (or put it in a seq, which numbers its layers)", key)
		}
		n.SetParamKeys(n.Name)
		var err error
		if keyPos, err = b.keys(a, n); err != nil {
			return nil, err
		}
	}
	if n.Name == "" {
		n.Name = b.autoName(c, key)
	}
	out, err := b.place(n, c)
	if err != nil {
		return nil, err
	}
	for i, p := range n.Params {
		at := keyNode
		if kn := keyPos[p.Key]; kn != nil {
			at = kn
		}
		for _, q := range n.Params[:i] {
			if q.Key == p.Key {
				return nil, b.errAt(at, "%s: weight key %q is given to two of the layer's tensors", key, p.Key)
			}
		}
		if prev := b.weights[p.Key]; prev != nil {
			return nil, b.errAt(at, "%s: weight key %q is already used by layer %q at %s", key, p.Key, prev.Name, prev.Pos)
		}
		b.weights[p.Key] = n
	}
	return out, nil
}

// readAttrs sets n's attributes from a: the given fields first, then the defaults of the others,
// which may depend on the given ones (a pool's stride is its kernel). Ranges an op needs beyond
// its fields' types are the op's to check (ir.InferNode), at the layer's position.
func readAttrs(a *attrs, n *ir.Node) error {
	var unset []ir.Field
	for _, f := range ir.Fields(n.Attrs) {
		k, ok := attrKinds[f.Value.Type()]
		if !ok {
			return a.b.errAt(a.node, "%s: attribute %q is a Go %s, which the spec language has no spelling for (gen/spec/kinds.go)", a.owner, f.Name, f.Value.Type())
		}
		if !a.has(f.Name) {
			if f.Required {
				return a.missing(f.Name, k.what)
			}
			unset = append(unset, f)
			continue
		}
		if r := fieldReaders[n.Op][f.Name]; r != nil {
			if err := r(a, f, n); err != nil {
				return err
			}
			continue
		}
		v, err := k.read(a, f.Name)
		if err != nil {
			return err
		}
		f.Value.Set(reflect.ValueOf(v).Convert(f.Value.Type()))
	}
	newAttrs := ir.Def(n.Op).New
	for _, f := range unset {
		f.Value.Set(reflect.ValueOf(ir.Default(n.Attrs, newAttrs, f.Name)).Convert(f.Value.Type()))
	}
	return nil
}

// fieldReaders read the attributes whose spelling is more than their type's.
var fieldReaders = map[ir.Op]map[string]func(a *attrs, f ir.Field, n *ir.Node) error{
	ir.OpReshape: {"shape": readReshape},
}

// readReshape reads the per-image target shape; one dimension may be -1, inferred from the size.
func readReshape(a *attrs, f ir.Field, n *ir.Node) error {
	dims, err := a.ints(f.Name, nil, true, -1, anyLen)
	if err != nil {
		return err
	}
	at := a.raw(f.Name)
	if len(dims) > maxRank {
		return a.b.errAt(at, "reshape: shape has %d dimensions, at most %d are supported", len(dims), maxRank)
	}
	free, known := -1, 1
	for i, d := range dims {
		switch {
		case d == 0:
			return a.b.errAt(at, "reshape: shape dimensions must be positive (or one -1), found 0")
		case d < 0 && free >= 0:
			return a.b.errAt(at, "reshape: shape may have only one -1")
		case d < 0:
			free = i
		default:
			if known > math.MaxInt32/d {
				return a.b.errAt(at, "reshape: shape %v is too large", dims)
			}
			known *= d
		}
	}
	size := n.Inputs[0].Shape.Size()
	if free >= 0 {
		if size%known != 0 {
			return a.b.errAt(at, "reshape: cannot fit %d values (input %v) into %v", size, n.Inputs[0].Shape, dims)
		}
		dims[free] = size / known
	}
	f.Value.Set(reflect.ValueOf(ir.Shape(dims)))
	return nil
}

func (b *builder) keys(a *attrs, n *ir.Node) (map[string]*yaml.Node, error) {
	kn := a.raw("keys")
	if kn == nil {
		return nil, nil
	}
	roles := ir.ParamRoles(n)
	ka, err := b.attrs(a.owner+" keys", kn, kn, a.sc)
	if err != nil {
		return nil, err
	}
	if err := ka.checkKnown(roles...); err != nil {
		return nil, err
	}
	pos := map[string]*yaml.Node{}
	for i, role := range roles {
		k, vn, err := ka.str(role)
		if err != nil {
			return nil, err
		}
		if vn == nil {
			continue
		}
		if k == "" {
			return nil, b.errAt(vn, "%s: the %s key is empty", ka.owner, role)
		}
		if len(k) > maxPathBytes {
			return nil, b.errAt(vn, "%s: the %s key is too long: %d bytes > max %d", ka.owner, role, len(k), maxPathBytes)
		}
		n.Params[i].Key = k
		pos[k] = vn
	}
	return pos, nil
}
