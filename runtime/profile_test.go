package runtime

import (
	"context"
	goruntime "runtime"
	"testing"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// poolNet is an ImageRunner of two layers: a pooling large enough to be split, then a small one.
type poolNet struct {
	big, small kernels.Pool
	mid        []float32
}

func (n *poolNet) RunImage(a *Arena, in, out []float32, _ bool) {
	a.Pool(&n.big, n.mid, in)
	a.Mark(0)
	a.Pool(&n.small, out, n.mid)
	a.Mark(1)
}

// TestProfileCPU runs a profiled network on one and two threads, and as a batch: every layer
// gets a wall time, and on Linux a CPU time, from the single-image calls only.
func TestProfileCPU(t *testing.T) {
	n := &poolNet{
		big:   kernels.Pool{C: 64, InH: 64, InW: 64, OutH: 64, OutW: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		small: kernels.Pool{C: 64, InH: 64, InW: 64, OutH: 32, OutW: 32, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		mid:   make([]float32, 64*64*64),
	}
	inSize, outSize := 64*64*64, 64*32*32
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{1, 2} {
			p := NewProfile(2)
			r := NewRunner(0, 0, Options{Threads: threads, Profile: p, Arenas: 1})
			in, out := make([]float32, batch*inSize), make([]float32, batch*outSize)
			for range 3 {
				if err := r.Run(context.Background(), n, in, out, inSize, outSize, false); err != nil {
					t.Fatal(err)
				}
			}
			if p.Images() != int64(3*batch) {
				t.Errorf("threads %d batch %d: %d images, want %d", threads, batch, p.Images(), 3*batch)
			}
			for i := range 2 {
				if p.Time(i) <= 0 {
					t.Errorf("threads %d batch %d: layer %d has no time", threads, batch, i)
				}
				if goruntime.GOOS == "linux" && p.CPU(i) <= 0 {
					t.Errorf("threads %d batch %d: layer %d has no CPU time", threads, batch, i)
				}
			}
		}
	}
}
