package kernels

// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks") for
// 3x3, stride 1, dilation 1, ungrouped layers. F(m x m, 3x3) computes an m x m tile of output
// from an (m+2) x (m+2) tile of input with (m+2)^2 multiplies per channel pair instead of 9m^2:
// the input tile d is transformed to V = B^T d B, the kernel g to U = G g G^T (once, at Pack),
// and for each of the alpha^2 = (m+2)^2 positions xi the products over channels are one GEMM,
// M[xi] (OutC x tiles) = U[xi] (OutC x InC) * V[xi] (InC x tiles), run on the SGEMM micro-kernels.
// The output tile is Y = A^T M A.
//
// Tiles are processed in blocks of winoBlock(c) tiles (a multiple of every level's NR): the
// input transform of a block writes its V straight into packed-B panels (no B packing), then for
// a chunk of output-channel rows at a time the alpha^2 GEMMs accumulate into M (small enough to
// stay in cache) and the output transform adds bias and residual, applies the activation and
// writes the NCHW output. The tile of each output value and the sequence of operations that
// computes it do not depend on the block or chunk it falls in, so parts are bit-identical.

// winoVariant is one F(m x m, 3x3).
type winoVariant struct {
	m, alpha int
	// g is G (alpha x 3) in float64: U = G g G^T is computed in float64 and rounded once.
	g [][3]float64
	// in computes V = B^T d B for d, both alpha x alpha row-major; out computes the m x m
	// Y = A^T M A from M (alpha x alpha).
	in  func(d, v []float32)
	out func(mm, y []float32)
}

var (
	wino4 = winoVariant{m: 4, alpha: 6, g: [][3]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}, in: winoIn4, out: winoOut4}
	wino2 = winoVariant{m: 2, alpha: 4, g: [][3]float64{
		{1, 0, 0},
		{0.5, 0.5, 0.5},
		{0.5, -0.5, 0.5},
		{0, 0, 1},
	}, in: winoIn2, out: winoOut2}
)

func (a convAlgo) wino() *winoVariant {
	switch a {
	case algoWino4:
		return &wino4
	case algoWino2:
		return &wino2
	}
	return nil
}

// winoEligible: the shapes Winograd computes (any padding; the tiles read zeros outside).
func (c *Conv) winoEligible() bool {
	return c.KH == 3 && c.KW == 3 && c.StrideH == 1 && c.StrideW == 1 && c.DilH == 1 && c.DilW == 1 && c.Groups == 1
}

// winoTiles is the number of m x m output tiles (the last row and column of tiles may be ragged).
func (c *Conv) winoTiles(m int) (th, tw int) {
	return (c.OutH + m - 1) / m, (c.OutW + m - 1) / m
}

// winoNRMax is the largest NR of all levels: blocks are a multiple of it so that they are whole
// panels at every level.
var winoNRMax = maxShape(func(s gemmShape) int { return s.nr })

// winoBlock is the number of tiles per block: the block's transformed input (alpha^2 x InC x
// block) is kept near 1 MiB so that it stays in L2 while the GEMMs stream U past it; at least
// one NR panel of the widest level, at most the whole image.
func (c *Conv) winoBlock(v *winoVariant) int {
	th, tw := c.winoTiles(v.m)
	b := (1 << 18) / (v.alpha * v.alpha * c.InC) / winoNRMax * winoNRMax
	b = min(max(b, winoNRMax), 8*winoNRMax)
	return min(b, roundUp(th*tw, winoNRMax))
}

// winoRows is the output-channel chunk of one M accumulation: a multiple of MR near 32 rows, so
// that M (alpha^2 x rows x block) stays in L1/L2 between the GEMMs and the output transform.
func winoRows(s gemmShape) int { return roundUp(32, s.mr) }

// winoScratchLen is V (alpha^2 x InC x block) and M (alpha^2 x rows x block), the most any
// level needs.
func (c *Conv) winoScratchLen(v *winoVariant) int {
	a2, tb := v.alpha*v.alpha, c.winoBlock(v)
	rows := maxShape(func(s gemmShape) int { return min(roundUp(c.OutC, s.mr), winoRows(s)) })
	return a2*c.InC*tb + a2*rows*tb
}

