package kernels

import "fmt"

// The gradients of a convolution over a batch, for training.
//
// Weight gradients are sums over the batch's output positions p: dW[o][t] = sum_p dY[o][p] *
// X(p, t), X(p, t) the input value tap t reads at p. As a GEMM its sum runs along positions,
// which are the contiguous dimension of NCHW activations; the micro-kernels read their operands
// along the sum, so packing NCHW operands would transpose every value one by one (im2col's
// matrix is K times larger than the input). Instead the input and dY are transposed once to
// channels-last ([p][c]), where the operands' panels are runs of consecutive channels:
// dW' (OG x K') = dYt^T (OG x P) * patches (P x K'), with the taps in (kernel row, kernel column,
// channel) order (K' = KH*KW*CG), permuted back to PyTorch's [o][c][i][j] at the end.
//
// Input gradients of stride-1 convolutions are the convolution of dY by the flipped, transposed
// kernel (TransposedConv): the forward kernels compute them (Winograd, the direct and
// depthwise kernels), accumulating into dX through their residual. Strided convolutions take
// dcolsT (P x K') = dY^T (P x OG) * W' (OG x K') by the GEMM, scattered back to a channels-last
// dX (col2im: each position's patch gradient added to the inputs it read, runs of channels),
// then transposed to NCHW.

// ToChannelsLast writes the [c][hw] plane stack x as [hw][c] into dst.
func ToChannelsLast(dst, x []float32, c, hw int) { transpose(dst, x, c, hw, false) }

// FromChannelsLast writes the [hw][c] stack src as [c][hw] into dst, or adds it to dst when acc.
func FromChannelsLast(dst, src []float32, c, hw int, acc bool) { transpose(dst, src, hw, c, acc) }

// transpose writes the rows x cols matrix src transposed into dst, or adds it when acc, in
// 8 x 8 blocks: each reads 8 runs of 8 values and writes 8 runs of 8, all within a few cache
// lines. When setting, the level's transpose8 does the whole blocks a column of blocks at a
// time: the 8 rows of dst it writes are whole lines, and the 8-value runs it reads share their
// lines with the next column's, still in L1 (row strips across a plane wrote 32 bytes of every
// line of dst per pass, and ran no faster in vectors than in Go).
func transpose(dst, src []float32, rows, cols int, acc bool) {
	src, dst = src[:rows*cols], dst[:rows*cols]
	const b = 8
	fullR := rows / b * b
	if !acc && fullR > 0 {
		t8 := kern().transpose8
		for c0 := 0; c0+b <= cols; c0 += b {
			t8(dst[c0*rows:], src[c0:], cols, rows, fullR/b, b*cols, b)
		}
	}
	for r0 := 0; r0 < rows; r0 += b {
		r1 := min(r0+b, rows)
		for c0 := 0; c0 < cols; c0 += b {
			c1 := min(c0+b, cols)
			if r1-r0 == b && c1-c0 == b {
				if !acc {
					continue // transpose8's
				}
				var in [b]*[b]float32
				for r := range b {
					in[r] = (*[b]float32)(src[(r0+r)*cols+c0:])
				}
				for c := range b {
					d := (*[b]float32)(dst[(c0+c)*rows+r0:])
					d[0], d[1], d[2], d[3] = d[0]+in[0][c], d[1]+in[1][c], d[2]+in[2][c], d[3]+in[3][c]
					d[4], d[5], d[6], d[7] = d[4]+in[4][c], d[5]+in[5][c], d[6]+in[6][c], d[7]+in[7][c]
				}
				continue
			}
			for r := r0; r < r1; r++ {
				for c := c0; c < c1; c++ {
					if acc {
						dst[c*rows+r] += src[r*cols+c]
					} else {
						dst[c*rows+r] = src[r*cols+c]
					}
				}
			}
		}
	}
}

// GradTaps is K' = KH*KW*InC/Groups: the columns of a group's weight gradient and of its input
// gradient's patches, in (kernel row, kernel column, channel) order.
func (c *Conv) GradTaps() int { return c.KH * c.KW * (c.InC / c.Groups) }

