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
}

var (
	wino4 = winoVariant{m: 4, alpha: 6, g: [][3]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}}
	wino2 = winoVariant{m: 2, alpha: 4, g: [][3]float64{
		{1, 0, 0},
		{0.5, 0.5, 0.5},
		{0.5, -0.5, 0.5},
		{0, 0, 1},
	}}
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
// block floats) is kept near 1 MiB (2^18 floats, this machine's L2) so that it stays in L2 while
// the GEMMs stream U past it; at least one NR panel of the widest level, at most 8 (256 tiles),
// and at most the whole image. Measured on 3x3 layers (64x56, 128x28, 256x14, 256x56; median of
// 3 alternating runs, both levels) against the alternatives: 2^19 floats lost 23-24% at AVX-512
// on 64x56 and 256x56, 2^17 lost 45% on 128x28, 4 or 16 panels at most lost 21-25% on 256x56;
// the others were within this VM's noise (10-15%).
func (c *Conv) winoBlock(v *winoVariant) int {
	th, tw := c.winoTiles(v.m)
	b := (1 << 18) / (v.alpha * v.alpha * c.InC) / winoNRMax * winoNRMax
	b = min(max(b, winoNRMax), 8*winoNRMax)
	return min(b, roundUp(th*tw, winoNRMax))
}

// winoRows is the output-channel chunk of one M accumulation: a multiple of MR near 32 rows, so
// that M (alpha^2 x rows x block: 36 x 32 x 32 floats = 144 KiB at F(4x4) and 32-tile blocks)
// stays in L2 between the GEMMs and the output transform. (Measured with winoBlock's
// alternatives: 64 rows lost 15-20% at AVX-512 on 64x56 and 256x14; 16 was within the noise.)
func winoRows(s gemmShape) int { return roundUp(32, s.mr) }

// winoVStride is the distance between the transformed inputs of two positions: InC x block plus a
// cache line (16 floats), so that the alpha^2 streams the input transform stores to (and the GEMMs read) do
// not all fall in one cache set when InC x block is a multiple of 4 KiB, as it mostly is.
func (c *Conv) winoVStride(v *winoVariant) int { return c.InC*c.winoBlock(v) + 16 }

// winoScratchLen is V (alpha^2 x InC x block), M (alpha^2 x rows x block, the most rows any
// level uses) and a vector past it (the output transform loads whole vectors), and the staging
// rows of the input transform.
func (c *Conv) winoScratchLen(v *winoVariant) int {
	a2, tb := v.alpha*v.alpha, c.winoBlock(v)
	rows := maxShape(func(s gemmShape) int { return min(roundUp(c.OutC, s.mr), winoRows(s)) })
	return a2*c.winoVStride(v) + a2*rows*tb + winoGroup + v.alpha*winoStageLd(v)
}

// packWinograd transforms each kernel g ([OutC][InC][3][3]) to U = G g G^T and packs the
// OutC x InC matrix of each position xi as packA would (xi after xi, groupLen apart), writing
// each value straight to its packed place rather than through a transformed copy of the weights.
func (cw *ConvWeights) packWinograd(im *gemmImpl, w []float32) {
	c, v := &cw.conv, cw.algo.wino()
	a := v.alpha
	a2 := a * a
	cw.isa = im.isa
	cw.groupLen = packedALen(im, c.OutC, c.InC)
	cw.w = allocPacked(a2 * cw.groupLen)
	cw.fillWinograd(im, w)
}

// fillWinograd writes the transformed weights into cw.w, packed as packWinograd laid it out
// (a training step repacks updated weights in place with it: the padding rows of the panels
// stay zero from the first packing).
func (cw *ConvWeights) fillWinograd(im *gemmImpl, w []float32) {
	c, v := &cw.conv, cw.algo.wino()
	a := v.alpha
	mr, mpad := im.mr, roundUp(c.OutC, im.mr)
	for o0 := 0; o0 < c.OutC; o0 += mr {
		for i := range c.InC {
			// packA's place of (o0, i): its KC block, then its MR-row panel, then its column.
			pc := i / im.kc * im.kc
			kcb := min(im.kc, c.InC-pc)
			at := pc*mpad + o0*kcb + (i-pc)*mr
			for o := o0; o < min(o0+mr, c.OutC); o++ {
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
						cw.w[(r*a+s)*cw.groupLen+at+o-o0] = float32(x)
					}
				}
			}
		}
	}
}

