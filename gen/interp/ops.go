package interp

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cnngen/cnngen/gen/ir"
)

// parallelFor calls body(0..n-1), spread over up to GOMAXPROCS goroutines. Calls with different
// i must write disjoint memory.
func parallelFor(n int, body func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			body(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				body(i)
			}
		})
	}
	wg.Wait()
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

// maxPool is nn.MaxPool2d: the maximum over each window, padding counting as -inf; windows are
// clipped to the input (ceil_mode windows may run past it). NaN wins, as in PyTorch.
func maxPool(a *ir.PoolAttrs, x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			y0 := yo*a.Stride[0] - a.Pad[0]
			y1 := min(y0+a.Kernel[0], H)
			y0 = max(y0, 0)
			for xo := range OW {
				x0 := xo*a.Stride[1] - a.Pad[1]
				x1 := min(x0+a.Kernel[1], W)
				x0 = max(x0, 0)
				m := math.Inf(-1)
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						if v > m || math.IsNaN(v) {
							m = v
						}
					}
				}
				dst[yo*OW+xo] = m
			}
		}
	})
	return out
}

// avgPool is nn.AvgPool2d. With count_include_pad the divisor is the window's size after clipping
// its end to input+padding (so a ceil_mode window running past the padding counts only up to it);
// without, it is the number of input values in the window.
func avgPool(a *ir.PoolAttrs, x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			y0 := yo*a.Stride[0] - a.Pad[0]
			y1 := min(y0+a.Kernel[0], H+a.Pad[2])
			padH := y1 - y0
			y0, y1 = max(y0, 0), min(y1, H)
			for xo := range OW {
				x0 := xo*a.Stride[1] - a.Pad[1]
				x1 := min(x0+a.Kernel[1], W+a.Pad[3])
				padW := x1 - x0
				x0, x1 = max(x0, 0), min(x1, W)
				if y0 >= y1 || x0 >= x1 {
					// A window entirely in padding: PyTorch writes 0. Shape inference and its
					// pad <= kernel/2 rule make this unreachable.
					dst[yo*OW+xo] = 0
					continue
				}
				sum := 0.0
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						sum += v
					}
				}
				div := (y1 - y0) * (x1 - x0)
				if a.CountIncludePad {
					div = padH * padW
				}
				dst[yo*OW+xo] = sum / float64(div)
			}
		}
	})
	return out
}

// adaptiveAvgPool is nn.AdaptiveAvgPool2d: output cell i averages input [floor(i*in/out),
// ceil((i+1)*in/out)) along each axis.
func adaptiveAvgPool(x []float64, in ir.Shape, batch, OH, OW int) []float64 {
	C, H, W := in[0], in[1], in[2]
	out := make([]float64, batch*C*OH*OW)
	parallelFor(batch*C, func(t int) {
		src := x[t*H*W : (t+1)*H*W]
		dst := out[t*OH*OW : (t+1)*OH*OW]
		for yo := range OH {
			y0, y1 := yo*H/OH, ((yo+1)*H+OH-1)/OH
			for xo := range OW {
				x0, x1 := xo*W/OW, ((xo+1)*W+OW-1)/OW
				sum := 0.0
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						sum += v
					}
				}
				dst[yo*OW+xo] = sum / float64((y1-y0)*(x1-x0))
			}
		}
	})
	return out
}

// globalPool averages (or takes the maximum of) each channel plane.
func globalPool(x []float64, in ir.Shape, batch int, isMax bool) []float64 {
	plane := in[1] * in[2]
	out := make([]float64, batch*in[0])
	for t := range out {
		src := x[t*plane : (t+1)*plane]
		if isMax {
			m := math.Inf(-1)
			for _, v := range src {
				if v > m || math.IsNaN(v) {
					m = v
				}
			}
			out[t] = m
			continue
		}
		sum := 0.0
		for _, v := range src {
			sum += v
		}
		out[t] = sum / float64(plane)
	}
	return out
}

// lrn is nn.LocalResponseNorm / ONNX LRN: b_c = a_c / (k + alpha/size * sum a_c'^2)^beta with c'
// over [c - Lo, c - Lo + size - 1] clipped to the channels (PyTorch: Lo = size/2; ONNX:
// Lo = (size-1)/2).
func lrn(a *ir.LRNAttrs, x []float64, in ir.Shape, batch int) []float64 {
	C, plane := in[0], in[1]*in[2]
	out := make([]float64, len(x))
	parallelFor(batch*C, func(t int) {
		b, c := t/C, t%C
		lo, hi := max(0, c-a.Lo), min(C-1, c-a.Lo+a.Size-1)
		sum := make([]float64, plane)
		for cc := lo; cc <= hi; cc++ {
			for p, v := range x[(b*C+cc)*plane : (b*C+cc+1)*plane] {
				sum[p] += v * v
			}
		}
		src := x[t*plane : (t+1)*plane]
		dst := out[t*plane : (t+1)*plane]
		for p, v := range src {
			dst[p] = v / math.Pow(a.Bias+a.Alpha/float64(a.Size)*sum[p], a.Beta)
		}
	})
	return out
}

// batchNorm is inference-mode batch norm on [C H W] or [C]:
// (x - mean) / sqrt(var + eps) * gamma + beta per channel.
func batchNorm(x []float64, in ir.Shape, batch int, gamma, beta, mean, variance []float32, eps float64) []float64 {
	C := in[0]
	plane := in.Size() / C
	out := make([]float64, len(x))
	for t := range batch * C {
		c := t % C
		std := math.Sqrt(float64(variance[c]) + eps)
		m, gm, bt := float64(mean[c]), float64(gamma[c]), float64(beta[c])
		dst := out[t*plane : (t+1)*plane]
		for p, v := range x[t*plane : (t+1)*plane] {
			dst[p] = (v-m)/std*gm + bt
		}
	}
	return out
}