// packWinograd transforms each kernel g ([OutC][InC][3][3]) to U = G g G^T and packs the
// OutC x InC matrix of each position xi with packA (xi after xi, groupLen apart).
func (cw *ConvWeights) packWinograd(im *gemmImpl, w []float32) {
	c, v := &cw.conv, cw.algo.wino()
	a := v.alpha
	a2 := a * a
	u := make([]float32, a2*c.OutC*c.InC) // [xi][o][i]
	for o := range c.OutC {
		for i := range c.InC {
			g := w[(o*c.InC+i)*9 : (o*c.InC+i)*9+9]
			var gg [8][3]float64 // G g
			for r := range a {
				for j := range 3 {
					gg[r][j] = v.g[r][0]*float64(g[j]) + v.g[r][1]*float64(g[3+j]) + v.g[r][2]*float64(g[6+j])
				}
			}
			for r := range a {
				for s := range a {
					x := gg[r][0]*v.g[s][0] + gg[r][1]*v.g[s][1] + gg[r][2]*v.g[s][2]
					u[((r*a+s)*c.OutC+o)*c.InC+i] = float32(x)
				}
			}
		}
	}
	cw.isa = im.isa
	cw.groupLen = packedALen(im, c.OutC, c.InC)
	cw.w = make([]float32, a2*cw.groupLen)
	for xi := range a2 {
		packA(im, cw.w[xi*cw.groupLen:(xi+1)*cw.groupLen], u[xi*c.OutC*c.InC:], c.InC, c.OutC, c.InC)
	}
}

// runWinograd is RunPart for the Winograd algorithms. The work is a grid of tile blocks x
// output-channel ranges (ranges only when there are fewer blocks than parts, as in the late
// layers of a network, whose few tiles would otherwise leave parts idle); a part takes a run of
// it in block-major order, so it transforms each of its blocks' input once.
func (c *Conv) runWinograd(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	im := runImpl(w.isa)
	v := w.algo.wino()
	th, tw := c.winoTiles(v.m)
	tiles := th * tw
	tb := c.winoBlock(v)
	blocks := (tiles + tb - 1) / tb
	splits := (parts + blocks - 1) / blocks
	rowPanels := (c.OutC + im.mr - 1) / im.mr
	splits = min(splits, rowPanels)
	units := blocks * splits
	u0, u1 := part*units/parts, (part+1)*units/parts
	a2 := v.alpha * v.alpha
	vbuf := scratch[:a2*c.InC*tb]
	mbuf := scratch[a2*c.InC*tb:]
	last := -1
	for u := u0; u < u1; u++ {
		blk, s := u/splits, u%splits
		t0 := blk * tb
		nt := min(tb, tiles-t0)
		if blk != last {
			c.winoInput(im, v, in, vbuf, t0, nt, tb)
			last = blk
		}
		r0, r1 := s*rowPanels/splits*im.mr, min(c.OutC, (s+1)*rowPanels/splits*im.mr)
		step := winoRows(im.gemmShape)
		for r := r0; r < r1; r += step {
			rows := min(step, r1-r)
			mm := mbuf[:a2*rows*tb]
			clear(mm)
			mpad := roundUp(c.OutC, im.mr)
			for xi := range a2 {
				ux := w.w[xi*w.groupLen : (xi+1)*w.groupLen]
				vx := vbuf[xi*c.InC*tb : (xi+1)*c.InC*tb]
				for pc := 0; pc < c.InC; pc += im.kc {
					kcb := min(im.kc, c.InC-pc)
					macroKernel(im, rows, nt, kcb, ux[pc*mpad+r*kcb:], vx[pc*tb:], mm[xi*tb:], a2*tb)
				}
			}
			c.winoOutput(v, mm, out, w.bias[r:r+rows], residual, r, rows, t0, nt, tb)
		}
	}
}

