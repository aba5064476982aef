package kernels

import (
	"fmt"
	"math"
)

// The poolings' gradients. Each takes a run of planes (a batch's images' channels one after the
// other: planes are independent, so callers split the run over goroutines) and walks the windows
// exactly as the forward pass does: an average sends dy/divisor to every input its window read, a
// maximum sends dy to the first maximum of its window in row-major order (a later equal value
// does not take it; a NaN does, the last NaN winning), which is the position torch's
// max_pool2d_with_indices records, so ties (common after a ReLU) go where torch sends them.
// dx is set, or added to when acc.

// Backward computes the input gradient dx of planes planes ([planes][InH][InW]) from the output
// gradient dy and, for max pooling, the input x. It does not allocate.
func (p *Pool) Backward(dx, dy, x []float32, planes int, acc bool) {
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	if len(dx) < planes*H*W || len(dy) < planes*OH*OW || !p.Avg && len(x) < planes*H*W || p.Layout != NCHW {
		panic(fmt.Sprintf("kernels: Pool.Backward: slice too short or layout %v for %d planes", p.Layout, planes))
	}
	if !acc {
		clear(dx[:planes*H*W])
	}
	for t := range planes {
		dst, g := dx[t*H*W:(t+1)*H*W], dy[t*OH*OW:(t+1)*OH*OW]
		if p.Avg {
			p.avgBackward(dst, g)
			continue
		}
		src := x[t*H*W : (t+1)*H*W]
		if p.KH == 2 && p.KW == 2 && p.StrideH == 2 && p.StrideW == 2 && p.PadT == 0 && p.PadL == 0 &&
			2*OH <= H && 2*OW <= W {
			maxBackward2x2(dst, g, src, W, OH, OW)
			continue
		}
		if p.KH == 3 && p.KW == 3 && p.StrideH == 2 && p.StrideW == 2 {
			maxBackward3x3s2(dst, g, src, W, H, OH, OW, p.PadT, p.PadL)
			continue
		}
		for yo := range OH {
			y0 := yo*p.StrideH - p.PadT
			y1 := min(y0+p.KH, H)
			y0 = max(y0, 0)
			for xo := range OW {
				x0 := xo*p.StrideW - p.PadL
				x1 := min(x0+p.KW, W)
				x0 = max(x0, 0)
				at := -1
				if y1-y0 == 3 && x1-x0 == 3 {
					at = firstMax3x3(src, W, y0, x0)
				}
				if at < 0 {
					at = firstMax(src, W, y0, y1, x0, x1)
				}
				if at >= 0 {
					dst[at] += g[yo*OW+xo]
				}
			}
		}
	}
}

// firstMax3x3 is firstMax of a whole 3x3 window at (y0, x0) without branches on the data (the
// stem pooling of the ResNets and GoogLeNet: firstMax's compares mispredicted every few values),
// or -1 when the window holds a NaN (firstMax then decides).
func firstMax3x3(src []float32, W, y0, x0 int) int {
	r0 := (*[3]float32)(src[y0*W+x0:])
	r1 := (*[3]float32)(src[(y0+1)*W+x0:])
	r2 := (*[3]float32)(src[(y0+2)*W+x0:])
	// -0 made +0 (x + 0) so that the bits of equal values are equal, as in maxBackward2x2.
	v := [9]float32{r0[0] + 0, r0[1] + 0, r0[2] + 0, r1[0] + 0, r1[1] + 0, r1[2] + 0, r2[0] + 0, r2[1] + 0, r2[2] + 0}
	mf := max(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8])
	if mf != mf {
		return -1
	}
	m := math.Float32bits(mf)
	k := 8
	for i := 7; i >= 0; i-- { // the first position equal to the maximum
		e := b2i(math.Float32bits(v[i]) == m)
		k += e * (i - k)
	}
	return (y0+k/3)*W + x0 + k%3
}

// maxBackward3x3s2 is a 3x3 stride-2 max pooling's gradient (the ResNets' and GoogLeNet's
// stem): 8 windows at a time by the level's maxArg3x3s2 where they lie whole in the plane
// with the 18 values of their rows it reads, the rest (the borders, a window with a NaN)
// window by window.
func maxBackward3x3s2(dst, g, src []float32, W, H, OH, OW, padT, padL int) {
	f := kern().maxArg3x3s2
	off := [9]int{0, 1, 2, W, W + 1, W + 2, 2 * W, 2*W + 1, 2*W + 2}
	for yo := range OH {
		y0 := 2*yo - padT
		y1 := min(y0+3, H)
		y0c := max(y0, 0)
		gr := g[yo*OW : (yo+1)*OW]
		for xo := 0; xo < OW; xo++ {
			x0 := 2*xo - padL
			if y0 >= 0 && y1-y0 == 3 && x0 >= 0 && x0+18 <= W && xo+8 <= OW {
				r := y0*W + x0
				ks := f(src[r:r+18], src[r+W:r+W+18], src[r+2*W:r+2*W+18])
				for j := range 8 {
					at := r + 2*j
					if k := int8(ks >> (8 * j)); k >= 0 {
						at += off[k]
					} else {
						at = firstMax(src, W, y0, y0+3, x0+2*j, x0+2*j+3)
					}
					dst[at] += gr[xo+j]
				}
				xo += 7
				continue
			}
			x1 := min(x0+3, W)
			x0 = max(x0, 0)
			at := -1
			if y1-y0c == 3 && x1-x0 == 3 {
				at = firstMax3x3(src, W, y0c, x0)
			}
			if at < 0 {
				at = firstMax(src, W, y0c, y1, x0, x1)
			}
			if at >= 0 {
				dst[at] += gr[xo]
			}
		}
	}
}

