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
// sign aside), within a few ulps for sigmoid, SiLU and the GELUs, NaN for NaN.
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
						if a == ActSigmoid || a == ActSiLU || a == ActTanh || a == ActGELU || a == ActGELUTanh {
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
			apply(a, y)
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
			apply(a, inf)
			if a == ActSigmoid && (inf[0] != 1 || inf[1] != 0) || a == ActSiLU && !math.IsInf(float64(inf[0]), 1) || inf[2] == inf[2] {
				t.Errorf("%v(+Inf, -Inf, NaN) = %v", a, inf)
			}
		}
	})
}

// TestGELUAccuracy measures both GELUs at each level against float64 (refGELU, refGELUTanh) over
// [-20, 20] in steps of 1e-4 and at powers of two from 2^-30 to 2^20 of both signs: the
// relative error down to 2^-122 (1.9e-37), reported and bounded; below (x < -13 for the exact
// GELU, x < -10 for the tanh form, where exp's argument leaves float32's normal range) the
// result may be flushed to a zero but must not exceed the reference. NaN stays NaN, +Inf gives
// +Inf, -Inf NaN (-Inf*0, as torch.nn.GELU()).
func TestGELUAccuracy(t *testing.T) {
	var xs []float32
	for i := -200000; i <= 200000; i++ {
		xs = append(xs, float32(i)/10000)
	}
	for e := -30; e <= 20; e++ {
		v := float32(math.Ldexp(1, e))
		xs = append(xs, v, -v, v*1.37, -v*1.37)
	}
	// bounds are the worst relative errors allowed, overall and for x >= -3, above the measured
	// ones (the same at every level): the exact GELU keeps float32's precision everywhere (4.1e-7,
	// 3.5 ulps, at x = -1.19); the tanh form's argument's roundings (a few ulps of 2u) scale
	// sigmoid's error by |2u| (8.8e-7 for x >= -3, 1.3e-5 at x = -9.83, where 2u = -85: float32's
	// own formula 0.5*x*(1+tanh(u)) returns rounding noise there).
	bounds := map[Act][2]float64{ActGELU: {5e-7, 5e-7}, ActGELUTanh: {2e-5, 1.2e-6}}
	forEachISA(t, func(t *testing.T) {
		for _, a := range []Act{ActGELU, ActGELUTanh} {
			y := append([]float32(nil), xs...)
			apply(a, y)
			worst, at, worstCore := 0.0, float32(0), 0.0
			for i, v := range xs {
				want := refAct(a, float64(v))
				if math.Abs(want) < 0x1p-122 {
					if math.Abs(float64(y[i])) > math.Abs(want)*(1+2e-5)+0x1p-149 || y[i]*float32(want) < 0 {
						t.Errorf("%v(%v) = %v, want %v (near the normal range's end)", a, v, y[i], want)
					}
					continue
				}
				d := math.Abs(float64(y[i])-want) / math.Abs(want)
				if d > worst {
					worst, at = d, v
				}
				if v >= -3 && d > worstCore {
					worstCore = d
				}
			}
			t.Logf("%v: worst relative error %.3g at %v (%.3g for x >= -3)", a, worst, at, worstCore)
			if worst > bounds[a][0] || worstCore > bounds[a][1] {
				t.Errorf("%v: relative error %.3g at %v (%.3g for x >= -3)", a, worst, at, worstCore)
			}
			special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
			apply(a, special)
			if special[0] == special[0] || !math.IsInf(float64(special[1]), 1) || special[2] == special[2] || special[3] != 0 || special[4] != 0 {
				t.Errorf("%v(NaN, +Inf, -Inf, 0, -0) = %v", a, special)
			}
		}
	})
}
