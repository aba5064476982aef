package kernels

import "fmt"

// ChannelShuffle interleaves the channel groups of one image of C planes of HW values
// (nn.ChannelShuffle): output channel i*Groups + j is input channel j*(C/Groups) + i.
type ChannelShuffle struct {
	C, HW, Groups int
}

// Run shuffles in into out, which must not overlap it.
func (s ChannelShuffle) Run(out, in []float32) {
	n := s.C * s.HW
	if len(in) < n || len(out) < n || s.Groups <= 0 || s.C%s.Groups != 0 {
		panic(fmt.Sprintf("kernels: ChannelShuffle %+v: in %d out %d", s, len(in), len(out)))
	}
	per := s.C / s.Groups
	for i := range per {
		for j := range s.Groups {
			copy(out[(i*s.Groups+j)*s.HW:][:s.HW], in[(j*per+i)*s.HW:][:s.HW])
		}
	}
}

// Narrow copies a range of one dimension (torch.narrow): in is Outer blocks of Dim rows of
// Inner values, out the rows [Start, Start+Length) of each block.
type Narrow struct {
	Outer, Dim, Inner, Start, Length int
}

// Run copies the range of in into out, which must not overlap it.
func (r Narrow) Run(out, in []float32) {
	if r.Start < 0 || r.Length < 0 || r.Start+r.Length > r.Dim || len(in) < r.Outer*r.Dim*r.Inner || len(out) < r.Outer*r.Length*r.Inner {
		panic(fmt.Sprintf("kernels: Narrow %+v: in %d out %d", r, len(in), len(out)))
	}
	run := r.Length * r.Inner
	for o := range r.Outer {
		copy(out[o*run:][:run], in[(o*r.Dim+r.Start)*r.Inner:][:run])
	}
}
