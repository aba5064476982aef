package train

import "math"

// cos returns cos(x) correctly rounded but for arguments within about 1e-30 of a rounding
// boundary, evaluated in double-double arithmetic.
//
// The schedules need it: CosineAnnealingLR's recursive form multiplies the LR by ratios of
// cosines whose denominators, 1 + cos(pi*(t-1)/T), come close to zero past T_max, so a
// one-ulp difference in a cosine becomes tens of ulps in the LR a few steps later. Python's
// math.cos is the C library's, which is correctly rounded in practice; Go's math.Cos is not
// always, so the torch values are only reproduced with a cosine as accurate as the C one.
// It is used once per scheduler step, where its cost does not matter.
func cos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return math.NaN()
	}
	x = math.Abs(x)
	if x > 1<<20 {
		return math.Cos(x) // far beyond any schedule; Go's reduction is fine there
	}
	// x = k*pi/2 + r with pi/2 in three parts (fdlibm's pio2_1, pio2_2, pio2_3 and its tail):
	// each k*part is exact for k < 2^20, as the parts have at most 33 significant bits.
	const (
		p1 = 1.57079632673412561417e+00
		p2 = 6.07710050630396597660e-11
		p3 = 2.02226624871116645580e-21
		p4 = 8.47842766036889956997e-32
	)
	k := math.Round(x / (math.Pi / 2))
	r := dd{x - k*p1, 0} // exact: x and k*p1 are within a factor of two of each other or r is tiny
	r = r.addDD(dd{-k * p2, 0}.addDD(dd{-k * p3, -k * p4}))
	var v dd
	switch int64(k) & 3 {
	case 0:
		v = ddCos(r)
	case 1:
		v = ddSin(r).neg()
	case 2:
		v = ddCos(r).neg()
	case 3:
		v = ddSin(r)
	}
	return v.hi + v.lo
}

// dd is an unevaluated sum hi + lo with |lo| <= ulp(hi)/2: 106 significant bits.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func twoProd(a, b float64) dd {
	// The conversion rounds the product before its use, so that the compiler cannot fuse it
	// into a following sum (arm64 and GOAMD64=v3 would), which would make the pair's
	// TwoSum account for the exact product instead of the rounded one.
	p := float64(a * b)
	return dd{p, math.FMA(a, b, -p)}
}

func (a dd) neg() dd { return dd{-a.hi, -a.lo} }

func (a dd) addDD(b dd) dd {
	s := twoSum(a.hi, b.hi)
	t := twoSum(a.lo, b.lo)
	s.lo += t.hi
	s = twoSum(s.hi, s.lo)
	s.lo += t.lo
	return twoSum(s.hi, s.lo)
}

func (a dd) mulDD(b dd) dd {
	p := twoProd(a.hi, b.hi)
	p.lo += a.hi*b.lo + a.lo*b.hi
	return twoSum(p.hi, p.lo)
}

// invFact[n] is 1/n! in double-double.
var invFact = func() [30]dd {
	var t [30]dd
	t[0] = dd{1, 0}
	for n := 1; n < len(t); n++ {
		// 1/n! = (1/(n-1)!) / n: divide the double-double by n with one correction step.
		q := t[n-1].hi / float64(n)
		rem := t[n-1].addDD(twoProd(q, float64(n)).neg())
		t[n] = twoSum(q, rem.hi/float64(n))
	}
	return t
}()

// ddCos and ddSin sum the Taylor series for |r| <= pi/4 until the terms are below 2^-110.
func ddCos(r dd) dd {
	r2 := r.mulDD(r)
	sum, term := dd{1, 0}, dd{1, 0}
	for n := 2; n < len(invFact); n += 2 {
		term = term.mulDD(r2)
		t := term.mulDD(invFact[n])
		if n%4 == 2 {
			t = t.neg()
		}
		sum = sum.addDD(t)
		if math.Abs(t.hi) < 1e-33 {
			break
		}
	}
	return sum
}

func ddSin(r dd) dd {
	r2 := r.mulDD(r)
	sum, term := r, r
	for n := 3; n < len(invFact); n += 2 {
		term = term.mulDD(r2)
		t := term.mulDD(invFact[n])
		if n%4 == 3 {
			t = t.neg()
		}
		sum = sum.addDD(t)
		if math.Abs(t.hi) < 1e-33 {
			break
		}
	}
	return sum
}
