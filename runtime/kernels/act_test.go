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
// sign aside), within actBounds' twin bound for the others, NaN for NaN.
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
						tol := float32(actBounds[a].twin * math.Abs(float64(w))) // 0: exact
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

// actBounds are the documented error bounds (act.go states them) of the activations that are
// not exact, at every level: rel bounds the relative error against float64 wherever the exact
// value is a normal float32 and x is not below flushBelow; core is the bound for x >= -3 where
// that is tighter (the tanh form of GELU, whose argument's roundings are scaled by |2u| in the
// negative tail); twin bounds the relative difference between the assembly and the Go twin.
var actBounds = map[Act]struct{ rel, core, twin float64 }{
	ActSigmoid:  {3e-7, 3e-7, 4e-7},
	ActSiLU:     {3e-7, 3e-7, 4e-7},
	ActTanh:     {3e-7, 3e-7, 4e-7},
	ActGELU:     {6e-7, 6e-7, 6e-7},
	ActGELUTanh: {2e-5, 1.2e-6, 4e-7},
}

// flushBelow is where an activation's result is flushed to a zero: sigmoid and SiLU below
// -87.33 (1/(1+exp(-x)) < 2^-126 there; |SiLU| < 1.1e-36), to x*0; the GELUs may be from where
// exp's argument nears the end of float32's normal range (x < -13 and -10: the exact values are
// below 1e-37 and 2e-36 in magnitude), and there are at most the exact value's magnitude.
func flushBelow(a Act) float32 {
	switch a {
	case ActSigmoid, ActSiLU:
		return -87.33
	case ActGELU:
		return -13
	case ActGELUTanh:
		return -10
	}
	return float32(math.Inf(-1))
}

// sweepInputs are test inputs over all of float32: for both signs and every exponent (the
// subnormals' too), the smallest and the largest mantissa and per-2 more spread evenly with a
// random offset each.
func sweepInputs(rng *rand.Rand, per int) []float32 {
	var xs []float32
	for _, sign := range []uint32{0, 1 << 31} {
		for e := range uint32(255) {
			xs = append(xs, math.Float32frombits(sign|e<<23), math.Float32frombits(sign|e<<23|(1<<23-1)))
			for j := range per - 2 {
				m := uint32(uint64(j)<<23/uint64(per-2)) + rng.Uint32N(1<<23/uint32(per-2))
				xs = append(xs, math.Float32frombits(sign|e<<23|m))
			}
		}
	}
	return xs
}

// TestActAccuracy sweeps every exponent of float32 (1024 values each, both signs: 522k inputs)
// at each level and checks the activations against float64 (refAct) within actBounds: the
// relative error where the exact value is a normal float32 and x is not below flushBelow; below
// flushBelow a zero of x*0's sign for sigmoid (+0) and SiLU, and elsewhere (the GELUs' tails,
// exact values below the normal range, where the GELUs' intermediates are subnormal) at most the
// exact value's magnitude (to 2e-5) plus the smallest subnormal. NaN (both signs, quiet and signaling) stays NaN; ±Inf and ±0 give PyTorch's values.
func TestActAccuracy(t *testing.T) {
	xs := sweepInputs(rand.New(rand.NewPCG(61, 62)), 1024)
	inf, nan := math.Inf(1), math.NaN()
	specials := map[Act][5]float64{ // f(NaN), f(+Inf), f(-Inf), f(+0), f(-0)
		ActSigmoid:  {nan, 1, 0, 0.5, 0.5},
		ActSiLU:     {nan, inf, nan, 0, 0},
		ActTanh:     {nan, 1, -1, 0, 0},
		ActGELU:     {nan, inf, nan, 0, 0},
		ActGELUTanh: {nan, inf, nan, 0, 0},
	}
	forEachISA(t, func(t *testing.T) {
		for _, a := range []Act{ActSigmoid, ActSiLU, ActTanh, ActGELU, ActGELUTanh} {
			b := actBounds[a]
			y := append([]float32(nil), xs...)
			apply(a, y)
			worst, at, worstCore := 0.0, float32(0), 0.0
			for i, v := range xs {
				want := refAct(a, float64(v))
				g := float64(y[i])
				switch {
				case v != v || math.IsInf(float64(v), 0):
					continue // below
				case v < flushBelow(a) && (a == ActSigmoid || a == ActSiLU):
					if g != 0 || math.Signbit(g) != math.Signbit(float64(v*0)) && a != ActSigmoid {
						t.Fatalf("%v(%v) = %v, want a zero (x*0)", a, v, g)
					}
					continue
				case v < flushBelow(a) || math.Abs(want) < 0x1p-126:
					if !(math.Abs(g) <= math.Abs(want)*(1+2e-5)+0x1p-149) || g*want < 0 {
						t.Fatalf("%v(%v) = %v, want %v (subnormal)", a, v, g, want)
					}
					continue
				}
				d := math.Abs(g-want) / math.Abs(want)
				if !(d <= worst) {
					worst, at = d, v
				}
				if v >= -3 && d > worstCore {
					worstCore = d
				}
			}
			t.Logf("%v: worst relative error %.3g (%.2f u) at %v; %.3g for x >= -3", a, worst, worst/u, at, worstCore)
			if !(worst <= b.rel) || worstCore > b.core {
				t.Errorf("%v: relative error %.3g at %v (%.3g for x >= -3), bound %.3g (%.3g)", a, worst, at, worstCore, b.rel, b.core)
			}
			in := []float32{float32(nan), float32(inf), float32(-inf), 0, float32(math.Copysign(0, -1)),
				-float32(nan), math.Float32frombits(0x7f800001), math.Float32frombits(0xffa00000)}
			out := append([]float32(nil), in...)
			apply(a, out)
			for i, w := range specials[a] {
				if g := float64(out[i]); !(g == w || g != g && w != w) || w == 0 && math.Signbit(g) != math.Signbit(float64(in[i])) && a != ActSigmoid {
					t.Errorf("%v(%v) = %v, want %v", a, in[i], g, w)
				}
			}
			for i := 5; i < len(in); i++ {
				if out[i] == out[i] {
					t.Errorf("%v(%#x) = %v, want NaN", a, math.Float32bits(in[i]), out[i])
				}
			}
		}
	})
}

