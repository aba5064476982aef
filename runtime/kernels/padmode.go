package kernels

import "fmt"

// PadBorder pads each of C planes of H x W values with Top rows above, Bottom below, Left
// columns before and Right after, copied from the plane's border: mirrored without repeating the
// edge with Reflect (nn.ReflectionPad2d; each pad less than its dimension), else the edge
// repeated (nn.ReplicationPad2d). out is [C][H+Top+Bottom][W+Left+Right].
type PadBorder struct {
	C, H, W, Top, Left, Bottom, Right int
	Reflect                           bool
}

// Run pads in into out, which must not overlap it.
func (p PadBorder) Run(out, in []float32) {
	h, w := p.H, p.W
	oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
	if len(in) < p.C*h*w || len(out) < p.C*oh*ow || h <= 0 || w <= 0 ||
		p.Reflect && (p.Top >= h || p.Bottom >= h || p.Left >= w || p.Right >= w) {
		panic(fmt.Sprintf("kernels: PadBorder %+v: in %d out %d", p, len(in), len(out)))
	}
	for ch := range p.C {
		src := in[ch*h*w : (ch+1)*h*w]
		dst := out[ch*oh*ow : (ch+1)*oh*ow]
		for y := range oh {
			row := src[p.edge(y-p.Top, h)*w:][:w]
			d := dst[y*ow : (y+1)*ow]
			copy(d[p.Left:p.Left+w], row)
			for x := range p.Left {
				d[x] = row[p.edge(x-p.Left, w)]
			}
			for x := p.Left + w; x < ow; x++ {
				d[x] = row[p.edge(x-p.Left, w)]
			}
		}
	}
}

// edge maps index i of a padded axis of n values to the index it copies.
func (p PadBorder) edge(i, n int) int {
	switch {
	case i < 0 && p.Reflect:
		return -i
	case i >= n && p.Reflect:
		return 2*(n-1) - i
	}
	return min(max(i, 0), n-1)
}
