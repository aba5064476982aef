package kernels

import (
	"fmt"
	"math"
)

// Pool is a 2-D max pooling, or with Avg average pooling, of one [C][InH][InW] image into
// [C][OutH][OutW], with nn.MaxPool2d / nn.AvgPool2d semantics. Output sizes are given, so ceil_mode is implied: windows
// may run past the padded input and are clipped.
//
// PadB and PadR are the declared padding (for PyTorch's symmetric padding, PadB = PadT and
// PadR = PadL), not the extra overhang of ceil_mode windows: they only matter to Avg with
// CountIncludePad, whose divisor counts the window up to InH+PadB and InW+PadR.
type Pool struct {
	C, InH, InW, OutH, OutW, KH, KW, StrideH, StrideW, PadT, PadL, PadB, PadR int
	CountIncludePad                                                           bool // Avg only
	Avg                                                                       bool // average pooling; false: max pooling
	Layout                                                                    Layout
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
	return checkLayout("pool", p.Layout, true)
}

// Run pools in into out (max or, with Avg, average pooling). out must not overlap in. Run does
// not allocate.
func (p *Pool) Run(out, in []float32) { p.RunChannels(0, p.C, out, in) }

// RunChannels computes channels [c0, c1) of Run's output from the same channels of in (out and
// in are the whole tensors), so that the channels can be split among goroutines; the results
// are Run's, bit for bit.
func (p *Pool) RunChannels(c0, c1 int, out, in []float32) {
	if c0 < 0 || c0 > c1 || c1 > p.C {
		panic(fmt.Sprintf("kernels: Pool.RunChannels: channels [%d, %d) outside [0, %d)", c0, c1, p.C))
	}
	if p.Layout == NCHW16c {
		p.run16c(c0, c1, out, in)
		return
	}
	mustLayout("pool", p.Layout, true)
	in, out = p.check(out, in)
	q := *p
	q.C = c1 - c0
	in, out = in[c0*p.InH*p.InW:c1*p.InH*p.InW], out[c0*p.OutH*p.OutW:c1*p.OutH*p.OutW]
	if p.Avg {
		q.avg(out, in)
	} else {
		q.max(out, in)
	}
}

// check panics unless in and out hold the whole image, and returns them cut to its size.
func (p *Pool) check(out, in []float32) ([]float32, []float32) {
	nIn, nOut := p.C*p.InH*p.InW, p.C*p.OutH*p.OutW
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: Pool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	return in[:nIn], out[:nOut]
}

// max computes max pooling: padding counts as -inf, windows are clipped to the input, NaN wins.
//
// Max pooling is separable: the max over a window is the max over its columns of the max over its rows.
// For each output row, the rows of its windows are reduced element-wise into a row buffer framed
// by -inf (the padding and the overhang of ceil_mode windows), and each output is the max of KW
// neighbours in that buffer. Both passes run on whole vectors. The 3x3 stride-1 "same" pool
// (GoogLeNet's inception branches, on planes as small as 7x7) does both passes over the whole
// plane at once instead, fixing up the first and last column of each row.
func (p *Pool) max(out, in []float32) {
	b := getRowBuf()
	defer putRowBuf(b)
	buf := b[:poolBufLen]
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	switch {
	case p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 && p.PadT == 1 && p.PadL == 1 &&
		OH == H && OW == W && H*W <= len(buf):
		for c := range p.C {
			maxPlane3x3s1(out[c*H*W:(c+1)*H*W], in[c*H*W:(c+1)*H*W], buf[:H*W], H, W)
		}
	case max((OW-1)*p.StrideW+p.KW, p.PadL+W) <= len(buf):
		p.maxSeparable(in, out, buf[:max((OW-1)*p.StrideW+p.KW, p.PadL+W)])
	default:
		p.maxDirect(in, out)
	}
}

// poolBufLen is the size of the pools' row buffers, in floats (from rowBufs): a padded row, or a
// plane for the 3x3 stride-1 max pool. 2048 floats hold the rows of the widest layers of the
// ImageNet networks (VGG's 224 + padding) and GoogLeNet's planes up to 28x28 (784) and more;
// wider inputs run window by window.
const poolBufLen = 2048