// TestActTwinSweep runs the sweep of TestActAccuracy through each SIMD level's kernel and the
// Go twin: within actBounds' twin bound of each other (relative; in the tails, where the exact
// value is below 2^-122 or x below flushBelow, to 2e-5 and 2^-122), the same NaNs.
func TestActTwinSweep(t *testing.T) {
	xs := sweepInputs(rand.New(rand.NewPCG(63, 64)), 1024)
	for _, isa := range testLevels[1:] {
		for _, a := range []Act{ActSigmoid, ActSiLU, ActTanh, ActGELU, ActGELUTanh} {
			got, want := append([]float32(nil), xs...), append([]float32(nil), xs...)
			for c := 0; c < len(xs); c += actChunk {
				sets[isa].act[a](got[c:min(c+actChunk, len(xs))])
				genericSet.act[a](want[c:min(c+actChunk, len(xs))])
			}
			worst := 0.0
			for i, v := range xs {
				g, w := float64(got[i]), float64(want[i])
				if g != g || w != w {
					if g == g || w == w {
						t.Fatalf("%v %v(%v) = %v, twin %v", isa, a, v, g, w)
					}
					continue
				}
				if math.Abs(w) < 0x1p-122 || v < flushBelow(a) {
					// The tails: the GELUs' intermediates are subnormal, and their exps are
					// flushed where exp's argument is below -87, which a rounding may put on
					// either side.
					if !(math.Abs(g-w) <= 2e-5*math.Abs(w)+0x1p-122) {
						t.Fatalf("%v %v(%v) = %v, twin %v", isa, a, v, g, w)
					}
					continue
				}
				worst = max(worst, math.Abs(g-w)/math.Abs(w))
			}
			t.Logf("%v %v: worst relative difference %.3g (%.2f u)", isa, a, worst, worst/u)
			if worst > actBounds[a].twin {
				t.Errorf("%v %v: relative difference %.3g from the twin, bound %.3g", isa, a, worst, actBounds[a].twin)
			}
		}
	}
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
	// The bounds are actBounds', overall and for x >= -3 (the same at every level): the exact
	// GELU keeps float32's precision everywhere (4.6e-7 measured here at AVX-512, 8 u; NR's erfc
	// alone is within 1.2e-7); the tanh form's argument's roundings (a few ulps of 2u) scale
	// sigmoid's error by |2u| (8.5e-7 for x >= -3, 1.3e-5 at x = -9.83, where 2u = -85: float32's
	// own formula 0.5*x*(1+tanh(u)) returns rounding noise there).
	bounds := map[Act][2]float64{}
	for _, a := range []Act{ActGELU, ActGELUTanh} {
		bounds[a] = [2]float64{actBounds[a].rel, actBounds[a].core}
	}
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
