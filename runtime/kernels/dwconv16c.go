package kernels

import "fmt"

// Depthwise convolutions of NCHW16c feature maps (Groups == InC == OutC): each block of 16
// channels is a plane of 16-channel vectors convolved with a 16-channel vector per tap, so the
// kernel (f32DWConv16cEpi<p><ISA>, see f32DWConv16cGo) accumulates up to p output pixels of a
// row in vector registers, tap after tap, and stores them with the epilogue: bias, residual and
// ReLU or ReLU6 (the other activations run over the block's band right after). Horizontal padding
// is read from a zero-framed copy of the band's rows of the block, as in conv16c.go.

// dw16cImpl is a level's blocked depthwise kernel and the most pixels a call computes.
type dw16cImpl struct {
	p    int
	tile dw16cTile
}

type dw16cTile = func(dst, src, w []float32, n, kh, kw, ldp, ldk, ldr int, flags uint, bias, res []float32)

// runDW16c computes a part of a blocked depthwise convolution: blocks [b0, b1), or rows or
// pixels of all blocks (see geom16c.split), band by band. With pooled (see RunPartPool), the part
// also averages each block it computes whole into pooled, as GlobalPool does, while the block is
// in its cache.
func (c *Conv) runDW16c(part, parts int, in, out []float32, w *ConvWeights, residual, scratch, pooled []float32) {
	k := kern().dw16c
	g := c.geom16c()
	nb := blocks(c.OutC)
	b0, b1, y0, y1, x0, x1 := g.split(part, parts, nb, k.p)
	if b0 >= b1 || y0 >= y1 || x0 >= x1 {
		return
	}
	if pooled != nil && b1 == nb {
		clear(pooled[c.OutC:BlockedLen(c.OutC, 1)])
	}
	kk := c.KH * c.KW
	opl := c.OutH * c.OutW * BlockC
	ldp, ldk := c.StrideW*BlockC, c.DilW*BlockC
	if g.flat {
		ldp, ldk = BlockC, BlockC
	}
	flags := uint(epiInit)
	if residual != nil {
		flags |= epiRes
	}
	post := c.Act
	switch c.Act {
	case ActReLU:
		flags, post = flags|epiReLU, ActNone
	case ActReLU6:
		flags, post = flags|epiReLU6, ActNone
	}
	for b := b0; b < b1; b++ {
		bias := w.bias[b*BlockC : (b+1)*BlockC]
		for ya := y0; ya < y1; ya += g.bandRows {
			yb := min(y1, ya+g.bandRows)
			s := c.input16c(&g, in, scratch, b, ya, yb)
			cb := b
			if g.band {
				cb = 0 // the copy holds block b only
			}
			ldr := c.DilH * s.ldrow
			for y := ya; y < yb; y++ {
				i0, i1, iy := 0, 1, 0
				if !g.flat {
					i0, i1 = c.rowTaps(y)
					iy = y*c.StrideH - c.PadT + i0*c.DilH
				}
				wk := w.w[(b*kk+i0*c.KW)*BlockC : (b+1)*kk*BlockC]
				for x := x0; x < x1; x += k.p {
					n := min(k.p, x1-x)
					o := b*opl + (y*g.cols+x)*BlockC
					d := out[o : o+n*BlockC]
					var res []float32
					if residual != nil {
						res = residual[o : o+n*BlockC]
					}
					var src []float32
					if i1 > i0 {
						so := s.at(cb, iy, x*ldp/BlockC-c.PadL)
						if g.flat {
							so = s.at(cb, 0, x)
						}
						src = s.buf[so:]
					}
					k.tile(d, src, wk, n, i1-i0, c.KW, ldp, ldk, ldr, flags, bias, res)
				}
				if post != ActNone {
					o := b*opl + y*g.cols*BlockC
					apply(post, out[o+x0*BlockC:o+x1*BlockC])
				}
			}
		}
		if pooled != nil {
			// GlobalPool.run16c's call on the same values: the same bits.
			k := kern()
			k.avgPool16c(pooled[b*BlockC:(b+1)*BlockC], out[b*opl:(b+1)*opl], 1, 1, c.OutH*c.OutW, 0, 0, float32(c.OutH*c.OutW))
		}
	}
}

// PoolsParts reports whether RunPartPool pools when the convolution runs in parts parts: a
// blocked depthwise convolution whose parts compute whole channel blocks.
func (c *Conv) PoolsParts(parts int) bool {
	if c.Layout != NCHW16c || c.algo() != algoDW16c {
		return false
	}
	g := c.geom16c()
	nb := blocks(c.OutC)
	for part := range parts {
		_, _, y0, y1, x0, x1 := g.split(part, parts, nb, kern().dw16c.p)
		if y0 != 0 || y1 != g.rows || x0 != 0 || x1 != g.cols {
			return false
		}
	}
	return true
}

// RunPartPool is RunPart that also writes into pooled (the blocked [OutC 1 1], BlockedLen(OutC,
// 1) values) the global average of the output's channels that the part computes, bit for bit
// what GlobalPool{C: OutC, HW: OutH*OutW, Layout: NCHW16c}.Run gives on the output, where
// PoolsParts(parts) holds (a squeeze-and-excitation block's pooling, done while each block is in
// cache rather than in a pass over the whole output after it). Elsewhere it is RunPart.
func (c *Conv) RunPartPool(part, parts int, out, in []float32, w *ConvWeights, residual, scratch, pooled []float32) {
	if !c.PoolsParts(parts) || w == nil || w.algo != algoDW16c {
		c.RunPart(part, parts, out, in, w, residual, scratch)
		return
	}
	in, out, residual = c.checkRun(part, parts, in, out, w, residual, scratch)
	if len(pooled) < BlockedLen(c.OutC, 1) {
		panic(fmt.Sprintf("kernels: Conv.RunPartPool: pooled %d of %d", len(pooled), BlockedLen(c.OutC, 1)))
	}
	c.runDW16c(part, parts, in, out, w, residual, scratch, pooled)
}
