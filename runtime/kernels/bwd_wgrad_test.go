package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The training kernels' checks in TestKernelTwins' sweep. The direct weight gradient's dot products: lengths (multiples of
// 16, the assembly's contract), leading dimensions, shifts and start offsets, in guarded
// buffers, within the rounding of sums in another order.
func init() {
	twinChecks["wgradDot"] = twinEntry{func(k *kernelSet) any { return k.wgradDot }, checkWGradDot}
	twinChecks["maxGrad2x2"] = twinEntry{func(k *kernelSet) any { return k.maxGrad2x2 }, checkMaxGrad2x2}
	twinChecks["transpose8"] = twinEntry{func(k *kernelSet) any { return k.transpose8 }, checkTranspose8}
	twinChecks["dotDiff"] = twinEntry{func(k *kernelSet) any { return k.dotDiff }, checkDotDiff}
}

// checkTranspose8 sweeps block counts, both leading dimensions (the tight ones and wider),
// the blocks' steps (along rows, along columns) and offsets: exact, the values between dst's
// columns untouched.
func checkTranspose8(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for nb := range 6 {
		for _, off := range offsets {
			for _, down := range []bool{false, true} {
				lds, ldd := 8*max(nb, 1)+off%3, 8+off%5
				ss, ds := 8, 8*ldd // a strip of 8 rows
				if down {
					lds, ldd = 8+off%3, 8*max(nb, 1)+off%5
					ss, ds = 8*lds, 8 // a column of blocks
				}
				dn, sn := 0, 0
				if nb > 0 {
					dn, sn = (nb-1)*ds+7*ldd+8, (nb-1)*ss+7*lds+8
				}
				ops := []operand{newOp(dn, off, uniform(rng, false)), newOp(sn, (off+5)%16, uniform(rng, true))}
				compare(t, fmt.Sprintf("nb=%d off=%d down=%v", nb, off, down), ops, []int{0}, exact, false,
					func(f any, s [][]float32) {
						f.(func(dst, src []float32, lds, ldd, nb, ss, ds int))(s[0], s[1], lds, ldd, nb, ss, ds)
					}, simd, twin)
			}
		}
	}
}

// checkMaxGrad2x2 sweeps window counts (every tail), offsets and guards over inputs with ties
// (a ReLU's zeros, repeated values), signed zeros, infinities and NaNs: exact, the NaN report
// too.
func checkMaxGrad2x2(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	special := uniform(rng, true)
	fill := func(int) float32 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return 0.5
		}
		return special(0)
	}
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{
				newOp(2*n, off, uniform(rng, false)), newOp(2*n, (off+5)%16, uniform(rng, false)),
				newOp(n, (off+9)%16, uniform(rng, false)),
				newOp(2*n, (off+2)%16, fill), newOp(2*n, (off+13)%16, fill),
			}
			var nans []int
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0, 1}, exact, false,
				func(f any, s [][]float32) {
					nans = append(nans, f.(func(dst0, dst1, g, r0, r1 []float32) int)(s[0], s[1], s[2], s[3], s[4]))
				}, simd, twin)
			if nans[0] != nans[1] {
				t.Fatalf("n=%d off=%d: NaN report %d, twin %d", n, off, nans[0], nans[1])
			}
		}
	}
}

func checkWGradDot(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range []int{0, 16, 32, 48, 64, 80, 1008} {
		for _, off := range offsets {
			ldy := n + off%5
			offs := []int{0, 1 + off, 7, 2*n/3 + 3}
			maxOff := max(1+off, 7, 2*n/3+3)
			ld := 5 + off%3
			ops := []operand{
				newOp(2*ld+4, (off+3)%16, uniform(rng, false)),
				newOp(2*ldy+n, off, uniform(rng, false)),
				newOp(maxOff+n, (off+7)%16, uniform(rng, false)),
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(n), true,
				func(f any, s [][]float32) {
					f.(func([]float32, int, []float32, int, []float32, int, int, int, int, int))(s[0], ld, s[1], ldy, s[2], offs[0], offs[1], offs[2], offs[3], n)
				}, simd, twin)
		}
	}
}

