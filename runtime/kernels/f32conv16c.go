package kernels

// The pure-Go twins of the blocked convolution kernels (conv16c.go, dwconv16c.go), and the
// Generic level's own.

// f32Conv16cEpi8x64Go is the Generic level's direct blocked kernel: f32Conv16cGo on tiles of up
// to 8 pixels and 4 output channel blocks.
func f32Conv16cEpi8x64Go(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32) {
	f32Conv16cGo(dst, src, w, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo, flags, bias, res)
}

// f32Conv16cEpi6x64Go is the twin of the AVX-512 kernel: f32Conv16cGo on tiles of up to 6 pixels
// and 4 output channel blocks.
func f32Conv16cEpi6x64Go(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32) {
	f32Conv16cGo(dst, src, w, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo, flags, bias, res)
}

// f32Conv16cEpi6x16Go is the twin of the AVX2 kernel: f32Conv16cGo on tiles of up to 6 pixels
// of one output channel block.
func f32Conv16cEpi6x16Go(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32) {
	f32Conv16cGo(dst, src, w, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo, flags, bias, res)
}

// f32Conv16cGo computes, for output channel blocks f < nf and pixels p < n, the sum over input
// blocks cb < icb, kernel rows i < kh, kernel columns j < kw and channels c < 16 (c < cl in the
// last block) of
//
//	src[cb*ldcb + i*ldr + j*ldk + p*ldp + c] * w[f*ldf + cb*ldwc + (i*kw+j)*256 + c*16 + lane]
//
// in that order, from zero, for each of the 16 lanes, and combines it with the output
// dst[f*ldo + p*16 + lane] as flags say (the GEMM micro-kernels' epilogue: epiInit starts from
// bias[f*16 + lane] instead of dst, and epiRes from res (laid out as dst) + bias; then epiReLU or
// epiReLU6 clamp). The SIMD kernels fuse each multiply-add.
//
// Two pixels and four lanes a pass keep eight accumulators in registers, as kernel2x4 does.
func f32Conv16cGo(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32) {
	for f := range nf {
		wf := w[f*ldf:]
		for p := 0; p < n; p += 2 {
			p1 := min(p+1, n-1) // at an odd end, the last pixel twice (stored once)
			for lg := 0; lg < BlockC; lg += 4 {
				var a0, a1, a2, a3, b0, b1, b2, b3 float32
				for cb := range icb {
					cn := BlockC
					if cb == icb-1 {
						cn = cl
					}
					for i := range kh {
						for j := range kw {
							so := cb*ldcb + i*ldr + j*ldk
							s0 := src[so+p*ldp : so+p*ldp+cn]
							s1 := src[so+p1*ldp : so+p1*ldp+cn]
							s1 = s1[:len(s0)]
							wt := wf[cb*ldwc+(i*kw+j)*BlockC*BlockC+lg:]
							wt = wt[:(cn-1)*BlockC+4]
							for c, x0 := range s0 {
								x1 := s1[c]
								q := wt[c*BlockC : c*BlockC+4 : c*BlockC+4]
								a0 += x0 * q[0]
								a1 += x0 * q[1]
								a2 += x0 * q[2]
								a3 += x0 * q[3]
								b0 += x1 * q[0]
								b1 += x1 * q[1]
								b2 += x1 * q[2]
								b3 += x1 * q[3]
							}
						}
					}
				}
				o := f*ldo + p*BlockC + lg
				store16c(flags, dst[o:o+4], [4]float32{a0, a1, a2, a3}, bias[f*BlockC+lg:], res, o)
				if p1 > p {
					store16c(flags, dst[o+BlockC:o+BlockC+4], [4]float32{b0, b1, b2, b3}, bias[f*BlockC+lg:], res, o+BlockC)
				}
			}
		}
	}
}

// store16c combines the accumulators acc with the outputs d as flags say (see f32Conv16cGo): bias
// holds their biases, res (if epiRes) the residual, at offset o.
func store16c(flags uint, d []float32, acc [4]float32, bias, res []float32, o int) {
	for l := range d {
		var v float32
		switch {
		case flags&epiRes != 0:
			v = (res[o+l] + bias[l]) + acc[l]
		case flags&epiInit != 0:
			v = bias[l] + acc[l]
		default:
			v = d[l] + acc[l]
		}
		switch {
		case flags&epiReLU6 != 0:
			v = min(max(v, 0), 6)
		case flags&epiReLU != 0:
			v = max(v, 0)
		}
		d[l] = v
	}
}

// f32DWConv16cEpi8Go is the Generic level's depthwise blocked kernel: f32DWConv16cGo on up to 8
// pixels.
func f32DWConv16cEpi8Go(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32) {
	f32DWConv16cGo(dst, src, w, n, kh, kw, ldp, ldk, ldr, flags, bias, res)
}

// f32DWConv16cEpi16Go is the twin of the AVX-512 depthwise kernel: f32DWConv16cGo on up to 16
// pixels.
func f32DWConv16cEpi16Go(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32) {
	f32DWConv16cGo(dst, src, w, n, kh, kw, ldp, ldk, ldr, flags, bias, res)
}

// f32DWConv16cEpi6Go is the twin of the AVX2 depthwise kernel: f32DWConv16cGo on up to 6 pixels.
func f32DWConv16cEpi6Go(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32) {
	f32DWConv16cGo(dst, src, w, n, kh, kw, ldp, ldk, ldr, flags, bias, res)
}

// f32DWConv16cGo computes, for pixels p < n, the sum over kernel rows i < kh and columns j < kw of
//
//	src[i*ldr + j*ldk + p*ldp + lane] * w[(i*kw+j)*16 + lane]
//
// in that order, from zero, for each of the 16 lanes, and stores it to dst[p*16 + lane] with the
// epilogue flags (epiInit is implied: bias[lane], res laid out as dst).
func f32DWConv16cGo(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32) {
	for p := range n {
		var acc [BlockC]float32
		for i := range kh {
			for j := range kw {
				s := (*[BlockC]float32)(src[i*ldr+j*ldk+p*ldp:])
				wv := (*[BlockC]float32)(w[(i*kw+j)*BlockC:])
				for l := range acc {
					acc[l] += s[l] * wv[l]
				}
			}
		}
		for q := 0; q < BlockC; q += 4 {
			store16c(flags|epiInit, dst[p*BlockC+q:p*BlockC+q+4], [4]float32(acc[q:q+4]), bias[q:], res, p*BlockC+q)
		}
	}
}
