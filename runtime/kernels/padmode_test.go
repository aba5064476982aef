package kernels

import (
	"slices"
	"testing"
)

func TestPadBorder(t *testing.T) {
	// One plane [[1 2 3] [4 5 6]], one row above, two columns left, one right.
	in := []float32{1, 2, 3, 4, 5, 6}
	p := PadBorder{C: 1, H: 2, W: 3, Top: 1, Left: 2, Right: 1, Reflect: true}
	out := make([]float32, 3*6)
	p.Run(out, in)
	if want := []float32{6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}; !slices.Equal(out, want) {
		t.Errorf("reflect: %v, want %v", out, want)
	}
	p.Reflect = false
	p.Run(out, in)
	if want := []float32{1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6}; !slices.Equal(out, want) {
		t.Errorf("edge: %v, want %v", out, want)
	}
}
