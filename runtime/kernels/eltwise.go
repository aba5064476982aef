package kernels

import (
	"fmt"
	"math"
)

// LRN is nn.LocalResponseNorm on one [c][hw] image: out[ch] = in[ch] / (k + alpha/size * S)^beta,
// where S sums in^2 over the channels [ch-size/2, ch+(size-1)/2] clipped to [0, c). out must not
// overlap in.
func LRN(c, hw, size int, alpha, beta, k float32, in, out []float32) {
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
		for cc := max(0, ch-size/2); cc <= min(c-1, ch+(size-1)/2); cc++ {
			src := in[cc*hw : (cc+1)*hw]
			src = src[:len(dst)]
			for i, v := range src {
				dst[i] += v * v
			}
		}
		src := in[ch*hw : (ch+1)*hw]
		src = src[:len(dst)]
		for i, s := range dst {
			d := float64(k + scale*s)
			var p float64
			switch beta {
			case 0.75: // AlexNet, GoogLeNet: d^0.75 = sqrt(d) * sqrt(sqrt(d))
				r := math.Sqrt(d)
				p = r * math.Sqrt(r)
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
		for i, v := range src {
			dst[i] = v*s + b
		}
		Apply(act, dst)
	}
}

// Add computes out = act(a + b) elementwise over len(out) values. out may be a or b.
func Add(out, a, b []float32, act Act) {
	if len(a) < len(out) || len(b) < len(out) {
		panic(fmt.Sprintf("kernels: Add: slice too short: out %d a %d b %d", len(out), len(a), len(b)))
	}
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] + b[i]
	}
	Apply(act, out)
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
	for ch := range c {
		src := x[ch*hw : (ch+1)*hw]
		dst := out[ch*hw : (ch+1)*hw]
		src = src[:len(dst)]
		sv := s[ch]
		for i, v := range src {
			dst[i] = v * sv
		}
	}
}

// Softmax replaces x by softmax(x), subtracting the maximum first; sums are float64.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		x[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i, v := range x {
		x[i] = float32(float64(v) * inv)
	}
}
