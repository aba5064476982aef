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
// Two pixels and four lanes a pass (an odd last pixel: eight lanes) keep eight accumulators in
// registers, as kernel2x4 does, over the taps' offsets computed once a call (conv16cTaps: the 16
// channels of a tap unrolled).
func f32Conv16cGo(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32) {
	// The taps of the whole blocks, and those of a last block of cl < 16 channels.
	var so, wo [conv16cMaxTaps]int
	full, taps := icb, 0
	if cl < BlockC {
		full--
	}
	for cb := range icb {
		for i := range kh {
			for j := range kw {
				so[taps], wo[taps] = cb*ldcb+i*ldr+j*ldk, cb*ldwc+(i*kw+j)*BlockC*BlockC
				taps++
				if taps == conv16cMaxTaps {
					panic("kernels: f32Conv16cGo: too many taps")
				}
			}
		}
	}
	split := full * kh * kw // taps [0, split) of whole blocks, the rest of the last block's cl channels
	for f := range nf {
		p := 0
		for ; p+1 < n; p += 2 {
			for lg := 0; lg < BlockC; lg += 4 {
				var acc [8]float32
				if taps > 0 { // (with no taps, src may be nil)
					s, ws := src[p*ldp:], w[f*ldf+lg:]
					conv16cTaps(s, ws, so[:split], wo[:split], ldp, &acc)
					conv16cTapsPart(s, ws, so[split:taps], wo[split:taps], ldp, cl, &acc)
				}
				o := f*ldo + p*BlockC + lg
				store16c(flags, dst[o:o+4], [4]float32(acc[:4]), bias[f*BlockC+lg:], res, o)
				store16c(flags, dst[o+BlockC:o+BlockC+4], [4]float32(acc[4:]), bias[f*BlockC+lg:], res, o+BlockC)
			}
		}
		// An odd last pixel goes eight lanes a pass: as a pair with itself it cost an eighth of
		// the work of the tiles of 7 pixels that rows of 7, 14 and 28 make.
		if p < n {
			for lg := 0; lg < BlockC; lg += 8 {
				var acc [8]float32
				if taps > 0 {
					s, ws := src[p*ldp:], w[f*ldf+lg:]
					conv16cTaps1(s, ws, so[:split], wo[:split], BlockC, &acc)
					conv16cTaps1(s, ws, so[split:taps], wo[split:taps], cl, &acc)
				}
				o := f*ldo + p*BlockC + lg
				store16c(flags, dst[o:o+4], [4]float32(acc[:4]), bias[f*BlockC+lg:], res, o)
				store16c(flags, dst[o+4:o+8], [4]float32(acc[4:]), bias[f*BlockC+lg+4:], res, o+4)
			}
		}
	}
}

