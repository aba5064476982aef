package kernels

import "fmt"

// ExpandDW is a pointwise convolution E of NCHW16c feature maps and the depthwise convolution D
// that alone reads its output (a MobileNet-V2 or EfficientNet inverted-residual block's expansion
// and depthwise layers), run together band by band of D's output rows: E computes the rows a
// band reads into a zero-framed copy in the scratch (each row's pixels between D's horizontal
// padding columns), and D reads them there while they are in L2, so E's output (4.8 MB for
// EfficientNet-B0's 96 channels at 112x112) never goes through memory. A band keeps the rows
// the next band reads again (KH-1 of them at stride 1) and computes only the new ones.
//
// Both run the kernels and the epilogues Run runs, on the same values in the same order: each
// output value is Run's bit for bit (E's per-pixel sums do not depend on which pixels share a
// tile), whatever the band and the split.
type ExpandDW struct{ E, D *Conv }

// expandDWBandFloats bounds a band's copy: 96K floats (384 KiB) stays in this machine's 2 MiB L2
// beside the weights and D's output rows. Measured (BenchmarkExpandDW, one thread, fused against
// E.Run then D.Run): EfficientNet-B0's 16->96 at 112x112 to 56x56 0.98 -> 0.71 ms, 24->144 at
// 56x56 k3 0.55 -> 0.46, k5 s2 0.45 -> 0.34, 40->240 at 28x28 0.29 -> 0.27-0.29 (bands of 2 to
// 8 rows within 5% of each other at 112 and 56).
const expandDWBandFloats = 96 << 10

// Fuses reports whether RunPart can compute the pair: E pointwise on the direct blocked kernel,
// D a blocked depthwise convolution of E's output with a kernel wider than one pixel, and rows of
// at least 28 pixels (E's tiles run along a row here, not over the whole image: rows of 7 or 14
// would fill them poorly, and such small maps stay in L2 unfused anyway).
func (f ExpandDW) Fuses() bool {
	e, d := f.E, f.D
	return e.Layout == NCHW16c && d.Layout == NCHW16c && e.algo() == algoDirect16c && d.algo() == algoDW16c &&
		e.KH == 1 && e.KW == 1 && e.StrideH == 1 && e.StrideW == 1 && e.PadT == 0 && e.PadL == 0 && e.Groups == 1 &&
		e.OutH == e.InH && e.OutW == e.InW && d.InC == e.OutC && d.InH == e.OutH && d.InW == e.OutW &&
		d.KH*d.KW > 1 && d.InW >= 28
}

// band is the geometry of the band copy: bandRows output rows a band, reading at most rows input
// rows of wp pixels (E's row at column D.PadL).
func (f ExpandDW) band() (bandRows, rows, wp int) {
	d := f.D
	reach := (d.OutW-1)*d.StrideW + (d.KW-1)*d.DilW + 1
	wp = max(reach, d.PadL+d.InW)
	in := func(b int) int { return min(d.InH, (b-1)*d.StrideH+(d.KH-1)*d.DilH+1) }
	perRow := blocks(d.InC) * wp * BlockC
	bandRows = 1
	for bandRows < d.OutH && in(bandRows+1)*perRow <= expandDWBandFloats {
		bandRows++
	}
	return bandRows, in(bandRows), wp
}

// ScratchLen is the scratch a part of RunPart needs (0 if the pair does not fuse).
func (f ExpandDW) ScratchLen() int {
	if !f.Fuses() {
		return 0
	}
	_, rows, wp := f.band()
	return blocks(f.D.InC) * rows * wp * BlockC
}

// RunPart computes part part of parts of D's output (runs of whole rows) from E's input in, with
// E's and D's weights, scratch holding ScratchLen values of its own. Fuses must hold. It does not
// allocate.
func (f ExpandDW) RunPart(part, parts int, out, in []float32, we, wd *ConvWeights, scratch []float32) {
	e, d := f.E, f.D
	if !f.Fuses() {
		panic(fmt.Sprintf("kernels: ExpandDW: %v then %v do not fuse", *e, *d))
	}
	if we == nil || we.conv != *e || wd == nil || wd.conv != *d {
		panic(errConvMismatch)
	}
	if parts < 1 || part < 0 || part >= parts {
		panic(fmt.Sprintf("kernels: ExpandDW.RunPart: part %d of %d", part, parts))
	}
	if nIn, nOut := BlockedLen(e.InC, e.InH*e.InW), BlockedLen(d.OutC, d.OutH*d.OutW); len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: ExpandDW.RunPart: slice too short: in %d/%d out %d/%d", len(in), nIn, len(out), nOut))
	}
	bandRows, rows, wp := f.band()
	nb := blocks(d.InC)
	ldb, ldrow := rows*wp*BlockC, wp*BlockC
	if len(scratch) < nb*ldb {
		panic(fmt.Sprintf("kernels: ExpandDW: scratch %d of %d", len(scratch), nb*ldb))
	}
	buf := scratch[:nb*ldb]
	// The frame: E writes only the columns between.
	for b := range nb {
		for r := range rows {
			row := buf[b*ldb+r*ldrow : b*ldb+(r+1)*ldrow]
			clear(row[:d.PadL*BlockC])
			clear(row[(d.PadL+d.InW)*BlockC:])
		}
	}
	y0, y1 := part*d.OutH/parts, (part+1)*d.OutH/parts
	h0, h1 := 0, 0 // the input rows in buf
	for ya := y0; ya < y1; ya += bandRows {
		yb := min(y1, ya+bandRows)
		r0 := max(0, ya*d.StrideH-d.PadT)
		r1 := min(d.InH, (yb-1)*d.StrideH-d.PadT+(d.KH-1)*d.DilH+1)
		from := r0
		if r0 < h1 && h0 < h1 {
			if r0 > h0 {
				for b := range nb {
					copy(buf[b*ldb:], buf[b*ldb+(r0-h0)*ldrow:b*ldb+(h1-h0)*ldrow])
				}
			}
			from = h1
		}
		if from < r1 {
			f.expandRows(buf, in, we, ldb, ldrow, r0, from, r1)
		}
		h0, h1 = r0, r1
		f.dwRows(out, buf, wd, ldb, ldrow, h0, ya, yb)
	}
}

