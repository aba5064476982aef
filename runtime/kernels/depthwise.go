package kernels

// runDepthwise computes channels [ch0, ch1) of a depthwise convolution directly: for each channel
// and output row, the row starts at bias (+ residual), each kernel row that reads inside the
// input adds its taps' contribution (dwRow), and the activation is applied while the row is in
// cache. Each output value is computed by the same operations whatever [ch0, ch1) is.
func (c *Conv) runDepthwise(ch0, ch1 int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	if hp, wp, ok := c.dwPlane(); ok && residual == nil {
		c.runDepthwisePlane(ch0, ch1, in, out, w, scratch[:hp*wp+dwPlaneSlack], hp, wp)
		return
	}
	H, W, OH, OW := c.InH, c.InW, c.OutH, c.OutW
	KH, KW := c.KH, c.KW
	r := dwRowOf(c)
	if (KW == 3 || KW == 5) && r.dil == 1 && r.stride == 1 && c.StrideH == 1 && c.DilH == 1 &&
		(OH+KH-1)*(OW+KW-1)+OH*(OW+KW-1) <= rowBufLen {
		buf := getRowBuf()
		c.runDepthwiseFlat(ch0, ch1, in, out, w, residual, buf[:])
		putRowBuf(buf)
		return
	}
	for ch := ch0; ch < ch1; ch++ {
		plane := in[ch*H*W : (ch+1)*H*W]
		wk := w.w[ch*KH*KW : (ch+1)*KH*KW]
		b := w.bias[ch]
		for yo := range OH {
			o := ch*OH*OW + yo*OW
			orow := out[o : o+OW]
			if residual != nil {
				res := residual[o : o+OW]
				res = res[:len(orow)]
				for x := range orow {
					orow[x] = res[x] + b
				}
			} else {
				for x := range orow {
					orow[x] = b
				}
			}
			for i := range KH {
				yi := yo*c.StrideH - c.PadT + i*c.DilH
				if yi < 0 || yi >= H {
					continue
				}
				r.run(orow, plane[yi*W:(yi+1)*W], wk[i*KW:(i+1)*KW])
			}
			apply(c.Act, orow)
		}
	}
}

// dwPlane reports whether c runs on runDepthwisePlane, and the size of its padded plane: square
// 3x3 or 5x5 kernels, stride 1 or 2, no dilation (all of EfficientNet's and MobileNet's).
func (c *Conv) dwPlane() (hp, wp int, ok bool) {
	k, s := c.KH, c.StrideH
	if c.KW != k || (k != 3 && k != 5) || c.StrideW != s || (s != 1 && s != 2) || c.DilH != 1 || c.DilW != 1 {
		return 0, 0, false
	}
	return (c.OutH-1)*s + k, (c.OutW-1)*s + k, true
}

// dwPlaneSlack is the scratch past the padded plane that the kernels' whole-vector loads may
// read: a vector (16) and a kernel row's reach (4) past the last row's end at the widest level,
// rounded up to a few cache lines (64 floats).
const dwPlaneSlack = 64

// runDepthwisePlane computes channels [ch0, ch1) one plane at a time: the channel is copied
// into pad (hp x wp, in the scratch), whose frame of zeros is the convolution's padding, and one
// kernel call computes the whole output plane from it with every tap's accumulation in
// registers; the activation then runs over the planes while they are in cache. Each output is
// bias + the taps in kernel order, whatever [ch0, ch1) is.
func (c *Conv) runDepthwisePlane(ch0, ch1 int, in, out []float32, w *ConvWeights, pad []float32, hp, wp int) {
	H, W, OH, OW := c.InH, c.InW, c.OutH, c.OutW
	k, s := c.KH, c.StrideH
	clear(pad)  // the frame stays zero: every channel writes the same interior
	act0 := ch0 // the first channel not activated yet
	for ch := ch0; ch < ch1; ch++ {
		c.padPlane(pad, in[ch*H*W:(ch+1)*H*W], hp, wp)
		oplane := out[ch*OH*OW : (ch+1)*OH*OW]
		dwPlaneRun(k, s, oplane, pad, w.w[ch*k*k:(ch+1)*k*k], w.bias[ch], OH, OW, wp, OW)
		// The activation over a few planes at a time, still in cache: one call per 7x7 plane
		// cost more than the call's work. Each value's activation is the same whatever range
		// it is applied in.
		if n := (ch + 1 - act0) * OH * OW; n >= dwActBatch || ch == ch1-1 {
			apply(c.Act, out[act0*OH*OW:(ch+1)*OH*OW])
			act0 = ch + 1
		}
	}
}

// padPlane copies one input channel plane into the interior of the hp x wp plane pad, whose
// frame of zeros (left as it is) is the convolution's padding.
func (c *Conv) padPlane(pad, plane []float32, hp, wp int) {
	W := c.InW
	rows, cols := min(c.InH, hp-c.PadT), min(W, wp-c.PadL)
	if rows <= 0 || cols <= 0 {
		return
	}
	dst := pad[c.PadT*wp+c.PadL:]
	if cols == W { // the rows copied whole: one call for the plane
		kern().copyPlane(dst[:(rows-1)*wp+cols], plane[:rows*cols], rows, cols, wp)
		return
	}
	for y := range rows {
		copy(dst[y*wp:y*wp+cols], plane[y*W:y*W+cols])
	}
}

