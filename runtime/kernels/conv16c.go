package kernels

import "fmt"

// Convolutions of NCHW16c feature maps (Conv.Layout == NCHW16c), in the style of ONNX Runtime's
// MLAS NCHWc kernels: no im2col and no packing of activations. The ungrouped convolutions of every
// kernel size run on one direct micro-kernel (f32Conv16cEpi<p>x<16f><ISA>): for up to p output
// pixels of one output row and up to f output channel blocks of 16, p*f vector accumulators sum,
// over a chunk of input channel blocks, the kernel's taps and the 16 channels of each block, the
// broadcast input value times the weight vector of the 16 output channels; each call adds its
// chunk to the output (or starts it from the bias and residual, or ends it with ReLU), and the
// output stays in cache between the chunks of one band of rows. The chunks keep a call's weights
// (f*chunk*KH*KW*256 floats) within L1.
//
// A 1x1 stride-1 convolution without padding (pointwise) reads its input as one row of
// OutH*OutW pixels. Vertical padding shortens the kernel rows a call sums; horizontal padding (or a
// kernel running past the right edge) is read from a copy of the band's input rows framed by zero
// columns, in the scratch, so that every call computes whole tiles of pixels: a row of 7 pixels of
// a 3x3 layer is one call rather than a call for the 5 inner pixels and one for each edge.
//
// Depthwise convolutions (dwconv16c.go) run on a kernel of their own, 16 channels a vector; the
// 1x1 convolutions of a 1x1 image on Linear's GEMV (the blocked [C 1 1] is the [C] vector, padded).
// Grouped convolutions (ResNeXt, RegNet, AlexNet 2012) run on the direct kernel as super-groups
// (groups16c): a group whose channels fill whole blocks is a dense convolution of its blocks; groups
// of 1, 2, 4 or 8 channels in and out share a block with their neighbours, each block a dense
// 16->16 convolution whose weights are block-diagonal (zero between groups). That does 16/cpg times
// the MACs, on a kernel near the FMA peak: NCHW's GEMM per group of 4 or 8 output channels filled a
// 6- or 16-row tile as poorly, and paid two reorders.
//
// Weights are packed [OutC/16][IBg][KH][KW][16 in][16 out], IBg = the super-group's input blocks
// (InC/16 for one group), with zeros for the padding channels and between groups, the same at
// every level (the kernels' tiles differ, not the layout).

// conv16cImpl is a level's direct blocked micro-kernel and its tile: tile computes up to f
// output channel blocks of up to p[nf] pixels when it computes nf blocks
// (f32Conv16cEpi<p[f]>x<16f><ISA>, see f32Conv16cGo).
type conv16cImpl struct {
	p    [5]int
	f    int
	tile conv16cTile
}

type conv16cTile = func(dst, src, w []float32, n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo int, flags uint, bias, res []float32)

// conv16cChunk is the most input channel blocks one call of the direct kernel sums: its weights,
// f*chunk*KH*KW*256 floats, within 32K floats (128 KiB, L2) for the widest tile of 4 blocks (at
// least one block: a 5x5 chunk is 100 KiB, a 7x7 one 196 KiB). Each chunk reads and writes the
// output tile once more. Measured against 8K floats (a chunk in L1; 3 against 1 block of 3x3
// layers, 32 against 8 of pointwise ones): 3-5% faster on ResNet-50's and VGG's layers; 64K
// floats was no faster.
//
// Layers of at most 64 output pixels (7x7) take chunks of 8K floats (32 KiB, in L1): their few
// tiles read a chunk's weights over and over, and L1 serves them faster than L2. Measured
// (BenchmarkConvLayout, AVX-512, GFLOP/cpu-s, 2 runs, 32K -> 8K): ResNet-50's 2048->512
// 129/147 -> 156/161, 512->2048 134/148 -> 153/155, 3x3 512 146/162 -> 172/159, GoogLeNet's
// 832->384 152/168 -> 163/167, EfficientNet's 1152->320 160/163 -> 162/160; the 14x14 layers
// within 5% either way, AVX2 within 5% at 7x7.
func (c *Conv) conv16cChunk() int {
	if c.OutH*c.OutW <= 64 {
		return max(1, 8192/(4*c.KH*c.KW*256))
	}
	return max(1, 32768/(4*c.KH*c.KW*256))
}

