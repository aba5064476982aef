package kernels

// Winograd F(4x4, 3x3) on NCHW16c feature maps (3x3, stride 1, no dilation, one group): the
// transforms of winograd.go on 16-channel vectors, and the products on the direct kernel.
//
// The output is cut into 4x4 tiles and the tiles into blocks of whole tile rows. For a block,
// the input rows it reads are copied with their zero frame (so no tile needs masking), and the
// input transform (f32WinoIn16c) writes V = B^T d B of every tile and input channel block: for
// each of the 36 positions xi a [InC/16][tiles][16] matrix, which is a blocked feature map whose
// pixels are the tiles. The products M[xi] = U[xi] V[xi] over the input channels are then, for
// each position, a pointwise convolution of it (the direct kernel with 1x1 taps and the tiles
// as one row of pixels) by U[xi], the transformed weights, packed as the direct kernel's
// [OutC/16][InC/16][16][16]. For each group of output channel blocks and chunk of tiles, the
// 36 products go to M, and the output transform (f32WinoOutEpi16c) computes Y = A^T M A, adds
// the bias and the residual, applies ReLU or ReLU6 and stores the tiles; the last tile row and
// column of an image whose sides are not multiples of 4 go through a staging tile.

// wino16cEligible reports whether c can run on the blocked Winograd algorithm.
func (c *Conv) wino16cEligible() bool {
	return c.KH == 3 && c.KW == 3 && c.StrideH == 1 && c.StrideW == 1 && c.DilH == 1 && c.DilW == 1 && c.Groups == 1
}

// wino16cVFloats is about the most floats of a block's transformed input V (its tile rows, at
// least one): 1M floats, 4 MiB. Each block streams all of U, the transformed weights (36/9 of
// the weights' size), once per chunk of tiles, while a chunk reads V once per group of output
// blocks and position, a channel block at a time (IB x tiles x 16 floats, in L2): large blocks
// and chunks save U's traffic, V's is the same. Measured (GFLOP/cpu-s of the direct
// convolution's flops, one run) against 256K floats and chunks of 32 tiles: VGG's 512@28 402
// against 242, its 256@56 490 against 416, ResNet-50's 64@56 402 against 367, its 256@14 299
// against 297; 4M floats and chunks of 256 were within 5% but for ResNet-50's 512@7 (140
// against 118; Winograd loses to the direct kernel there anyway: wino16cWins).
const wino16cVFloats = 1 << 20

// wino16cChunk is the most tiles of one chunk of M: 36 positions x 4 blocks x 128 tiles x 16 =
// 288K floats (1.1 MiB).
const wino16cChunk = 128

// wino16cGeom is the tiling of a blocked Winograd convolution.
type wino16cGeom struct {
	th, tw int // tile rows and columns
	kt     int // tile rows per block
	tb     int // tiles per block: kt*tw
	wp     int // width of the band copy: 4*tw + 2
	band   int // floats of the band copy: InC/16 x (4*kt + 2) x wp x 16
	mc     int // tiles per chunk of M: min(tb, wino16cChunk)
	vs, ms int // the floats of one position of V (InC/16 x tb x 16) and of M (4 x mc x 16)
}

func (c *Conv) wino16cGeom() wino16cGeom { return c.wino16cGeomRows(0) }

// wino16cGeomRows is wino16cGeom with blocks of at most maxKT tile rows (no bound if 0): each
// tile's values do not depend on its block, so a split may cut smaller blocks than one thread's.
func (c *Conv) wino16cGeomRows(maxKT int) wino16cGeom {
	var g wino16cGeom
	g.th, g.tw = (c.OutH+3)/4, (c.OutW+3)/4
	ib := blocks(c.InC)
	g.kt = min(g.th, max(1, wino16cVFloats/(36*ib*g.tw*BlockC)))
	if maxKT > 0 {
		g.kt = min(g.kt, maxKT)
	}
	g.tb = g.kt * g.tw
	g.wp = 4*g.tw + 2
	g.band = ib * (4*g.kt + 2) * g.wp * BlockC
	g.vs = ib*g.tb*BlockC + BlockC // a vector apart: the 36 streams not in one cache set
	g.mc = min(g.tb, wino16cChunk)
	g.ms = 4*g.mc*BlockC + BlockC
	return g
}

// wino16cScratch is the band copy, V, M, the zero bias and the staging tiles of output and
// residual.
func (c *Conv) wino16cScratch() int {
	g := c.wino16cGeom()
	return g.band + 36*g.vs + 36*g.ms + 4*BlockC + 2*16*BlockC
}

