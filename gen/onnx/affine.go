package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Constant arithmetic on a layer's output folds into the layer where PyTorch's exporter split
// it off: an Add after a bias-less conv or MatMul is the layer's bias, and chains of scalar or
// per-channel Add/Sub/Mul/Div (input normalization, transform_input) are one affine.

// fuseBias folds x + k into the bias of a bias-less convolution or linear layer x that only
// this node reads (MatMul + Add is a linear layer with bias).
func (c *call) fuseBias(x *ir.Node, perm []int, k *tensor, ki int) bool {
	if !c.singleUse(x) {
		return false
	}
	var n int
	switch {
	case x.Op == ir.OpLinear && !ir.As[*ir.LinearAttrs](x).Bias:
		n = ir.As[*ir.LinearAttrs](x).Out
	case x.Op == ir.OpConv && !ir.As[*ir.ConvAttrs](x).Bias:
		n = ir.As[*ir.ConvAttrs](x).Out
	default:
		return false
	}
	if k.size() != n && k.size() != 1 {
		return false
	}
	b := c.vector(k, n, "bias")
	if b == nil {
		return false
	}
	saved := *x
	params := append([]ir.Param(nil), x.Params...)
	x.Attrs = x.Attrs.Clone()
	switch a := x.Attrs.(type) {
	case *ir.LinearAttrs:
		// The Add contributes the bias as it is: a beta given for an absent C does not apply.
		a.Bias, a.Beta = true, 1
	case *ir.ConvAttrs:
		a.Bias = true
	}
	x.Params = append(params, ir.Param{Key: c.read[ki]})
	data := append(append([]*tensor(nil), c.l.pdata[x]...), b)
	if !c.infer(x, data) {
		*x = saved
		return true // the failure is recorded
	}
	c.l.pdata[x] = data
	c.rebindView(x, perm)
	return true
}

// affine makes the output x*scale+shift (per channel of x, read through perm), merged into x
// when x is an affine only this node reads, and x itself when the affine is the identity.
func (c *call) affine(x *ir.Node, perm []int, scale, shift []float64) {
	if x.Op == ir.OpAffine && c.singleUse(x) {
		a := ir.As[*ir.AffineAttrs](x)
		s, b := composeAffine(a.Scale, a.Shift, scale, shift)
		if s != nil && isIdentity(s, b) {
			// The two cancel (GELU's x*(1+erf)*0.5 after an x*2): the affine's input is the output.
			c.rebindView(x.Inputs[0], perm)
			return
		}
		if s != nil {
			saved := *x
			x.Attrs = &ir.AffineAttrs{Scale: s, Shift: b}
			if !c.infer(x, nil) {
				*x = saved
				return
			}
			c.rebindView(x, perm)
			return
		}
	}
	if isIdentity(scale, shift) {
		c.rebindView(x, perm)
		return
	}
	n := c.newNode(ir.OpAffine, x)
	n.Attrs = &ir.AffineAttrs{Scale: scale, Shift: shift}
	if c.emit(n) {
		c.setView(0, n, perm)
	}
}

// isIdentity reports whether an affine map's scale is all ones and its shift all zeros.
func isIdentity(scale, shift []float64) bool {
	for _, v := range scale {
		if v != 1 {
			return false
		}
	}
	for _, v := range shift {
		if v != 0 {
			return false
		}
	}
	return true
}

// composeAffine returns (x*s1+b1)*s2+b2 as one scale and shift, nil when the lengths clash.
func composeAffine(s1, b1, s2, b2 []float64) ([]float64, []float64) {
	n := max(len(s1), len(b1), len(s2), len(b2))
	for _, v := range [][]float64{s1, b1, s2, b2} {
		if len(v) != 1 && len(v) != n {
			return nil, nil
		}
	}
	at := func(v []float64, i int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[i]
	}
	s, b := make([]float64, n), make([]float64, n)
	for i := range s {
		s[i] = at(s1, i) * at(s2, i)
		b[i] = at(b1, i)*at(s2, i) + at(b2, i)
	}
	return s, b
}
