package kernels

import (
	"slices"
	"testing"
)

func TestChannelShuffle(t *testing.T) {
	// 6 channels of 2 values, 3 groups of 2: channels 0..5 come out as 0 2 4 1 3 5.
	in := []float32{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5}
	out := make([]float32, len(in))
	ChannelShuffle{C: 6, HW: 2, Groups: 3}.Run(out, in)
	if want := []float32{0, 0.5, 2, 2.5, 4, 4.5, 1, 1.5, 3, 3.5, 5, 5.5}; !slices.Equal(out, want) {
		t.Errorf("got %v, want %v", out, want)
	}
}

func TestNarrow(t *testing.T) {
	in := make([]float32, 2*4*3)
	for i := range in {
		in[i] = float32(i)
	}
	out := make([]float32, 2*2*3)
	Narrow{Outer: 2, Dim: 4, Inner: 3, Start: 1, Length: 2}.Run(out, in)
	if want := []float32{3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20}; !slices.Equal(out, want) {
		t.Errorf("got %v, want %v", out, want)
	}
}