// winoInput writes V = B^T d B of tiles [t0, t0+nt) of every input channel into vbuf: for each
// position xi an InC x tb matrix in packed-B layout (KC-row blocks, each in NR-column panels,
// k-major). Columns nt..tb of the last panel are zeroed.
func (c *Conv) winoInput(im *gemmImpl, v *winoVariant, in, vbuf []float32, t0, nt, tb int) {
	m, a := v.m, v.alpha
	a2 := a * a
	H, W := c.InH, c.InW
	_, tw := c.winoTiles(m)
	nr, kc := im.nr, im.kc
	var d, tv [64]float32
	ntPad := roundUp(nt, nr)
	for ch := range c.InC {
		plane := in[ch*H*W : (ch+1)*H*W]
		pc := ch / kc * kc
		kcb := min(kc, c.InC-pc)
		base := pc*tb + (ch-pc)*nr // + xi*InC*tb + panel(t)*kcb + t%nr
		stride := c.InC * tb
		for tl := range nt {
			t := t0 + tl
			y0, x0 := t/tw*m-c.PadT, t%tw*m-c.PadL
			if y0 >= 0 && x0 >= 0 && y0+a <= H && x0+a <= W {
				for i := range a {
					copy(d[i*a:i*a+a], plane[(y0+i)*W+x0:])
				}
			} else {
				for i := range a {
					y := y0 + i
					for j := range a {
						x := x0 + j
						if y >= 0 && y < H && x >= 0 && x < W {
							d[i*a+j] = plane[y*W+x]
						} else {
							d[i*a+j] = 0
						}
					}
				}
			}
			v.in(d[:a2], tv[:a2])
			o := base + (tl&^(nr-1))*kcb + tl&(nr-1)
			for xi, x := range tv[:a2] {
				vbuf[o+xi*stride] = x
			}
		}
		for tl := nt; tl < ntPad; tl++ {
			o := base + (tl&^(nr-1))*kcb + tl&(nr-1)
			for xi := range a2 {
				vbuf[o+xi*stride] = 0
			}
		}
	}
}

// winoOutput transforms M (rows x [alpha^2][tb], for output channels [r0, r0+rows)) of tiles
// [t0, t0+nt) to output tiles, adds bias and residual, applies the activation and writes the
// output values that exist (the last tile row and column may be ragged).
func (c *Conv) winoOutput(v *winoVariant, mm, out, bias, residual []float32, r0, rows, t0, nt, tb int) {
	m, a := v.m, v.alpha
	a2 := a * a
	_, tw := c.winoTiles(m)
	OH, OW := c.OutH, c.OutW
	n := OH * OW
	relu := c.Act == ActReLU
	var mv [64]float32
	var y [16]float32
	for r := range rows {
		o := r0 + r
		plane := out[o*n : (o+1)*n]
		var res []float32
		if residual != nil {
			res = residual[o*n : (o+1)*n]
		}
		b := bias[r]
		src := mm[r*a2*tb:]
		// Tiles a run of one tile row at a time, so the activation is applied to whole row
		// segments.
		for tl := 0; tl < nt; {
			t := t0 + tl
			ty, tx := t/tw, t%tw
			run := min(tw-tx, nt-tl)
			for k := range run {
				for xi := range a2 {
					mv[xi] = src[xi*tb+tl+k]
				}
				v.out(mv[:a2], y[:m*m])
				yo, xo := ty*m, (tx+k)*m
				hh, ww := min(m, OH-yo), min(m, OW-xo)
				for i := range hh {
					row := (yo+i)*OW + xo
					dst := plane[row : row+ww]
					yy := y[i*m : i*m+ww]
					if res != nil {
						rr := res[row : row+ww]
						for j := range dst {
							dst[j] = yy[j] + b + rr[j]
						}
					} else {
						for j := range dst {
							dst[j] = yy[j] + b
						}
					}
					if relu {
						for j, x := range dst {
							dst[j] = max(x, 0)
						}
					}
				}
			}
			if !relu && c.Act != ActNone {
				xo0, xo1 := tx*m, min(OW, (tx+run)*m)
				for i := range min(m, OH-ty*m) {
					row := (ty*m + i) * OW
					Apply(c.Act, plane[row+xo0:row+xo1])
				}
			}
			tl += run
		}
	}
}