// runWinograd is RunPart for the Winograd algorithms. With more NR-tile panels than parts, a
// part takes a contiguous run of panels and works through it in blocks (the parts'
// shares then differ by at most a panel, where splitting whole blocks left one part with twice
// the work of the other in layers of two or three blocks). Otherwise the work is a grid of tile
// blocks x output-channel ranges, and a part takes a run of it in block-major order, so it
// transforms each of its blocks' input once. Every tile is computed alike in any of these
// arrangements: the results do not depend on parts.
func (c *Conv) runWinograd(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	im := runImpl(w.isa)
	v := w.algo.wino()
	th, tw := c.winoTiles(v.m)
	tiles := th * tw
	tb := c.winoBlock(v)
	rowPanels := (c.OutC + im.mr - 1) / im.mr
	a2 := v.alpha * v.alpha
	vs := c.winoVStride(v)
	vbuf := scratch[:a2*vs]
	mbuf := scratch[a2*vs : len(scratch)-v.alpha*winoStageLd(v)]
	stage := scratch[len(scratch)-v.alpha*winoStageLd(v):]
	x := winoXformFor(v, im.nr)
	// block computes output channels [r0, r1) of tiles [t0, t0+nt), transforming the input first
	// unless it already is (the same block as the previous call).
	last := -1
	block := func(t0, nt, r0, r1 int) {
		if t0 != last {
			c.winoInput(x, im, v, in, vbuf, stage, t0, nt, tb)
			last = t0
		}
		step := winoRows(im.gemmShape)
		mpad := roundUp(c.OutC, im.mr)
		for r := r0; r < r1; r += step {
			rows := min(step, r1-r)
			mm := mbuf[:a2*rows*tb]
			clear(mm)
			for xi := range a2 {
				ux := w.w[xi*w.groupLen : (xi+1)*w.groupLen]
				vx := vbuf[xi*vs : xi*vs+c.InC*tb]
				for pc := 0; pc < c.InC; pc += im.kc {
					kcb := min(im.kc, c.InC-pc)
					macroKernel(im, rows, nt, kcb, ux[pc*mpad+r*kcb:], vx[pc*tb:], mm[xi*rows*tb:], tb)
				}
			}
			c.winoOutput(x, v, mbuf, out, w.bias[r:r+rows], residual, r, rows, t0, nt, tb)
		}
	}
	// With a panel per part or fewer (the 14x14 layers), each part would stream all of U for a
	// panel's work: the parts share out output channels instead.
	if np := (tiles + winoNRMax - 1) / winoNRMax; np > parts || np == parts && rowPanels < 2*parts {
		t0, t1 := part*np/parts*winoNRMax, min(tiles, (part+1)*np/parts*winoNRMax)
		for t := t0; t < t1; t += tb {
			block(t, min(tb, t1-t), 0, c.OutC)
		}
		return
	}
	blocks := (tiles + tb - 1) / tb
	splits := min((parts+blocks-1)/blocks, rowPanels)
	units := blocks * splits
	for u := part * units / parts; u < (part+1)*units/parts; u++ {
		blk, s := u/splits, u%splits
		t0 := blk * tb
		block(t0, min(tb, tiles-t0), s*rowPanels/splits*im.mr, min(c.OutC, (s+1)*rowPanels/splits*im.mr))
	}
}

