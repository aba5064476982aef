package kernels

import (
	"fmt"
	"math"
)

// Pool is a 2-D max or average pooling of one [C][InH][InW] image into [C][OutH][OutW], with
// nn.MaxPool2d / nn.AvgPool2d semantics. Output sizes are given, so ceil_mode is implied: windows
// may run past the padded input and are clipped.
//
// PadB and PadR are the declared padding (for PyTorch's symmetric padding, PadB = PadT and
// PadR = PadL), not the extra overhang of ceil_mode windows: they only matter to Avg with
// CountIncludePad, whose divisor counts the window up to InH+PadB and InW+PadR.
type Pool struct {
	C, InH, InW, OutH, OutW, KH, KW, StrideH, StrideW, PadT, PadL, PadB, PadR int
	CountIncludePad                                                           bool // avg only
}

// Validate reports whether the shape is usable: positive sizes, non-negative padding smaller than
// the kernel, and every window overlapping the input.
func (p *Pool) Validate() error {
	switch {
	case p.C <= 0 || p.InH <= 0 || p.InW <= 0 || p.OutH <= 0 || p.OutW <= 0 ||
		p.KH <= 0 || p.KW <= 0 || p.StrideH <= 0 || p.StrideW <= 0:
		return fmt.Errorf("kernels: pool %v: sizes must be positive", *p)
	case p.PadT < 0 || p.PadL < 0 || p.PadB < 0 || p.PadR < 0 ||
		p.PadT >= p.KH || p.PadB >= p.KH || p.PadL >= p.KW || p.PadR >= p.KW:
		return fmt.Errorf("kernels: pool %v: padding must be in [0, kernel)", *p)
	case (p.OutH-1)*p.StrideH-p.PadT >= p.InH || (p.OutW-1)*p.StrideW-p.PadL >= p.InW:
		return fmt.Errorf("kernels: pool %v: the last window starts past the input", *p)
	}
	return nil
}

func (p *Pool) check(in, out []float32) ([]float32, []float32) {
	nIn, nOut := p.C*p.InH*p.InW, p.C*p.OutH*p.OutW
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: Pool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	return in[:nIn], out[:nOut]
}

// Max computes max pooling: padding counts as -inf, windows are clipped to the input, NaN wins.
// out must not overlap in.
func (p *Pool) Max(in, out []float32) {
	in, out = p.check(in, out)
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	ninf := float32(math.Inf(-1))
	for c := range p.C {
		src := in[c*H*W : (c+1)*H*W]
		dst := out[c*OH*OW : (c+1)*OH*OW]
		for yo := range OH {
			y0 := yo*p.StrideH - p.PadT
			y1 := min(y0+p.KH, H)
			y0 = max(y0, 0)
			drow := dst[yo*OW : (yo+1)*OW]
			for xo := range drow {
				x0 := xo*p.StrideW - p.PadL
				x1 := min(x0+p.KW, W)
				x0 = max(x0, 0)
				m := ninf
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						if v > m || v != v {
							m = v
						}
					}
				}
				drow[xo] = m
			}
		}
	}
}

// Avg computes average pooling with PyTorch's divisor: with CountIncludePad, the window clipped
// to [-PadT, InH+PadB) x [-PadL, InW+PadR); without, the window clipped to the input. out must
// not overlap in.
func (p *Pool) Avg(in, out []float32) {
	in, out = p.check(in, out)
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	for c := range p.C {
		src := in[c*H*W : (c+1)*H*W]
		dst := out[c*OH*OW : (c+1)*OH*OW]
		for yo := range OH {
			y0 := yo*p.StrideH - p.PadT
			y1 := min(y0+p.KH, H+p.PadB)
			padH := y1 - y0
			y0, y1 = max(y0, 0), min(y1, H)
			drow := dst[yo*OW : (yo+1)*OW]
			for xo := range drow {
				x0 := xo*p.StrideW - p.PadL
				x1 := min(x0+p.KW, W+p.PadR)
				padW := x1 - x0
				x0, x1 = max(x0, 0), min(x1, W)
				if y0 >= y1 || x0 >= x1 {
					drow[xo] = 0 // a window entirely in padding (Validate rules it out)
					continue
				}
				var sum float32
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*W+x0 : yi*W+x1] {
						sum += v
					}
				}
				div := (y1 - y0) * (x1 - x0)
				if p.CountIncludePad {
					div = padH * padW
				}
				drow[xo] = sum / float32(div)
			}
		}
	}
}

// AdaptiveAvgPool is nn.AdaptiveAvgPool2d on one [c][inH][inW] image: output cell (i, j) averages
// rows [floor(i*inH/outH), ceil((i+1)*inH/outH)) and likewise columns.
func AdaptiveAvgPool(c, inH, inW, outH, outW int, in, out []float32) {
	nIn, nOut := c*inH*inW, c*outH*outW
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: AdaptiveAvgPool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	for ch := range c {
		src := in[ch*inH*inW : (ch+1)*inH*inW]
		dst := out[ch*outH*outW : (ch+1)*outH*outW]
		for yo := range outH {
			y0, y1 := yo*inH/outH, ((yo+1)*inH+outH-1)/outH
			for xo := range outW {
				x0, x1 := xo*inW/outW, ((xo+1)*inW+outW-1)/outW
				var sum float32
				for yi := y0; yi < y1; yi++ {
					for _, v := range src[yi*inW+x0 : yi*inW+x1] {
						sum += v
					}
				}
				dst[yo*outW+xo] = sum / float32((y1-y0)*(x1-x0))
			}
		}
	}
}

// GlobalAvgPool averages each of the c planes of hw values: out[ch] = mean(in[ch]).
func GlobalAvgPool(c, hw int, in, out []float32) {
	if len(in) < c*hw || len(out) < c {
		panic("kernels: GlobalAvgPool: slice too short")
	}
	for ch := range c {
		// Four partial sums: shorter dependency chains and less rounding drift on big planes.
		s := in[ch*hw : (ch+1)*hw]
		var a0, a1, a2, a3 float32
		i := 0
		for ; i+3 < len(s); i += 4 {
			a0 += s[i]
			a1 += s[i+1]
			a2 += s[i+2]
			a3 += s[i+3]
		}
		for ; i < len(s); i++ {
			a0 += s[i]
		}
		out[ch] = ((a0 + a1) + (a2 + a3)) / float32(hw)
	}
}

// GlobalMaxPool takes the maximum of each of the c planes of hw values (NaN wins).
func GlobalMaxPool(c, hw int, in, out []float32) {
	if len(in) < c*hw || len(out) < c {
		panic("kernels: GlobalMaxPool: slice too short")
	}
	for ch := range c {
		m := float32(math.Inf(-1))
		for _, v := range in[ch*hw : (ch+1)*hw] {
			if v > m || v != v {
				m = v
			}
		}
		out[ch] = m
	}
}
