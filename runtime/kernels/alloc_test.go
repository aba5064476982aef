package kernels

import (
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"
)

// Buffers carved concurrently from the chunks are zeroed, cache-line aligned and disjoint.
func TestAllocPacked(t *testing.T) {
	sizes := []int{1, 15, 16, 1000, packChunk/4 - 1, packChunk / 4, packChunk/2 + 3, 7}
	var mu sync.Mutex
	var bufs [][]float32
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for _, n := range sizes {
				b := allocPacked(n + g)
				if len(b) != n+g || cap(b) != n+g {
					t.Errorf("allocPacked(%d): len %d cap %d", n+g, len(b), cap(b))
				}
				for i, v := range b {
					if v != 0 {
						t.Fatalf("allocPacked(%d)[%d] = %g", n+g, i, v)
					}
				}
				if uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
					t.Errorf("allocPacked(%d) is not 64-byte aligned", n+g)
				}
				for i := range b {
					b[i] = float32(g + 1)
				}
				mu.Lock()
				bufs = append(bufs, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, b := range bufs {
		for _, v := range b {
			if v != b[0] {
				t.Fatal("two buffers overlap")
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, c := range []Conv{
			convCase(16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // im2col
			convCase(16, 12, 12, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),  // gemm1x1
			convCase(16, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, ActSiLU), // depthwise
			convCase(32, 28, 28, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // winograd4x4
			convCase(16, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActSiLU),  // winograd2x2
			convCase(16, 21, 21, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 16, ActSiLU), // depthwise
			convCase(96, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid), // gemv
		} {
			w, err := c.Pack(randSlice(rng, c.OutC*c.InC/c.Groups*c.KH*c.KW), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			in := randSlice(rng, c.InC*c.InH*c.InW)
			out := make([]float32, c.OutC*c.OutH*c.OutW)
			res := randSlice(rng, len(out))
			scr := make([]float32, c.ScratchLen())
			if a := testing.AllocsPerRun(20, func() { c.Run(out, in, w, res, scr) }); a != 0 {
				t.Errorf("Conv.Run (%v) allocates %v times", c.algo(), a)
			}
			if a := testing.AllocsPerRun(20, func() { c.Run(out, in, w, nil, scr) }); a != 0 {
				t.Errorf("Conv.Run (%v) without residual allocates %v times", c.algo(), a)
			}
			if a := testing.AllocsPerRun(20, func() { c.RunPart(1, 3, out, in, w, res, scr) }); a != 0 {
				t.Errorf("Conv.RunPart (%v) allocates %v times", c.algo(), a)
			}
		}
		l := Linear{In: 100, Out: 10, Act: ActReLU}
		w, _ := l.Pack(randSlice(rng, 1000), nil)
		in, out := randSlice(rng, 100), make([]float32, 10)
		if a := testing.AllocsPerRun(20, func() { l.Run(out, in, w) }); a != 0 {
			t.Errorf("Linear.Run allocates %v times", a)
		}
		x, y := randSlice(rng, 64), make([]float32, 64)
		p := Pool{C: 4, InH: 4, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		pa := p
		pa.Avg = true
		if a := testing.AllocsPerRun(20, func() {
			p.Run(y, x)
			pa.Run(y, x)
			Eltwise{Act: ActSiLU}.Run(y, y)
			Eltwise{Act: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}.Run(y, x)
			Softmax{Outer: 1, Block: 16, Inner: 4}.Run(y, y)
			LRN{C: 4, HW: 16, Size: 3, Lo: 1, Alpha: 1e-4, Beta: 0.75, K: 1}.Run(y, x)
			Add{Act: ActSiLU}.Run(y, x, y)
			Affine{C: 4, HW: 16, Act: ActReLU}.Run(y, x, x, y)
			Mul{C: 4, HW: 16, PerChannel: true}.Run(y, x, y)
		}); a != 0 {
			t.Errorf("pooling and elementwise kernels allocate %v times", a)
		}
	})
}