// winoIn4 is V = B^T d B for F(4x4, 3x3), d and v 6x6, with
//
//	B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
func winoIn4(d, v []float32) {
	d, v = d[:36], v[:36]
	var t [36]float32
	for j := range 6 {
		d0, d1, d2, d3, d4, d5 := d[j], d[6+j], d[12+j], d[18+j], d[24+j], d[30+j]
		t[j] = 4*d0 - 5*d2 + d4
		t[6+j] = (d3 + d4) - 4*(d1+d2)
		t[12+j] = (d4 - d3) + 4*(d1-d2)
		t[18+j] = (d4 - d2) + 2*(d3-d1)
		t[24+j] = (d4 - d2) - 2*(d3-d1)
		t[30+j] = 4*d1 - 5*d3 + d5
	}
	for i := range 6 {
		r := t[i*6 : i*6+6]
		d0, d1, d2, d3, d4, d5 := r[0], r[1], r[2], r[3], r[4], r[5]
		o := v[i*6 : i*6+6]
		o[0] = 4*d0 - 5*d2 + d4
		o[1] = (d3 + d4) - 4*(d1+d2)
		o[2] = (d4 - d3) + 4*(d1-d2)
		o[3] = (d4 - d2) + 2*(d3-d1)
		o[4] = (d4 - d2) - 2*(d3-d1)
		o[5] = 4*d1 - 5*d3 + d5
	}
}

// winoOut4 is Y = A^T M A for F(4x4, 3x3), M 6x6 and y 4x4, with
//
//	A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
func winoOut4(mm, y []float32) {
	mm, y = mm[:36], y[:16]
	var t [24]float32 // 4x6
	for j := range 6 {
		m0, m1, m2, m3, m4, m5 := mm[j], mm[6+j], mm[12+j], mm[18+j], mm[24+j], mm[30+j]
		s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
		t[j] = m0 + s12 + s34
		t[6+j] = d12 + 2*d34
		t[12+j] = s12 + 4*s34
		t[18+j] = d12 + 8*d34 + m5
	}
	for i := range 4 {
		r := t[i*6 : i*6+6]
		m0, m1, m2, m3, m4, m5 := r[0], r[1], r[2], r[3], r[4], r[5]
		s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
		o := y[i*4 : i*4+4]
		o[0] = m0 + s12 + s34
		o[1] = d12 + 2*d34
		o[2] = s12 + 4*s34
		o[3] = d12 + 8*d34 + m5
	}
}

// winoIn2 is V = B^T d B for F(2x2, 3x3), d and v 4x4, with
//
//	B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winoIn2(d, v []float32) {
	d, v = d[:16], v[:16]
	var t [16]float32
	for j := range 4 {
		d0, d1, d2, d3 := d[j], d[4+j], d[8+j], d[12+j]
		t[j] = d0 - d2
		t[4+j] = d1 + d2
		t[8+j] = d2 - d1
		t[12+j] = d1 - d3
	}
	for i := range 4 {
		r := t[i*4 : i*4+4]
		o := v[i*4 : i*4+4]
		o[0] = r[0] - r[2]
		o[1] = r[1] + r[2]
		o[2] = r[2] - r[1]
		o[3] = r[1] - r[3]
	}
}

// winoOut2 is Y = A^T M A for F(2x2, 3x3), M 4x4 and y 2x2, with A^T = [1 1 1 0; 0 1 -1 -1].
func winoOut2(mm, y []float32) {
	mm, y = mm[:16], y[:4]
	var t [8]float32
	for j := range 4 {
		m0, m1, m2, m3 := mm[j], mm[4+j], mm[8+j], mm[12+j]
		t[j] = m0 + m1 + m2
		t[4+j] = m1 - m2 - m3
	}
	for i := range 2 {
		r := t[i*4 : i*4+4]
		y[i*2] = r[0] + r[1] + r[2]
		y[i*2+1] = r[1] - r[2] - r[3]
	}
}

// winoAlgo chooses among F(4x4), F(2x2) and im2col for an eligible shape.
func (c *Conv) winoAlgo() convAlgo {
	n := roundUp(c.OutH*c.OutW, winoNRMax)
	t4h, t4w := c.winoTiles(4)
	t2h, t2w := c.winoTiles(2)
	c4 := 36 * roundUp(t4h*t4w, winoNRMax)
	c2 := 16 * roundUp(t2h*t2w, winoNRMax)
	ci := 9 * n
	switch {
	case c4 <= c2 && 2*c4 < ci:
		return algoWino4
	case 2*c2 < ci:
		return algoWino2
	}
	return algoIm2col
}
