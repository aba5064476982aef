package main

// The exponential and reciprocal the logistic activations, GELU, tanh and softmax share, and the
// f32vexp group: softmax's exp(x - max), stored and summed, generated into
// runtime/kernels/f32vexp_amd64.s.
//
// # exp
//
// e^z = 2^(k/N) * e^t with k = round(z*N*log2e) and t = z - (k/N)*ln2, |t| <= ln2/(2N), where
// 2^(j/N), j = k mod N, comes from an N-entry table and e^t from a short polynomial
// (expPoly):
//
//   - AVX-512: N = 32, the table in two zmm registers (VPERMI2PS selects by k's low five bits),
//     e^t = 1 + c1*t + c2*t^2; the power 2^floor(k/32) is applied by VSCALEFPS, which rounds an
//     underflowing result to a subnormal or zero and returns +Inf on overflow.
//   - AVX2: N = 8, the table in one ymm (VPERMPS), e^t = 1 + c1*t + c2*t^2 + c3*t^3; the power
//     is added to the table entry's exponent bits (the table holds 2^(j/8) minus j<<20, so that
//     adding k<<20 gives 2^(k/8)), which needs 2^(k/8) in float32's normal range.
//
// k comes from the magic-number rounding: z*log2e + 1.5*2^(23-log2 N) rounds to a multiple of 1/N
// and holds k in its low mantissa bits (valid for |z| < 2^22/(N*log2e), 90000 at N = 32); k/N is
// that sum minus the magic number, exactly. t is reduced with ln2 in two parts (Cody and
// Waite): (k/N)*Ln2Hi is exact, and one-constant reduction would add an error of |k/N| times
// ln2's float32 rounding (1.9e-9), 2.4e-7 relative at z = -87. The coefficients are the minimax
// fits of e^t's relative error on |t| <= ln2/(2N) (Lawson's algorithm in 30-digit arithmetic,
// then rounded to float32): 5.3e-8 (0.9 float32 unit roundoffs u = 2^-24) at N = 32, degree 2,
// and 2.5e-8 (0.4 u) at N = 8, degree 3, against 9.2e-8 (1.5 u) of the degree-5 polynomial
// without a table, which takes an instruction more (Cephes' degree 7 took three). With the rounding of the table entries and of
// the last step (a relative 2^-24, 1 u, for values just above 1), e^z is within 2.76 u of exact
// at AVX-512 and 1.86 u at AVX2, measured over every float32 z in [-87.33, 0]
// (runtime/kernels' TestExpAccuracy checks a sample against 3 u). The logistic functions, tanh
// and GELU take a degree-3 polynomial at AVX-512 (9.8e-11 on the interval; see expParts).
//
// # Reciprocal
//
// 1/d is VRCP14PS (relative error below 2^-14) or VRCPPS (1.5*2^-12) refined by Newton-Raphson:
// with r0 = 1/d*(1-eps), ee = 1 - d*r0 = eps (exact with a fused multiply-add), r1 = r0 + r0*ee
// = 1/d*(1 - eps^2): 2^-28 at AVX-512, negligible; 1.3e-7 (2.3 u) at AVX2, so AVX2 takes the
// second-order step r0 + r0*(ee + ee^2), 1/d*(1 - eps^3), for one instruction more.

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// expConsts are exp's constants (see the package comment above; actConsts holds them all).
var expConsts = map[string]uint32{
	"Magic32": math.Float32bits(1.5 * (1 << 18)), // z*log2e + Magic32 rounds to a multiple of 1/32
	"Magic8":  math.Float32bits(1.5 * (1 << 20)), // of 1/8
	// e^t on |t| <= ln2/64: relative error 5.32e-8 (softmax's); of degree 3 (the logistic
	// functions', tanh's and GELU's), 9.8e-11.
	"E32C1": math.Float32bits(1.00001464557),
	"E32C2": math.Float32bits(0.500000196485),
	"F32C1": math.Float32bits(1.00000000019),
	"F32C2": math.Float32bits(0.500004049298),
	"F32C3": math.Float32bits(0.166665186168),
	// e^t on |t| <= ln2/16: relative error 2.52e-8.
	"E8C1": math.Float32bits(1.00000004862),
	"E8C2": math.Float32bits(0.500064781438),
	"E8C3": math.Float32bits(0.166642984811),
}

