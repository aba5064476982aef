package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, shape := range [][3]int{{1, 8, 1}, {3, 96, 1}, {1, 96, 49}, {2, 5, 130}, {1, 1, 3}} {
		l := LayerNorm{Outer: shape[0], Block: shape[1], Inner: shape[2], Eps: 1e-6}
		n := l.Outer * l.Block * l.Inner
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(rng.NormFloat64()*2 + 1)
		}
		w, b := make([]float32, l.Block), make([]float32, l.Block)
		for i := range w {
			w[i], b[i] = float32(rng.Float64()+0.5), float32(rng.NormFloat64()*0.1)
		}
		out := make([]float32, n)
		l.Run(out, in, w, b)
		for o := range l.Outer {
			for i := range l.Inner {
				mean, v := 0.0, 0.0
				for k := range l.Block {
					mean += float64(in[(o*l.Block+k)*l.Inner+i])
				}
				mean /= float64(l.Block)
				for k := range l.Block {
					d := float64(in[(o*l.Block+k)*l.Inner+i]) - mean
					v += d * d
				}
				inv := 1 / math.Sqrt(v/float64(l.Block)+float64(l.Eps))
				for k := range l.Block {
					j := (o*l.Block+k)*l.Inner + i
					want := (float64(in[j])-mean)*inv*float64(w[k]) + float64(b[k])
					if math.Abs(float64(out[j])-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Fatalf("%+v: out[%d] = %g, want %g", l, j, out[j], want)
					}
				}
			}
		}
		// In place.
		l.Run(in, in, w, b)
		for i := range in {
			if in[i] != out[i] {
				t.Fatalf("%+v: in place differs at %d: %g vs %g", l, i, in[i], out[i])
			}
		}
	}
}

func TestErf(t *testing.T) {
	in := []float32{0, 0.5, -1, 3, float32(math.Inf(-1)), float32(math.NaN())}
	out := make([]float32, len(in))
	Erf{}.Run(out, in)
	for i, v := range in {
		want := float32(math.Erf(float64(v)))
		if out[i] != want && !(want != want && out[i] != out[i]) {
			t.Errorf("erf(%g) = %g, want %g", v, out[i], want)
		}
	}
}