// winoXform is an implementation of a variant's transforms, on runs of up to g tiles of one tile
// row (the SIMD ones put one tile in each vector lane).
//
// in computes V = B^T d B of n tiles (1 <= n <= g) whose inputs start at src, src[m:], ...
// (rows ld apart; it may read src[(alpha-1)*ld : (alpha-1)*ld+g*m+4] and every row up to there)
// and stores position xi of tile k at dst[xi*ds+k].
//
// out computes Y = A^T M A of the tiles whose M values are at src[xi*ss+k] (it may read up to
// k = g-1), adds bias and, if res is not nil, res (laid out as dst), applies ReLU if relu, and
// stores rows x cols values at dst (rows ldd apart; tile k's columns are [m*k, m*k+m)).
type winoXform struct {
	g   int
	in  func(src []float32, ld int, dst []float32, ds, n int)
	out func(src []float32, ss int, dst []float32, ldd int, res []float32, bias float32, relu bool, rows, cols int)
}

// winoGroup is the most tiles of a transform call: the lanes of a zmm register.
const winoGroup = 16

// winoStageLd is the row length of the staging buffer the input transform copies a run's input
// to when the run touches the padding or the end of the input.
func winoStageLd(v *winoVariant) int { return winoGroup*v.m + 4 }

// winoXformFor returns the transforms for variant v on panels of nr columns: the active level's
// if their runs of tiles fit in a panel (a panel packed for AVX2 has 16 columns, for AVX-512 32),
// else the Go twins (the Generic level's).
func winoXformFor(v *winoVariant, nr int) *winoXform {
	k, x := kern(), &genericSet.wino4x4
	if v.m == 4 {
		if nr%k.wino4x4.g == 0 {
			x = &k.wino4x4
		}
	} else {
		x = &genericSet.wino2x2
		if nr%k.wino2x2.g == 0 {
			x = &k.wino2x2
		}
	}
	return x
}

// winoInput writes V = B^T d B of tiles [t0, t0+nt) of every input channel into vbuf: for each
// position xi (vs apart) an InC x tb matrix in packed-B layout (KC-row blocks, each in
// NR-column panels, k-major). Columns nt..tb of the last panel are zeroed. Runs never cross a
// tile row or a panel.
func (c *Conv) winoInput(x *winoXform, im *gemmImpl, v *winoVariant, in, vbuf, stage []float32, t0, nt, tb int) {
	m, a := v.m, v.alpha
	a2 := a * a
	H, W := c.InH, c.InW
	_, tw := c.winoTiles(m)
	nr, kc := im.nr, im.kc
	vs := c.winoVStride(v)
	sld := winoStageLd(v)
	ntPad := roundUp(nt, nr)
	for ch := range c.InC {
		plane := in[ch*H*W:] // to the end of in: the transforms may read past the run
		pc := ch / kc * kc
		kcb := min(kc, c.InC-pc)
		base := pc*tb + (ch-pc)*nr
		for tl := 0; tl < nt; {
			t := t0 + tl
			ty, tx := t/tw, t%tw
			n := min(x.g, tw-tx, nt-tl, nr-tl&(nr-1))
			y0, x0 := ty*m-c.PadT, tx*m-c.PadL
			o := base + (tl&^(nr-1))*kcb + tl&(nr-1)
			if y0 >= 0 && y0+a <= H && x0 >= 0 && x0+m*n+2 <= W && (y0+a-1)*W+x0+sld <= len(plane) {
				x.in(plane[y0*W+x0:], W, vbuf[o:], vs, n)
			} else {
				for i := range a {
					row := stage[i*sld : (i+1)*sld]
					clear(row)
					if y := y0 + i; y >= 0 && y < H {
						lo, hi := max(x0, 0), min(x0+sld, W)
						if lo < hi {
							copy(row[lo-x0:], plane[y*W+lo:y*W+hi])
						}
					}
				}
				x.in(stage, sld, vbuf[o:], vs, n)
			}
			tl += n
		}
		for tl := nt; tl < ntPad; tl++ {
			o := base + (tl&^(nr-1))*kcb + tl&(nr-1)
			for xi := range a2 {
				vbuf[o+xi*vs] = 0
			}
		}
	}
}