// packWino16c transforms each kernel g ([OutC][InC][3][3]) to U = G g G^T in float64 and packs
// position xi's matrix at cw.w[xi*OB*IB*256:] as the direct kernel's weights.
func (cw *ConvWeights) packWino16c(w []float32) {
	c, v := &cw.conv, &wino4
	ob, ib := blocks(c.OutC), blocks(c.InC)
	per := ob * ib * BlockC * BlockC
	cw.w = allocPacked(36 * per)
	for o := range c.OutC {
		for i := range c.InC {
			g := w[(o*c.InC+i)*9 : (o*c.InC+i)*9+9]
			var gg [6][3]float64 // G g
			for r := range 6 {
				for j := range 3 {
					gg[r][j] = v.g[r][0]*float64(g[j]) + v.g[r][1]*float64(g[3+j]) + v.g[r][2]*float64(g[6+j])
				}
			}
			at := (o/BlockC*ib+i/BlockC)*BlockC*BlockC + i%BlockC*BlockC + o%BlockC
			for r := range 6 {
				for s := range 6 {
					x := gg[r][0]*v.g[s][0] + gg[r][1]*v.g[s][1] + gg[r][2]*v.g[s][2]
					cw.w[(r*6+s)*per+at] = float32(x)
				}
			}
		}
	}
}

// runWino16c computes a part of a blocked Winograd convolution: blocks of tile rows when they
// divide evenly between the parts, else groups of output channel blocks when those do, else
// blocks cut smaller, as many as a multiple of the parts. One block and one group, as ResNet's
// 64-channel layers have at 56x56 and 14x14, gave a part all the work: two threads ran them
// only 1.05-1.12x as fast as one.
func (c *Conv) runWino16c(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	k := kern()
	cv := k.conv16c
	g := c.wino16cGeom()
	ob, ib := blocks(c.OutC), blocks(c.InC)
	groups := (ob + cv.f - 1) / cv.f
	nblk := (g.th + g.kt - 1) / g.kt
	b0, b1, g0, g1 := 0, nblk, 0, groups
	if parts > 1 {
		if nblk%parts != 0 && groups%parts != 0 {
			nb := (nblk + parts - 1) / parts * parts
			g = c.wino16cGeomRows((g.th + nb - 1) / nb)
			nblk = (g.th + g.kt - 1) / g.kt
			b1 = nblk
		}
		if nblk%parts == 0 || groups%parts != 0 {
			b0, b1 = part*nblk/parts, (part+1)*nblk/parts
		} else {
			g0, g1 = part*groups/parts, (part+1)*groups/parts
		}
	}
	band := scratch[:g.band]
	vbuf := scratch[g.band : g.band+36*g.vs]
	mbuf := scratch[g.band+36*g.vs : g.band+36*g.vs+36*g.ms]
	zero := scratch[g.band+36*g.vs+36*g.ms : g.band+36*g.vs+36*g.ms+4*BlockC]
	stage := scratch[len(zero)+g.band+36*g.vs+36*g.ms:]
	clear(zero)
	per := ob * ib * BlockC * BlockC
	// As conv16cChunk for 1x1 taps, in L1 for at most 64 tiles (outputs up to 32x32), whose
	// few tile runs read each chunk's weights again and again. Measured (BenchmarkConvLayout,
	// AVX-512, GFLOP/cpu-s, 2 runs, 32K -> 8K floats): ResNet-50's 256@14 286/289 -> 317/319,
	// VGG's 512@28 399/430 -> 422/430, GoogLeNet's and ResNet-50's others within 3%; AVX2
	// within noise.
	chunk := max(1, 32768/(4*256))
	if g.th*g.tw <= 64 {
		chunk = max(1, 8192/(4*256))
	}
	cl := c.InC - (ib-1)*BlockC
	ldb := (4*g.kt + 2) * g.wp * BlockC // a channel block of the band
	for blk := b0; blk < b1; blk++ {
		tya, tyb := blk*g.kt, min(g.th, (blk+1)*g.kt)
		nt := (tyb - tya) * g.tw
		c.wino16cBand(&g, band, in, tya*4-c.PadT, (tyb-tya)*4+2)
		for cb := range ib {
			for ty := tya; ty < tyb; ty++ {
				t := (ty - tya) * g.tw
				k.winoIn16c(vbuf[cb*g.tb*BlockC+t*BlockC:], band[cb*ldb+(ty-tya)*4*g.wp*BlockC:], g.tw, g.wp*BlockC, g.vs)
			}
		}
		for gi := g0; gi < g1; gi++ {
			fb, nf := group(gi, groups, ob)
			for t0 := 0; t0 < nt; t0 += g.mc {
				t1 := min(nt, t0+g.mc)
				tiles := (t1 - t0 + cv.p[nf] - 1) / cv.p[nf]
				for xi := range 36 {
					m := mbuf[xi*g.ms:]
					for cb := 0; cb < ib; cb += chunk {
						icb := min(chunk, ib-cb)
						flags, ccl := uint(epiInit), BlockC
						if cb > 0 {
							flags = 0
						}
						if cb+icb == ib {
							ccl = cl
						}
						for tt := range tiles {
							x, n := t0+tt*(t1-t0)/tiles, t0+(tt+1)*(t1-t0)/tiles
							n -= x
							d := m[(x-t0)*BlockC : (nf-1)*g.mc*BlockC+(x-t0+n)*BlockC]
							cv.tile(d, vbuf[xi*g.vs+cb*g.tb*BlockC+x*BlockC:], w.w[xi*per+(fb*ib+cb)*BlockC*BlockC:],
								n, nf, icb, 1, 1, ccl, BlockC, BlockC, 0, g.tb*BlockC, ib*BlockC*BlockC, BlockC*BlockC,
								g.mc*BlockC, flags, zero[:nf*BlockC], nil)
						}
					}
				}
				c.wino16cOutput(&g, mbuf, out, w.bias, residual, stage, tya, t0, t1, fb, nf)
			}
		}
	}
}

