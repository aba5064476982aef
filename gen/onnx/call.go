package onnx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// call is one ONNX node being folded or lowered: its inputs resolved through Identity and
// Dropout, its attributes, and the reasons it cannot be lowered (whys), collected rather than
// returned so that one error lists every problem of a model.
type call struct {
	l     *lowerer
	pb    *onnxpb.NodeProto
	op    string
	ver   int64    // the operator's version at the model's opset (opVersion), set before lowering
	label string   // for messages: the node's name, or its first output's when unnamed
	base  string   // the IR name derived from label
	in    []string // resolved input value names, "" for an absent optional input
	read  []string // input names as written in the model (weight keys)
	out   []string
	attrs map[string]*onnxpb.AttributeProto
	whys  []string
}

func (c *call) fail(format string, args ...any) {
	c.whys = append(c.whys, fmt.Sprintf(format, args...))
}

func (c *call) pos() ir.Pos {
	where := fmt.Sprintf("node %q (%s)", c.label, c.op)
	if c.l.m.Source != "" {
		where = c.l.m.Source + ": " + where
	}
	return ir.Pos{File: where}
}

// ---- attributes ----

// attr returns the attribute name if present with the wanted type, recording a problem when
// its type is wrong. Attributes without a type field are accepted (old exporters omit it).
func (c *call) attr(name string, want onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	a := c.attrs[name]
	if a == nil {
		return nil
	}
	if a.GetRefAttrName() != "" {
		c.fail("attribute %s refers to a function attribute; functions are not supported", name)
		return nil
	}
	if t := a.GetType(); t != want && t != onnxpb.AttributeProto_UNDEFINED {
		c.fail("attribute %s is %s, want %s", name, t, want)
		return nil
	}
	return a
}

func (c *call) has(name string) bool { return c.attrs[name] != nil }

func (c *call) attrInt(name string, def int64) int64 {
	if a := c.attr(name, onnxpb.AttributeProto_INT); a != nil {
		return a.GetI()
	}
	return def
}

func (c *call) attrInts(name string) []int64 {
	if a := c.attr(name, onnxpb.AttributeProto_INTS); a != nil {
		return a.GetInts()
	}
	return nil
}

// attrFloat returns a FLOAT attribute as the float64 with the shortest decimal form that rounds
// to the stored float32 (1e-05, not 9.99999974738e-06), as the exporter's source most likely said.
func (c *call) attrFloat(name string, def float64) float64 {
	if a := c.attr(name, onnxpb.AttributeProto_FLOAT); a != nil {
		return widen(a.GetF())
	}
	return def
}

func widen(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil { // NaN and infinities
		return float64(f)
	}
	return v
}

func (c *call) attrString(name, def string) string {
	if a := c.attr(name, onnxpb.AttributeProto_STRING); a != nil {
		return string(a.GetS())
	}
	return def
}

// maxAttr bounds sizes, strides, pads and dilations so that shape arithmetic cannot overflow.
const maxAttr = 1 << 24

// pair reads a 2-element spatial attribute (kernel, strides, dilations) with a default, each
// value in [lo, maxAttr].
func (c *call) pair(name string, def int, lo int64) [2]int {
	v := c.attrInts(name)
	if v == nil {
		return [2]int{def, def}
	}
	if len(v) != 2 {
		c.fail("%s %v: want 2 values (only 2-D NCHW is supported)", name, v)
		return [2]int{def, def}
	}
	for _, x := range v {
		if x < lo || x > maxAttr {
			c.fail("%s %v: values must be in [%d, %d]", name, v, lo, maxAttr)
			return [2]int{def, def}
		}
	}
	return [2]int{int(v[0]), int(v[1])}
}

