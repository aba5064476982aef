package kernels

// The direct algorithm is for convolutions with few channels on small planes (LeNet-5's), where
// an im2col GEMM spends its time gathering columns and filling MR-row panels that have 6 rows of
// 14: each output plane is the sum over input channels of one whole-plane kernel call (the
// depthwise kernels of dwconv_amd64.s) on that channel's zero-framed copy.

// directEligible reports whether c runs on the direct algorithm: one group, at most 128 channel
// pairs, output planes of at most 32x32, and a kernel the whole-plane kernels have (square 3x3
// or 5x5, stride 1 or 2, no dilation).
func (c *Conv) directEligible() bool {
	_, _, ok := c.dwPlane()
	return ok && c.Groups == 1 && c.InC*c.OutC <= 128 && c.OutH*c.OutW <= 1024
}

// directScratchLen is the zero-framed copies of every input channel, the kernels' slack after
// them, a plane for one channel pair's contribution and one for the sum when a residual (which
// may be the output itself) is added.
func (c *Conv) directScratchLen() int {
	hp, wp, _ := c.dwPlane()
	return c.InC*hp*wp + dwPlaneSlack + 2*c.OutH*c.OutW
}

// runDirect computes output channels [o0, o1): bias plus the first input channel's taps, then
// each further channel's contribution added in channel order, then the residual and the
// activation. Each output is computed by the same operations whatever [o0, o1) is.
func (c *Conv) runDirect(o0, o1 int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	if o0 >= o1 {
		return
	}
	hp, wp, _ := c.dwPlane()
	H, W, OH, OW, k, s := c.InH, c.InW, c.OutH, c.OutW, c.KH, c.StrideH
	plane := hp * wp
	pads := scratch[:c.InC*plane+dwPlaneSlack]
	tmp := scratch[len(pads) : len(pads)+OH*OW]
	sum := scratch[len(pads)+OH*OW : len(pads)+2*OH*OW]
	clear(pads)
	for ic := range c.InC {
		c.padPlane(pads[ic*plane:], in[ic*H*W:(ic+1)*H*W], hp, wp)
	}
	kk := k * k
	for oc := o0; oc < o1; oc++ {
		o := out[oc*OH*OW : (oc+1)*OH*OW]
		acc := o
		if residual != nil {
			acc = sum
		}
		for ic := range c.InC {
			dst, bias := acc, w.bias[oc]
			if ic > 0 {
				dst, bias = tmp, 0
			}
			dwPlaneRun(k, s, dst, pads[ic*plane:], w.w[(oc*c.InC+ic)*kk:(oc*c.InC+ic+1)*kk], bias, OH, OW, wp, OW)
			if ic > 0 {
				addRows(acc, acc, tmp)
			}
		}
		if residual != nil {
			addRows(o, acc, residual[oc*OH*OW:(oc+1)*OH*OW])
		}
		apply(c.Act, o)
	}
}
