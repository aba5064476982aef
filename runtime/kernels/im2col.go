package kernels

// maxIm2colKC bounds kcb in packIm2col (the largest KC of all shapes), so that its per-row tap
// table lives on the stack (three arrays of 256 ints, 6 KiB).
const maxIm2colKC = 256

// packIm2col packs rows [pc, pc+kcb), columns [col0+jc, col0+jc+ncb) of the im2col matrix of in
// (one group's input planes) into nr-column panels, like gemmB.pack. Row p of the matrix is the
// tap (channel ch, kernel row i, kernel column j) with p = (ch*KH+i)*KW+j; column t is the output
// position (yo, xo) with t = yo*OutW+xo; the value is in[ch][yo*sh-PadT+i*dh][xo*sw-PadL+j*dw],
// or zero outside the input.
//
// It fills one panel at a time, row after row, so the writes are sequential (a panel is kcb x nr
// contiguous values) and the reads, nr output columns of one input row, mostly contiguous. Filling
// row by row across all panels instead writes nr values into every panel in turn, one cache line
// in each of NC/nr places per row, which cost a third of a convolution's time.
func (c *Conv) packIm2col(nr int, dst, in []float32, pc, kcb, col0, jc, ncb int) {
	if kcb > maxIm2colKC {
		panic("kernels: packIm2col: kc block too large")
	}
	H, W, OW := c.InH, c.InW, c.OutW
	sh, sw := c.StrideH, c.StrideW
	gather := kern().vgatherS2
	// The taps of the block's rows: plane offset, and offsets of the kernel row and column.
	var base, dy, dx [maxIm2colKC]int
	for p := range kcb {
		row := pc + p
		ch, i, j := row/(c.KH*c.KW), row/c.KW%c.KH, row%c.KW
		base[p], dy[p], dx[p] = ch*H*W, i*c.DilH-c.PadT, j*c.DilW-c.PadL
	}
	// The panel's columns split into runs within one output row: at most nr of them.
	type segment struct{ u, n, ys, xs int } // panel columns [u, u+n): output row yo, columns xo.. (ys = yo*sh, xs = xo*sw)
	var segs [32]segment
	for jr := 0; jr < ncb; jr += nr {
		panel := dst[jr*kcb : jr*kcb+nr*kcb]
		cols := min(nr, ncb-jr)
		t := col0 + jc + jr
		ns := 0
		for u := 0; u < cols; {
			yo, xo := t/OW, t%OW
			n := min(OW-xo, cols-u)
			segs[ns] = segment{u: u, n: n, ys: yo * sh, xs: xo * sw}
			ns++
			u += n
			t += n
		}
		for p := range kcb {
			d := panel[p*nr : p*nr+nr]
			for _, sg := range segs[:ns] {
				seg := d[sg.u : sg.u+sg.n]
				yi := sg.ys + dy[p]
				if yi < 0 || yi >= H {
					clear(seg)
					continue
				}
				row := in[base[p]+yi*W : base[p]+yi*W+W]
				x0 := sg.xs + dx[p] // input column of the segment's first output column
				if x0 >= 0 && x0+(sg.n-1)*sw < W {
					switch {
					case sw == 1 && sg.n == 32:
						// Fixed-size copies compile to a few vector moves; copy's call to memmove
						// costs as much as moving 32 values.
						*(*[32]float32)(seg) = [32]float32(row[x0 : x0+32])
					case sw == 1 && sg.n == 16:
						*(*[16]float32)(seg) = [16]float32(row[x0 : x0+16])
					case sw == 1 && sg.n >= 8:
						copy(seg, row[x0:x0+sg.n])
					case sw == 1:
						for u := range seg {
							seg[u] = row[x0+u]
						}
					case sw == 2: // the stems' stride-2 convolutions
						gather(seg, row[x0:x0+2*sg.n-1])
					default:
						for u := range seg {
							seg[u] = row[x0+u*sw]
						}
					}
					continue
				}
				for u := range seg { // a segment at the left or right border
					if x := x0 + u*sw; x >= 0 && x < W {
						seg[u] = row[x]
					} else {
						seg[u] = 0
					}
				}
			}
			clear(d[cols:])
		}
	}
}
