package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestLayoutNames(t *testing.T) {
	for l, want := range map[Layout][2]string{NCHW: {"nchw", "NCHW"}, NCHW16c: {"nchw16c", "NCHW16c"}} {
		if l.String() != want[0] || l.Ident() != want[1] {
			t.Errorf("%d: String %q Ident %q, want %q", l, l.String(), l.Ident(), want)
		}
	}
	if Layout(9).Ident() != "" || Layout(9).String() != "Layout(9)" {
		t.Errorf("Layout(9): %q %q", Layout(9).Ident(), Layout(9).String())
	}
	for _, c := range [][3]int{{1, 5, 80}, {16, 5, 80}, {17, 3, 96}, {64, 49, 64 * 49}, {3, 1, 16}} {
		if got := BlockedLen(c[0], c[1]); got != c[2] || NCHW16c.Len(c[0], c[1]) != c[2] || NCHW.Len(c[0], c[1]) != c[0]*c[1] {
			t.Errorf("BlockedLen(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

// blockedRef is NCHW16c of the NCHW x (c planes of hw), padding lanes zero: the definition.
func blockedRef(x []float32, c, hw int) []float32 {
	out := make([]float32, BlockedLen(c, hw))
	for ch := range c {
		for p := range hw {
			out[((ch/16)*hw+p)*16+ch%16] = x[ch*hw+p]
		}
	}
	return out
}

// TestReorder checks both directions against the definition, with guards, over channel counts
// that are and are not multiples of 8 and 16, at every level.
func TestReorder(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, c := range []int{1, 3, 8, 15, 16, 17, 31, 33, 64, 100} {
			for _, hw := range []int{1, 2, 7, 15, 16, 49, 50} {
				x := randSlice(rng, c*hw)
				want := blockedRef(x, c, hw)
				bbuf, b := guarded(len(want), func(int) float32 { return 7 }) // non-zero: the pad lanes must be written
				Reorder{C: c, HW: hw, To: NCHW16c}.Run(b, x)
				name := fmt.Sprintf("c=%d hw=%d", c, hw)
				checkGuards(t, name, bbuf)
				for i := range want {
					if !sameBits(b[i], want[i]) {
						t.Fatalf("%s: to blocked [%d] = %v, want %v", name, i, b[i], want[i])
					}
				}
				nbuf, n := guarded(c*hw, nil)
				Reorder{C: c, HW: hw, To: NCHW}.Run(n, b)
				checkGuards(t, name, nbuf)
				for i := range x {
					if !sameBits(n[i], x[i]) {
						t.Fatalf("%s: round trip [%d] = %v, want %v", name, i, n[i], x[i])
					}
				}
			}
		}
	})
	if (Reorder{C: 3, HW: 4, To: Layout(7)}).Validate() == nil || (Reorder{C: 0, HW: 4}).Validate() == nil {
		t.Error("Reorder.Validate accepts a bad layout or size")
	}
	mustPanic(t, "Reorder short", func() { Reorder{C: 3, HW: 4, To: NCHW16c}.Run(make([]float32, 63), make([]float32, 12)) })
}

// TestLayoutValidate checks that each settings type with a Layout validates NCHW, refuses an
// unknown layout, and accepts NCHW16c exactly when it supports it (blockedOps).
func TestLayoutValidate(t *testing.T) {
	for _, l := range []Layout{NCHW, NCHW16c, Layout(5)} {
		conv := convCase(5, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)
		conv.Layout = l
		pool := poolCase(5, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, false, false)
		pool.Layout = l
		for name, v := range map[string]interface{ Validate() error }{
			"conv":              &conv,
			"pool":              &pool,
			"global pool":       GlobalPool{C: 5, HW: 9, Layout: l},
			"adaptive avg pool": AdaptiveAvgPool{C: 5, InH: 7, InW: 7, OutH: 2, OutW: 3, Layout: l},
			"affine":            Affine{C: 5, HW: 9, Layout: l},
			"mul":               Mul{C: 5, HW: 9, Layout: l},
			"pad":               Pad{C: 5, H: 3, W: 3, Top: 1, Layout: l},
			"lrn":               LRN{C: 5, HW: 9, Size: 3, Layout: l},
			"reorder":           Reorder{C: 5, HW: 9, To: l},
		} {
			err := v.Validate()
			if want := l == NCHW || l == NCHW16c && blockedOps[name]; (err == nil) != want {
				t.Errorf("%s: Validate with layout %v: %v", name, l, err)
			}
		}
	}
}

// blockedOps are the settings types that support NCHW16c.
var blockedOps = map[string]bool{"reorder": true, "conv": true, "pool": true, "global pool": true, "adaptive avg pool": true,
	"affine": true, "mul": true, "pad": true, "lrn": true}
