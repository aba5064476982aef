package kernels

import "fmt"

// Layout is the memory order of one image's feature map [C][H][W] (batch 1: the kernels work on
// one image). The settings types that support a blocked layout have a Layout field; its zero
// value, NCHW, is the plain order every kernel takes.
type Layout uint8

const (
	// NCHW stores channel c of pixel p (p = y*W + x) at c*H*W + p: [C][H][W].
	NCHW Layout = iota
	// NCHW16c stores the channels in blocks of BlockC: [ceil(C/16)][H][W][16], channel c of pixel
	// p at ((c/16)*H*W + p)*16 + c%16, so that one pixel's 16 channels of a block are one
	// AVX-512 vector (two AVX2 vectors; the pure-Go kernels loop over them). The last block's
	// padding lanes (channels C to 16*ceil(C/16)) must always hold finite values: producers write
	// zeros there (or act(0), act(residual)), and every kernel ignores them as inputs (zero
	// weights for padded input channels, no padding lanes in reductions over channels).
	NCHW16c
	numLayouts
)

// BlockC is the channel block of NCHW16c, the same at every ISA level (the arena is planned at
// generation time, the level chosen at run time).
const BlockC = 16

// String returns the layout's name: "nchw" or "nchw16c".
func (l Layout) String() string {
	switch l {
	case NCHW:
		return "nchw"
	case NCHW16c:
		return "nchw16c"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// Ident returns the Go identifier of the layout's constant in this package ("NCHW16c"), or ""
// for an invalid layout.
func (l Layout) Ident() string {
	switch l {
	case NCHW:
		return "NCHW"
	case NCHW16c:
		return "NCHW16c"
	}
	return ""
}

// Len is the number of float32s a feature map of c channels of hw pixels takes in layout l:
// c*hw for NCHW, BlockedLen(c, hw) for NCHW16c.
func (l Layout) Len(c, hw int) int {
	if l == NCHW16c {
		return BlockedLen(c, hw)
	}
	return c * hw
}

// BlockedLen is the number of float32s of a feature map of c channels of hw pixels in NCHW16c:
// ceil(c/16)*16*hw.
func BlockedLen(c, hw int) int { return blocks(c) * BlockC * hw }

// blocks is the number of channel blocks of c channels.
func blocks(c int) int { return (c + BlockC - 1) / BlockC }

// SplitBlocks is part of parts of the channel blocks of c channels: [b0, b1), the share a
// blocked depthwise convolution gives the part when it splits by blocks (geom16c.split), so that
// the per-channel layers after it (global pooling, a squeeze-and-excitation scale) split the same
// way read what the same part wrote, from its own core's cache.
func SplitBlocks(c, part, parts int) (b0, b1 int) {
	nb := blocks(c)
	return part * nb / parts, (part + 1) * nb / parts
}

// checkLayout returns an error naming op unless l is a layout the op supports: NCHW always,
// NCHW16c if blocked.
func checkLayout(op string, l Layout, blocked bool) error {
	switch {
	case l >= numLayouts:
		return fmt.Errorf("kernels: %s: unknown layout %v", op, l)
	case l == NCHW16c && !blocked:
		return fmt.Errorf("kernels: %s: layout %v not supported", op, l)
	}
	return nil
}

// Reorder converts one image of C channels of HW pixels between NCHW and NCHW16c: To is the
// layout of the output (NCHW16c: from NCHW, padding lanes zeroed; NCHW: from NCHW16c, padding
// lanes dropped).
type Reorder struct {
	C, HW int
	To    Layout
}

// Validate reports whether the settings are usable: positive sizes and a known layout.
func (r Reorder) Validate() error {
	if r.C <= 0 || r.HW <= 0 {
		return fmt.Errorf("kernels: reorder %+v: sizes must be positive", r)
	}
	return checkLayout("reorder", r.To, true)
}

// Run converts in (the other layout's Len values) into out (To's), which must not overlap it.
func (r Reorder) Run(out, in []float32) {
	from := NCHW16c
	if r.To == NCHW16c {
		from = NCHW
	}
	nIn, nOut := from.Len(r.C, r.HW), r.To.Len(r.C, r.HW)
	if r.To >= numLayouts || len(in) < nIn || len(out) < nOut {
		panic(fmt.Sprintf("kernels: Reorder %+v: in %d/%d out %d/%d", r, len(in), nIn, len(out), nOut))
	}
	in, out = in[:nIn], out[:nOut]
	if r.To == NCHW16c {
		toBlocked(out, in, r.C, r.HW)
	} else {
		fromBlocked(out, in, r.C, r.HW)
	}
}

// RunPart converts pixels [HW*part/parts, HW*(part+1)/parts) of every channel to NCHW16c (To
// must be NCHW16c), as Run does: each part's pixels of a block's planes are copied in runs into
// scratch (the kernel reads planes HW apart), so it needs len(scratch) >= 16*BlockC. A network's
// input has 3 channels, one block, which no channel split would share out.
func (r Reorder) RunPart(part, parts int, out, in, scratch []float32) {
	nIn, nOut := NCHW.Len(r.C, r.HW), NCHW16c.Len(r.C, r.HW)
	if r.To != NCHW16c || parts < 1 || part < 0 || part >= parts || len(in) < nIn || len(out) < nOut || len(scratch) < 16*BlockC {
		panic(fmt.Sprintf("kernels: Reorder.RunPart %+v: part %d of %d, in %d/%d out %d/%d scratch %d", r, part, parts, len(in), nIn, len(out), nOut, len(scratch)))
	}
	hw := r.HW
	p0, p1 := hw*part/parts, hw*(part+1)/parts
	k := kern()
	for b := range blocks(r.C) {
		n := min(BlockC, r.C-b*BlockC)
		run := len(scratch) / n
		for q := p0; q < p1; q += run {
			m := min(run, p1-q)
			for l := range n {
				copy(scratch[l*m:(l+1)*m], in[(b*BlockC+l)*hw+q:])
			}
			k.toBlocked16c(out[(b*hw+q)*BlockC:(b*hw+q+m)*BlockC], scratch[:n*m], n, m)
		}
	}
}

// toBlocked writes the NCHW in (c planes of hw) into out in NCHW16c, padding lanes zeroed, a
// block a kernel call.
func toBlocked(out, in []float32, c, hw int) {
	k := kern()
	for b := range blocks(c) {
		n := min(BlockC, c-b*BlockC)
		k.toBlocked16c(out[b*BlockC*hw:(b+1)*BlockC*hw], in[b*BlockC*hw:(b*BlockC+n)*hw], n, hw)
	}
}

// fromBlocked writes the NCHW16c in into out in NCHW (c planes of hw), a block a kernel call.
func fromBlocked(out, in []float32, c, hw int) {
	k := kern()
	for b := range blocks(c) {
		n := min(BlockC, c-b*BlockC)
		k.fromBlocked16c(out[b*BlockC*hw:(b*BlockC+n)*hw], in[b*BlockC*hw:(b+1)*BlockC*hw], n, hw)
	}
}

// f32ToBlocked16cGo sets dst[p*16+l] = src[l*hw+p] for l < c and 0 for c <= l < 16, p < hw: one
// block of NCHW16c from c <= 16 NCHW planes.
func f32ToBlocked16cGo(dst, src []float32, c, hw int) {
	src = src[:c*hw]
	for p := range hw {
		d := (*[BlockC]float32)(dst[p*BlockC:])
		for l := range c {
			d[l] = src[l*hw+p]
		}
		clear(d[c:])
	}
}

// f32FromBlocked16cGo sets dst[l*hw+p] = src[p*16+l] for l < c, p < hw: c <= 16 NCHW planes from
// one block of NCHW16c.
func f32FromBlocked16cGo(dst, src []float32, c, hw int) {
	src = src[:hw*BlockC]
	for l := range c {
		d := dst[l*hw : (l+1)*hw]
		for p := range d {
			d[p] = src[p*BlockC+l]
		}
	}
}
