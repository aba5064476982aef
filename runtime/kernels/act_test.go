package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// actInputs returns n test inputs: mostly uniform in [-scale, scale], with the special values
// (NaN of both signs, infinities, zeros of both signs, the ends of exp's range, the clamps'
// corners, huge and subnormal values) at random places.
func actInputs(rng *rand.Rand, n int, scale float32) []float32 {
	special := []float32{
		float32(math.NaN()), -float32(math.NaN()), math.Float32frombits(0x7f800001), float32(math.Inf(1)), float32(math.Inf(-1)),
		0, float32(math.Copysign(0, -1)), -87, -87.5, -88, 87, 88, -3, 3, 6, -6, 1e30, -1e30, 1e-40, -1e-40, 0.5, -0.5,
	}
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(8) == 0 {
			x[i] = special[rng.IntN(len(special))]
			continue
		}
		x[i] = (rng.Float32()*2 - 1) * scale
	}
	return x
}

// TestApplyChunks compares apply (the operators' path: the active level's routine a chunk of
// actChunk values at a time) at each level with the Go twins over every length up to 70 and a
// few longer than one chunk, with guards around the slice: bit for bit for the clamps (a zero's
// sign aside), within a few ulps for sigmoid and SiLU, NaN for NaN.
func TestApplyChunks(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(51, 52))
		lengths := []int{}
		for n := range 71 {
			lengths = append(lengths, n)
		}
		lengths = append(lengths, actChunkTest-1, actChunkTest, actChunkTest+17, 3*actChunkTest+31)
		for _, a := range allActs {
			for _, n := range lengths {
				for _, scale := range []float32{4, 100} {
					src := actInputs(rng, n, scale)
					buf, x := guarded(n, func(i int) float32 { return src[i] })
					want := append([]float32(nil), src...)
					if f := genericSet.act[a]; f != nil {
						f(want)
					}
					apply(a, x)
					name := fmt.Sprintf("%v n=%d scale=%v", a, n, scale)
					checkGuards(t, name, buf)
					for i := range x {
						g, w := x[i], want[i]
						if w != w || g != g {
							if (w != w) != (g != g) {
								t.Fatalf("%s: %v(%v) = %v, Go twin %v", name, a, src[i], g, w)
							}
							continue
						}
						tol := float32(0)
						if a == ActSigmoid || a == ActSiLU || a == ActTanh {
							tol = 4e-7 * float32(math.Abs(float64(w)))
						}
						if d := g - w; d > tol || d < -tol {
							t.Fatalf("%s: %v(%v) = %v, Go twin %v", name, a, src[i], g, w)
						}
					}
				}
			}
		}
	})
}

// actChunkTest is the length of one activation call (apply's chunk).
const actChunkTest = actChunk

// TestLogisticAccuracy measures sigmoid and SiLU at each level against float64 over [-100, 100]
// (where the result is a normal float32; below, 0 is within float32's precision): the relative
// error the generator documents, at most 3e-7.
func TestLogisticAccuracy(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		const steps = 400000
		x := make([]float32, steps+1)
		for i := range x {
			x[i] = -100 + 200*float32(i)/steps
		}
		for _, a := range []Act{ActSigmoid, ActSiLU} {
			y := append([]float32(nil), x...)
			Apply(a, y)
			worst, at := 0.0, float32(0)
			for i, v := range x {
				s := 1 / (1 + math.Exp(-float64(v)))
				want := s
				if a == ActSiLU {
					want = float64(v) * s
				}
				if math.Abs(want) < 1e-30 {
					continue
				}
				if d := math.Abs(float64(y[i])-want) / math.Abs(want); d > worst {
					worst, at = d, v
				}
			}
			t.Logf("%v: worst relative error %.3g at %v", a, worst, at)
			if worst > 3e-7 {
				t.Errorf("%v: relative error %.3g at %v", a, worst, at)
			}
			inf := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
			Apply(a, inf)
			if a == ActSigmoid && (inf[0] != 1 || inf[1] != 0) || a == ActSiLU && !math.IsInf(float64(inf[0]), 1) || inf[2] == inf[2] {
				t.Errorf("%v(+Inf, -Inf, NaN) = %v", a, inf)
			}
		}
	})
}