// affine is x[c] * scale[c] + shift[c] per channel; a single value applies to every channel.
func affine(x []float64, in ir.Shape, batch int, scale, shift []float64) []float64 {
	C := in[0]
	plane := in.Size() / C
	pick := func(v []float64, c int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[c]
	}
	out := make([]float64, len(x))
	for t := range batch * C {
		c := t % C
		sc, sh := pick(scale, c), pick(shift, c)
		dst := out[t*plane : (t+1)*plane]
		for p, v := range x[t*plane : (t+1)*plane] {
			dst[p] = v*sc + sh
		}
	}
	return out
}

// linear is nn.Linear: y[o] = bias[o] + sum_i W[o,i] x[i], W being [outF, inF]; with Gemm
// attributes y = alpha * W x + beta * bias, W stored [inF, outF] when TransW.
func linear(x []float64, inF, outF int, w, bias []float32, batch int, g *ir.GemmAttrs) []float64 {
	alpha, beta := 1.0, 1.0
	wAt := func(o, i int) float32 { return w[o*inF+i] }
	if g != nil {
		alpha, beta = g.Alpha, g.Beta
		if g.TransW {
			wAt = func(o, i int) float32 { return w[i*outF+o] }
		}
	}
	out := make([]float64, batch*outF)
	parallelFor(batch*outF, func(t int) {
		b, o := t/outF, t%outF
		src := x[b*inF : (b+1)*inF]
		sum := 0.0
		for i, v := range src {
			sum += float64(wAt(o, i)) * v
		}
		sum *= alpha
		if bias != nil {
			sum += beta * float64(bias[o])
		}
		out[t] = sum
	})
	return out
}

// softmax is exp(x_i - max) / sum_j exp(x_j - max) over the per-image dims [axis, end): for each
// of outer*inner positions, over block elements spaced inner apart. log gives log-softmax.
func softmax(x []float64, in ir.Shape, axis, end, batch int, log bool) []float64 {
	if end == 0 {
		end = len(in)
	}
	outer, block, inner := ir.Shape(in[:axis]).Size()*batch, ir.Shape(in[axis:end]).Size(), ir.Shape(in[end:]).Size()
	out := make([]float64, len(x))
	for o := range outer {
		for j := range inner {
			base := o*block*inner + j
			m := math.Inf(-1)
			for k := range block {
				m = max(m, x[base+k*inner])
			}
			sum := 0.0
			for k := range block {
				sum += math.Exp(x[base+k*inner] - m)
			}
			for k := range block {
				i := base + k*inner
				if log {
					out[i] = x[i] - m - math.Log(sum)
				} else {
					out[i] = math.Exp(x[i]-m) / sum
				}
			}
		}
	}
	return out
}

// pad surrounds each channel plane with value.
func pad(x []float64, in, out ir.Shape, pads [4]int, value float64, batch int) []float64 {
	C, H, W, OH, OW := in[0], in[1], in[2], out[1], out[2]
	y := make([]float64, batch*C*OH*OW)
	for i := range y {
		y[i] = value
	}
	for t := range batch * C {
		for r := range H {
			copy(y[t*OH*OW+(r+pads[0])*OW+pads[1]:], x[t*H*W+r*W:t*H*W+(r+1)*W])
		}
	}
	return y
}

// concat joins its inputs along channels (the first per-image axis): per image, the inputs'
// slices one after another.
func concat(n *ir.Node, xs [][]float64, batch int) ([]float64, error) {
	if len(xs) < 2 {
		return nil, nodeErr(n, "needs at least 2 inputs, got %d", len(xs))
	}
	first := n.Inputs[0].Shape
	c := 0
	for _, y := range n.Inputs {
		s := y.Shape
		if len(s) != len(first) || !ir.Shape(s[1:]).Equal(first[1:]) {
			return nil, nodeErr(n, "concat of %v and %v: all but the channel axis must agree", first, s)
		}
		c += s[0]
	}
	if err := checkShape(n, append(ir.Shape{c}, first[1:]...)); err != nil {
		return nil, err
	}
	out := make([]float64, 0, batch*n.Shape.Size())
	for b := range batch {
		for j, y := range n.Inputs {
			size := y.Shape.Size()
			out = append(out, xs[j][b*size:(b+1)*size]...)
		}
	}
	return out, nil
}

// mul multiplies elementwise, or scales each channel plane of x by s[c] when s is [C 1 1].
func mul(n *ir.Node, x []float64, in ir.Shape, s []float64, sShape ir.Shape, batch int) ([]float64, error) {
	out := make([]float64, len(x))
	switch {
	case sShape.Equal(in):
		for i := range out {
			out[i] = x[i] * s[i]
		}
	case len(in) == 3 && sShape.Equal(ir.Shape{in[0], 1, 1}):
		plane := in[1] * in[2]
		for t := range batch * in[0] {
			dst := out[t*plane : (t+1)*plane]
			for p, v := range x[t*plane : (t+1)*plane] {
				dst[p] = v * s[t]
			}
		}
	default:
		return nil, nodeErr(n, "multiplies %v by %v: want equal shapes or a [C 1 1] second input", in, sShape)
	}
	return out, nil
}
