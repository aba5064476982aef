package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// expandDWCase makes a pointwise expansion of inC channels at hw x hw to exp channels and the
// k x k depthwise convolution after it, with random weights and input (zero padding lanes).
func expandDWCase(t testing.TB, rng *rand.Rand, inC, hw, exp, k, stride, dil int, ea, da Act) (e, d Conv, we, wd *ConvWeights, in []float32) {
	e = Conv{InC: inC, InH: hw, InW: hw, OutC: exp, OutH: hw, OutW: hw, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1,
		Groups: 1, Act: ea, Layout: NCHW16c}
	pad := dil * (k - 1) / 2
	o := (hw+2*pad-dil*(k-1)-1)/stride + 1
	d = Conv{InC: exp, InH: hw, InW: hw, OutC: exp, OutH: o, OutW: o, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadT: pad, PadL: pad, DilH: dil, DilW: dil, Groups: exp, Act: da, Layout: NCHW16c}
	var err error
	if we, err = e.Pack(randSlice(rng, exp*inC), randSlice(rng, exp)); err != nil {
		t.Fatal(err)
	}
	if wd, err = d.Pack(randSlice(rng, exp*k*k), randSlice(rng, exp)); err != nil {
		t.Fatal(err)
	}
	in = make([]float32, BlockedLen(inC, hw*hw))
	for i := range in {
		if i/(hw*hw*BlockC)*BlockC+i%BlockC < inC {
			in[i] = rng.Float32()*4 - 2
		}
	}
	return
}

// The fused pair gives E.Run then D.Run bit for bit, in any number of parts.
func TestExpandDW(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 13))
		for _, s := range []struct {
			inC, hw, exp, k, stride, dil int
			ea, da                       Act
		}{
			{16, 112, 96, 3, 2, 1, ActSiLU, ActSiLU},
			{24, 57, 144, 3, 1, 1, ActSiLU, ActSiLU},
			{24, 57, 144, 5, 2, 1, ActSiLU, ActSiLU},
			{20, 29, 70, 5, 1, 1, ActReLU6, ActReLU6},
			{13, 30, 37, 3, 2, 1, ActReLU, ActNone},
			{40, 31, 200, 5, 2, 1, ActNone, ActReLU},
			{7, 28, 19, 3, 1, 2, ActSiLU, ActSiLU},
			{600, 28, 40, 3, 1, 1, ActSiLU, ActSiLU}, // E sums its input in several chunks
		} {
			e, d, we, wd, in := expandDWCase(t, rng, s.inC, s.hw, s.exp, s.k, s.stride, s.dil, s.ea, s.da)
			f := ExpandDW{E: &e, D: &d}
			if !f.Fuses() {
				t.Fatalf("%v does not fuse", s)
			}
			mid := make([]float32, BlockedLen(e.OutC, e.OutH*e.OutW))
			want := make([]float32, BlockedLen(d.OutC, d.OutH*d.OutW))
			e.Run(mid, in, we, nil, make([]float32, e.ScratchLen()))
			d.Run(want, mid, wd, nil, make([]float32, d.ScratchLen()))
			for parts := 1; parts <= 3; parts++ {
				got := make([]float32, len(want)+1)
				for i := range got {
					got[i] = 99
				}
				for p := range parts {
					scratch := make([]float32, f.ScratchLen())
					for i := range scratch {
						scratch[i] = 77 // another layer's leftovers: the frame must be cleared
					}
					f.RunPart(p, parts, got, in, we, wd, scratch)
				}
				checkParts(t, fmt.Sprintf("%v parts=%d", s, parts), got, want)
			}
		}
	})
}

func TestExpandDWFuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e, d, _, _, _ := expandDWCase(t, rng, 16, 14, 96, 3, 1, 1, ActSiLU, ActSiLU)
	if (ExpandDW{E: &e, D: &d}).Fuses() || (ExpandDW{E: &e, D: &d}).ScratchLen() != 0 {
		t.Error("rows of 14 pixels fuse")
	}
	e, d, _, _, _ = expandDWCase(t, rng, 16, 28, 96, 3, 1, 1, ActSiLU, ActSiLU)
	d2 := d
	d2.InC, d2.OutC, d2.Groups = 80, 80, 80
	if (ExpandDW{E: &e, D: &d2}).Fuses() {
		t.Error("a depthwise convolution of other channels fuses")
	}
	e2 := e
	e2.KH, e2.KW, e2.PadT, e2.PadL = 3, 3, 1, 1
	if (ExpandDW{E: &e2, D: &d}).Fuses() {
		t.Error("a 3x3 expansion fuses")
	}
}

// BenchmarkExpandDW times EfficientNet-B0's expansions and depthwise convolutions at 112x112 to
// 28x28 fused (one part) against E.Run then D.Run, which is what expandDWBandFloats and Fuses'
// bound on rows were chosen from:
//
//	go test -run - -bench ExpandDW ./runtime/kernels
func BenchmarkExpandDW(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ inC, hw, exp, k, stride int }{
		{16, 112, 96, 3, 2}, {24, 56, 144, 3, 1}, {24, 56, 144, 5, 2}, {40, 28, 240, 5, 1}, {40, 28, 240, 3, 2},
	} {
		e, d, we, wd, in := expandDWCase(b, rng, s.inC, s.hw, s.exp, s.k, s.stride, 1, ActSiLU, ActSiLU)
		f := ExpandDW{E: &e, D: &d}
		mid := make([]float32, BlockedLen(e.OutC, e.OutH*e.OutW))
		out := make([]float32, BlockedLen(d.OutC, d.OutH*d.OutW))
		es, ds, fs := make([]float32, e.ScratchLen()), make([]float32, d.ScratchLen()), make([]float32, f.ScratchLen())
		name := fmt.Sprintf("%dto%d_%dx%d_k%ds%d", s.inC, s.exp, s.hw, s.hw, s.k, s.stride)
		b.Run(name+"/unfused", func(b *testing.B) {
			for range b.N {
				e.Run(mid, in, we, nil, es)
				d.Run(out, mid, wd, nil, ds)
			}
		})
		b.Run(name+"/fused", func(b *testing.B) {
			for range b.N {
				f.RunPart(0, 1, out, in, we, wd, fs)
			}
		})
	}
}