// maxSeparable is Max through a row buffer of the padded width.
func (p *Pool) maxSeparable(in, out, buf []float32) {
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	ninf := float32(math.Inf(-1))
	for i := range buf {
		buf[i] = ninf
	}
	v := buf[p.PadL : p.PadL+W]
	for c := range p.C {
		src := in[c*H*W : (c+1)*H*W]
		dst := out[c*OH*OW : (c+1)*OH*OW]
		for yo := range OH {
			y0 := yo*p.StrideH - p.PadT
			y1 := min(y0+p.KH, H)
			y0 = max(y0, 0)
			row := func(y int) []float32 { return src[y*W : (y+1)*W] }
			switch y1 - y0 {
			case 1:
				copy(v, row(y0))
			case 2:
				maxV(v, row(y0), row(y0+1), nil)
			default:
				maxV(v, row(y0), row(y0+1), row(y0+2))
				for y := y0 + 3; y < y1; y++ {
					maxV(v, v, row(y), nil)
				}
			}
			maxH(dst[yo*OW:(yo+1)*OW], buf, p.KW, p.StrideW)
		}
	}
}

// maxPlane3x3s1 is the 3x3 stride-1 max pool with padding 1 of one h x w plane, through tmp (h*w
// floats): the vertical pass over the whole plane at once (the first and last rows have two
// rows in their windows), then the horizontal one over the plane as one long row, which is right
// but for the first and last column of each row, whose windows have two columns.
func maxPlane3x3s1(dst, src, tmp []float32, h, w int) {
	n := h * w
	v := tmp[:n]
	if h == 1 {
		copy(v, src[:n])
	} else {
		maxV(v[:w], src[:w], src[w:2*w], nil)
		maxV(v[n-w:], src[n-2*w:n-w], src[n-w:n], nil)
		if h > 2 {
			maxV(v[w:n-w], src[:n-2*w], src[w:n-w], src[2*w:n])
		}
	}
	if w == 1 {
		copy(dst[:n], v)
		return
	}
	if n > 2 {
		maxH(dst[1:n-1], v, 3, 1)
	}
	for y := range h {
		r, d := v[y*w:(y+1)*w], dst[y*w:(y+1)*w]
		d[0] = max(r[0], r[1])
		d[w-1] = max(r[w-2], r[w-1])
	}
}

// maxV sets dst[i] = max(a[i], b[i]), or max(a[i], b[i], c[i]) when c is not nil (NaN wins).
func maxV(dst, a, b, c []float32) {
	n := len(dst)
	if c == nil {
		kern().maxPoolV2(dst, a[:n], b[:n])
		return
	}
	kern().maxPoolV3(dst, a[:n], b[:n], c[:n])
}

// maxH sets dst[x] = max(src[x*stride : x*stride+k]) (NaN wins).
func maxH(dst, src []float32, k, stride int) {
	if len(dst) == 0 {
		return
	}
	src = src[:stride*(len(dst)-1)+k]
	if f := kern().maxPoolHFor(k, stride); f != nil {
		f(dst, src)
		return
	}
	maxPoolHGo(dst, src, k, stride)
}

// maxDirect is Max window by window, for rows too wide for the buffer.
func (p *Pool) maxDirect(in, out []float32) {
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
						m = max(m, v)
					}
				}
				drow[xo] = m
			}
		}
	}
}

// avg computes average pooling with PyTorch's divisor: with CountIncludePad, the window clipped
// to [-PadT, InH+PadB) x [-PadL, InW+PadR); without, the window clipped to the input.
//
// Average pooling is separable, as max pooling is: for each output row, the rows of its windows are summed
// element-wise into a row buffer framed by zeros (Add's kernel), then each output adds its KW
// neighbours in that buffer, left to right, and divides by its element count (a SIMD kernel for
// the common widths and strides).
func (p *Pool) avg(out, in []float32) {
	b := getRowBuf()
	defer putRowBuf(b)
	buf, cols := b[:poolBufLen], b[poolBufLen:2*poolBufLen]
	wb := max((p.OutW-1)*p.StrideW+p.KW, p.PadL+p.InW)
	if wb > len(buf) || p.OutW > len(cols) {
		p.avgDirect(in, out)
		return
	}
	p.avgSeparable(in, out, buf[:wb], cols[:p.OutW])
}