// pads4 reads ONNX pads [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end).
func (c *call) pads4(name string) [4]int {
	var p [4]int
	v := c.attrInts(name)
	if v == nil {
		return p
	}
	if len(v) != 4 {
		c.fail("%s %v: want 4 values (only 2-D NCHW is supported)", name, v)
		return p
	}
	for k, x := range v {
		if x < 0 || x > maxAttr {
			c.fail("%s %v: values must be in [0, %d]", name, v, maxAttr)
			return [4]int{}
		}
		p[k] = int(x)
	}
	return p
}

// ---- inputs ----

// present reports whether optional input k is given.
func (c *call) present(k int) bool { return k < len(c.in) && c.in[k] != "" }

// val returns input k's value, nil when absent or not computed (an upstream problem).
func (c *call) val(k int) *value {
	if !c.present(k) {
		return nil
	}
	return c.l.vals[c.in[k]]
}

// ready reports whether every given input has a value: false means an upstream node failed,
// which has been reported there.
func (c *call) ready() bool {
	for k := range c.in {
		if c.present(k) && c.val(k) == nil {
			return false
		}
	}
	return true
}

// dyn returns input k, which must be computed from the network input.
func (c *call) dyn(k int) *ir.Node {
	v := c.val(k)
	switch {
	case !c.present(k):
		c.fail("input %d is missing", k)
	case v == nil:
	case v.pend != nil:
		c.failPending(c.vals()...)
	case v.n == nil:
		c.fail("input %d (%q) is a constant where a tensor computed from the network input is needed", k, c.read[k])
	case v.perm != nil && !identity(v.perm):
		return c.plain(k, v)
	default:
		return v.n
	}
	return nil
}

// vals are the values of the inputs (nil for absent ones).
func (c *call) vals() []*value {
	vs := make([]*value, len(c.in))
	for k := range vs {
		vs[k] = c.val(k)
	}
	return vs
}

// konst returns input k, which must be a constant (an initializer or a folded value).
func (c *call) konst(k int) *tensor {
	v := c.val(k)
	switch {
	case !c.present(k):
		c.fail("input %d is missing", k)
	case v == nil:
	case v.pend != nil:
		c.failPending(c.vals()...)
	case v.c == nil:
		c.fail("input %d (%q) must be a constant (an initializer or computable from initializers), not computed from the network input", k, c.read[k])
	default:
		return v.c
	}
	return nil
}

// konstOpt is konst for an optional input: nil without a problem when absent.
func (c *call) konstOpt(k int) *tensor {
	if !c.present(k) {
		return nil
	}
	return c.konst(k)
}

// ints returns a constant integer tensor's values, failing on float or batch-dependent ones.
func (c *call) ints(t *tensor, what string) []int64 {
	if t == nil {
		return nil
	}
	if t.isFloat() {
		c.fail("%s must be integers, got %s", what, typeName(t.dtype))
		return nil
	}
	if t.hasBatch() {
		c.fail("%s depend on the batch size", what)
		return nil
	}
	return t.i
}

// scalar returns a one-element float constant.
func (c *call) scalar(t *tensor, what string) (float64, bool) {
	if t == nil {
		return 0, false
	}
	if t.size() != 1 || t.hasBatch() {
		c.fail("%s must be a single number, got dims %v", what, t.dims)
		return 0, false
	}
	return t.float(0), true
}

// ok reports whether lowering can go on: every input has a value and nothing failed so far.
func (c *call) ok() bool { return len(c.whys) == 0 && c.ready() }

// ---- outputs ----

func (c *call) setConst(k int, t *tensor) {
	if k >= len(c.out) || c.out[k] == "" {
		return
	}
	t.name = c.out[k]
	c.l.vals[c.out[k]] = &value{c: t}
}

func (c *call) setDyn(k int, n *ir.Node) {
	if k >= len(c.out) || c.out[k] == "" {
		return
	}
	c.l.bind(c.out[k], n)
}

// ---- IR nodes ----

// newNode starts an IR node for the call.
func (c *call) newNode(op ir.Op, inputs ...*ir.Node) *ir.Node {
	n := ir.NewNode(op, c.base, inputs...)
	n.Pos = c.pos()
	return n
}

