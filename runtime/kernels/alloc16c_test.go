package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestNoAllocs16c checks that the blocked operators allocate nothing once warm, at every level.
func TestNoAllocs16c(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, c := range []Conv{
			convCase(20, 12, 12, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // direct, band
			convCase(40, 12, 12, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),  // pointwise
			convCase(32, 28, 28, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActGELU),  // winograd
			convCase(24, 21, 21, 24, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 24, ActSiLU), // depthwise
			convCase(96, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid), // gemv
		} {
			c.Layout = NCHW16c
			k := c.InC / c.Groups * c.KH * c.KW
			w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			in := randSlice(rng, BlockedLen(c.InC, c.InH*c.InW))
			out, res := make([]float32, BlockedLen(c.OutC, c.OutH*c.OutW)), randSlice(rng, BlockedLen(c.OutC, c.OutH*c.OutW))
			scr := make([]float32, c.ScratchLen())
			if a := testing.AllocsPerRun(10, func() { c.Run(out, in, w, res, scr) }); a != 0 {
				t.Errorf("%v: %v allocations per Run", c.algo(), a)
			}
			if a := testing.AllocsPerRun(10, func() { c.RunPart(1, 3, out, in, w, nil, scr) }); a != 0 {
				t.Errorf("%v: %v allocations per RunPart", c.algo(), a)
			}
		}
		const ch, hw = 35, 49
		in, out := randSlice(rng, BlockedLen(ch, hw)), make([]float32, BlockedLen(ch, 4*hw))
		s := randSlice(rng, BlockedLen(ch, 1))
		p := poolCase(ch, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, false, false)
		p.Layout = NCHW16c
		for name, f := range map[string]func(){
			"pool":     func() { p.Run(out, in) },
			"avgpool":  func() { q := p; q.Avg = true; q.Run(out, in) },
			"global":   func() { GlobalPool{C: ch, HW: hw, Layout: NCHW16c}.Run(out, in) },
			"adaptive": func() { AdaptiveAvgPool{C: ch, InH: 7, InW: 7, OutH: 2, OutW: 2, Layout: NCHW16c}.Run(out, in) },
			"affine":   func() { Affine{C: ch, HW: hw, Act: ActReLU, Layout: NCHW16c}.Run(out, in, s, s) },
			"mul":      func() { Mul{C: ch, HW: hw, PerChannel: true, Layout: NCHW16c}.Run(out, in, s) },
			"pad":      func() { Pad{C: ch, H: 7, W: 7, Top: 1, Left: 1, Layout: NCHW16c}.Run(out, in) },
			"lrn": func() {
				LRN{C: ch, HW: hw, Size: 5, Lo: 2, Alpha: 1e-4, Beta: 0.75, K: 1, Layout: NCHW16c}.Run(out, in)
			},
			"reorder": func() { Reorder{C: ch, HW: hw, To: NCHW}.Run(out, in) },
		} {
			f()
			if a := testing.AllocsPerRun(10, f); a != 0 {
				t.Errorf("%s: %v allocations per Run", name, a)
			}
		}
	})
}
