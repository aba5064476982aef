package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refSoftmax is the softmax (or log-softmax) of in's blocks in float64: out[i] and, for the
// log-softmax's bound, |x - max| of each value.
func refSoftmax(s Softmax, in []float32) (out, dist []float64) {
	out = make([]float64, len(in))
	dist = make([]float64, len(in))
	for o := range s.Outer {
		for j := range s.Inner {
			at := func(k int) int { return (o*s.Block+k)*s.Inner + j }
			m := math.Inf(-1)
			for k := range s.Block {
				m = math.Max(m, float64(in[at(k)]))
			}
			sum := 0.0
			for k := range s.Block {
				sum += math.Exp(float64(in[at(k)]) - m)
			}
			for k := range s.Block {
				x := float64(in[at(k)]) - m
				dist[at(k)] = math.Abs(x)
				if s.Log {
					out[at(k)] = x - math.Log(sum)
				} else {
					out[at(k)] = math.Exp(x) / sum
				}
			}
		}
	}
	return out, dist
}

// softmaxBound is the error allowed at every level. x - max is rounded to float32 (as PyTorch
// does), an error of up to u*|x - max| that exp turns into a relative one of as much; on top,
// the softmax has a relative 2e-6 (exp's few ulps, the normalization's roundings and a float32
// sum of up to a few thousand terms), and the log-softmax, which subtracts log(sum) from x - max,
// four roundings of those two magnitudes and the sum's relative error (log's absolute one).
// Probabilities below 1.2e-38 (exp(-87.33), about float32's smallest normal) may be flushed to 0.
func softmaxBound(log bool, want, dist float64) float64 {
	if log {
		return 4*u*(dist+math.Abs(want-(-dist))) + 2e-6 // |want + dist| = log(sum) >= 0
	}
	return (2e-6+1.01*u*dist)*math.Abs(want) + 0x1p-125
}