// conv16cBandFloats is about the most input floats one band of rows reads (its copy, when it has
// one, is in the scratch): 128K floats, 512 KiB, half this machine's L2, so that the band stays
// there while its tiles are computed chunk after chunk (the output band with it); each band
// streams all the weights again. Measured against 32K floats: ResNet-50's 2048->512 pointwise
// layer on 7x7 ran 104 against 152 GFLOP/s (4 bands of its 49 pixels, each streaming 4 MB of
// weights, against 1), the others within 5%; 512K floats was no faster.
const conv16cBandFloats = 128 << 10

// geom16c is how a blocked convolution walks its output: rows of cols pixels (a pointwise
// convolution is one row of OutH*OutW pixels), in bands of bandRows rows, reading the input
// directly or (band) through a zero-framed copy of each band's input rows, wp pixels wide.
type geom16c struct {
	rows, cols int
	flat       bool // pointwise: one row of all pixels
	gather     bool // a strided 1x1 convolution: flat over its input pixels gathered into the scratch
	band       bool
	wp         int // width of the band copy (band) or of the input
	bandRows   int // output rows per band
	inRows     int // the most input rows a band reads
	planes     int // channel blocks the band copy holds (all of the input's, or 1 for depthwise)
}

func (c *Conv) geom16c() geom16c {
	g := geom16c{rows: c.OutH, cols: c.OutW, planes: blocks(c.InC)}
	if c.algo() == algoDW16c {
		g.planes = 1
	}
	if c.KH == 1 && c.KW == 1 && c.PadT == 0 && c.PadL == 0 {
		// A strided one with short rows (ResNet's downsampling to 14x14 and 7x7) reads a copy
		// of the pixels it reads, so that its tiles run over all its pixels rather than along
		// rows of 7 or 14: measured (BenchmarkConvLayout, AVX-512, GFLOP/cpu-s, 2 runs) 512->1024
		// to 14x14 139 -> 162, 1024->2048 to 7x7 115 -> 146; to 28x28 (256->512) the copy lost
		// 5% (166 -> 158), its rows filling the tiles already.
		strided := c.StrideH != 1 || c.StrideW != 1 || c.OutH != c.InH || c.OutW != c.InW
		if !strided || c.OutW < 28 && c.algo() == algoDirect16c {
			g.rows, g.cols, g.flat, g.gather = 1, c.OutH*c.OutW, true, strided
		}
	}
	reach := (c.OutW-1)*c.StrideW + (c.KW-1)*c.DilW + 1 // input columns the output rows' windows span
	g.band = !g.flat && (c.PadL > 0 || reach > c.InW)
	g.wp = c.InW
	if g.band {
		g.wp = reach
	}
	perRow := g.planes * c.StrideH * g.wp * BlockC
	g.bandRows = min(g.rows, max(1, conv16cBandFloats/perRow))
	g.inRows = min(c.InH, (g.bandRows-1)*c.StrideH+(c.KH-1)*c.DilH+1)
	if g.flat {
		g.inRows = 1
	}
	return g
}

// scratch16c is the scratch of a blocked convolution: the band copy, if it has one, or the
// gathered pixels.
func (c *Conv) scratch16c() int {
	switch c.algo() {
	case algoGemv:
		return 0
	case algoWino16c:
		return c.wino16cScratch()
	}
	g := c.geom16c()
	if g.gather {
		return blocks(c.InC) * c.OutH * c.OutW * BlockC
	}
	if !g.band {
		return 0
	}
	return g.planes * g.inRows * g.wp * BlockC
}

// validate16c checks what NCHW16c adds to Validate: groups BlockedGroups takes.
func (c *Conv) validate16c() error {
	if !BlockedGroups(c.InC, c.OutC, c.Groups) {
		return fmt.Errorf("kernels: conv %v: layout %v takes one group, depthwise convolutions, groups of whole blocks, or groups of 1, 2, 4 or 8 channels in and out", *c, c.Layout)
	}
	return nil
}