// conv16cTaps1 adds to acc (8 lanes of one pixel) the first cn channels of each tap t, at
// src[so[t]:] and w[wo[t]:] (lanes 16 apart).
func conv16cTaps1(src, w []float32, so, wo []int, cn int, acc *[8]float32) {
	a0, a1, a2, a3, a4, a5, a6, a7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	wo = wo[:len(so)]
	for t, o := range so {
		s := src[o : o+cn]
		wt := w[wo[t]:]
		wt = wt[:(cn-1)*BlockC+8]
		for c, x := range s {
			q := (*[8]float32)(wt[c*BlockC:])
			a0 += x * q[0]
			a1 += x * q[1]
			a2 += x * q[2]
			a3 += x * q[3]
			a4 += x * q[4]
			a5 += x * q[5]
			a6 += x * q[6]
			a7 += x * q[7]
		}
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, a4, a5, a6, a7
}

// conv16cMaxTaps bounds the taps of one call of f32Conv16cGo: chunks of input blocks times the
// kernel's taps (a 7x7 kernel's 49, a chunk of 32 blocks of 1x1 taps; 11x11 is 121).
const conv16cMaxTaps = 256

// conv16cTaps adds to acc (lanes 0-3 of the first pixel, then of the second, d floats further)
// the 16 channels of each tap t, at src[so[t]:] and w[wo[t]:] (lanes 16 apart), unrolled.
func conv16cTaps(src, w []float32, so, wo []int, d int, acc *[8]float32) {
	a0, a1, a2, a3, b0, b1, b2, b3 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	var x0, x1, w0, w1, w2, w3 float32
	wo = wo[:len(so)]
	for t, o := range so {
		s0 := (*[BlockC]float32)(src[o:])
		s1 := (*[BlockC]float32)(src[o+d:])
		q := (*[15*BlockC + 4]float32)(w[wo[t]:])
		x0, x1 = s0[0], s1[0]
		w0, w1, w2, w3 = q[0], q[1], q[2], q[3]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[1], s1[1]
		w0, w1, w2, w3 = q[16], q[17], q[18], q[19]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[2], s1[2]
		w0, w1, w2, w3 = q[32], q[33], q[34], q[35]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[3], s1[3]
		w0, w1, w2, w3 = q[48], q[49], q[50], q[51]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[4], s1[4]
		w0, w1, w2, w3 = q[64], q[65], q[66], q[67]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[5], s1[5]
		w0, w1, w2, w3 = q[80], q[81], q[82], q[83]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[6], s1[6]
		w0, w1, w2, w3 = q[96], q[97], q[98], q[99]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[7], s1[7]
		w0, w1, w2, w3 = q[112], q[113], q[114], q[115]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[8], s1[8]
		w0, w1, w2, w3 = q[128], q[129], q[130], q[131]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[9], s1[9]
		w0, w1, w2, w3 = q[144], q[145], q[146], q[147]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[10], s1[10]
		w0, w1, w2, w3 = q[160], q[161], q[162], q[163]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[11], s1[11]
		w0, w1, w2, w3 = q[176], q[177], q[178], q[179]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[12], s1[12]
		w0, w1, w2, w3 = q[192], q[193], q[194], q[195]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[13], s1[13]
		w0, w1, w2, w3 = q[208], q[209], q[210], q[211]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[14], s1[14]
		w0, w1, w2, w3 = q[224], q[225], q[226], q[227]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
		x0, x1 = s0[15], s1[15]
		w0, w1, w2, w3 = q[240], q[241], q[242], q[243]
		a0 += x0 * w0
		a1 += x0 * w1
		a2 += x0 * w2
		a3 += x0 * w3
		b0 += x1 * w0
		b1 += x1 * w1
		b2 += x1 * w2
		b3 += x1 * w3
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, b0, b1, b2, b3
}

// conv16cTapsPart is conv16cTaps for the first cn channels of each tap: two channels a step,
// and the three of an RGB stem's taps in one, since a stem runs all its taps here (per-channel
// steps made ResNet-50's stem 1.8x slower than its NCHW GEMM in pure Go; the two-channel loop
// alone, 2 + 1 steps a tap, 46-48 ms against the three-channel body's 34-35, BenchmarkConvLayout).
func conv16cTapsPart(src, w []float32, so, wo []int, d, cn int, acc *[8]float32) {
	a0, a1, a2, a3, b0, b1, b2, b3 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	wo = wo[:len(so)]
	if cn == 3 {
		for t, o := range so {
			s0 := (*[3]float32)(src[o:])
			s1 := (*[3]float32)(src[o+d:])
			q := (*[2*BlockC + 4]float32)(w[wo[t]:])
			x0, x1 := s0[0], s1[0]
			a0 += x0 * q[0]
			a1 += x0 * q[1]
			a2 += x0 * q[2]
			a3 += x0 * q[3]
			b0 += x1 * q[0]
			b1 += x1 * q[1]
			b2 += x1 * q[2]
			b3 += x1 * q[3]
			x0, x1 = s0[1], s1[1]
			a0 += x0 * q[16]
			a1 += x0 * q[17]
			a2 += x0 * q[18]
			a3 += x0 * q[19]
			b0 += x1 * q[16]
			b1 += x1 * q[17]
			b2 += x1 * q[18]
			b3 += x1 * q[19]
			x0, x1 = s0[2], s1[2]
			a0 += x0 * q[32]
			a1 += x0 * q[33]
			a2 += x0 * q[34]
			a3 += x0 * q[35]
			b0 += x1 * q[32]
			b1 += x1 * q[33]
			b2 += x1 * q[34]
			b3 += x1 * q[35]
		}
		acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, b0, b1, b2, b3
		return
	}
	for t, o := range so {
		s0 := src[o : o+cn]
		s1 := src[o+d : o+d+cn]
		s1 = s1[:len(s0)]
		wt := w[wo[t]:]
		wt = wt[:(cn-1)*BlockC+4]
		c := 0
		for ; c+1 < len(s0); c += 2 {
			q := (*[BlockC + 4]float32)(wt[c*BlockC:])
			x0, x1 := s0[c], s1[c]
			a0 += x0 * q[0]
			a1 += x0 * q[1]
			a2 += x0 * q[2]
			a3 += x0 * q[3]
			b0 += x1 * q[0]
			b1 += x1 * q[1]
			b2 += x1 * q[2]
			b3 += x1 * q[3]
			x0, x1 = s0[c+1], s1[c+1]
			a0 += x0 * q[16]
			a1 += x0 * q[17]
			a2 += x0 * q[18]
			a3 += x0 * q[19]
			b0 += x1 * q[16]
			b1 += x1 * q[17]
			b2 += x1 * q[18]
			b3 += x1 * q[19]
		}
		if c < len(s0) {
			q := (*[4]float32)(wt[c*BlockC:])
			x0, x1 := s0[c], s1[c]
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
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, b0, b1, b2, b3
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
