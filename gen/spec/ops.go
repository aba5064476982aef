package spec

import (
	"sort"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

var containers = map[string]bool{"seq": true, "repeat": true, "add": true, "concat": true, "mul": true, "aux": true}

// opReader fills a node's attributes from a layer's mapping. Each op lists its fields so unknown
// ones are errors.
type opReader struct {
	op     ir.Op
	fields []string
	read   func(a *attrs, n *ir.Node) error
}

func noAttrs(op ir.Op) opReader { return opReader{op: op} }

var primitives = map[string]opReader{
	"conv": {ir.OpConv, []string{"out", "kernel", "stride", "pad", "dilation", "groups", "bias"}, readConv},
	"maxpool": {ir.OpMaxPool, []string{"kernel", "stride", "pad", "ceil_mode"}, func(a *attrs, n *ir.Node) error {
		return readPool(a, n, false)
	}},
	"avgpool": {ir.OpAvgPool, []string{"kernel", "stride", "pad", "ceil_mode", "count_include_pad"}, func(a *attrs, n *ir.Node) error {
		return readPool(a, n, true)
	}},
	"adaptive_avgpool": {ir.OpAdaptiveAvgPool, []string{"out"}, func(a *attrs, n *ir.Node) (err error) {
		n.OutSize, err = a.pair("out", 0, true, 1)
		return err
	}},
	"gap":            noAttrs(ir.OpGlobalAvgPool),
	"global_avgpool": noAttrs(ir.OpGlobalAvgPool),
	"global_maxpool": noAttrs(ir.OpGlobalMaxPool),
	"lrn": {ir.OpLRN, []string{"size", "alpha", "beta", "k"}, func(a *attrs, n *ir.Node) (err error) {
		l := &ir.LRNAttrs{}
		if l.Size, err = a.int("size", 0, true, 1); err != nil {
			return err
		}
		if l.Alpha, err = a.float("alpha", 1e-4); err != nil {
			return err
		}
		if l.Beta, err = a.float("beta", 0.75); err != nil {
			return err
		}
		if l.Bias, err = a.float("k", 1); err != nil {
			return err
		}
		l.Lo = l.Size / 2 // PyTorch's window
		n.LRN = l
		return nil
	}},
	"bn": {ir.OpBatchNorm, []string{"eps"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Eps, err = a.float("eps", 1e-5); err == nil && n.Eps <= 0 {
			return a.b.errAt(a.raw("eps"), "bn: eps must be positive")
		}
		return err
	}},
	"relu":      noAttrs(ir.OpReLU),
	"relu6":     noAttrs(ir.OpReLU6),
	"sigmoid":   noAttrs(ir.OpSigmoid),
	"silu":      noAttrs(ir.OpSiLU),
	"tanh":      noAttrs(ir.OpTanh),
	"hardswish": noAttrs(ir.OpHardSwish),
	"hardsigmoid": {ir.OpHardSigmoid, []string{"alpha", "beta"}, func(a *attrs, n *ir.Node) (err error) {
		if n.HardAlpha, err = a.float("alpha", 1.0/6); err != nil {
			return err
		}
		n.HardBeta, err = a.float("beta", 0.5)
		return err
	}},
	"flatten": noAttrs(ir.OpFlatten),
	"linear": {ir.OpLinear, []string{"out", "bias"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Features, err = a.int("out", 0, true, 1); err != nil {
			return err
		}
		n.LinBias, err = a.bool("bias", true)
		return err
	}},
	"dropout": {ir.OpDropout, []string{"p"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Dropout, err = a.float("p", 0.5); err == nil && (n.Dropout < 0 || n.Dropout > 1) {
			return a.b.errAt(a.raw("p"), "dropout: p must be in [0, 1]")
		}
		return err
	}},
	"softmax": noAttrs(ir.OpSoftmax),
	"affine": {ir.OpAffine, []string{"scale", "shift"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Scale, err = a.floats("scale", true); err != nil {
			return err
		}
		n.Shift, err = a.floats("shift", true)
		return err
	}},
}

func opNames() []string {
	var ns []string
	for k := range primitives {
		ns = append(ns, k)
	}
	for k := range containers {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	return ns
}

func readConv(a *attrs, n *ir.Node) (err error) {
	c := &ir.ConvAttrs{}
	if c.Out, err = a.int("out", 0, true, 1); err != nil {
		return err
	}
	if c.Kernel, err = a.pair("kernel", 0, true, 1); err != nil {
		return err
	}
	if c.Stride, err = a.pair("stride", 1, false, 1); err != nil {
		return err
	}
	if c.Pad, err = a.pad(); err != nil {
		return err
	}
	if c.Dilation, err = a.pair("dilation", 1, false, 1); err != nil {
		return err
	}
	if c.Groups, err = a.int("groups", 1, false, 1); err != nil {
		return err
	}
	if c.Bias, err = a.bool("bias", true); err != nil {
		return err
	}
	n.Conv = c
	return nil
}

func readPool(a *attrs, n *ir.Node, avg bool) (err error) {
	p := &ir.PoolAttrs{}
	if p.Kernel, err = a.pair("kernel", 0, true, 1); err != nil {
		return err
	}
	if p.Stride, err = a.pair("stride", 0, false, 1); err != nil {
		return err
	}
	if !a.has("stride") {
		p.Stride = p.Kernel // PyTorch's default
	}
	if p.Pad, err = a.pad(); err != nil {
		return err
	}
	if p.CeilMode, err = a.bool("ceil_mode", false); err != nil {
		return err
	}
	if avg {
		if p.CountIncludePad, err = a.bool("count_include_pad", true); err != nil {
			return err
		}
	}
	n.Pool = p
	return nil
}

func (b *builder) primitive(key string, keyNode, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	r := primitives[key]
	a, err := b.attrs(key, keyNode, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown(append([]string{"name", "if"}, r.fields...)...); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	n := &ir.Node{Op: r.op, Inputs: []*ir.Node{x}, Pos: b.pos(keyNode), TrainingOnly: c.training}
	if r.read != nil {
		if err := r.read(a, n); err != nil {
			return nil, err
		}
	}
	n.Name = c.fullName(name)
	if len(ir.ParamRoles(n)) > 0 {
		if n.Name == "" {
			return nil, b.errAt(keyNode, "%s needs a name: its weights are stored as NAME.weight (or put it in a seq, which numbers its layers)", key)
		}
		n.SetParamKeys(n.Name)
	}
	if n.Name == "" {
		n.Name = b.autoName(c, key)
	}
	return b.place(n, c)
}