// BlockedGroups reports whether NCHW16c runs a convolution of inC to outC channels in groups:
// one group, depthwise, groups whose input and output channels fill whole blocks, or groups of
// the same 1, 2, 4 or 8 channels in and out (several to a block).
func BlockedGroups(inC, outC, groups int) bool {
	if groups == 1 || groups == inC && groups == outC {
		return true
	}
	if groups < 1 || inC%groups != 0 || outC%groups != 0 {
		return false
	}
	cg, og := inC/groups, outC/groups
	return cg%BlockC == 0 && og%BlockC == 0 || cg == og && BlockC%cg == 0
}

// groups16c is how the direct kernel sees a blocked convolution's groups: sg super-groups, each
// a dense convolution of ibg input blocks to obg output blocks (the input blocks of super-group
// i are [i*ibg, (i+1)*ibg)). One group is one super-group; groups of whole blocks are theirs;
// groups of fewer than 16 channels make one super-group per block.
func (c *Conv) groups16c() (sg, ibg, obg int) {
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	switch {
	case c.Groups == 1:
		return 1, blocks(c.InC), blocks(c.OutC)
	case cg%BlockC == 0 && og%BlockC == 0:
		return c.Groups, cg / BlockC, og / BlockC
	}
	return blocks(c.OutC), 1, 1
}

// algo16c chooses the algorithm of a blocked convolution.
func (c *Conv) algo16c() convAlgo {
	switch {
	case c.Groups == c.InC && c.Groups == c.OutC && c.Groups > 1:
		return algoDW16c
	case c.Groups == 1 && c.KH == 1 && c.KW == 1 && c.InH == 1 && c.InW == 1 && c.OutH == 1 && c.OutW == 1 && c.PadT == 0 && c.PadL == 0:
		return algoGemv
	case c.wino16cEligible() && c.wino16cWins():
		return algoWino16c
	}
	return algoDirect16c
}

// pack16c packs PyTorch's weights w for the blocked algorithms (see the file comment; depthwise:
// [C/16][KH][KW][16]) and pads the bias to whole blocks.
func (cw *ConvWeights) pack16c(w, bias []float32) {
	c := &cw.conv
	ob, kk := blocks(c.OutC), c.KH*c.KW
	cw.bias = make([]float32, ob*BlockC)
	copy(cw.bias, bias)
	if cw.algo == algoWino16c {
		cw.packWino16c(w)
		return
	}
	if cw.algo == algoDW16c {
		cw.w = allocPacked(ob * kk * BlockC)
		for ch := range c.OutC {
			for t := range kk {
				cw.w[((ch/BlockC)*kk+t)*BlockC+ch%BlockC] = w[ch*kk+t]
			}
		}
		return
	}
	_, ibg, obg := c.groups16c()
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	cw.w = allocPacked(ob * ibg * kk * BlockC * BlockC)
	for o := range c.OutC {
		i0 := o / og * cg            // the group's first input channel
		b0 := o / BlockC / obg * ibg // its super-group's first input block
		for i := i0; i < i0+cg; i++ {
			at := ((o/BlockC*ibg+i/BlockC-b0)*kk)*BlockC*BlockC + i%BlockC*BlockC + o%BlockC
			for t, v := range w[(o*cg+i-i0)*kk : (o*cg+i-i0+1)*kk] {
				cw.w[at+t*BlockC*BlockC] = v
			}
		}
	}
}

// run16c is RunPart for the blocked layout.
func (c *Conv) run16c(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	switch w.algo {
	case algoGemv:
		c.runGemv16c(part, parts, in, out, w, residual)
	case algoDW16c:
		c.runDW16c(part, parts, in, out, w, residual, scratch, nil)
	case algoWino16c:
		c.runWino16c(part, parts, in, out, w, residual, scratch)
	default:
		c.runDirect16c(part, parts, in, out, w, residual, scratch)
	}
}