// TestSoftmaxShapes runs Softmax at every level over blocks along the last axis (Inner = 1: the
// class logits) and along a middle one (Inner > 1: per-pixel class scores), short and long
// (every tail of a vector and a block longer than a chunk), in place and not, with logits from
// a narrow and a wide range (down to probabilities of 1e-30 and flushed zeros), against float64,
// with guard bands.
func TestSoftmaxShapes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(91, 92))
		type shape struct{ outer, block, inner int }
		var shapes []shape
		for b := 1; b <= 40; b++ {
			shapes = append(shapes, shape{1, b, 1}, shape{2, b, 1})
		}
		for in := 2; in <= 40; in++ {
			shapes = append(shapes, shape{1, 3, in}, shape{2, 21, in})
		}
		shapes = append(shapes, shape{1, 1000, 1}, shape{3, 4099, 1}, shape{1, 1, 7}, shape{1, 21, 1000}, shape{2, 5, 333}, shape{0, 4, 4}, shape{3, 0, 2})
		for _, sh := range shapes {
			for _, log := range []bool{false, true} {
				for _, spread := range []float32{4, 80} {
					s := Softmax{Outer: sh.outer, Block: sh.block, Inner: sh.inner, Log: log}
					n := sh.outer * sh.block * sh.inner
					inBuf, in := guarded(n, func(int) float32 { return (rng.Float32()*2 - 1) * spread })
					want, dist := refSoftmax(s, in)
					name := fmt.Sprintf("%+v spread %v", s, spread)
					outBuf, out := guarded(n, nil)
					s.Run(out, in)
					checkGuards(t, name, outBuf)
					checkGuards(t, name+" (input)", inBuf)
					inPlace := append([]float32(nil), in...)
					s.Run(inPlace, inPlace)
					for i := range want {
						for _, got := range []float32{out[i], inPlace[i]} {
							if d := math.Abs(float64(got) - want[i]); !(d <= softmaxBound(log, want[i], dist[i])) {
								t.Fatalf("%s: [%d] = %v, want %v (x %v)", name, i, got, want[i], in[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestSoftmaxSpecial checks the non-finite logits: -Inf (a masked class) has probability 0
// (log-softmax -Inf) and leaves the others as without it; a NaN makes its whole block NaN, as
// in PyTorch; so does +Inf (its exp(x - max) is exp(Inf - Inf)), and a block of only -Inf.
func TestSoftmaxSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	forEachISA(t, func(t *testing.T) {
		for _, log := range []bool{false, true} {
			for _, inner := range []int{1, 3, 20} {
				s := Softmax{Outer: 1, Block: 19, Inner: inner, Log: log}
				n := 19 * inner
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(i%19) / 4
				}
				for j := range inner {
					x[5*inner+j] = -inf
				}
				want, _ := refSoftmax(s, x)
				y := append([]float32(nil), x...)
				s.Run(y, y)
				for i := range y {
					if d := math.Abs(float64(y[i]) - want[i]); !(d <= 1e-6 || float64(y[i]) == want[i]) {
						t.Fatalf("log %v inner %d: [%d] = %v, want %v", log, inner, i, y[i], want[i])
					}
				}
				for _, bad := range [][2]float32{{nan, 1}, {inf, 1}, {-inf, -inf}} {
					y := make([]float32, n)
					for i := range y {
						y[i] = bad[1]
					}
					for j := range inner {
						y[7*inner+j] = bad[0]
					}
					s.Run(y, y)
					for i, v := range y {
						if v == v {
							t.Fatalf("log %v inner %d %v: [%d] = %v, want NaN", log, inner, bad, i, v)
						}
					}
				}
			}
		}
	})
}

// The softmax kernels' twin checks, for TestKernelTwins.
func init() {
	twinChecks["raddStoreExpMinusMax"] = twinEntry{func(k *kernelSet) any { return k.raddStoreExpMinusMax }, checkRAddStoreExpMinusMax}
	twinChecks["vexpMinusMaxAcc"] = twinEntry{func(k *kernelSet) any { return k.vexpMinusMaxAcc }, checkVExpMinusMaxAcc}
}

// logits returns n values below m (down to m - 100, and -Inf, NaN and m itself now and then).
func logits(rng *rand.Rand, m float32) func(int) float32 {
	return func(int) float32 {
		switch rng.IntN(16) {
		case 0:
			return float32(math.Inf(-1))
		case 1:
			return float32(math.NaN())
		case 2:
			return m
		}
		return m - rng.Float32()*100
	}
}

// expTwinTol is the bound of an exp(x - max) against the twin's: both within a few ulps of
// exact (act.go's 3e-7 covers either), and 0 for both below -87.33.
func expTwinTol(_, _ int, w float32, _ [][]float32) float64 { return 4e-7 * math.Abs(float64(w)) }

func checkRAddStoreExpMinusMax(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			m := rng.Float32()*20 - 10
			ops := []operand{newOp(1, 0, func(int) float32 { return 0 }), newOp(n, off, func(int) float32 { return 0 }), newOp(n, (off+5)%16, logits(rng, m))}
			// The sum (operand 0): the twin's four partial sums against 2*vl, rounded in another
			// order: n roundings of the sum, on top of the terms' own error.
			tol := func(k, i int, w float32, mag [][]float32) float64 {
				if k == 0 {
					return (4e-7 + float64(n+2)*u) * math.Abs(float64(w))
				}
				return expTwinTol(k, i, w, mag)
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0, 1}, tol, false,
				func(f any, s [][]float32) { s[0][0] = f.(func(dst, src []float32, m float32) float32)(s[1], s[2], m) }, simd, twin)
		}
	}
}

func checkVExpMinusMaxAcc(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ms := make([]float32, n)
			for i := range ms {
				ms[i] = rng.Float32()*20 - 10
			}
			src := make([]float32, n)
			for i := range src {
				src[i] = logits(rng, ms[i])(i)
			}
			ops := []operand{newOp(n, off, func(int) float32 { return 0 }), newOp(n, (off+5)%16, func(i int) float32 { return src[i] }),
				newOp(n, (off+7)%16, func(i int) float32 { return ms[i] }), newOp(n, (off+11)%16, func(int) float32 { return rng.Float32() * 3 })}
			// acc (operand 3) gains an exp: within an ulp of the sum more.
			tol := func(k, i int, w float32, mag [][]float32) float64 {
				return expTwinTol(k, i, w, mag) + u*math.Abs(float64(w))
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0, 3}, tol, false,
				func(f any, s [][]float32) { f.(func(dst, src, m, acc []float32))(s[0], s[1], s[2], s[3]) }, simd, twin)
		}
	}
}

// TestExpAccuracy measures the softmax kernels' exp at each level against float64 over every
// 64th float32 from -87.33 to 0 (17.5 million values): the relative error, below 3 float32 unit
// roundoffs u = 2^-24 (over all of them, once: 1.86 u at AVX2, 2.76 u at AVX-512, see
// ../../_asm/vexp.go).
func TestExpAccuracy(t *testing.T) {
	lo := math.Float32bits(-87.33)
	var xs []float32
	for b := uint32(0x80000000); b <= lo; b += 64 {
		xs = append(xs, math.Float32frombits(b))
	}
	forEachISA(t, func(t *testing.T) {
		k := kern()
		e := make([]float32, len(xs))
		for c := 0; c < len(xs); c += actChunk {
			end := min(c+actChunk, len(xs))
			k.raddStoreExpMinusMax(e[c:end], xs[c:end], 0)
		}
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			want := math.Exp(float64(x))
			if d := math.Abs(float64(e[i])-want) / want; d > worst {
				worst, at = d, x
			}
		}
		t.Logf("exp: worst relative error %.3g (%.2f u) at %v", worst, worst/u, at)
		if worst > 3*u {
			t.Errorf("exp: relative error %.3g (%.2f u) at %v", worst, worst/u, at)
		}
	})
}