// wino16cBand copies rows [r0, r0+rows) of the input (rows outside it zero) into band, each
// framed by PadL zero columns on the left and as many on the right as the tiles reach.
func (c *Conv) wino16cBand(g *wino16cGeom, band, in []float32, r0, rows int) {
	H, W := c.InH, c.InW
	ldr := g.wp * BlockC
	ldb := (4*g.kt + 2) * ldr
	lo, hi := c.PadL, min(g.wp, c.PadL+W)
	for b := range blocks(c.InC) {
		for r := range rows {
			dst := band[b*ldb+r*ldr : b*ldb+(r+1)*ldr]
			y := r0 + r
			if y < 0 || y >= H || hi <= lo {
				clear(dst)
				continue
			}
			clear(dst[:lo*BlockC])
			copy(dst[lo*BlockC:hi*BlockC], in[((b*H+y)*W)*BlockC:])
			clear(dst[hi*BlockC:])
		}
	}
}

// wino16cOutput transforms M of tiles [t0, t1) of the block starting at tile row tya (tile t
// of the block at M[xi*ms + f*mc*16 + (t-t0)*16]) for output blocks [fb, fb+nf) and stores
// them with the epilogue: runs of whole tiles straight into out, tiles cut by the image's edge
// through the staging tiles; then the activations the transform does not apply.
func (c *Conv) wino16cOutput(g *wino16cGeom, mbuf, out, bias, residual, stage []float32, tya, t0, t1, fb, nf int) {
	k := kern()
	OH, OW := c.OutH, c.OutW
	opl := OH * OW * BlockC
	var flags uint
	post := c.Act
	switch c.Act {
	case ActReLU:
		flags, post = epiReLU, ActNone
	case ActReLU6:
		flags, post = epiReLU6, ActNone
	}
	if residual != nil {
		flags |= epiRes
	}
	stOut, stRes := stage[:16*BlockC], stage[16*BlockC:32*BlockC]
	for f := range nf {
		b := fb + f
		bb := bias[b*BlockC : (b+1)*BlockC]
		for t := t0; t < t1; {
			ty, tx := tya+t/g.tw, t%g.tw
			run := min(t1-t, g.tw-tx) // tiles left in this tile row
			y0, x0 := ty*4, tx*4
			full := run
			if y0+4 > OH {
				full = 0
			} else if 4*(tx+run) > OW {
				full = run - 1
			}
			src := mbuf[f*g.mc*BlockC+(t-t0)*BlockC:]
			o := b*opl + (y0*OW+x0)*BlockC
			if full > 0 {
				var res []float32
				if residual != nil {
					res = residual[o:]
				}
				k.winoOut16c(out[o:], src, full, g.ms, OW*BlockC, flags, bb, res)
			}
			for e := full; e < run; e++ { // tiles cut by the image's edge
				ye, xe := y0, x0+4*e
				rows, cols := min(4, OH-ye), min(4, OW-xe)
				oe := b*opl + (ye*OW+xe)*BlockC
				if residual != nil {
					for r := range rows {
						copy(stRes[r*4*BlockC:r*4*BlockC+cols*BlockC], residual[oe+r*OW*BlockC:])
					}
				}
				k.winoOut16c(stOut, src[e*BlockC:], 1, g.ms, 4*BlockC, flags, bb, stRes)
				for r := range rows {
					copy(out[oe+r*OW*BlockC:oe+r*OW*BlockC+cols*BlockC], stOut[r*4*BlockC:])
				}
			}
			if post != ActNone {
				for r := y0; r < min(y0+4, OH); r++ {
					o := b*opl + (r*OW+x0)*BlockC
					apply(post, out[o:o+min(4*run, OW-x0)*BlockC])
				}
			}
			t += run
		}
	}
}