// WeightGradGemm computes columns [j0, j1) of group g's weight gradient dwp (OG x GradTaps(),
// taps in (row, column, channel) order; PermuteWeightGrad puts it in PyTorch's order) from n
// images: dyt holds their output gradients channels-last ([n][OutH*OutW][OutC]) and xt their
// inputs ([n][InH*InW][InC]). Parts split by columns compute what the whole does, bit for bit.
// scratch holds GemmScratchLen values. It does not allocate.
func (c *Conv) WeightGradGemm(g int, dwp, dyt, xt []float32, n, j0, j1 int, scratch []float32) {
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	kt, p := c.GradTaps(), n*c.OutH*c.OutW
	if len(dyt) < p*c.OutC || len(xt) < n*c.InH*c.InW*c.InC || len(dwp) < og*kt || g < 0 || g >= c.Groups {
		panic(fmt.Sprintf("kernels: Conv.WeightGradGemm: slice too short or group %d out of range", g))
	}
	src := patchSource{c: c, xt: xt, ch0: g * cg}
	a := aOperand{kind: opTrans, data: dyt[g*og:], ld: c.OutC}
	b := bOperand{kind: opPatches, patch: src}
	gemmDrive(activeImpl(), og, kt, p, &a, &b, dwp, kt, false, j0, j1, scratch)
}

// PermuteWeightGrad writes group g's weight gradient dwp (WeightGradGemm's order) into dw,
// PyTorch's [OutC][InC/Groups][KH][KW], or adds it when acc.
func (c *Conv) PermuteWeightGrad(dw, dwp []float32, g int, acc bool) {
	c.PermuteWeightGradRange(dw, dwp, g, acc, 0, c.OutC/c.Groups)
}

// PermuteWeightGradRange is PermuteWeightGrad for the group's output channels [o0, o1): parts
// of a split.
func (c *Conv) PermuteWeightGradRange(dw, dwp []float32, g int, acc bool, o0, o1 int) {
	cg, og, kk := c.InC/c.Groups, c.OutC/c.Groups, c.KH*c.KW
	kt := kk * cg
	for o := max(o0, 0); o < min(o1, og); o++ {
		// Each channel's [tap][channel] block is [channel][tap] transposed: in 8 x 8 blocks,
		// not a value at a time with writes kk apart (2% of ResNet-18's step).
		transpose(dw[(g*og+o)*kt:(g*og+o+1)*kt], dwp[o*kt:(o+1)*kt], kk, cg, acc)
	}
}

// patchSource is the B operand of a weight gradient: row p is the output position p of the batch
// (image p / (OutH*OutW)), column t the tap (i, j, channel ch0 + ch) of a group, the value the
// input value the tap reads there (zero in the padding), from a channels-last input xt.
type patchSource struct {
	c   *Conv
	xt  []float32
	ch0 int
}

// pack packs rows [pc, pc+kcb), columns [jc, jc+ncb) in nr-column panels: each run of a panel
// (consecutive channels of one tap) is copied row after row, a segment of rows at a time that
// share an output row, so the bounds of the padding are worked out once per segment rather than
// per value (a first layer's taps are runs of one channel: per-value checks made its weight
// gradient a third of LeNet-5's training step).
func (s *patchSource) pack(dst []float32, pc, kcb, jc, ncb, nr int) {
	c := s.c
	cg := c.InC / c.Groups
	H, W, C, OW, P := c.InH, c.InW, c.InC, c.OutW, c.OutH*c.OutW
	for jr := 0; jr < ncb; jr += nr {
		cols := min(nr, ncb-jr)
		panel := dst[jr*kcb : jr*kcb+nr*kcb]
		if cols < nr {
			for q := range kcb {
				clear(panel[q*nr+cols : q*nr+nr])
			}
		}
		for u := 0; u < cols; {
			q := jc + jr + u
			t, ch := q/cg, q%cg
			k := min(cg-ch, cols-u)
			s.packRun(panel, nr, u, k, t/c.KW*c.DilH-c.PadT, t%c.KW*c.DilW-c.PadL, s.ch0+ch, pc, kcb, H, W, C, OW, P)
			u += k
		}
	}
}

