package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPoolAvgShapes sweeps the shapes of Avg's SIMD kernels (window widths 2, 3 and 5 at stride
// 1, 2 and 3 at stride 2) and one without (stride 3), with and without padding, ceil_mode and
// count_include_pad, over widths across the vector lengths, at every level, against the
// reference with guards.
func TestPoolAvgShapes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, k := range [][3]int{{3, 3, 1}, {2, 2, 1}, {5, 5, 1}, {3, 3, 2}, {2, 2, 2}, {1, 3, 2}, {3, 3, 3}} {
			kh, kw, s := k[0], k[1], k[2]
			for _, h := range []int{1, 3, 7, 14} {
				for _, w := range []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 34, 35, 55, 67, 112} {
					for _, pad := range []int{0, 1, 2} {
						for _, ceil := range []bool{false, true} {
							countPad := (w+pad)%2 == 0
							if 2*pad > kh || 2*pad > kw {
								continue
							}
							p := poolCase(2, h, w, kh, kw, s, s, pad, pad, pad, pad, ceil, countPad)
							if p.OutH < 1 || p.OutW < 1 || p.Validate() != nil {
								continue
							}
							inBuf, in := randGuarded(rng, p.C*h*w)
							outBuf, out := guarded(p.C*p.OutH*p.OutW, nil)
							p.Avg = true
							p.Run(out, in)
							name := fmt.Sprintf("%+v", p)
							checkClose(t, name, out, refPool(&p, in, false), nil, kh*kw)
							checkGuards(t, name+" out", outBuf)
							checkGuards(t, name+" in", inBuf)
						}
					}
				}
			}
		}
	})
}
