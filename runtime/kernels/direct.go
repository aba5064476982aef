package kernels

// The direct algorithm is for convolutions with few channels on small planes (LeNet-5's), where
// an im2col GEMM spends its time gathering columns and filling MR-row panels that have 6 rows of
// 14: each output plane is the sum over input channels of one whole-plane kernel call (the
// depthwise kernels of dwconv_amd64.s) on that channel's zero-framed copy.

// directEligible reports whether c runs on the direct algorithm: one group, a kernel the
// whole-plane kernels have (square 3x3 or 5x5, stride 1 or 2, no dilation; 3x3 stride 1 goes to
// Winograd first), output planes of at most 32x32 and few channel pairs (directPairs).
//
// Measured against im2col (best of 7 on this 2-core Zen 4 VM, AVX-512 / AVX2): 5x5 stride 1
// wins 5.3x / 4.0x at 6 pairs (LeNet's first layer), 1.2-3.4x / 1.6x at 96-128 pairs (its second),
// ties at 256-512 pairs; 5x5 stride 2 wins 1.1-1.6x to 128 pairs. 3x3 stride 2 wins 1.3-1.9x at 8-24
// pairs and 1.05-1.1x at 32, but loses from 48-64 pairs (0.65-0.93x at 32x32 outputs) and at 128
// (0.5-0.9x). Output planes: at 32x32 stride 2 with 48 pairs direct is at parity (0.95-1.15x).
func (c *Conv) directEligible() bool {
	_, _, ok := c.dwPlane()
	return ok && c.Groups == 1 && c.InC*c.OutC <= directPairs(c.KH) && c.OutH*c.OutW <= 1024
}

// directPairs is the most input-output channel pairs the direct algorithm takes for k x k
// kernels (see directEligible's measurements): 128 for 5x5, 32 for 3x3.
func directPairs(k int) int {
	if k == 3 {
		return 32
	}
	return 128
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