// f32WinoIn16cGo stores V = B^T d B (see f32WinoIn4x4Go, whose operations it performs on each
// of the 16 lanes) of n tiles of one channel block: tile k's 6x6 input vectors at
// src[k*64 + i*ldr + j*16 :][:16], position xi of tile k at dst[xi*ldd + k*16 :][:16].
func f32WinoIn16cGo(dst, src []float32, n, ldr, ldd int) {
	for k := range n {
		for l := range BlockC {
			var t [36]float32
			for i := range 6 {
				at := func(j int) float32 { return src[k*64+i*ldr+j*BlockC+l] }
				d0, d1, d2, d3, d4, d5 := at(0), at(1), at(2), at(3), at(4), at(5)
				h := t[i*6 : i*6+6]
				h[0] = 4*d0 - 5*d2 + d4
				h[1] = (d3 + d4) - 4*(d1+d2)
				h[2] = (d4 - d3) + 4*(d1-d2)
				h[3] = (d4 - d2) + 2*(d3-d1)
				h[4] = (d4 - d2) - 2*(d3-d1)
				h[5] = 4*d1 - 5*d3 + d5
			}
			o := k*BlockC + l
			for j := range 6 {
				d0, d1, d2, d3, d4, d5 := t[j], t[6+j], t[12+j], t[18+j], t[24+j], t[30+j]
				dst[j*ldd+o] = 4*d0 - 5*d2 + d4
				dst[(6+j)*ldd+o] = (d3 + d4) - 4*(d1+d2)
				dst[(12+j)*ldd+o] = (d4 - d3) + 4*(d1-d2)
				dst[(18+j)*ldd+o] = (d4 - d2) + 2*(d3-d1)
				dst[(24+j)*ldd+o] = (d4 - d2) - 2*(d3-d1)
				dst[(30+j)*ldd+o] = 4*d1 - 5*d3 + d5
			}
		}
	}
}

// f32WinoOutEpi16cGo computes Y = A^T M A (see f32WinoOutEpi4x4Go) of n tiles of one channel
// block, position xi of tile k at src[xi*ss + k*16 :][:16], and stores pixel (r, c) of tile k,
// (y + bias) (+ residual), then ReLU or ReLU6 as flags say (epiRes, epiReLU, epiReLU6), at
// dst[r*ldd + (4k+c)*16 :][:16] (res laid out as dst).
func f32WinoOutEpi16cGo(dst, src []float32, n, ss, ldd int, flags uint, bias, res []float32) {
	for k := range n {
		for l := range BlockC {
			var t [24]float32 // 4x6
			o := k*BlockC + l
			for j := range 6 {
				m0, m1, m2, m3, m4, m5 := src[j*ss+o], src[(6+j)*ss+o], src[(12+j)*ss+o], src[(18+j)*ss+o], src[(24+j)*ss+o], src[(30+j)*ss+o]
				s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
				t[j] = m0 + s12 + s34
				t[6+j] = d12 + 2*d34
				t[12+j] = s12 + 4*s34
				t[18+j] = d12 + 8*d34 + m5
			}
			for r := range 4 {
				q := t[r*6 : r*6+6]
				m0, m1, m2, m3, m4, m5 := q[0], q[1], q[2], q[3], q[4], q[5]
				s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
				y := [4]float32{m0 + s12 + s34, d12 + 2*d34, s12 + 4*s34, d12 + 8*d34 + m5}
				for cc, v := range y {
					at := r*ldd + (4*k+cc)*BlockC + l
					v += bias[l]
					if flags&epiRes != 0 {
						v += res[at]
					}
					switch {
					case flags&epiReLU6 != 0:
						v = min(max(v, 0), 6)
					case flags&epiReLU != 0:
						v = max(v, 0)
					}
					dst[at] = v
				}
			}
		}
	}
}

// wino16cWins reports whether Winograd beats the direct kernel on c: from 14x14 outputs up (9
// tiles and more). Measured (BenchmarkConvLayout, AVX-512, GFLOP/cpu-s of the direct
// convolution's flops, one run): at 7x7 (4 tiles for 49 outputs, 64 computed) ResNet-50's
// 512->512 ran 118-140 against the direct kernel's 141; at 14x14 its 256->256 ran 299 against
// 163, GoogLeNet's 112->224 325 against 180; 2.2-2.6x from 28x28 up.
func (c *Conv) wino16cWins() bool { return (c.OutH+3)/4*((c.OutW+3)/4) > 8 }