// expandRows computes E's output rows [r0, r1) into buf, whose row 0 is input row row0: what
// runDirect16c computes for them, tile group after group, chunk after chunk, along each row.
func (f ExpandDW) expandRows(buf, in []float32, w *ConvWeights, ldb, ldrow, row0, r0, r1 int) {
	c := f.E
	k := kern().conv16c
	ib, ob := blocks(c.InC), blocks(c.OutC)
	W := c.InW
	ldcb := c.InH * W * BlockC
	ldwc := BlockC * BlockC
	ldf := ib * ldwc
	chunk := c.conv16cChunk()
	cl := c.InC - (ib-1)*BlockC
	var epi uint
	switch c.Act {
	case ActReLU:
		epi = epiReLU
	case ActReLU6:
		epi = epiReLU6
	}
	nfMax := k.tileBlocks(W)
	gps := (ob + nfMax - 1) / nfMax
	col := f.D.PadL * BlockC
	for gi := range gps {
		fb, nf := group(gi, gps, ob)
		tiles := (W + k.p[nf] - 1) / k.p[nf]
		for cb := 0; cb < ib; cb += chunk {
			icb := min(chunk, ib-cb)
			var flags uint
			if cb == 0 {
				flags = epiInit
			}
			ccl := BlockC
			if cb+icb == ib {
				ccl = cl
				flags |= epi
			}
			for r := r0; r < r1; r++ {
				for t := range tiles {
					x, n := t*W/tiles, (t+1)*W/tiles
					n -= x
					o := fb*ldb + (r-row0)*ldrow + col + x*BlockC
					k.tile(buf[o:o+(nf-1)*ldb+n*BlockC], in[cb*ldcb+(r*W+x)*BlockC:], w.w[(fb*ib+cb)*ldwc:], n, nf, icb, 1, 1, ccl,
						BlockC, BlockC, 0, ldcb, ldf, ldwc, ldb, flags, w.bias[fb*BlockC:(fb+nf)*BlockC], nil)
				}
			}
		}
		if epi == 0 && c.Act != ActNone {
			for b := fb; b < fb+nf; b++ {
				for r := r0; r < r1; r++ {
					o := b*ldb + (r-row0)*ldrow + col
					apply(c.Act, buf[o:o+W*BlockC])
				}
			}
		}
	}
}

// dwRows computes D's output rows [ya, yb) from buf, whose row 0 is input row row0: what runDW16c
// computes for them.
func (f ExpandDW) dwRows(out, buf []float32, w *ConvWeights, ldb, ldrow, row0, ya, yb int) {
	d := f.D
	k := kern().dw16c
	kk := d.KH * d.KW
	opl := d.OutH * d.OutW * BlockC
	ldp, ldk := d.StrideW*BlockC, d.DilW*BlockC
	flags := uint(epiInit)
	post := d.Act
	switch d.Act {
	case ActReLU:
		flags, post = flags|epiReLU, ActNone
	case ActReLU6:
		flags, post = flags|epiReLU6, ActNone
	}
	for b := range blocks(d.OutC) {
		bias := w.bias[b*BlockC : (b+1)*BlockC]
		for y := ya; y < yb; y++ {
			i0, i1 := d.rowTaps(y)
			iy := y*d.StrideH - d.PadT + i0*d.DilH
			wk := w.w[(b*kk+i0*d.KW)*BlockC : (b+1)*kk*BlockC]
			for x := 0; x < d.OutW; x += k.p {
				n := min(k.p, d.OutW-x)
				o := b*opl + (y*d.OutW+x)*BlockC
				var src []float32
				if i1 > i0 {
					src = buf[b*ldb+(iy-row0)*ldrow+x*ldp:]
				}
				k.tile(out[o:o+n*BlockC], src, wk, n, i1-i0, d.KW, ldp, ldk, d.DilH*ldrow, flags, bias, nil)
			}
			if post != ActNone {
				o := b*opl + y*d.OutW*BlockC
				apply(post, out[o:o+d.OutW*BlockC])
			}
		}
	}
}
