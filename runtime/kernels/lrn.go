package kernels

import "math"

// LRN is local response normalization across channels of one [C][HW] image:
//
//	out = in / (K + Alpha/Size * sum of in^2 over channels [ch-Lo, ch-Lo+Size))^Beta
//
// with zeros beyond the edges. PyTorch's window has Lo = Size/2, ONNX's Lo = (Size-1)/2; they
// differ for even sizes.
type LRN struct {
	C, HW, Size, Lo int
	Alpha, Beta, K  float32
	Layout          Layout
}

// Run computes the normalization of in into out. out must not overlap in.
func (l LRN) Run(out, in []float32) {
	if l.Layout == NCHW16c {
		l.run16c(out, in)
		return
	}
	mustLayout("lrn", l.Layout, true)
	c, hw := l.C, l.HW
	if len(in) < c*hw || len(out) < c*hw {
		panic("kernels: LRN: slice too short")
	}
	if l.Size <= 0 {
		panic("kernels: LRN: size must be positive")
	}
	scale := l.Alpha / float32(l.Size)
	k := kern()
	for ch := range c {
		dst := out[ch*hw : (ch+1)*hw]
		clear(dst)
		for cc := max(0, ch-l.Lo); cc <= min(c-1, ch-l.Lo+l.Size-1); cc++ {
			k.lrnSqAcc(dst, in[cc*hw:(cc+1)*hw])
		}
		src := in[ch*hw : (ch+1)*hw]
		if l.Beta == 0.75 {
			// AlexNet, GoogLeNet: d^0.75 = sqrt(d) * sqrt(sqrt(d)) in float32 (each square root
			// correctly rounded) instead of math.Pow: AlexNet's 96x55x55 LRN took 2.4 ms with
			// it, 0.17 ms with the AVX-512 kernels (commit fa62820).
			k.lrnNorm75(dst, src, l.K, scale)
			continue
		}
		for i, s := range dst {
			d := float64(l.K + scale*s)
			var p float64
			switch l.Beta {
			case 0.5:
				p = math.Sqrt(d)
			case 1:
				p = d
			default:
				p = math.Pow(d, float64(l.Beta))
			}
			dst[i] = float32(float64(src[i]) / p)
		}
	}
}
