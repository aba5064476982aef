package interp

import (
	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpConv] = evalConv
	weightSizes[ir.OpConv] = func(n *ir.Node, in ir.Shape) []int {
		a := ir.As[*ir.ConvAttrs](n)
		s := []int{a.Out * (in[0] / max(a.Groups, 1)) * a.Kernel[0] * a.Kernel[1]}
		if a.Bias {
			s = append(s, a.Out)
		}
		return s
	}
}

func evalConv(n *node) ([]float64, error) {
	if err := needCHW(n); err != nil {
		return nil, err
	}
	a, in := ir.As[*ir.ConvAttrs](n.Node), n.in
	if a.Groups <= 0 || in[0]%a.Groups != 0 || a.Out%a.Groups != 0 {
		return nil, nodeErr(n.Node, "groups %d must divide %d input and %d output channels", a.Groups, in[0], a.Out)
	}
	oh := outLen(in[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], false)
	ow := outLen(in[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], false)
	if err := checkShape(n.Node, ir.Shape{a.Out, oh, ow}); err != nil {
		return nil, err
	}
	var bias []float32
	if a.Bias {
		bias = n.ws[1]
	}
	return conv(a, n.x(), in, n.ws[0], bias, n.batch, oh, ow), nil
}

// outLen is PyTorch's conv/pool output length (pooling_output_shape_pad_lr): the number of
// windows of extent dilation*(k-1)+1 at the given stride over the padded input, rounding up in
// ceil mode except that a last window starting inside the right/bottom padding is dropped. The
// interpreter computes it itself rather than calling ir.Window, which it checks.
func outLen(in, k, stride, padLo, padHi, dilation int, ceil bool) int {
	span := in + padLo + padHi - dilation*(k-1) - 1
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	n := (span+stride-1)/stride + 1
	if (n-1)*stride >= in+padLo {
		n--
	}
	return n
}

// conv is nn.Conv2d: out[b,o,y,x] = bias[o] + sum over the input channels c of o's group and the
// kernel taps (i,j) of w[o,c,i,j] * in[b, g*C/G+c, y*sh-pt+i*dh, x*sw-pl+j*dw], zero outside the
// input. Weights are [Out, C/groups, KH, KW].
//
// Loop order: each task computes a block of up to convBlock output channels of one image; for
// each tile of output rows, input channel and tap, the input row segment the tap reads is added,
// times the tap's weight, to the block's output rows (madd). The innermost loop is contiguous and
// each input value loaded serves every channel of the block.
func conv(a *ir.ConvAttrs, x []float64, in ir.Shape, w, bias []float32, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	cg := C / a.Groups     // input channels per group
	og := a.Out / a.Groups // output channels per group
	KH, KW := a.Kernel[0], a.Kernel[1]
	sh, sw := a.Stride[0], a.Stride[1]
	dh, dw := a.Dilation[0], a.Dilation[1]
	pt, pl := a.Pad[0], a.Pad[1]

	// Output rows are processed in tiles of about 512 values so that the tile and the input rows
	// it reads stay in cache while every (input channel, tap) pair sweeps over it.
	tileRows := max(1, 512/OW)
	blocks := (og + convBlock - 1) / convBlock // channel blocks per group

	out := make([]float64, batch*a.Out*OH*OW)
	parallelFor(batch*a.Groups*blocks, func(t int) {
		b, g, blk := t/(a.Groups*blocks), t/blocks%a.Groups, t%blocks
		o0 := g*og + blk*convBlock             // first output channel of the block
		nb := min(convBlock, og-blk*convBlock) // channels in the block
		var dst [convBlock][]float64
		for m := range nb {
			o := (b*a.Out + o0 + m) * OH * OW
			dst[m] = out[o : o+OH*OW]
			if bias != nil {
				for k := range dst[m] {
					dst[m][k] = float64(bias[o0+m])
				}
			}
		}
		gather := make([]float64, OW) // a strided input row, made contiguous
		var wv [convBlock]float64
		for y0 := 0; y0 < OH; y0 += tileRows {
			y1 := min(y0+tileRows, OH)
			for c := range cg {
				src := x[(b*C+g*cg+c)*H*W:][:H*W]
				for i := range KH {
					for j := range KW {
						for m := range nb {
							wv[m] = float64(w[(((o0+m)*cg+c)*KH+i)*KW+j])
						}
						// Output column xo reads input column xo*sw+off; [lo, hi) are the columns
						// whose input lies inside the image (the rest read zero padding).
						off := j*dw - pl
						lo, hi := validRange(OW, W, sw, off)
						// Likewise the rows [ylo, yhi) of the tile read input rows inside the image.
						ylo, yhi := validRange(y1, H, sh, i*dh-pt)
						ylo = max(ylo, y0)
						if ylo >= yhi || lo >= hi {
							continue
						}
						if sh == 1 && sw == 1 && off == 0 && OW == W {
							// Each output row reads the whole input row at the same offset (1x1
							// and Kx1 kernels): the rows are one contiguous run in both planes.
							yi := ylo + i*dh - pt
							madd(&dst, &wv, nb, ylo*OW, src[yi*W:yi*W+(yhi-ylo)*OW])
							continue
						}
						for yo := ylo; yo < yhi; yo++ {
							yi := yo*sh - pt + i*dh
							srow := src[yi*W : (yi+1)*W]
							var s []float64
							if sw == 1 {
								s = srow[lo+off : hi+off]
							} else {
								s = gather[:hi-lo]
								for k := range s {
									s[k] = srow[(lo+k)*sw+off]
								}
							}
							madd(&dst, &wv, nb, yo*OW+lo, s)
						}
					}
				}
			}
		}
	})
	return out
}

// convBlock is how many output channels a conv task computes together.
const convBlock = 4

// madd adds w[m]*s to d[m][off:off+len(s)] for the first nb channels.
func madd(d *[convBlock][]float64, w *[convBlock]float64, nb, off int, s []float64) {
	if nb == convBlock {
		d0 := d[0][off : off+len(s)]
		d1 := d[1][off : off+len(s)]
		d2 := d[2][off : off+len(s)]
		d3 := d[3][off : off+len(s)]
		w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
		for k, v := range s {
			d0[k] += w0 * v
			d1[k] += w1 * v
			d2[k] += w2 * v
			d3[k] += w3 * v
		}
		return
	}
	for m := range nb {
		dm, wm := d[m][off:off+len(s)], w[m]
		for k, v := range s {
			dm[k] += wm * v
		}
	}
}

// validRange returns the output positions [lo, hi) of [0, outW) with 0 <= x*stride+off < inW.
func validRange(outW, inW, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := inW - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	lo, hi = min(lo, outW), min(hi, outW)
	return lo, max(hi, lo)
}
