package kernels

import (
	"fmt"
	"math"
)

// The per-channel operations on NCHW16c feature maps: a channel's factor is a lane of a 16-value
// vector repeated over the block's pixels.

// f32VMulAdd16cGo sets dst[i] = src[i]*s[i%16] + b[i%16] for i < len(dst) (unfused; the SIMD
// kernels fuse).
func f32VMulAdd16cGo(dst, src, s, b []float32) {
	sv, bv := (*[BlockC]float32)(s), (*[BlockC]float32)(b)
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(v*sv[i%BlockC]) + bv[i%BlockC]
	}
}

// f32VMul16cGo sets dst[i] = src[i]*s[i%16] for i < len(dst), and to +0 where that is below
// float32's normal range (zeros and subnormals; NaN stays). A squeeze-and-excitation scale is a
// sigmoid that can be ~1e-30, and its subnormal products made the next convolution ~5x slower
// (every FMA that reads one takes a microcode assist: EfficientNet-B0's last projection ran at 37
// against 180 GFLOP/s on seeded weights, 2026-12-05); the values flushed are below 1.2e-38.
func f32VMul16cGo(dst, src, s []float32) {
	sv := (*[BlockC]float32)(s)
	src = src[:len(dst)]
	for i, v := range src {
		p := v * sv[i%BlockC]
		if math.Float32bits(p)&0x7fffffff < 0x00800000 {
			p = 0
		}
		dst[i] = p
	}
}

// run16c is Affine.Run on NCHW16c: the padding lanes become act(0).
func (f Affine) run16c(out, in, scale, shift []float32) {
	n := BlockedLen(f.C, f.HW)
	if len(in) < n || len(out) < n || len(scale) < f.C || len(shift) < f.C {
		panic("kernels: Affine: slice too short")
	}
	k := kern()
	for b := range blocks(f.C) {
		s, t := scale[b*BlockC:], shift[b*BlockC:]
		var buf *[rowBufLen]float32
		if (b+1)*BlockC > f.C {
			// The last block's factors padded with zeros, in a row buffer: a stack array passed
			// to the kernel (a func value) would escape, an allocation a call.
			buf = getRowBuf()
			s, t = buf[:BlockC], buf[BlockC:2*BlockC]
			clear(buf[:2*BlockC])
			copy(s, scale[b*BlockC:f.C])
			copy(t, shift[b*BlockC:f.C])
		}
		d := out[b*f.HW*BlockC : (b+1)*f.HW*BlockC]
		k.vmulAdd16c(d, in[b*f.HW*BlockC:(b+1)*f.HW*BlockC], s[:BlockC], t[:BlockC])
		if buf != nil {
			putRowBuf(buf)
		}
		apply(f.Act, d)
	}
}

// run16c is Mul.Run on NCHW16c for channel blocks [b0, b1): elementwise over the blocked
// tensors, or per channel with s the blocked [C 1 1] (the [C] vector and its padding lanes).
func (m Mul) run16c(b0, b1 int, out, x, s []float32) {
	n := BlockedLen(m.C, m.HW)
	ns := n
	if m.PerChannel {
		ns = BlockedLen(m.C, 1)
	}
	if len(x) < n || len(out) < n || len(s) < ns {
		panic(fmt.Sprintf("kernels: Mul: slice too short: out %d x %d s %d for %d x %d blocked", len(out), len(x), len(s), m.C, m.HW))
	}
	if !m.PerChannel {
		x, s = x[:n], s[:n]
		for i := b0 * m.HW * BlockC; i < b1*m.HW*BlockC; i++ {
			out[i] = x[i] * s[i]
		}
		return
	}
	k := kern()
	for b := b0; b < b1; b++ {
		// mulChunk values a call at most, so that the goroutine stays preemptible.
		for p := 0; p < m.HW; p += mulChunk / BlockC {
			q := min(m.HW, p+mulChunk/BlockC)
			o0, o1 := (b*m.HW+p)*BlockC, (b*m.HW+q)*BlockC
			k.vmul16c(out[o0:o1], x[o0:o1], s[b*BlockC:(b+1)*BlockC])
		}
	}
}

// run16c is Pad.Run on NCHW16c: the border holds Value in the channels and zero in the padding
// lanes (Value may not be finite), the interior the input, padding lanes included.
func (p Pad) run16c(out, in []float32) {
	h, w := p.H, p.W
	oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
	nIn, nOut := BlockedLen(p.C, h*w), BlockedLen(p.C, oh*ow)
	if len(in) < nIn || len(out) < nOut {
		panic("kernels: Pad: slice too short")
	}
	for b := range blocks(p.C) {
		var v [BlockC]float32
		for l := range min(BlockC, p.C-b*BlockC) {
			v[l] = p.Value
		}
		dst := out[b*oh*ow*BlockC : (b+1)*oh*ow*BlockC]
		fill := func(d []float32) {
			for i := 0; i < len(d); i += BlockC {
				copy(d[i:i+BlockC], v[:])
			}
		}
		fill(dst[:(p.Top*ow+p.Left)*BlockC])
		for y := range h {
			row := dst[((y+p.Top)*ow+p.Left)*BlockC:]
			copy(row[:w*BlockC], in[(b*h+y)*w*BlockC:(b*h+y+1)*w*BlockC])
			end := len(dst)
			if y < h-1 {
				end = ((y+1+p.Top)*ow + p.Left) * BlockC
			}
			fill(dst[((y+p.Top)*ow+p.Left+w)*BlockC : end])
		}
		if h == 0 {
			fill(dst)
		}
	}
}