// packRun writes column u..u+k of rows [pc, pc+kcb) of a panel: channels [ch, ch+k) of the
// input pixel at offset (dy, dx) from each row's output position.
func (s *patchSource) packRun(panel []float32, nr, u, k, dy, dx, ch, pc, kcb, H, W, C, OW, P int) {
	c := s.c
	b, pos := pc/P, pc%P
	oy, ox := pos/OW, pos%OW
	for q := 0; q < kcb; {
		seg := min(OW-ox, kcb-q) // rows of this output row
		iy := oy*c.StrideH + dy
		ix := ox*c.StrideW + dx
		switch {
		case iy < 0 || iy >= H:
			for i := range seg {
				clear(panel[(q+i)*nr+u : (q+i)*nr+u+k])
			}
		case k == 1: // a first layer's taps: one value a row, the panel's stride apart
			row := s.xt[(b*H+iy)*W*C : (b*H+iy+1)*W*C]
			col := panel[q*nr+u : (q+seg-1)*nr+u+1]
			for i := range seg {
				v := float32(0)
				if uint(ix) < uint(W) {
					v = row[ix*C+ch]
				}
				col[i*nr] = v
				ix += c.StrideW
			}
		default:
			row := s.xt[(b*H+iy)*W*C : (b*H+iy+1)*W*C]
			for i := range seg {
				d := panel[(q+i)*nr+u : (q+i)*nr+u+k]
				if uint(ix) < uint(W) {
					copy(d, row[ix*C+ch:ix*C+ch+k])
				} else {
					clear(d)
				}
				ix += c.StrideW
			}
		}
		q += seg
		if ox += seg; ox == OW {
			ox = 0
			if oy++; oy == c.OutH {
				oy, b = 0, b+1
			}
		}
	}
}

// BiasGrad sets db[o] to the sum of dY over the n images' planes of channel o (adds it when
// acc): dy is [n][c][hw]. Each plane is summed in float32 by the active level's reduction, the
// planes in float64.
func BiasGrad(db, dy []float32, c, hw, n int, acc bool) {
	f := kern().rsum
	for o := range c {
		s := 0.0
		for b := range n {
			s += float64(f(dy[(b*c+o)*hw : (b*c+o+1)*hw]))
		}
		if acc {
			db[o] += float32(s)
		} else {
			db[o] = float32(s)
		}
	}
}

// TransposedConv returns the convolution that computes the input gradient of c from its output
// gradient, when c has stride 1: dX = conv(dY, W') with W' the flipped kernel with input and
// output channels swapped in each group (FlipWeights), padded by the kernel's extent less c's
// padding. ok is false for strided convolutions, or padding beyond the kernel's extent.
func (c *Conv) TransposedConv() (t Conv, ok bool) {
	if c.StrideH != 1 || c.StrideW != 1 {
		return Conv{}, false
	}
	eh, ew := c.DilH*(c.KH-1), c.DilW*(c.KW-1)
	t = Conv{InC: c.OutC, InH: c.OutH, InW: c.OutW, OutC: c.InC, OutH: c.InH, OutW: c.InW,
		KH: c.KH, KW: c.KW, StrideH: 1, StrideW: 1, PadT: eh - c.PadT, PadL: ew - c.PadL,
		DilH: c.DilH, DilW: c.DilW, Groups: c.Groups}
	if t.PadT < 0 || t.PadL < 0 || t.Validate() != nil {
		return Conv{}, false
	}
	return t, true
}

// FlipWeights writes TransposedConv's weights into dst: W'[g*CG+c][o][i][j] =
// W[g*OG+o][c][KH-1-i][KW-1-j].
//
// It walks 16 x 16 tiles of (o, ch): both the kernels it reads (consecutive ch) and the ones it
// writes (consecutive o) are runs of 16*KH*KW values, where a whole row of either side would
// stride across megabytes (ResNet's 512 x 512 x 3 x 3) and miss the cache every kernel.
func (c *Conv) FlipWeights(dst, w []float32) {
	cg, og, kk := c.InC/c.Groups, c.OutC/c.Groups, c.KH*c.KW
	const tile = 16
	for g := range c.Groups {
		for o0 := 0; o0 < og; o0 += tile {
			for c0 := 0; c0 < cg; c0 += tile {
				for ch := c0; ch < min(c0+tile, cg); ch++ {
					for o := o0; o < min(o0+tile, og); o++ {
						src := w[((g*og+o)*cg+ch)*kk : ((g*og+o)*cg+ch+1)*kk]
						d := dst[((g*cg+ch)*og+o)*kk : ((g*cg+ch)*og+o+1)*kk]
						if kk == 9 { // 3x3: without a bounds check a value (a third of its time)
							s, e := (*[9]float32)(src), (*[9]float32)(d)
							e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8] = s[8], s[7], s[6], s[5], s[4], s[3], s[2], s[1], s[0]
							continue
						}
						for t, v := range src {
							d[kk-1-t] = v
						}
					}
				}
			}
		}
	}
}

