package kernels

import "fmt"

// Depthwise convolutions' gradients, as direct loops over each channel's kernel taps: a
// depthwise layer's work per channel is a few taps over a plane, too little for a GEMM (its
// weight gradient would be KH*KW columns), and the taps' rows are long. Stride-1 layers take
// their input gradient from the forward depthwise kernels instead (TransposedConv); these loops
// serve the strided ones.

// dwTap is one kernel tap that reads inside the input for some outputs: the output rows
// [ylo, yhi) and columns [xlo, xhi) that do, and the offsets of what they read.
type dwTap struct{ k, ylo, yhi, xlo, xhi, dy, dx int }

// dwTaps lists c's taps that read inside the input, at most 7x7 of them on the stack's array.
func (c *Conv) dwTaps(taps *[49]dwTap) []dwTap {
	n := 0
	for i := range c.KH {
		dy := i*c.DilH - c.PadT
		ylo, yhi := validRange(c.OutH, c.InH, c.StrideH, dy)
		for j := range c.KW {
			dx := j*c.DilW - c.PadL
			xlo, xhi := validRange(c.OutW, c.InW, c.StrideW, dx)
			if ylo < yhi && xlo < xhi {
				taps[n] = dwTap{k: i*c.KW + j, ylo: ylo, yhi: yhi, xlo: xlo, xhi: xhi, dy: dy, dx: dx}
				n++
			}
		}
	}
	return taps[:n]
}

// DepthwiseGrad computes channels [c0, c1) of a depthwise convolution's (Groups == InC == OutC)
// gradients over n images: the weight gradient dw ([C][KH*KW], set; nil to skip) and the input
// gradient dx ([n][C][InH][InW], set, or added to when acc; nil to skip) from dy
// ([n][C][OutH][OutW]), the input x and the weights w. Channels are independent: parts split by
// channels compute what the whole does. It does not allocate.
func (c *Conv) DepthwiseGrad(c0, c1 int, dw, dx, dy, x, w []float32, n int, acc bool) {
	if c.Groups != c.InC || c.OutC != c.InC || c.KH*c.KW > 49 {
		panic(fmt.Sprintf("kernels: Conv.DepthwiseGrad: %v is not a depthwise convolution of at most 7x7", *c))
	}
	var ts [49]dwTap
	taps := c.dwTaps(&ts)
	H, W, OH, OW, C, kk := c.InH, c.InW, c.OutH, c.OutW, c.InC, c.KH*c.KW
	sh, sw := c.StrideH, c.StrideW
	for ch := c0; ch < c1; ch++ {
		if dw != nil {
			d := dw[ch*kk : (ch+1)*kk]
			clear(d)
			for _, t := range taps {
				s := 0.0
				for b := range n {
					g := dy[(b*C+ch)*OH*OW : (b*C+ch+1)*OH*OW]
					xp := x[(b*C+ch)*H*W : (b*C+ch+1)*H*W]
					for yo := t.ylo; yo < t.yhi; yo++ {
						grow := g[yo*OW+t.xlo : yo*OW+t.xhi]
						xrow := xp[(yo*sh+t.dy)*W+t.xlo*sw+t.dx:]
						s += float64(dotStrided(grow, xrow, sw))
					}
				}
				d[t.k] = float32(s)
			}
		}
		if dx == nil {
			continue
		}
		wk := w[ch*kk : (ch+1)*kk]
		for b := range n {
			g := dy[(b*C+ch)*OH*OW : (b*C+ch+1)*OH*OW]
			dp := dx[(b*C+ch)*H*W : (b*C+ch+1)*H*W]
			if !acc {
				clear(dp)
			}
			for _, t := range taps {
				wv := wk[t.k]
				for yo := t.ylo; yo < t.yhi; yo++ {
					grow := g[yo*OW+t.xlo : yo*OW+t.xhi]
					drow := dp[(yo*sh+t.dy)*W+t.xlo*sw+t.dx:]
					if sw == 1 {
						drow = drow[:len(grow)]
						for k, v := range grow {
							drow[k] += wv * v
						}
						continue
					}
					for k, v := range grow {
						drow[k*sw] += wv * v
					}
				}
			}
		}
	}
}

// dotStrided is the sum of g[k]*x[k*stride], in four partial sums at unit stride.
func dotStrided(g, x []float32, stride int) float32 {
	if stride == 1 {
		x = x[:len(g)]
		var s0, s1, s2, s3 float32
		k := 0
		for ; k+4 <= len(g); k += 4 {
			g4, x4 := g[k:k+4:k+4], x[k:k+4:k+4]
			s0 += g4[0] * x4[0]
			s1 += g4[1] * x4[1]
			s2 += g4[2] * x4[2]
			s3 += g4[3] * x4[3]
		}
		for ; k < len(g); k++ {
			s0 += g[k] * x[k]
		}
		return (s0 + s1) + (s2 + s3)
	}
	var s float32
	for k, v := range g {
		s += v * x[k*stride]
	}
	return s
}