// checkDotDiff: lengths with every tail, offsets, guards; within a sum's rounding in another
// order.
func checkDotDiff(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, false)), newOp(n, (off+7)%16, uniform(rng, false))}
			const m = 0.25
			var got []float32
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, nil, exact, false,
				func(f any, s [][]float32) {
					got = append(got, f.(func(g, x []float32, m float32) float32)(s[0], s[1], m))
				}, simd, twin)
			var mag float64 // the sum of the terms' magnitudes
			for i, g := range ops[0].v {
				mag += math.Abs(float64(g) * (float64(ops[1].v[i]) - m))
			}
			if d := math.Abs(float64(got[0] - got[1])); d > 2*float64(n+2)*u*mag {
				t.Fatalf("n=%d off=%d: %v, twin %v", n, off, got[0], got[1])
			}
		}
	}
}

func init() {
	twinChecks["sumSq32"] = twinEntry{func(k *kernelSet) any { return k.sumSq32 }, checkSumSq32}
}

// checkSumSq32: whole blocks of 32 at every offset, values of every magnitude float32 has
// (tiny, huge, subnormal, and now and then an infinity or NaN): exact, since every level adds the same float64 squares in the same
// order.
func checkSumSq32(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	fill := func(int) float32 {
		v := uniform(rng, true)(0)
		switch rng.IntN(8) {
		case 0:
			v *= 1e30
		case 1:
			v *= 1e-30
		case 2:
			v = math.Float32frombits(rng.Uint32() & 0x807fffff) // subnormal
		}
		return v
	}
	for _, nb := range []int{0, 1, 2, 3, 5, 33} {
		for _, off := range offsets {
			n := 32 * nb
			ops := []operand{newOp(n, off, fill)}
			var got []float64
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, nil, exact, false,
				func(f any, s [][]float32) { got = append(got, f.(func([]float32) float64)(s[0])) }, simd, twin)
			if got[0] != got[1] && !(math.IsNaN(got[0]) && math.IsNaN(got[1])) {
				t.Fatalf("n=%d off=%d: %v, twin %v", n, off, got[0], got[1])
			}
		}
	}
}

// TestSumSquares: within float64 rounding of a plain sum, every tail length.
func TestSumSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 100 {
		x := make([]float32, n)
		var want float64
		for i := range x {
			x[i] = uniform(rng, false)(0)
			want += float64(x[i]) * float64(x[i])
		}
		if got := SumSquares(x); math.Abs(got-want) > 1e-14*want {
			t.Fatalf("n=%d: %v, want %v", n, got, want)
		}
	}
}

func init() {
	twinChecks["maxArg3x3s2"] = twinEntry{func(k *kernelSet) any { return k.maxArg3x3s2 }, checkMaxArg3x3s2}
}

// checkMaxArg3x3s2: rows of few distinct values (ties everywhere, -0 beside +0), now and then
// a NaN or an infinity, at every offset: exact.
func checkMaxArg3x3s2(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	sp := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0}
	fill := func(int) float32 {
		if rng.IntN(12) == 0 {
			return sp[rng.IntN(len(sp))]
		}
		return float32(rng.IntN(4) - 2)
	}
	for trial := range 200 {
		off := offsets[trial%len(offsets)]
		ops := []operand{newOp(18, off, fill), newOp(18, (off+5)%16, fill), newOp(18, (off+9)%16, fill)}
		var got []uint64
		compare(t, fmt.Sprintf("trial %d", trial), ops, nil, exact, false,
			func(f any, s [][]float32) { got = append(got, f.(func(r0, r1, r2 []float32) uint64)(s[0], s[1], s[2])) }, simd, twin)
		if got[0] != got[1] {
			t.Fatalf("trial %d: %016x, twin %016x (rows %v %v %v)", trial, got[0], got[1], ops[0].v, ops[1].v, ops[2].v)
		}
	}
}

func init() {
	twinChecks["reluGrad"] = twinEntry{func(k *kernelSet) any { return k.reluGrad }, checkReLUGrad}
}

// checkReLUGrad: lengths with every tail, offsets, guards, y with zeros of both signs, NaNs
// and infinities: exact.
func checkReLUGrad(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, false)), newOp(n, (off+5)%16, uniform(rng, true)), newOp(n, (off+11)%16, uniform(rng, true))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, exact, false,
				func(f any, s [][]float32) { f.(func(dx, dy, y []float32))(s[0], s[1], s[2]) }, simd, twin)
		}
	}
}
