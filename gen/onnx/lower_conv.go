package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Convolutions and the auto_pad rule they share with pooling.

func lowerConv(c *call) {
	autoPad := c.attrString("auto_pad", "NOTSET")
	checkAutoPad(c, autoPad)
	dil := c.pair("dilations", 1, 1)
	strides := c.pair("strides", 1, 1)
	pads := c.pads4("pads")
	group := c.attrInt("group", 1)
	if group < 1 || group > maxAttr {
		c.fail("group %d is not positive", group)
	}
	ks := c.attrInts("kernel_shape")
	if !c.ok() {
		return
	}
	x, w, b := c.dyn(0), c.konst(1), c.konstOpt(2)
	if x == nil || w == nil || c.present(2) && b == nil || !c.needCHW(x) {
		return
	}
	if len(w.dims) != 4 {
		c.fail("weight %q has dims %v; a 2-D convolution's weight is [out, in/group, kh, kw]", c.read[1], w.dims)
		return
	}
	if ks != nil && (len(ks) != 2 || ks[0] != int64(w.dims[2]) || ks[1] != int64(w.dims[3])) {
		c.fail("kernel_shape %v does not match the weight's dims %v", ks, w.dims)
		return
	}
	k := [2]int{w.dims[2], w.dims[3]}
	pads = c.autoPads(autoPad, pads, x.Shape[1:], k, strides, dil)
	if x.Op == ir.OpPad && ir.As[*ir.PadAttrs](x).Value == 0 {
		// A zero Pad before a convolution is the convolution's own padding.
		for i, p := range ir.As[*ir.PadAttrs](x).Pads {
			pads[i] += p
		}
		x = x.Inputs[0]
	}
	n := c.newNode(ir.OpConv, x)
	n.Attrs = &ir.ConvAttrs{Out: w.dims[0], Kernel: k, Stride: strides, Pad: pads, Dilation: dil, Groups: int(group), Bias: b != nil}
	n.Params = []ir.Param{{Key: c.read[1]}}
	data := []*tensor{w}
	if b != nil {
		n.Params = append(n.Params, ir.Param{Key: c.read[2]})
		data = append(data, b)
	}
	if c.emit(n, data...) {
		c.setDyn(0, n)
	}
}

// autoPads applies auto_pad to explicit pads for a window of kernel k, stride s, dilation d
// over the spatial sizes in.
func (c *call) autoPads(mode string, pads [4]int, in []int, k, s, d [2]int) [4]int {
	switch mode {
	case "NOTSET":
		return pads
	case "VALID":
		return [4]int{}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			out := (in[i] + s[i] - 1) / s[i]
			total := max(0, (out-1)*s[i]+(k[i]-1)*d[i]+1-in[i])
			lo := total / 2 // SAME_UPPER: the extra pad goes at the end
			if mode == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[i], pads[i+2] = lo, total-lo
		}
		return pads
	}
	c.fail("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode)
	return pads
}

func checkAutoPad(c *call, mode string) {
	switch mode {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		c.fail("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode)
	}
}
