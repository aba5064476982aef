package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPerChannelRunPart checks that the parts of a global pooling and of a product, run one after
// the other, write Run's values bit for bit and nothing past the output, over channel counts
// that are not multiples of a block, in both layouts.
func TestPerChannelRunPart(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 5))
	for _, l := range []Layout{NCHW, NCHW16c} {
		for _, c := range []int{1, 5, 16, 17, 40, 71} {
			for _, hw := range []int{1, 7, 49} {
				n, nc := l.Len(c, hw), l.Len(c, 1)
				x, s, se := make([]float32, n), make([]float32, nc), make([]float32, n)
				for i := range x {
					x[i], se[i] = rng.Float32()*2-1, rng.Float32()*2-1
				}
				for i := range s {
					s[i] = rng.Float32()
				}
				if l == NCHW16c { // padding lanes are zero in a blocked tensor
					for b := 0; b < blocks(c); b++ {
						for p := range hw {
							for lane := c - b*BlockC; lane < BlockC; lane++ {
								if lane >= 0 {
									x[(b*hw+p)*BlockC+lane], se[(b*hw+p)*BlockC+lane] = 0, 0
								}
							}
						}
					}
					for i := c; i < nc; i++ {
						s[i] = 0
					}
				}
				for _, max := range []bool{false, true} {
					g := GlobalPool{C: c, HW: hw, Max: max, Layout: l}
					want := make([]float32, nc)
					g.Run(want, x)
					for parts := 1; parts <= 4; parts++ {
						got := make([]float32, nc+1)
						for i := range got {
							got[i] = 99
						}
						for p := range parts {
							g.RunPart(p, parts, got[:nc], x)
						}
						checkParts(t, fmt.Sprintf("%v global c=%d hw=%d max=%v parts=%d", l, c, hw, max, parts), got, want)
					}
				}
				for _, per := range []bool{false, true} {
					m, sc := Mul{C: c, HW: hw, PerChannel: per, Layout: l}, se
					if per {
						sc = s
					}
					want := make([]float32, n)
					m.Run(want, x, sc)
					for parts := 1; parts <= 4; parts++ {
						got := make([]float32, n+1)
						for i := range got {
							got[i] = 99
						}
						for p := range parts {
							m.RunPart(p, parts, got[:n], x, sc)
						}
						checkParts(t, fmt.Sprintf("%v mul c=%d hw=%d per=%v parts=%d", l, c, hw, per, parts), got, want)
					}
				}
			}
		}
	}
}

// checkParts compares got[:len(want)] with want bit for bit and checks the guard after it.
func checkParts(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: value %d: %g, want %g", name, i, got[i], want[i])
			return
		}
	}
	if got[len(want)] != 99 {
		t.Errorf("%s: wrote past the output", name)
	}
}

// TestReorderRunPart checks that the parts of a conversion to NCHW16c, one after the other and
// with scratch runs of several sizes, write Run's values and nothing past the output.
func TestReorderRunPart(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 6))
	for _, c := range []int{1, 3, 16, 17, 35} {
		for _, hw := range []int{1, 17, 50, 301} {
			r := Reorder{C: c, HW: hw, To: NCHW16c}
			in := make([]float32, c*hw)
			for i := range in {
				in[i] = rng.Float32()*2 - 1
			}
			n := NCHW16c.Len(c, hw)
			want := make([]float32, n)
			r.Run(want, in)
			for parts := 1; parts <= 3; parts++ {
				for _, sl := range []int{16 * BlockC, 16*BlockC + 5, 4096} {
					got := make([]float32, n+1)
					for i := range got {
						got[i] = 99
					}
					for p := range parts {
						r.RunPart(p, parts, got[:n], in, make([]float32, sl))
					}
					checkParts(t, fmt.Sprintf("reorder c=%d hw=%d parts=%d scratch=%d", c, hw, parts, sl), got, want)
				}
			}
		}
	}
}

// TestConvRunPartPool checks at every level that the parts of a blocked depthwise convolution
// with pooling write RunPart's output and GlobalPool's averages of it bit for bit, over odd
// channel counts, strides and kernels, and that PoolsParts says when they pool.
func TestConvRunPartPool(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(12, 7))
		for _, s := range []struct{ c, hw, k, stride int }{{5, 7, 3, 1}, {37, 9, 3, 1}, {96, 23, 3, 2}, {200, 14, 5, 2}, {1149, 7, 5, 1}} {
			o := (s.hw+2*(s.k/2)-s.k)/s.stride + 1
			c := Conv{InC: s.c, InH: s.hw, InW: s.hw, OutC: s.c, OutH: o, OutW: o, KH: s.k, KW: s.k, StrideH: s.stride, StrideW: s.stride,
				PadT: s.k / 2, PadL: s.k / 2, DilH: 1, DilW: 1, Groups: s.c, Act: ActSiLU, Layout: NCHW16c}
			w, bias := randSlice(rng, s.c*s.k*s.k), randSlice(rng, s.c)
			pw, err := c.Pack(w, bias)
			if err != nil {
				t.Fatal(err)
			}
			in := make([]float32, BlockedLen(s.c, s.hw*s.hw))
			for i := range in {
				if i/(s.hw*s.hw*BlockC)*BlockC+i%BlockC < s.c {
					in[i] = rng.Float32()*2 - 1
				}
			}
			n, nc := BlockedLen(s.c, o*o), BlockedLen(s.c, 1)
			want, wantP := make([]float32, n), make([]float32, nc)
			c.Run(want, in, pw, nil, make([]float32, c.ScratchLen()))
			GlobalPool{C: s.c, HW: o * o, Layout: NCHW16c}.Run(wantP, want)
			for parts := 1; parts <= 3; parts++ {
				got, pooled := make([]float32, n), make([]float32, nc+1)
				for i := range pooled {
					pooled[i] = 99
				}
				for p := range parts {
					c.RunPartPool(p, parts, got, in, pw, nil, make([]float32, c.ScratchLen()), pooled[:nc])
				}
				name := fmt.Sprintf("%v parts=%d", s, parts)
				checkParts(t, name+" output", append(got, 99), want)
				if c.PoolsParts(parts) {
					checkParts(t, name+" pooled", pooled, wantP)
				} else if parts == 1 {
					t.Errorf("%s: one part does not pool", name)
				}
			}
		}
	})
}
