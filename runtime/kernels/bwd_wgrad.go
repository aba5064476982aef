package kernels

import "fmt"

// The direct weight gradient of a stride-1 convolution with few input channels, without im2col.
//
// dW[o][(ch, i, j)] = sum over the batch's output positions (oy, ox) of dY[o][oy][ox] *
// X[ch][oy + i*DilH - PadT][ox + j*DilW - PadL]. With the input copied into a zero-framed plane
// Xp of width Wp = OutW + (KW-1)*DilW (Xp[ch][y+PadT][x+PadL] = X[ch][y][x]) and dY's rows copied
// at the same width (zero past OutW), the sum over an image is one dot product along the flat
// index q = oy*Wp + ox: of the padded dY plane with Xp shifted by ch*plane + i*DilH*Wp + j*DilW.
// The columns past OutW meet dY's zeros, so the shift's wrap into the next row adds nothing.
//
// A first layer's GEMM has K' = KH*KW*InC taps, 25 for LeNet-5's: the patch matrix it packs
// is 25 times the input, one value at a time, and was a third of the training step. Here every
// operand is read as long vectors straight from the planes: f32WGradDot3x4 computes 3 output
// channels x 4 taps per call over a whole image, the padding costing OutW/Wp of the FMAs.

// wgradRows and wgradTaps are the block f32WGradDot3x4 computes.
const wgradRows, wgradTaps = 3, 4

// DirectWeightGrad reports whether WeightGradDirect computes c's weight gradient: stride 1,
// one group, at most 8 input channels (with more, the GEMM's register tile reuses each value
// more than the dot products' 3 x 4 block does), NCHW.
func (c *Conv) DirectWeightGrad() bool {
	return c.StrideH == 1 && c.StrideW == 1 && c.Groups == 1 && c.InC <= 8 && c.Layout == NCHW &&
		c.PadT >= 0 && c.PadL >= 0 && c.GradTaps() <= wgradMaxTaps
}

// wgradMaxTaps bounds the taps (8 channels of up to 11x11) so that their shifts fit an array on
// the stack: worked out once per call, not per image and block (their divisions were a sixth of
// LeNet-5's second layer's weight gradient).
const wgradMaxTaps = 1024

// wgradGeom is the padded planes' geometry: the width Wp, the plane Hp*Wp, the dot products'
// length n (OutH*Wp rounded up to 16, the assembly's step), the taps rounded up to the block and
// the length of the padded input (the last tap's shift plus n).
func (c *Conv) wgradGeom() (wp, plane, n, taps, xlen int) {
	wp = c.OutW + (c.KW-1)*c.DilW
	hp := c.OutH + (c.KH-1)*c.DilH
	plane = hp * wp
	n = (c.OutH*wp + 15) &^ 15
	taps = (c.GradTaps() + wgradTaps - 1) / wgradTaps * wgradTaps
	xlen = (c.InC-1)*plane + (c.KH-1)*c.DilH*wp + (c.KW-1)*c.DilW + n
	return
}

// WeightGradDirectBlocks is the number of 3-channel blocks WeightGradDirect splits the output
// channels in: the parts of a split.
func (c *Conv) WeightGradDirectBlocks() int { return (c.OutC + wgradRows - 1) / wgradRows }

// WeightGradDirectScratchLen is the scratch WeightGradDirect needs: the padded input, a block's
// padded output gradient rows and the sums of every block.
func (c *Conv) WeightGradDirectScratchLen() int {
	_, _, n, taps, xlen := c.wgradGeom()
	return xlen + wgradRows*n + c.WeightGradDirectBlocks()*wgradRows*taps
}

// WeightGradDirect sets output channels [3*blk0, min(3*blk1, OutC)) of the weight gradient dw
// ([OutC][InC][KH][KW]) from n images' output gradients dy ([n][OutC][OutH][OutW]) and inputs x
// ([n][InC][InH][InW]), when DirectWeightGrad. Parts split by blocks compute what the whole
// does, bit for bit: a channel's sums do not depend on the blocks computed with it. scratch
// holds WeightGradDirectScratchLen values. It does not allocate.
func (c *Conv) WeightGradDirect(dw, dy, x []float32, n, blk0, blk1 int, scratch []float32) {
	wp, plane, ln, taps, xlen := c.wgradGeom()
	kt, kk := c.GradTaps(), c.KH*c.KW
	H, W, C, OH, OW := c.InH, c.InW, c.InC, c.OutH, c.OutW
	in, out := C*H*W, c.OutC*OH*OW
	if !c.DirectWeightGrad() || len(scratch) < c.WeightGradDirectScratchLen() || len(dw) < c.OutC*kt ||
		len(dy) < n*out || len(x) < n*in || blk0 < 0 || blk1 > c.WeightGradDirectBlocks() {
		panic(fmt.Sprintf("kernels: Conv.WeightGradDirect: %v: not direct, slice too short or blocks [%d, %d) out of range", *c, blk0, blk1))
	}
	if blk0 >= blk1 {
		return
	}
	xp := scratch[:xlen]
	dyp := scratch[xlen : xlen+wgradRows*ln]
	sums := scratch[xlen+wgradRows*ln : xlen+wgradRows*ln+(blk1-blk0)*wgradRows*taps]
	// The frames, the columns past OutW and the tails stay zero: each image overwrites only
	// the input's pixels and dY's.
	clear(xp)
	clear(dyp)
	clear(sums)
	rowsIn := min(H, (plane/wp)-c.PadT) // input rows past the padded plane are never read
	colsIn := max(0, min(W, wp-c.PadL))
	dot := kern().wgradDot
	var offs [wgradMaxTaps]int // the taps past K' keep 0: discarded sums of an in-range shift
	for t := range kt {
		ch, ij := t/kk, t%kk
		offs[t] = ch*plane + ij/c.KW*c.DilH*wp + ij%c.KW*c.DilW
	}
	for b := range n {
		for ch := range C {
			src := x[b*in+ch*H*W:]
			for y := range rowsIn {
				d := xp[ch*plane+(y+c.PadT)*wp+c.PadL:]
				copy(d[:colsIn], src[y*W:y*W+colsIn])
			}
		}
		for blk := blk0; blk < blk1; blk++ {
			o0 := blk * wgradRows
			rows := min(wgradRows, c.OutC-o0)
			for r := range rows {
				src := dy[b*out+(o0+r)*OH*OW:]
				for oy := range OH {
					copy(dyp[r*ln+oy*wp:r*ln+oy*wp+OW], src[oy*OW:(oy+1)*OW])
				}
			}
			clear(dyp[rows*ln:]) // a last block's missing channels: rows of zeros
			s := sums[(blk-blk0)*wgradRows*taps:]
			for t := 0; t < taps; t += wgradTaps {
				dot(s[t:], taps, dyp, ln, xp, offs[t], offs[t+1], offs[t+2], offs[t+3], ln)
			}
		}
	}
	for blk := blk0; blk < blk1; blk++ {
		o0 := blk * wgradRows
		for r := range min(wgradRows, c.OutC-o0) {
			s := sums[((blk-blk0)*wgradRows+r)*taps:]
			copy(dw[(o0+r)*kt:(o0+r+1)*kt], s[:kt])
		}
	}
}