// runGemv16c is runGemv on the blocked vectors (the [C] vector and its padding lanes), then the
// output's padding lanes zeroed by the part that computes the last block.
func (c *Conv) runGemv16c(part, parts int, in, out []float32, w *ConvWeights, residual []float32) {
	c.runGemv(part, parts, in[:c.InC], out[:c.OutC], w, residual)
	if blocks := (c.OutC + 15) / 16; (part+1)*blocks/parts == blocks {
		clear(out[c.OutC:])
	}
}

// tileBlocks is how many output blocks the tiles of rows of cols pixels compute: the kernel's
// widest unless one block fewer fills over 10% more accumulators on average (rows of 7 and 14
// at AVX-512: 3 blocks of 7 pixels, 21 accumulators, against tiles of 4 and 3 pixels of 4
// blocks, 14 on average, or of 5 and 4, 18.7). Measured (BenchmarkConvLayout, GFLOP/cpu-s, 2
// runs): ResNet-50's 3x3 512->512 at 7x7 154/153 -> 160/169, its stride-2 one to 7x7 152/141 ->
// 163/155; its stem's rows of 112 (3 blocks of 8 fill 24 against 23.6) lost 5-9%, hence the margin.
func (k *conv16cImpl) tileBlocks(cols int) int {
	fill := func(nf int) int { return cols * nf * 100 / ((cols + k.p[nf] - 1) / k.p[nf]) }
	if k.f > 1 && fill(k.f-1) > fill(k.f)*11/10 {
		return k.f - 1
	}
	return k.f
}

// split is a part's share of a blocked convolution's output: groups [g0, g1) of output channel
// blocks (groups of at most f blocks, their sizes balanced: see group) of rows [y0, y1), pixels
// [x0, x1) of each. The parts take whole groups when there are enough to share out evenly (the
// deep layers), else runs of rows (of pixels, when the output is one row), so that no part
// idles; every output value is computed by the same operations whatever the split, so the
// parts' results are Run's bit for bit.
func (g *geom16c) split(part, parts, groups, p int) (g0, g1, y0, y1, x0, x1 int) {
	g0, g1, y0, y1, x0, x1 = 0, groups, 0, g.rows, 0, g.cols
	if parts == 1 {
		return
	}
	switch {
	case groups%parts == 0 || groups >= 4*parts:
		g0, g1 = part*groups/parts, (part+1)*groups/parts
	case g.rows >= parts:
		y0, y1 = part*g.rows/parts, (part+1)*g.rows/parts
	default:
		tiles := (g.cols + p - 1) / p
		x0, x1 = min(g.cols, part*tiles/parts*p), min(g.cols, (part+1)*tiles/parts*p)
	}
	return
}

// group returns the blocks [b, b+n) of group i of the ob output channel blocks in groups
// groups: sizes differing by one at most (5 blocks in tiles of 4 are 3 + 2, not 4 + 1, whose
// single block would run at half the rate).
func group(i, groups, ob int) (b, n int) {
	b = i * ob / groups
	return b, (i+1)*ob/groups - b
}

// src16c is where a blocked convolution reads its input: the input itself, or a band copy.
type src16c struct {
	buf      []float32
	ldcb     int // floats from one channel block to the next
	ldrow    int // floats from one input row to the next
	row0     int // the input row at buf's row 0
	colShift int // band: the copy's column of input column 0 (PadL)
}

