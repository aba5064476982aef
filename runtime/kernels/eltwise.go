package kernels

import (
	"fmt"
	"math"
)

// LRN is local response normalization across channels: out = in / (k + alpha/size * sum of in^2
// over channels [ch-lo, ch-lo+size))^beta, zero beyond the edges. PyTorch's window has lo =
// size/2, ONNX's lo = (size-1)/2; they differ for even sizes. out must not overlap in.
func LRN(c, hw, size, lo int, alpha, beta, k float32, in, out []float32) {
	if len(in) < c*hw || len(out) < c*hw {
		panic("kernels: LRN: slice too short")
	}
	if size <= 0 {
		panic("kernels: LRN: size must be positive")
	}
	scale := alpha / float32(size)
	for ch := range c {
		dst := out[ch*hw : (ch+1)*hw]
		clear(dst)
		for cc := max(0, ch-lo); cc <= min(c-1, ch-lo+size-1); cc++ {
			src := in[cc*hw : (cc+1)*hw]
			src = src[:len(dst)]
			for i := lrnSqSIMD(dst, src); i < len(dst); i++ {
				v := src[i]
				dst[i] += v * v
			}
		}
		src := in[ch*hw : (ch+1)*hw]
		src = src[:len(dst)]
		if beta == 0.75 {
			// AlexNet, GoogLeNet: d^0.75 = sqrt(d) * sqrt(sqrt(d)) in float32 (each square root
			// correctly rounded), as the SIMD kernel computes it.
			for i := lrnNorm75SIMD(dst, src, k, scale); i < len(dst); i++ {
				d := k + scale*dst[i]
				r := float32(math.Sqrt(float64(d)))
				dst[i] = src[i] / (r * float32(math.Sqrt(float64(r))))
			}
			continue
		}
		for i, s := range dst {
			d := float64(k + scale*s)
			var p float64
			switch beta {
			case 0.5:
				p = math.Sqrt(d)
			case 1:
				p = d
			default:
				p = math.Pow(d, float64(beta))
			}
			dst[i] = float32(float64(src[i]) / p)
		}
	}
}

// ChannelAffine computes out[ch][i] = act(in[ch][i]*scale[ch] + shift[ch]) for c planes of hw
// values (a standalone batch norm, GoogLeNet's transform_input). in may be out.
func ChannelAffine(c, hw int, scale, shift, in, out []float32, act Act) {
	if len(in) < c*hw || len(out) < c*hw || len(scale) < c || len(shift) < c {
		panic("kernels: ChannelAffine: slice too short")
	}
	for ch := range c {
		src := in[ch*hw : (ch+1)*hw]
		dst := out[ch*hw : (ch+1)*hw]
		src = src[:len(dst)]
		s, b := scale[ch], shift[ch]
		for i := affineSIMD(dst, src, s, b); i < len(dst); i++ {
			dst[i] = src[i]*s + b
		}
		Apply(act, dst)
	}
}

// Add computes out = act(a + b) elementwise over len(out) values. out may be a or b.
func Add(out, a, b []float32, act Act) {
	if len(a) < len(out) || len(b) < len(out) {
		panic(fmt.Sprintf("kernels: Add: slice too short: out %d a %d b %d", len(out), len(a), len(b)))
	}
	// In chunks, so that the activation finds each in cache.
	for c := 0; c < len(out); c += addChunk {
		o := out[c:min(c+addChunk, len(out))]
		addRows(o, a[c:], b[c:])
		Apply(act, o)
	}
}

// Mul computes out = a * b elementwise over len(out) values. out may be a or b.
func Mul(out, a, b []float32) {
	if len(a) < len(out) || len(b) < len(out) {
		panic(fmt.Sprintf("kernels: Mul: slice too short: out %d a %d b %d", len(out), len(a), len(b)))
	}
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] * b[i]
	}
}

// MulChannel computes out[ch][i] = x[ch][i] * s[ch] for c planes of hw values (squeeze and
// excitation). out may be x.
func MulChannel(c, hw int, x, s, out []float32) {
	if len(x) < c*hw || len(out) < c*hw || len(s) < c {
		panic("kernels: MulChannel: slice too short")
	}
	if scaleChSIMD(c, hw, out, x, s) {
		return
	}
	for ch := range c {
		src := x[ch*hw : (ch+1)*hw]
		dst := out[ch*hw : (ch+1)*hw]
		src = src[:len(dst)]
		sv := s[ch]
		for i := scaleSIMD(dst, src, sv); i < len(dst); i++ {
			dst[i] = src[i] * sv
		}
	}
}

// Softmax replaces x by softmax(x), subtracting the maximum first; sums are float64.
func Softmax(x []float32) {
	SoftmaxAxis(1, len(x), 1, x, false)
}

// SoftmaxAxis normalizes x in place over blocks of block values spaced inner apart, for outer*inner
// such blocks (a softmax over one axis, or several contiguous axes, of a row-major tensor); log
// gives log-softmax. Sums run in float64.
func SoftmaxAxis(outer, block, inner int, x []float32, log bool) {
	if len(x) < outer*block*inner {
		panic("kernels: SoftmaxAxis: slice too short")
	}
	if block == 0 {
		return
	}
	for o := range outer {
		for j := range inner {
			base := o*block*inner + j
			m := x[base]
			for k := 1; k < block; k++ {
				m = max(m, x[base+k*inner])
			}
			var sum float64
			for k := range block {
				sum += math.Exp(float64(x[base+k*inner] - m))
			}
			if log {
				ls := math.Log(sum)
				for k := range block {
					i := base + k*inner
					x[i] = float32(float64(x[i]-m) - ls)
				}
				continue
			}
			inv := 1 / sum
			for k := range block {
				i := base + k*inner
				x[i] = float32(math.Exp(float64(x[i]-m)) * inv)
			}
		}
	}
}

// Clip clamps x in place to [lo, hi].
func Clip(x []float32, lo, hi float32) {
	for i, v := range x {
		x[i] = min(max(v, lo), hi)
	}
}

// Pad writes c planes of h x w into planes of (h+t+b) x (w+l+r) surrounded by value.
func Pad(c, h, w, t, l, b, r int, value float32, in, out []float32) {
	oh, ow := h+t+b, w+l+r
	if len(in) < c*h*w || len(out) < c*oh*ow {
		panic("kernels: Pad: slice too short")
	}
	out = out[:c*oh*ow]
	for i := range out {
		out[i] = value
	}
	for ch := range c {
		for y := range h {
			copy(out[ch*oh*ow+(y+t)*ow+l:][:w], in[ch*h*w+y*w:][:w])
		}
	}
}

// addRows sets dst[i] = a[i] + b[i] for i < len(dst); dst may be a or b.
func addRows(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := addSIMD(dst, a, b); i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}

// addChunk is how many values Add sums before applying the activation to them.
const addChunk = 4096