var tableData = map[string]Mem{}

// expTable returns the DATA of exp's table at the level: 32 entries 2^(j/32) (AVX-512), or 8
// entries 2^(j/8) with j<<20 subtracted from their bits (AVX2), each rounded to float32.
func expTable(avx512 bool) Mem {
	name := "expTab8"
	if avx512 {
		name = "expTab32"
	}
	if m, ok := tableData[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	if avx512 {
		for j := range 32 {
			DATA(4*j, U32(math.Float32bits(float32(math.Exp2(float64(j)/32)))))
		}
	} else {
		for j := range 8 {
			DATA(4*j, U32(math.Float32bits(float32(math.Exp2(float64(j)/8)))-uint32(j)<<20))
		}
	}
	tableData[name] = m
	return m
}

// expRegs are the constants exp wants in registers at AVX-512 (the table takes two more), for
// e^(-v) if neg, else e^v, from expParts if parts, else from expValue.
func expRegs(neg, parts bool) []string {
	c := []string{"E32C1", "E32C2"}
	if parts {
		c = []string{"F32C1", "F32C2"}
	}
	return []string{"Magic32", "Log2e", "Ln2Hi", "Ln2Lo", odd(c[0], neg), c[1], "One"}
}

// loadTable loads the AVX-512 table into l.tab (two zmm), once per function.
func (l *actLevel) loadTable() {
	if !l.avx512() || l.tab[0] != nil {
		return
	}
	t := expTable(true)
	l.tab = [2]Register{l.vec(), l.vec()}
	VMOVUPS(t, l.tab[0])
	VMOVUPS(t.Offset(64), l.tab[1])
}

// expRed is exp's argument reduction: nb = k/N + magic (k in its low bits), tab = 2^(j/N), n =
// k/N.
type expRed struct{ nb, tab, n Register }

func (l *actLevel) magic() string {
	if l.avx512() {
		return "Magic32"
	}
	return "Magic8"
}

// expIndex returns the reduction's k for e^(s*v) (s = -1 if neg, else 1): v is not changed.
func (l *actLevel) expIndex(v Register, neg bool) expRed {
	p := expRed{l.vec(), l.vec(), l.vec()}
	VMOVUPS(l.c(l.magic()), p.nb)
	if neg {
		VFNMADD231PS(l.c("Log2e"), v, p.nb) // magic - v*log2e
	} else {
		VFMADD231PS(l.c("Log2e"), v, p.nb)
	}
	if l.avx512() {
		VMOVAPS(p.nb, p.tab)
		VPERMI2PS(l.tab[1], l.tab[0], p.tab) // by k's low five bits
	} else {
		VPERMPS(expTable(false), p.nb, p.tab) // by the low three
	}
	VSUBPS(l.c(l.magic()), p.nb, p.n)
	return p
}

// exp returns e^(s*v) (s = -1 if neg, else 1), v clobbered, zeroed where keep (a mask from cmp,
// or nil) is clear. s*v must be at most 88.7 and, at AVX2, at least -87.3 (2^(k/8) normal);
// below, the AVX2 result is garbage and the AVX-512 one a subnormal or 0 (for |v| < 90000,
// else garbage): the callers mask those lanes.
func (l *actLevel) exp(v Register, neg bool, keep Op) Register {
	p := l.expIndex(v, neg)
	l.expReduce(p, v, neg)
	return l.expValue(p, v, neg, false, keep)
}

// expReduce sets v to tt = s*t: v + (k/N)*ln2 = -t for neg, v - (k/N)*ln2 = t otherwise.
func (l *actLevel) expReduce(p expRed, v Register, neg bool) {
	if neg {
		VFMADD231PS(l.c("Ln2Hi"), p.n, v)
		VFMADD231PS(l.c("Ln2Lo"), p.n, v)
	} else {
		VFNMADD231PS(l.c("Ln2Hi"), p.n, v)
		VFNMADD231PS(l.c("Ln2Lo"), p.n, v)
	}
}

// odd returns the name of polynomial coefficient name for tt = s*t: the odd ones take s's sign.
func odd(name string, neg bool) string {
	if neg {
		return name + "n"
	}
	return name
}

// expValue returns 2^(k/N) * p(t), zeroed where keep (or nil) is clear, from the reduction p
// and tt (clobbered), rounded once after the table entry's product: 2^(j/N) + (2^(j/N)*t)*(c1 +
// c2*t [+ c3*t^2]). deg3 asks for the degree-3 polynomial at AVX-512 too (one instruction
// more).
func (l *actLevel) expValue(p expRed, tt Register, neg, deg3 bool, keep Op) Register {
	if l.avx512() {
		lt, c := p.nb, tt
		VMULPS(tt, p.tab, lt)
		if deg3 {
			c = l.vec()
			VBROADCASTSS(constant(odd("F32C3", neg)), c)
			l.fmadd213("F32C2", tt, c)
			l.fmadd213(odd("F32C1", neg), tt, c)
		} else {
			l.fmadd213Reg("E32C2", odd("E32C1", neg), tt) // in place: no copy of a constant
		}
		VFMADD213PS(p.tab, lt, c) // 2^(j/32) * p(t)
		if keep != nil {
			VSCALEFPS_Z(p.n, c, keep, c) // * 2^floor(k/32)
		} else {
			VSCALEFPS(p.n, c, c)
		}
		return c
	}
	sc := l.expScale(p)
	q := p.n
	VMOVUPS(l.c(odd("E8C3", neg)), q)
	VFMADD213PS(l.c("E8C2"), tt, q)
	VFMADD213PS(l.c(odd("E8C1", neg)), tt, q)
	VMULPS(tt, q, q)
	VFMADD213PS(sc, sc, q) // 2^(k/8) * p(t)
	if keep != nil {
		VANDPS(keep, q, q)
	}
	return q
}

// expScale returns 2^(k/N) (p.tab, p.nb clobbered): VSCALEFPS applies 2^floor(k/32) to the
// table entry at AVX-512; at AVX2, k<<20 is added to the entry's bits (2^(j/8) minus j<<20).
func (l *actLevel) expScale(p expRed) Register {
	if l.avx512() {
		VSCALEFPS(p.n, p.tab, p.tab)
		return p.tab
	}
	VPSLLD(U8(20), p.nb, p.nb)
	VPADDD(p.nb, p.tab, p.tab)
	return p.tab
}

// expParts returns e^(s*v) as two factors, sc = 2^(k/N) and q = p(t) (near 1), v clobbered: the
// logistic functions fold their product into a multiply-add (1 + sc*q, 1 - sc*q), an
// instruction fewer than expValue's but one more rounding (of q, up to 2^-24 relative), which
// the degree-3 polynomial at AVX-512 (the same count as expValue's degree 2) pays for: SiLU's
// worst relative error over every 8th float32 in [-87.33, 20] is 2.4e-7 (4.1 u), against 3.0e-7
// with degree 2.
func (l *actLevel) expParts(v Register, neg bool) (sc, q Register) {
	p := l.expIndex(v, neg)
	l.expReduce(p, v, neg)
	sc = l.expScale(p)
	if l.avx512() {
		q = p.nb
		VBROADCASTSS(constant(odd("F32C3", neg)), q)
		l.fmadd213("F32C2", v, q)
		l.fmadd213(odd("F32C1", neg), v, q)
	} else {
		q = p.n
		VMOVUPS(l.c(odd("E8C3", neg)), q)
		VFMADD213PS(l.c("E8C2"), v, q)
		VFMADD213PS(l.c(odd("E8C1", neg)), v, q)
	}
	VFMADD213PS(l.c("One"), v, q) // 1 + t*(c1 + ...)
	return sc, q
}

// recip returns 1/d (d clobbered): r0 = VRCP14PS or VRCPPS of d, refined once (second order at
// AVX2; see the package comment). At AVX-512 the lanes of keep that are clear are zeroed (keep
// nil: none); at AVX2, keep (a vector mask, or nil) is and-ed in.
func (l *actLevel) recip(d Register, keep Op) Register {
	r := l.vec()
	if l.avx512() {
		VRCP14PS(d, r)
		VFNMADD213PS(l.c("One"), r, d) // ee = 1 - d*r0
		if keep != nil {
			VFMADD213PS_Z(r, r, keep, d) // r0 + r0*ee
		} else {
			VFMADD213PS(r, r, d)
		}
		return d
	}
	VRCPPS(d, r)
	VFNMADD213PS(l.c("One"), r, d) // ee
	VFMADD213PS(d, d, d)           // ee + ee^2
	VFMADD213PS(r, r, d)           // r0 + r0*(ee + ee^2)
	if keep != nil {
		VANDPS(keep, d, d)
	}
	return d
}

// The group registers itself (asm.go's sets lists the others).
func init() { sets["f32vexp"] = vexpSet }

// vexpSet is the f32vexp group: softmax's exps.
func vexpSet() {
	for _, l := range []*actLevel{avx512Level(), avx2Level()} {
		raddStoreExpMinusMax(l)
		vexpMinusMaxAcc(l)
	}
}

// expMinusMax returns e^(x - m), 0 where x - m < -87.33 (float32's normal range ends there;
// also for x - m = -Inf), NaN where x - m is NaN. x is clobbered.
func (l *actLevel) expMinusMax(x Register, m Op) Register {
	VSUBPS(m, x, x)
	keep := l.cmp(cmpNLT, l.c("NegLim"), x) // x - m >= -87.33, or NaN
	return l.exp(x, false, keep)
}

// expMinusMaxRegs are the constants the softmax kernels keep in registers.
func (l *actLevel) expMinusMaxRegs() []string {
	if l.avx512() {
		return append([]string{"NegLim"}, expRegs(false, false)...)
	}
	return []string{"NegLim"}
}

// raddStoreExpMinusMax generates f32RAddStoreExpMinusMax<level> (after XNNPACK's
// f32-raddstoreexpminusmax): dst[i] = e^(src[i] - m), and the sum of them in 2*vl partial sums
// reduced as f32RSum's.
func raddStoreExpMinusMax(l *actLevel) {
	name := "f32RAddStoreExpMinusMax" + l.name
	TEXT(name, NOSPLIT, "func(dst, src []float32, m float32) float32")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32RAddStoreExpMinusMaxGo with %s: dst[i] = exp(src[i] - m) for i <", name, isaName(l.level)),
		"len(dst), and their sum.")
	l.regs = map[string]Register{}
	l.tab = [2]Register{}
	mv := l.vec()
	VBROADCASTSS(scalarParam("m"), mv)
	l.keepRegs(l.expMinusMaxRegs())
	l.loadTable()
	acc := []VecVirtual{l.vec(), l.vec()}
	l.zero(acc[0])
	l.zero(acc[1])
	d, src := in("dst"), in("src")
	e := newEwise(l.level, name, d, src)
	e.loop(loadLen("dst"), 2, func(e *ewise) {
		x := e.load(src, 0)
		v := l.expMinusMax(x, mv)
		if e.tail { // the lanes past the end hold e^(0 - m): not in the sum
			m := l.newMask()
			l.lanesBelow(d.ext, 0, m)
			if l.avx512() {
				VMOVAPS_Z(v, m, v)
			} else {
				VANDPS(m, v, v)
			}
		}
		VADDPS(v, acc[e.u], acc[e.u])
		e.store(d, 0, v)
	})
	reduce(l.level, acc[0], acc[1])
	Store(acc[0].AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// vexpMinusMaxAcc generates f32VExpMinusMaxAcc<level>: dst[i] = e^(src[i] - m[i]) and acc[i] +=
// dst[i] (a per-pixel softmax: one row of a class's scores, with the maxima and sums of the
// pixels).
func vexpMinusMaxAcc(l *actLevel) {
	name := "f32VExpMinusMaxAcc" + l.name
	TEXT(name, NOSPLIT, "func(dst, src, m, acc []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32VExpMinusMaxAccGo with %s: dst[i] = exp(src[i] - m[i]) and acc[i] +=", name, isaName(l.level)),
		"dst[i] for i < len(dst).")
	l.regs = map[string]Register{}
	l.tab = [2]Register{}
	l.keepRegs(l.expMinusMaxRegs())
	l.loadTable()
	d, src, m, acc := in("dst"), in("src"), in("m"), in("acc")
	e := newEwise(l.level, name, d, src, m, acc)
	e.loop(loadLen("dst"), 2, func(e *ewise) {
		x := e.load(src, 0)
		v := l.expMinusMax(x, e.src(m, 0))
		e.store(d, 0, v)
		a := e.load(acc, 0)
		VADDPS(v, a, a)
		e.store(acc, 0, a)
	})
	VZEROUPPER()
	RET()
}
