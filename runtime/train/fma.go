package train

import "math"

// fma32 returns a*b + c rounded once to float32, as a fused multiply-add does.
//
// torch 1.13's AVX2 kernels compute add(x, y, alpha=a) as fmadd(y, a, x) and addcmul as
// fmadd(v*t1, t2, self), in the vector loop and (GCC contracting a*b+c) in the scalar tail
// alike; reproducing them bit for bit needs a float32 FMA, which Go does not have.
//
// The product of two float32 values is exact in float64 (48 significant bits), so only the
// sum rounds; rounding it to float64 and then to float32 could round twice, so the float64
// sum is made round-to-odd (an inexact result with an even last bit moves one ulp toward
// the exact value), after which rounding to float32 is correct: float64 carries 29 more
// bits than float32 needs, far more than the two round-to-odd requires.
func fma32(a, b, c float32) float32 {
	if r, ok := fmaFast(a, b, c); ok {
		return r
	}
	return fma32Slow(a, b, c)
}

// fmaFast returns a*b + c rounded to float32 and true, or false in the rare cases that need
// fma32Slow. The optimizers' loops call it and fall back themselves: fma32 with its call is
// over the compiler's inlining budget, and a call per element made steps 2.5 times slower.
//
// The product is exact, so s has one rounding. Rounding s to float32 is then correct unless
// s is a float32 midpoint (its 29 bits below float32's precision are 1000...0), where the
// first rounding may have made a tie that the exact sum is not, or s is below float32's
// normal range (where the midpoints sit elsewhere): rounding is monotonic and midpoints are
// float64 values, so an s on neither is on the same side of every midpoint as the exact sum.
// A zero s is exact (a sum rounds to zero only when it is zero) and common (zero gradients
// of dead ReLUs, zero-initialised biases), so it takes the fast path too.
func fmaFast(a, b, c float32) (float32, bool) {
	s := float64(a)*float64(b) + float64(c)
	bits := math.Float64bits(s)
	return float32(s), bits&(1<<29-1) != 1<<28 && bits>>52&0x7ff >= 1023-126 || bits<<1 == 0
}

// fma32Slow rounds a*b + c to float32 exactly, through round-to-odd.
func fma32Slow(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	// TwoSum: e is the exact error of s, 0 when the sum was exact.
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if e != 0 && e == e { // e is NaN when an input is infinite or NaN: nothing to fix
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}