// run16c is LRN.Run on NCHW16c: for each pixel of each block, the squares of the channels the
// block's windows reach (up to Size-1 beyond each side, from the neighbouring blocks) are summed
// over each channel's window into out, then normalized as LRN.Run does; the padding lanes
// become zero.
func (l LRN) run16c(out, in []float32) {
	c, hw := l.C, l.HW
	n := BlockedLen(c, hw)
	if len(in) < n || len(out) < n {
		panic("kernels: LRN: slice too short")
	}
	scale := l.Alpha / float32(l.Size)
	k := kern()
	nb := blocks(c)
	plane := func(b int) []float32 { return in[b*hw*BlockC : (b+1)*hw*BlockC] }
	for b := range nb {
		dst := out[b*hw*BlockC : (b+1)*hw*BlockC]
		if l.Lo <= BlockC && l.Size-l.Lo <= BlockC {
			// The windows reach the neighbouring blocks only: the kernel, a chunk of pixels a
			// call (mulChunk values), with the channels that exist. A missing neighbour is
			// the block itself with no lanes: the masked loads of the assembly then read valid
			// memory (masked loads from an unmapped page cost a microcode assist each: AVX2's
			// sums ran 6x slower with nil there).
			prev, next := plane(b), plane(b)
			np, nn := 0, 0
			if b > 0 {
				prev, np = plane(b-1), BlockC
			}
			if b+1 < nb {
				next, nn = plane(b+1), min(BlockC, c-(b+1)*BlockC)
			}
			nc := min(BlockC, c-b*BlockC)
			for p := 0; p < hw; p += mulChunk / BlockC {
				q := min(hw, p+mulChunk/BlockC)
				cut := func(s []float32) []float32 { return s[p*BlockC : q*BlockC] }
				k.lrnSqSum16c(dst[p*BlockC:q*BlockC], cut(prev), cut(plane(b)), cut(next), q-p, l.Lo, l.Size, np, nc, nn)
			}
		} else {
			lo := b*BlockC - l.Lo // the first channel lane 0's window reads
			for p := range hw {
				d := dst[p*BlockC : (p+1)*BlockC]
				for lane := range d {
					var s float32
					for cc := max(0, lo+lane); cc <= min(c-1, lo+lane+l.Size-1); cc++ {
						v := in[((cc/BlockC)*hw+p)*BlockC+cc%BlockC]
						s += v * v
					}
					d[lane] = s
				}
			}
		}
		src := plane(b)
		if l.Beta == 0.75 {
			k.lrnNorm75(dst, src, l.K, scale)
		} else {
			for i, s := range dst {
				dst[i] = float32(float64(src[i]) / lrnPow(float64(l.K+scale*s), l.Beta))
			}
		}
		if last := c - b*BlockC; last < BlockC {
			for p := range hw {
				clear(dst[p*BlockC+last : (p+1)*BlockC])
			}
		}
	}
}

// f32LRNSqSum16cGo sets dst[p*16+l], for p < n, to the sum over d in [-lo, size-lo) (in that
// order, from zero) of the square of channel l+d of pixel p: from prev (l+d < 0), cur, or next
// (l+d >= 16), zero past their first np, nc, nn lanes (channels that do not exist; the three
// hold n pixels all the same, a missing block's lanes unread). lo and size-lo are at most 16.
func f32LRNSqSum16cGo(dst, prev, cur, next []float32, n, lo, size, np, nc, nn int) {
	var sq [3 * BlockC]float32
	squares := func(d []float32, s []float32) {
		for j, v := range s {
			d[j] = v * v
		}
	}
	for p := range n {
		squares(sq[:np], prev[p*BlockC:p*BlockC+np])
		squares(sq[BlockC:BlockC+nc], cur[p*BlockC:p*BlockC+nc])
		squares(sq[2*BlockC:2*BlockC+nn], next[p*BlockC:p*BlockC+nn])
		d := dst[p*BlockC : (p+1)*BlockC]
		for l := range d {
			var s float32
			for _, v := range sq[l+BlockC-lo : l+BlockC-lo+size] {
				s += v
			}
			d[l] = s
		}
	}
}

// lrnPow is d^beta as LRN.Run computes it.
func lrnPow(d float64, beta float32) float64 {
	switch beta {
	case 0.5:
		return math.Sqrt(d)
	case 1:
		return d
	}
	return math.Pow(d, float64(beta))
}