// avgSeparable is Avg through a row buffer of the padded width; cols holds OutW floats.
func (p *Pool) avgSeparable(in, out, buf, cols []float32) {
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	clear(buf)
	v := buf[p.PadL : p.PadL+W]
	for xo := range cols {
		x0 := xo*p.StrideW - p.PadL
		x1 := min(x0+p.KW, W+p.PadR)
		n := min(x1, W) - max(x0, 0)
		if p.CountIncludePad {
			n = x1 - x0
		}
		cols[xo] = float32(n)
	}
	for c := range p.C {
		src := in[c*H*W : (c+1)*H*W]
		dst := out[c*OH*OW : (c+1)*OH*OW]
		for yo := range OH {
			y0 := yo*p.StrideH - p.PadT
			y1 := min(y0+p.KH, H+p.PadB)
			rows := y1 - y0
			y0, y1 = max(y0, 0), min(y1, H)
			drow := dst[yo*OW : (yo+1)*OW]
			if y0 >= y1 {
				clear(drow) // a window entirely in padding (Validate rules it out)
				continue
			}
			if !p.CountIncludePad {
				rows = y1 - y0
			}
			row := func(y int) []float32 { return src[y*W : (y+1)*W] }
			if y1-y0 == 1 {
				copy(v, row(y0))
			} else {
				addRows(v, row(y0), row(y0+1))
				for y := y0 + 2; y < y1; y++ {
					addRows(v, v, row(y))
				}
			}
			avgH(drow, buf, cols, p.KW, p.StrideW, float32(rows))
		}
	}
}

// avgH sets dst[x] = (src[x*stride] + ... + src[x*stride+k-1]) / (rows*cols[x]).
func avgH(dst, src, cols []float32, k, stride int, rows float32) {
	if len(dst) == 0 {
		return
	}
	src, cols = src[:stride*(len(dst)-1)+k], cols[:len(dst)]
	if f := kern().avgPoolHFor(k, stride); f != nil {
		f(dst, src, cols, rows)
		return
	}
	avgPoolHGo(dst, src, cols, k, stride, rows)
}

// avgDirect is Avg window by window, for rows too wide for the buffers.
func (p *Pool) avgDirect(in, out []float32) {
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

// AdaptiveAvgPool is nn.AdaptiveAvgPool2d on one [C][InH][InW] image: output cell (i, j) of
// [C][OutH][OutW] averages rows [floor(i*InH/OutH), ceil((i+1)*InH/OutH)) and likewise columns.
type AdaptiveAvgPool struct {
	C, InH, InW, OutH, OutW int
	Layout                  Layout
}

// Run pools in into out, which must not overlap it.
func (a AdaptiveAvgPool) Run(out, in []float32) {
	if a.Layout == NCHW16c {
		a.run16c(out, in)
		return
	}
	mustLayout("adaptive avg pool", a.Layout, true)
	inH, inW, outH, outW := a.InH, a.InW, a.OutH, a.OutW
	nIn, nOut := a.C*inH*inW, a.C*outH*outW
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: AdaptiveAvgPool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	for ch := range a.C {
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

// GlobalPool reduces each of C planes of HW values to one: its mean, or with Max its maximum
// (NaN wins).
type GlobalPool struct {
	C, HW  int
	Max    bool
	Layout Layout
}

// Run pools in ([C][HW]) into out ([C]).
func (g GlobalPool) Run(out, in []float32) { g.RunPart(0, 1, out, in) }

// RunPart pools part of parts of the channels, as Run would (each channel is independent): on
// NCHW16c whole blocks, those of SplitBlocks, on NCHW channels [C*part/parts, C*(part+1)/parts).
func (g GlobalPool) RunPart(part, parts int, out, in []float32) {
	if parts < 1 || part < 0 || part >= parts {
		panic(fmt.Sprintf("kernels: GlobalPool.RunPart: part %d of %d", part, parts))
	}
	if g.Layout == NCHW16c {
		b0, b1 := SplitBlocks(g.C, part, parts)
		g.run16cBlocks(b0, b1, out, in)
		return
	}
	mustLayout("global pool", g.Layout, true)
	c, hw := g.C, g.HW
	if len(in) < c*hw || len(out) < c {
		panic(fmt.Sprintf("kernels: GlobalPool: slice too short: in %d/%d out %d/%d", len(in), c*hw, len(out), c))
	}
	c0, c1 := c*part/parts, c*(part+1)/parts
	if g.Max {
		for ch := c0; ch < c1; ch++ {
			m := float32(math.Inf(-1))
			for _, v := range in[ch*hw : (ch+1)*hw] {
				if v > m || v != v {
					m = v
				}
			}
			out[ch] = m
		}
		return
	}
	sum := kern().rsum
	for ch := c0; ch < c1; ch++ {
		out[ch] = sum(in[ch*hw:(ch+1)*hw]) / float32(hw)
	}
}