// f32MaxArg3x3s2Go: byte k of the result is the first position (3*row + column) of the
// maximum of the window r0[2k:2k+3], r1[2k:2k+3], r2[2k:2k+3], or -1 (0xff) if it holds a
// NaN, for k < 8.
func f32MaxArg3x3s2Go(r0, r1, r2 []float32) uint64 {
	r0, r1, r2 = r0[:18], r1[:18], r2[:18]
	var ks uint64
	for k := range 8 {
		v := [9]float32{r0[2*k], r0[2*k+1], r0[2*k+2], r1[2*k], r1[2*k+1], r1[2*k+2], r2[2*k], r2[2*k+1], r2[2*k+2]}
		at := -1
		for i, x := range v {
			if x != x {
				at = -1
				break
			}
			if at < 0 || x > v[at] {
				at = i
			}
		}
		ks |= uint64(uint8(int8(at))) << (8 * k)
	}
	return ks
}

// firstMax is the index of the window's first maximum (the last NaN if any), -1 if empty.
func firstMax(src []float32, W, y0, y1, x0, x1 int) int {
	at, m := -1, float32(math.Inf(-1))
	for yi := y0; yi < y1; yi++ {
		row := src[yi*W+x0 : yi*W+x1]
		for k, v := range row {
			if v > m || v != v || at < 0 {
				at, m = yi*W+x0+k, v
			}
		}
	}
	return at
}

// maxBackward2x2 is the 2x2 stride-2 unpadded case (LeNet-5's, VGG's) without window bounds:
// the level's maxGrad2x2 a row of windows at a time, vl/2 windows a vector step. A window
// holding a NaN gets nothing from it; the rare row with one is finished here: the last NaN
// takes the gradient, as firstMax decides.
func maxBackward2x2(dst, g, src []float32, W, OH, OW int) {
	f := kern().maxGrad2x2
	for yo := range OH {
		o0, o1 := 2*yo*W, (2*yo+1)*W
		r0, r1 := src[o0:o0+2*OW], src[o1:o1+2*OW]
		gr := g[yo*OW : (yo+1)*OW]
		if f(dst[o0:o0+2*OW], dst[o1:o1+2*OW], gr, r0, r1) == 0 {
			continue
		}
		for xo, v := range gr {
			x := 2 * xo
			at := -1
			for k, u := range [4]float32{r0[x], r0[x+1], r1[x], r1[x+1]} {
				if u != u {
					at = k
				}
			}
			if at >= 0 {
				dst[(2*yo+at>>1)*W+x+at&1] += v
			}
		}
	}
}

// b2i is 1 for true: the compiler makes it a SETcc, no branch.
func b2i(b bool) int {
	i := 0
	if b {
		i = 1
	}
	return i
}

// avgBackward adds one plane's average-pooling gradient to dst.
func (p *Pool) avgBackward(dst, g []float32) {
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	for yo := range OH {
		y0 := yo*p.StrideH - p.PadT
		y1 := min(y0+p.KH, H+p.PadB)
		padH := y1 - y0
		y0, y1 = max(y0, 0), min(y1, H)
		for xo := range OW {
			x0 := xo*p.StrideW - p.PadL
			x1 := min(x0+p.KW, W+p.PadR)
			padW := x1 - x0
			x0, x1 = max(x0, 0), min(x1, W)
			if y0 >= y1 || x0 >= x1 {
				continue
			}
			div := (y1 - y0) * (x1 - x0)
			if p.CountIncludePad {
				div = padH * padW
			}
			v := g[yo*OW+xo] / float32(div)
			for yi := y0; yi < y1; yi++ {
				row := dst[yi*W+x0 : yi*W+x1]
				for k := range row {
					row[k] += v
				}
			}
		}
	}
}

// Backward computes the input gradient of planes planes of adaptive average pooling.
func (a AdaptiveAvgPool) Backward(dx, dy []float32, planes int, acc bool) {
	H, W, OH, OW := a.InH, a.InW, a.OutH, a.OutW
	if len(dx) < planes*H*W || len(dy) < planes*OH*OW {
		panic("kernels: AdaptiveAvgPool.Backward: slice too short")
	}
	if !acc {
		clear(dx[:planes*H*W])
	}
	for t := range planes {
		dst, g := dx[t*H*W:(t+1)*H*W], dy[t*OH*OW:(t+1)*OH*OW]
		for yo := range OH {
			y0, y1 := yo*H/OH, ((yo+1)*H+OH-1)/OH
			for xo := range OW {
				x0, x1 := xo*W/OW, ((xo+1)*W+OW-1)/OW
				v := g[yo*OW+xo] / float32((y1-y0)*(x1-x0))
				for yi := y0; yi < y1; yi++ {
					row := dst[yi*W+x0 : yi*W+x1]
					for k := range row {
						row[k] += v
					}
				}
			}
		}
	}
}

// Backward computes the input gradient of planes planes ([planes][HW]) of global pooling: the
// mean's spread evenly, the maximum's to the plane's first maximum (x is the input; unused for
// the mean).
func (g GlobalPool) Backward(dx, dy, x []float32, planes int, acc bool) {
	hw := g.HW
	if len(dx) < planes*hw || len(dy) < planes || g.Max && len(x) < planes*hw {
		panic("kernels: GlobalPool.Backward: slice too short")
	}
	for t := range planes {
		dst := dx[t*hw : (t+1)*hw]
		if !g.Max {
			v := dy[t] / float32(hw)
			if acc {
				for k := range dst {
					dst[k] += v
				}
			} else {
				for k := range dst {
					dst[k] = v
				}
			}
			continue
		}
		if !acc {
			clear(dst)
		}
		if at := firstMax(x[t*hw:(t+1)*hw], hw, 0, 1, 0, hw); at >= 0 {
			dst[at] += dy[t]
		}
	}
}