// input16c returns the view of the input rows that output rows [ya, yb) read, copying them
// into the scratch with their zero frame (planes [p0, p0+g.planes)) when the geometry has a band.
func (c *Conv) input16c(g *geom16c, in, scratch []float32, p0, ya, yb int) src16c {
	H, W := c.InH, c.InW
	if g.gather {
		return src16c{buf: in, ldcb: c.OutH * c.OutW * BlockC}
	}
	if !g.band {
		return src16c{buf: in, ldcb: H * W * BlockC, ldrow: W * BlockC}
	}
	r0 := max(0, ya*c.StrideH-c.PadT)
	r1 := min(H, (yb-1)*c.StrideH-c.PadT+(c.KH-1)*c.DilH+1)
	s := src16c{buf: scratch, ldcb: g.inRows * g.wp * BlockC, ldrow: g.wp * BlockC, row0: r0, colShift: c.PadL}
	if r0 >= r1 {
		return s
	}
	lo, hi := c.PadL, min(g.wp, c.PadL+W) // the copy's columns that hold input
	for b := range g.planes {
		for r := r0; r < r1; r++ {
			dst := scratch[b*s.ldcb+(r-r0)*s.ldrow : b*s.ldcb+(r-r0+1)*s.ldrow]
			clear(dst[:lo*BlockC])
			if hi > lo {
				src := in[((p0+b)*H+r)*W*BlockC:]
				copy(dst[lo*BlockC:hi*BlockC], src[:(hi-lo)*BlockC])
			}
			clear(dst[max(hi, lo)*BlockC:])
		}
	}
	return s
}

// gather16c copies the input pixels a strided 1x1 convolution reads into dst, as the
// [InC/16][OutH][OutW][16] input of a pointwise one, and returns that part of dst.
func (c *Conv) gather16c(dst, in []float32) []float32 {
	n := blocks(c.InC) * c.OutH * c.OutW * BlockC
	dst = dst[:n]
	for b := range blocks(c.InC) {
		for y := range c.OutH {
			d := dst[(b*c.OutH+y)*c.OutW*BlockC:]
			s := in[(b*c.InH+y*c.StrideH)*c.InW*BlockC:]
			for x := range c.OutW {
				copy(d[x*BlockC:(x+1)*BlockC], s[x*c.StrideW*BlockC:])
			}
		}
	}
	return dst
}

// at is the offset in s.buf of input row iy, column ix, channel block cb (ix may be in the
// zero frame).
func (s *src16c) at(cb, iy, ix int) int {
	return cb*s.ldcb + (iy-s.row0)*s.ldrow + (ix+s.colShift)*BlockC
}

// rowTaps returns the kernel rows [i0, i1) of output row y that read inside the input ([0, 0)
// if none does).
func (c *Conv) rowTaps(y int) (int, int) {
	i0, i1 := taps(y*c.StrideH-c.PadT, c.KH, c.DilH, c.InH)
	if i0 >= i1 {
		return 0, 0
	}
	return i0, i1
}

