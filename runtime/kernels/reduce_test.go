package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// reduceRef is Reduce in float64.
func reduceRef(r Reduce, in []float32) []float64 {
	out := make([]float64, r.Outer*r.Inner)
	for o := range r.Outer {
		for i := range r.Inner {
			acc := 0.0
			if r.Max {
				acc = math.Inf(-1)
			}
			for b := range r.Block {
				v := float64(in[(o*r.Block+b)*r.Inner+i])
				switch {
				case r.Max:
					if v > acc || v != v {
						acc = v
					}
				case r.L2:
					acc += v * v
				default:
					acc += v
				}
			}
			switch {
			case r.Mean:
				acc /= float64(r.Block)
			case r.L2:
				acc = math.Sqrt(acc)
			}
			out[o*r.Inner+i] = acc
		}
	}
	return out
}

func TestReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][3]int{{1, 1, 1}, {3, 7, 1}, {2, 5, 9}, {1, 96, 49}, {4, 1, 6}, {1, 1000, 1}} {
		for _, r := range []Reduce{{}, {Mean: true}, {Max: true}, {L2: true}} {
			r.Outer, r.Block, r.Inner = shape[0], shape[1], shape[2]
			in := make([]float32, r.Outer*r.Block*r.Inner)
			for i := range in {
				in[i] = float32(rng.NormFloat64())
			}
			out := make([]float32, r.Outer*r.Inner+1)
			out[len(out)-1] = 42
			r.Run(out, in)
			if out[len(out)-1] != 42 {
				t.Fatalf("%+v wrote past its output", r)
			}
			for i, want := range reduceRef(r, in) {
				if d := math.Abs(float64(out[i]) - want); d > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("%+v: out[%d] = %g, want %g", r, i, out[i], want)
				}
			}
		}
	}
	// NaN wins the maximum and spreads through sums.
	nan := float32(math.NaN())
	for _, r := range []Reduce{{Outer: 1, Block: 3, Inner: 1, Max: true}, {Outer: 1, Block: 3, Inner: 2, Max: true}, {Outer: 1, Block: 3, Inner: 1}} {
		in := []float32{1, nan, 2, 3, 4, 5}
		out := make([]float32, r.Inner)
		r.Run(out, in)
		if v := out[1%r.Inner]; v == v { // in[1] is in column 1 % Inner
			t.Errorf("%+v: %v, want NaN where the NaN is", r, out)
		}
	}
}