// winoOutput transforms M ([alpha^2][rows][tb], for output channels [r0, r0+rows), from mm,
// which extends winoGroup values past them) of tiles [t0, t0+nt) to output tiles, adds bias and
// residual, applies the activation and writes the output values that exist (the last tile row
// and column may be ragged).
func (c *Conv) winoOutput(x *winoXform, v *winoVariant, mm, out, bias, residual []float32, r0, rows, t0, nt, tb int) {
	m := v.m
	_, tw := c.winoTiles(m)
	OH, OW := c.OutH, c.OutW
	n := OH * OW
	relu := c.Act == ActReLU
	for r := range rows {
		o := r0 + r
		plane := out[o*n : (o+1)*n]
		var res []float32
		src := mm[r*tb:]
		for tl := 0; tl < nt; {
			t := t0 + tl
			ty, tx := t/tw, t%tw
			run := min(x.g, tw-tx, nt-tl)
			yo, xo := ty*m, tx*m
			hh, cols := min(m, OH-yo), min(m*run, OW-xo)
			if residual != nil {
				res = residual[o*n+yo*OW+xo:]
			}
			x.out(src[tl:], rows*tb, plane[yo*OW+xo:], OW, res, bias[r], relu, hh, cols)
			if !relu && c.Act != ActNone {
				for i := range hh {
					row := (yo+i)*OW + xo
					apply(c.Act, plane[row:row+cols])
				}
			}
			tl += run
		}
	}
}

// winoAlgo chooses among F(4x4), F(2x2) and im2col for an eligible shape, by the GEMM columns
// each computes (the GEMMs dominate once the transforms are vectorized): per input-output
// channel pair, im2col multiplies 9 x positions, F(4x4) 36 x its tiles and F(2x2) 16 x its
// tiles, each rounded up to the widest NR (32), as the micro-kernels compute whole panels; F(2x2)
// must save a third (its output costs 4 GEMM values per 2x2 instead of 36 per 4x4, and its
// weights are 16/9 as large). Measured single-threaded on the VGG and ResNet layers (OutC = InC,
// ReLU), ms, median of two alternating runs on a shared 2-core AMD EPYC (Zen 4):
//
//	                   AVX-512                     AVX2
//	               im2col  F(4x4)  F(2x2)    im2col  F(4x4)  F(2x2)
//	VGG 64@224      32.0    10.6    19.4      47.4    17.5    24.8
//	VGG 128@112     26.5     8.2    13.8      46.5    12.5    22.6
//	VGG 256@56      20.9     7.0    10.3      38.5    11.8    19.7
//	VGG 512@28      20.9     8.4    12.3      40.5    17.9    21.7
//	VGG 512@14       6.2     5.1     3.6      10.7     4.6     7.6
//	ResNet 64@56     2.4     0.65    1.2       3.2     1.1     1.9
//	ResNet 128@28    1.7     0.64    0.86      3.1     1.2     1.4
//	ResNet 256@14    1.7     1.1     0.87      2.9     0.98    1.6
//	ResNet 512@7     2.3     4.1     1.7       3.8     4.6     1.8
//
// (the Go level: F(4x4) 3-3.5x faster than im2col everywhere). So F(4x4) from 28x28 up (2.5-3.5x
// over im2col), F(2x2) at 14x14 (F(4x4) has 16 tiles there: half an AVX-512 panel; F(4x4) would
// win at AVX2 by a third), im2col at 7x7: F(2x2) is 1.2x faster there with AVX-512 (2x with
// AVX2) but would add 16/9 of ResNet-50's largest weights (+15 MB) for 1% of its time.
func (c *Conv) winoAlgo() convAlgo {
	t4h, t4w := c.winoTiles(4)
	t2h, t2w := c.winoTiles(2)
	c4 := 36 * roundUp(t4h*t4w, winoNRMax)
	c2 := 16 * roundUp(t2h*t2w, winoNRMax)
	ci := 9 * roundUp(c.OutH*c.OutW, winoNRMax)
	switch {
	case c4 <= c2 && c4 < ci:
		return algoWino4
	case c2 < c4 && 3*c2 < 2*ci:
		return algoWino2
	}
	return algoIm2col
}