// PackInputGradWeights packs group g's W' (OG x GradTaps(): W'[o][(i, j, ch)] = W[g*OG+o][ch][i][j])
// into p for InputGradImage, through tmp (OG*GradTaps() values).
func (c *Conv) PackInputGradWeights(p *PackedB, w, tmp []float32, g int) {
	cg, og, kk := c.InC/c.Groups, c.OutC/c.Groups, c.KH*c.KW
	kt := kk * cg
	tmp = tmp[:og*kt]
	for o := range og {
		src := w[(g*og+o)*kt : (g*og+o+1)*kt]
		d := tmp[o*kt : (o+1)*kt]
		if kk == 1 {
			copy(d, src)
			continue
		}
		transpose(d, src, cg, kk, false) // [ch][t] to [t][ch], in 8 x 8 blocks
	}
	p.Pack(og, kt, Matrix{Data: tmp, Ld: kt})
}

// inputGradRows is the output positions whose patch gradients InputGradImage computes at once.
const inputGradRows = 256

// InputGradScratchLen is the scratch InputGradImage needs: the GEMM's, a block of patch
// gradients and a channels-last input gradient.
func (c *Conv) InputGradScratchLen() int {
	return GemmScratchLen() + inputGradRows*c.GradTaps() + c.InC*c.InH*c.InW
}

// InputGradImage computes one image's input gradient dx ([InC][InH][InW], set, or added to when
// acc) from its output gradient dy ([OutC][OutH][OutW]) and the groups' weights packed by
// PackInputGradWeights. It does not allocate.
func (c *Conv) InputGradImage(dx, dy []float32, wp []PackedB, acc bool, scratch []float32) {
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	kt, P := c.GradTaps(), c.OutH*c.OutW
	H, W, C := c.InH, c.InW, c.InC
	gs := GemmScratchLen()
	if len(scratch) < c.InputGradScratchLen() || len(wp) != c.Groups || len(dx) < C*H*W || len(dy) < c.OutC*P {
		panic("kernels: Conv.InputGradImage: slice too short")
	}
	cols := scratch[gs : gs+inputGradRows*kt]
	dxt := scratch[gs+inputGradRows*kt : gs+inputGradRows*kt+C*H*W]
	clear(dxt)
	vadd := kern().vadd
	for g := range c.Groups {
		for p0 := 0; p0 < P; p0 += inputGradRows {
			rows := min(inputGradRows, P-p0)
			GemmPackedB(rows, kt, og, Matrix{Data: dy[g*og*P+p0:], Ld: P, Trans: true}, &wp[g], cols, kt, false, 0, kt, scratch[:gs])
			// col2im: each position's patch gradient, tap by tap, added to the channels it read.
			for r := range rows {
				pos := p0 + r
				oy, ox := pos/c.OutW, pos%c.OutW
				for t := range c.KH * c.KW {
					iy := oy*c.StrideH + t/c.KW*c.DilH - c.PadT
					ix := ox*c.StrideW + t%c.KW*c.DilW - c.PadL
					if iy < 0 || iy >= H || ix < 0 || ix >= W {
						continue
					}
					d := dxt[(iy*W+ix)*C+g*cg : (iy*W+ix)*C+(g+1)*cg]
					vadd(d, d, cols[r*kt+t*cg:r*kt+(t+1)*cg])
				}
			}
		}
	}
	FromChannelsLast(dx, dxt, C, H*W, acc)
}

// PackInto packs w and bias as Pack does, into cw's memory when cw was packed for c at the
// active level (a training step's new weights), else into new memory. It returns the packed
// weights: cw, or new ones.
func (c *Conv) PackInto(cw *ConvWeights, w, bias []float32) (*ConvWeights, error) {
	if cw == nil || cw.conv != *c || cw.algo != c.algo() || c.Layout != NCHW {
		return c.Pack(w, bias)
	}
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	k := cg * c.KH * c.KW
	if len(w) != c.OutC*k || bias != nil && len(bias) != c.OutC {
		return nil, fmt.Errorf("kernels: conv %v: weights have %d values, bias %d", *c, len(w), len(bias))
	}
	im := activeImpl()
	switch {
	case cw.algo == algoDepthwise || cw.algo == algoDirect:
		copy(cw.w, w)
	case cw.algo == algoGemv:
		copy(cw.lin.w, w)
		clear(cw.lin.bias)
		copy(cw.lin.bias, bias)
	case cw.isa != im.isa:
		return c.Pack(w, bias) // SetISA changed the layout
	case cw.algo.wino() != nil:
		cw.fillWinograd(im, w)
	default:
		for g := range c.Groups {
			packA(im, cw.w[g*cw.groupLen:(g+1)*cw.groupLen], w[g*og*k:(g+1)*og*k], k, og, k)
		}
	}
	clear(cw.bias)
	copy(cw.bias, bias)
	return cw, nil
}