// runDirect16c computes a part of a blocked convolution on the direct kernel: band after band,
// tile group after tile group, chunk after chunk of input blocks, each chunk over the band's rows
// and their tiles of pixels; then the activations that do not run in the kernel over the band.
func (c *Conv) runDirect16c(part, parts int, in, out []float32, w *ConvWeights, residual, scratch []float32) {
	k := kern().conv16c
	g := c.geom16c()
	ib := blocks(c.InC)
	sgs, ibg, obg := c.groups16c()
	f := k.tileBlocks(g.cols)
	gps := (obg + f - 1) / f // tile groups per super-group
	groups := sgs * gps
	g0, g1, y0, y1, x0, x1 := g.split(part, parts, groups, k.p[f])
	if parts > 1 && g.flat && !g.gather && sgs == 1 && obg*BlockC < g.cols {
		// A pointwise convolution whose weights are smaller than its input: runs of pixels, so
		// that each part reads half of the input (half of which the other core wrote) and all
		// the weights, rather than all of the input and half the weights.
		p := k.p[f]
		tiles := (g.cols + p - 1) / p
		g0, g1, x0, x1 = 0, groups, min(g.cols, part*tiles/parts*p), min(g.cols, (part+1)*tiles/parts*p)
	}
	// Groups split unevenly between the parts (11 groups of 3 blocks or 2 for ResNet's 512
	// channels at 7x7: 15 and 17 blocks) share the blocks instead, each part grouping its own.
	pb0, pn := 0, 0
	if parts > 1 && sgs == 1 && groups%parts != 0 && groups >= 4*parts && g1-g0 < groups {
		pb0, pn = part*obg/parts, (part+1)*obg/parts-part*obg/parts
		g0, g1 = 0, (pn+f-1)/f
	}
	if g0 >= g1 || y0 >= y1 || x0 >= x1 {
		return
	}
	kk := c.KH * c.KW
	opl := c.OutH * c.OutW * BlockC // an output block plane
	ldwc := kk * BlockC * BlockC
	ldf := ibg * ldwc
	chunk := c.conv16cChunk()
	cl := c.InC - (ib-1)*BlockC // channels of the last input block
	ldp, ldk := c.StrideW*BlockC, c.DilW*BlockC
	if g.flat {
		ldp, ldk = BlockC, BlockC
	}
	var epi uint
	switch c.Act {
	case ActReLU:
		epi = epiReLU
	case ActReLU6:
		epi = epiReLU6
	}
	// A band is rows [ya, yb), pixels [xa, xb) of each: a pointwise convolution's one row goes
	// in runs of whole tiles whose input fits the band's budget.
	xstep := x1 - x0
	if g.flat {
		xstep = max(1, conv16cBandFloats/(ib*BlockC)/k.p[f]) * k.p[f]
	}
	if g.gather {
		in = c.gather16c(scratch, in)
	}
	for band := 0; ; band++ {
		ya, yb, xa, xb := y0+band*g.bandRows, min(y1, y0+(band+1)*g.bandRows), x0, x1
		if g.flat {
			ya, yb, xa, xb = y0, y1, x0+band*xstep, min(x1, x0+(band+1)*xstep)
		}
		if ya >= y1 || xa >= x1 {
			break
		}
		s := c.input16c(&g, in, scratch, 0, ya, yb)
		ldr := c.DilH * s.ldrow
		for gi := g0; gi < g1; gi++ {
			sg := gi / gps
			fb, nf := group(gi%gps, gps, obg)
			fb += sg * obg
			if pn > 0 {
				fb, nf = group(gi, g1, pn)
				fb += pb0
			}
			ib0 := sg * ibg // the super-group's first input block
			// The band's rows in balanced tiles of at most p[nf] pixels.
			tiles := (xb - xa + k.p[nf] - 1) / k.p[nf]
			for cb := 0; cb < ibg; cb += chunk {
				icb := min(chunk, ibg-cb)
				var flags uint
				if cb == 0 {
					flags = epiInit
					if residual != nil {
						flags |= epiRes
					}
				}
				if cb+icb == ibg {
					flags |= epi
				}
				ccl := BlockC
				if ib0+cb+icb == ib {
					ccl = cl
				}
				for y := ya; y < yb; y++ {
					i0, i1 := 0, 1
					iy := 0
					if !g.flat {
						i0, i1 = c.rowTaps(y)
						iy = y*c.StrideH - c.PadT + i0*c.DilH
					}
					wo := (fb*ibg+cb)*ldwc + i0*c.KW*BlockC*BlockC
					for t := range tiles {
						x, n := xa+t*(xb-xa)/tiles, xa+(t+1)*(xb-xa)/tiles
						n -= x
						o := fb*opl + (y*g.cols+x)*BlockC
						d := out[o : o+(nf-1)*opl+n*BlockC]
						var res []float32
						if flags&epiRes != 0 {
							res = residual[o : o+len(d)]
						}
						var src []float32
						if i1 > i0 {
							so := s.at(ib0+cb, iy, x*ldp/BlockC-c.PadL)
							if g.flat {
								so = s.at(ib0+cb, 0, x)
							}
							src = s.buf[so:]
						}
						k.tile(d, src, w.w[wo:], n, nf, icb, i1-i0, c.KW, ccl, ldp, ldk, ldr, s.ldcb, ldf, ldwc, opl, flags,
							w.bias[fb*BlockC:(fb+nf)*BlockC], res)
					}
				}
			}
			if epi == 0 && c.Act != ActNone {
				for b := fb; b < fb+nf; b++ {
					for y := ya; y < yb; y++ {
						o := b*opl + y*g.cols*BlockC
						apply(c.Act, out[o+xa*BlockC:o+xb*BlockC])
					}
				}
			}
		}
	}
}