// dwPlaneRun runs the active level's whole-plane kernel for k x k kernels of stride s (see
// f32DWConv3x3s1Go): dst[y*ldd+x] = bias + the taps over src (ld floats a row) in kernel order.
func dwPlaneRun(k, s int, dst, src, w []float32, bias float32, rows, cols, ld, ldd int) {
	// The assembly reads whole vectors: up to s*roundUp(cols, vl)+k-1+vl floats of the last row
	// it reads (the caller's slack, dwPlaneSlack, holds them at the widest vl, 16), and writes
	// exactly the outputs.
	_ = src[(s*(rows-1)+k-1)*ld+s*roundUp(cols, 16)+k-1+16-1]
	kern().dwConvFor(k, s)(dst[:(rows-1)*ldd+cols], src, w[:k*k], bias, rows, cols, ld, ldd)
}

// dwActBatch is about how many outputs runDepthwisePlane computes before activating them: 2048
// floats, 8 KiB, stay in L1 (32-48 KiB) with the planes being computed, and are enough values
// to make the activation call's overhead small.
const dwActBatch = 2048

// runDepthwiseFlat is runDepthwise for stride 1 on small planes (EfficientNet's 28x28 down to
// 7x7, whose rows are short for the SIMD kernels) with a residual, through buf (rowBufLen
// floats, from rowBufs): each channel is copied into a plane framed
// by zeros, of width Wp = OutW+KW-1, and each kernel row is then one call of the row kernel over
// the whole plane, as if it were a single row of OutH*Wp outputs (the last KW-1 columns of each
// row are not outputs and are dropped). The padding adds exact zeros, so each output is the sum
// runDepthwise would compute, in the same order.
func (c *Conv) runDepthwiseFlat(ch0, ch1 int, in, out []float32, w *ConvWeights, residual []float32, buf []float32) {
	H, W, OH, OW := c.InH, c.InW, c.OutH, c.OutW
	KH, KW := c.KH, c.KW
	hp, wp := OH+KH-1, OW+KW-1
	pad, acc := buf[:hp*wp], buf[hp*wp:hp*wp+OH*wp]
	row := kern().dwConvRowFor(KW, 1)
	clear(pad) // the frame stays zero: every channel writes the same interior
	n := (OH-1)*wp + OW
	for ch := ch0; ch < ch1; ch++ {
		plane := in[ch*H*W : (ch+1)*H*W]
		for y := range H {
			if py := y + c.PadT; py < hp {
				cols := min(W, wp-c.PadL)
				copy(pad[py*wp+c.PadL:py*wp+c.PadL+cols], plane[y*W:y*W+cols])
			}
		}
		b := w.bias[ch]
		o := ch * OH * OW
		for y := range OH {
			arow := acc[y*wp : (y+1)*wp]
			if residual != nil {
				for x, v := range residual[o+y*OW : o+(y+1)*OW] {
					arow[x] = v + b
				}
			} else {
				for x := range OW {
					arow[x] = b
				}
			}
			clear(arow[OW:])
		}
		wk := w.w[ch*KH*KW : (ch+1)*KH*KW]
		for i := range KH {
			row(acc[:n], pad[i*wp:i*wp+n+KW-1], wk[i*KW:(i+1)*KW])
		}
		oplane := out[o : o+OH*OW]
		for y := range OH {
			copy(oplane[y*OW:(y+1)*OW], acc[y*wp:y*wp+OW])
		}
		apply(c.Act, oplane)
	}
}

// dwRow adds one kernel row's taps to an output row: dst[x] += sum_j w[j]*src[x*stride+off+j*dil]
// over the taps reading inside src. The output columns [lo, hi) read inside src with every tap;
// they run through a kernel specialised for the kernel width and stride when there is one, the
// others (the borders) tap by tap.
type dwRow struct {
	kw, stride, off, dil int
	lo, hi               int
	kernel               func(dst, src []float32, w []float32)
}

func dwRowOf(c *Conv) dwRow {
	r := dwRow{kw: c.KW, stride: c.StrideW, off: -c.PadL, dil: c.DilW}
	r.lo, _ = validRange(c.OutW, c.InW, r.stride, r.off)
	_, r.hi = validRange(c.OutW, c.InW, r.stride, r.off+(r.kw-1)*r.dil)
	if r.hi < r.lo {
		r.hi = r.lo
	}
	if r.dil == 1 {
		r.kernel = kern().dwConvRowFor(r.kw, r.stride)
	}
	return r
}

func (r *dwRow) run(dst, src, w []float32) {
	if r.kernel == nil || r.lo >= r.hi {
		r.taps(dst, src, w)
		return
	}
	r.border(dst, 0, r.lo, src, w)
	s0 := r.lo*r.stride + r.off
	r.kernel(dst[r.lo:r.hi], src[s0:s0+(r.hi-r.lo-1)*r.stride+r.kw], w[:r.kw])
	r.border(dst, r.hi, len(dst), src, w)
}

// border computes output columns [x0, x1) pixel by pixel, skipping the taps outside src.
func (r *dwRow) border(dst []float32, x0, x1 int, src, w []float32) {
	for x := x0; x < x1; x++ {
		base := x*r.stride + r.off
		var acc float32
		for j, wv := range w {
			if xi := base + j*r.dil; xi >= 0 && xi < len(src) {
				acc += wv * src[xi]
			}
		}
		dst[x] += acc
	}
}

// taps is the general case: per tap, an axpy over the output columns it reads inside src.
func (r *dwRow) taps(dst, src, w []float32) {
	for j, wv := range w {
		off := r.off + j*r.dil
		lo, hi := validRange(len(dst), len(src), r.stride, off)
		if lo >= hi {
			continue
		}
		d := dst[lo:hi]
		if r.stride == 1 {
			s := src[lo+off : hi+off]
			s = s[:len(d)]
			for x, v := range s {
				d[x] += wv * v
			}
		} else {
			s := src[lo*r.stride+off : (hi-1)*r.stride+off+1]
			for x := range d {
				d[x] += wv * s[x*r.stride]
			}
		}
	}
}