// emit shapes n, checks its weight data against the shapes and adds it to the graph.
func (c *call) emit(n *ir.Node, data ...*tensor) bool {
	if !c.infer(n, data) {
		return false
	}
	l := c.l
	l.nodes = append(l.nodes, n)
	l.pdata[n] = data
	l.base[n] = c.base
	if err := l.limits().CheckNodes(len(l.nodes)); err != nil && l.tooBig == nil {
		l.tooBig = err
	}
	return true
}

// infer runs ir.InferNode and checks the weights' dims against the Param shapes.
func (c *call) infer(n *ir.Node, data []*tensor) bool {
	if err := ir.InferNode(n); err != nil {
		var ie *ir.Error
		if errors.As(err, &ie) {
			c.fail("%s", ie.Msg)
		} else {
			c.fail("%v", err)
		}
		return false
	}
	if len(data) != len(n.Params) {
		c.fail("internal error: %d weight tensors for %d params", len(data), len(n.Params))
		return false
	}
	for k, p := range n.Params {
		if !sameDims(data[k].dims, p.Shape) {
			c.fail("weight %q has dims %v, the layer needs %v", p.Key, data[k].dims, p.Shape)
			return false
		}
		if !data[k].isFloat() {
			c.fail("weight %q is %s, want a float type", p.Key, typeName(data[k].dtype))
			return false
		}
	}
	return true
}

// sameDims compares dims ignoring leading ones (a bias of [1, N] serves as [N]).
func sameDims(dims []int, s ir.Shape) bool {
	for len(dims) > 0 && dims[0] == 1 && len(dims) > len(s) {
		dims = dims[1:]
	}
	if len(dims) != len(s) {
		return false
	}
	for k := range dims {
		if dims[k] != s[k] {
			return false
		}
	}
	return true
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for k, d := range s {
		out[k] = int64(d)
	}
	return out
}

// singleUse reports whether the call is the only reader of n, so n may be rewritten in place.
func (c *call) singleUse(n *ir.Node) bool { return c.l.refs[n] == 1 }

// rebind makes the call's output stand for n, which the call rewrote in place.
func (c *call) rebind(n *ir.Node) {
	c.l.refs[n]--
	c.setDyn(0, n)
}

// rank is the ONNX rank of a computed tensor: the batch dimension plus the per-image ones.
func rank(n *ir.Node) int { return 1 + len(n.Shape) }

// normAxis maps an axis in [-r, r) to [0, r).
func (c *call) normAxis(a int64, r int, what string) (int, bool) {
	if a < -int64(r) || a >= int64(r) {
		c.fail("%s %d is out of range for rank %d", what, a, r)
		return 0, false
	}
	if a < 0 {
		a += int64(r)
	}
	return int(a), true
}

// flattenAxis maps Flatten's axis, which may be in [-r, r] (r itself flattens to [prod, 1]), to
// [0, r].
func (c *call) flattenAxis(a int64, r int) (int, bool) {
	if a < -int64(r) || a > int64(r) {
		c.fail("axis %d is out of range for rank %d", a, r)
		return 0, false
	}
	if a < 0 {
		a += int64(r)
	}
	return int(a), true
}

// sanitize turns an ONNX name into an IR node name matching [A-Za-z0-9_.]+. Slash-separated
// scopes become dot-separated, and PyTorch's scope paths, which repeat each parent's name
// ("/layer4/layer4.1/conv2/Conv"), collapse to the module path ("layer4.1.conv2.Conv"). Other
// characters outside the set become '_'.
func sanitize(s string) string {
	var parts []string
	for _, p := range strings.Split(s, "/") {
		switch {
		case p == "":
		case len(parts) > 0 && strings.HasPrefix(p, parts[len(parts)-1]+"."):
			parts[len(parts)-1] = p
		default:
			parts = append(parts, p)
		}
	}
	var b strings.Builder
	for _, r := range strings.Join(parts, ".") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "node"
	}
	return b.String()
}
