package kernels

import (
	"fmt"
	"math"
)

// Pooling of NCHW16c feature maps: a window's 16 channels are one vector, so a pool is the max
// or the sum of the window's vectors, with no separable passes and no row buffers. One kernel
// call pools a run of output pixels of one row whose windows have the same shape (f32MaxPool16c,
// f32AvgPool16c): the windows clipped by the same rows, and either inside the input or, at the
// left and right edges, one pixel a call with its clipped columns. GlobalPool and
// AdaptiveAvgPool call the same kernels, one output a call.

// f32MaxPool16cGo sets dst[p*16+l] to the maximum over i < kh, j < kw of
// src[i*ldr + j*16 + p*ldp + l] for p < n (NaN wins), as the SIMD kernels compute it.
func f32MaxPool16cGo(dst, src []float32, n, kh, kw, ldp, ldr int) {
	for p := range n {
		acc := [BlockC]float32{}
		for l := range acc {
			acc[l] = float32(math.Inf(-1))
		}
		for i := range kh {
			for j := range kw {
				s := (*[BlockC]float32)(src[i*ldr+j*BlockC+p*ldp:])
				for l, v := range s {
					acc[l] = max(acc[l], v) // NaN wins
				}
			}
		}
		copy(dst[p*BlockC:(p+1)*BlockC], acc[:])
	}
}

// f32AvgPool16cGo sets dst[p*16+l] to the sum over i < kh, j < kw (in that order, from zero) of
// src[i*ldr + j*16 + p*ldp + l], divided by div, for p < n.
func f32AvgPool16cGo(dst, src []float32, n, kh, kw, ldp, ldr int, div float32) {
	for p := range n {
		var acc [BlockC]float32
		for i := range kh {
			for j := range kw {
				s := (*[BlockC]float32)(src[i*ldr+j*BlockC+p*ldp:])
				for l, v := range s {
					acc[l] += v
				}
			}
		}
		d := dst[p*BlockC : (p+1)*BlockC]
		for l := range d {
			d[l] = acc[l] / div
		}
	}
}

// run16c pools the blocks of channels [c0, c1)'s first channels (see RunChannels).
func (p *Pool) run16c(c0, c1 int, out, in []float32) {
	H, W, OH, OW := p.InH, p.InW, p.OutH, p.OutW
	nIn, nOut := BlockedLen(p.C, H*W), BlockedLen(p.C, OH*OW)
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: Pool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	k := kern()
	sw := p.StrideW
	// The output columns whose windows lie inside the input: [xl, xr).
	xl := (p.PadL + sw - 1) / sw
	xr := 0
	if W+p.PadL-p.KW >= 0 {
		xr = (W+p.PadL-p.KW)/sw + 1
	}
	xr = min(xr, OW)
	xl = min(xl, xr)
	for b := (c0 + BlockC - 1) / BlockC; b < (c1+BlockC-1)/BlockC; b++ {
		plane := in[b*H*W*BlockC : (b+1)*H*W*BlockC]
		for oy := range OH {
			ys := oy*p.StrideH - p.PadT
			y0, y1 := max(ys, 0), min(ys+p.KH, H)
			rowsDiv := y1 - y0
			if p.CountIncludePad {
				rowsDiv = min(ys+p.KH, H+p.PadB) - ys
			}
			drow := out[((b*OH+oy)*OW)*BlockC : ((b*OH+oy+1)*OW)*BlockC]
			src := plane[y0*W*BlockC:]
			// pool computes output pixels [x, x+n) whose windows read columns [xa, xa+kw) of
			// the first, divided (Avg) by div.
			pool := func(x, n, xa, kw, colsDiv int) {
				d, s := drow[x*BlockC:(x+n)*BlockC], src[xa*BlockC:]
				if p.Avg {
					k.avgPool16c(d, s, n, y1-y0, kw, sw*BlockC, W*BlockC, float32(rowsDiv*colsDiv))
				} else {
					k.maxPool16c(d, s, n, y1-y0, kw, sw*BlockC, W*BlockC)
				}
			}
			edge := func(x int) {
				xs := x*sw - p.PadL
				xa, xb := max(xs, 0), min(xs+p.KW, W)
				colsDiv := xb - xa
				if p.CountIncludePad {
					colsDiv = min(xs+p.KW, W+p.PadR) - xs
				}
				pool(x, 1, xa, xb-xa, colsDiv)
			}
			for x := range xl {
				edge(x)
			}
			if xr > xl {
				pool(xl, xr-xl, xl*sw-p.PadL, p.KW, p.KW)
			}
			for x := xr; x < OW; x++ {
				edge(x)
			}
		}
	}
}

// run16c is GlobalPool.Run on NCHW16c: out is the blocked [C 1 1], the [C] vector with its
// padding lanes zero.
func (g GlobalPool) run16c(out, in []float32) { g.run16cBlocks(0, blocks(g.C), out, in) }

// run16cBlocks is run16c for channel blocks [b0, b1); the part with the last block clears the
// padding lanes.
func (g GlobalPool) run16cBlocks(b0, b1 int, out, in []float32) {
	nIn, nOut := BlockedLen(g.C, g.HW), BlockedLen(g.C, 1)
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: GlobalPool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	k := kern()
	for b := b0; b < b1; b++ {
		d, s := out[b*BlockC:(b+1)*BlockC], in[b*g.HW*BlockC:(b+1)*g.HW*BlockC]
		if g.Max {
			k.maxPool16c(d, s, 1, 1, g.HW, 0, 0)
		} else {
			k.avgPool16c(d, s, 1, 1, g.HW, 0, 0, float32(g.HW))
		}
	}
	if b1 == blocks(g.C) {
		clear(out[g.C:nOut])
	}
}

// run16c is AdaptiveAvgPool.Run on NCHW16c.
func (a AdaptiveAvgPool) run16c(out, in []float32) {
	inH, inW, outH, outW := a.InH, a.InW, a.OutH, a.OutW
	nIn, nOut := BlockedLen(a.C, inH*inW), BlockedLen(a.C, outH*outW)
	if len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: AdaptiveAvgPool: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	k := kern()
	for b := range blocks(a.C) {
		src := in[b*inH*inW*BlockC : (b+1)*inH*inW*BlockC]
		for yo := range outH {
			y0, y1 := yo*inH/outH, ((yo+1)*inH+outH-1)/outH
			for xo := range outW {
				x0, x1 := xo*inW/outW, ((xo+1)*inW+outW-1)/outW
				o := ((b*outH+yo)*outW + xo) * BlockC
				k.avgPool16c(out[o:o+BlockC], src[(y0*inW+x0)*BlockC:], 1, y1-y0, x1-x0, 0, inW*BlockC, float32((y1-y0)*(x1-x0)))
			}
		}
	}
}
