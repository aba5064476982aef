package main

// The f32vact group: the activations of kernels.Eltwise and of the convolutions' epilogues, in
// place over a slice, for AVX-512 F and AVX2 + FMA, generated into
// runtime/kernels/f32vact_amd64.s. Each is func(x []float32), over every element of x; the Go
// drivers pass a few thousand elements per call, so goroutines stay preemptible. The last
// partial vector runs under masks, so every element is computed by the same instructions
// whatever its position (a split of a convolution into parts gives the same bits).
//
// Sigmoid and SiLU compute e = exp(t), t = -|x|, as the Go twin (kernels' expNonPositive) does:
// t = n*ln2 + r with n = round(t*log2e) and |r| <= ln2/2 (ln2 in two parts, so that n*Ln2Hi is
// exact), exp(r) = 1 + r + r^2*P(r) with Cephes' degree-5 minimax P (Cephes expf.c; relative
// error below 1.1e-9 on that interval, so float32 rounding dominates), times 2^n built in the
// exponent bits; e = 0 for t < -87, where 2^n would leave float32's normal range. Then
// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, SiLU(x) = x/(1+e) or x*e/(1+e), divided
// exactly (VDIVPS): the relative error is a few float32 ulps (below 3e-7; kernels' tests measure
// it). A NaN input is returned as it is; +-Inf give the limits (SiLU(-Inf) is NaN, -Inf*0, as in
// the Go twin).
//
// The clamps of ReLU, ReLU6, HardSigmoid and HardSwish put x in VMAXPS/VMINPS's second source
// (the first operand in Go's order), the one they return when either is NaN, so NaN stays NaN.
// HardSigmoid and HardSwish divide by 6 as the Go twin does, so they match it bit for bit.

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// actConsts are the constants, by name (the DATA symbol is act<name>): float32 or int32 bits.
var actConsts = map[string]uint32{
	"Zero":    0,
	"One":     math.Float32bits(1),
	"Three":   math.Float32bits(3),
	"Six":     math.Float32bits(6),
	"Sign":    0x80000000,
	"Bias127": 127, // the exponent bias, added to n for 2^n
	"ExpLo":   math.Float32bits(-87),
	"Log2e":   math.Float32bits(1.44269504),
	"Ln2Hi":   math.Float32bits(0.693359375),
	"Ln2Lo":   math.Float32bits(-2.12194440e-4),
	// P, highest degree first.
	"ExpP0": math.Float32bits(1.9875691500e-4),
	"ExpP1": math.Float32bits(1.3981999507e-3),
	"ExpP2": math.Float32bits(8.3334519073e-3),
	"ExpP3": math.Float32bits(4.1665795894e-2),
	"ExpP4": math.Float32bits(1.6666665459e-1),
	"ExpP5": math.Float32bits(5.0000001201e-1),
	// GELU's: erfc(z) = t*exp(-z^2 - ErfcC0 + t*P(t)), t = 1/(1 + z/2), P's coefficients
	// ErfcP0 (lowest degree) to ErfcP8 (Numerical Recipes in C, 2nd ed., 6.2, erfcc: fractional
	// error below 1.2e-7); the tanh form's 2*sqrt(2/pi) and 2*sqrt(2/pi)*0.044715.
	"AbsMask": 0x7fffffff,
	"Half":    math.Float32bits(0.5),
	"NegHalf": math.Float32bits(-0.5),
	"Sqrt1_2": math.Float32bits(0.70710678118654752),
	"ErfcC0":  math.Float32bits(1.26551223),
	"ErfcP0":  math.Float32bits(1.00002368),
	"ErfcP1":  math.Float32bits(0.37409196),
	"ErfcP2":  math.Float32bits(0.09678418),
	"ErfcP3":  math.Float32bits(-0.18628806),
	"ErfcP4":  math.Float32bits(0.27886807),
	"ErfcP5":  math.Float32bits(-1.13520398),
	"ErfcP6":  math.Float32bits(1.48851587),
	"ErfcP7":  math.Float32bits(-0.82215223),
	"ErfcP8":  math.Float32bits(0.17087277),
	"GeluK1":  math.Float32bits(1.5957691216057308),
	"GeluK2":  math.Float32bits(1.5957691216057308 * 0.044715),
}

var constData = map[string]Mem{}

// constant returns the 32-byte DATA of eight copies of actConsts[name], defining it once.
func constant(name string) Mem {
	if m, ok := constData[name]; ok {
		return m
	}
	bits, ok := actConsts[name]
	if !ok {
		panic("act: no constant " + name)
	}
	m := GLOBL("act"+name, RODATA|NOPTR)
	for i := range 8 {
		DATA(4*i, U32(bits))
	}
	constData[name] = m
	return m
}

// actLevel is what differs between the AVX-512 and the AVX2 code of the activations.
type actLevel struct {
	*level
	width int // floats per vector
	// regs are the constants a function keeps in registers, loaded before its loop.
	regs map[string]Register
	// ord sets a mask (a K register or a vector) where x is not NaN, neg where x < 0, geLo where
	// t >= ExpLo; blend sets dst = src where the mask m is set; zeroMul sets dst = a*b where m
	// is set, else 0.
	ord, neg, geLo func(x Register) Op
	blend          func(m Op, src, dst Register)
	zeroMul        func(m Op, a, b, dst Register)
}

// and sets dst = a & b (VPANDD for zmm: VANDPS zmm needs AVX-512 DQ).
func (l *actLevel) and(a Op, b, dst Register) {
	if l.avx512() {
		VPANDD(a, b, dst)
	} else {
		VANDPS(a, b, dst)
	}
}

// fmadd213 sets dst = dst*b + constant name: from its register, or from memory (AVX-512 with an
// embedded broadcast of the 4 bytes, so that not every constant of a long polynomial needs one
// of the 32 registers).
func (l *actLevel) fmadd213(name string, b, dst Register) {
	if r, ok := l.regs[name]; ok {
		VFMADD213PS(r, b, dst)
	} else if l.avx512() {
		VFMADD213PS_BCST(constant(name), b, dst)
	} else {
		VFMADD213PS(constant(name), b, dst)
	}
}

// c returns constant name as an operand: its register if the function loaded it, else its
// memory (AVX2 only: VEX takes 32 bytes of memory as the r/m operand; with 16 registers, not
// every constant fits in one).
func (l *actLevel) c(name string) Op {
	if r, ok := l.regs[name]; ok {
		return r
	}
	if l.width == 16 {
		panic("act: AVX-512 constant " + name + " not in a register")
	}
	return constant(name)
}

// r returns constant name's register.
func (l *actLevel) r(name string) Register {
	r, ok := l.regs[name]
	if !ok {
		panic("act: constant " + name + " not in a register")
	}
	return r
}

func avx512Level() *actLevel {
	l := &actLevel{level: lvl512, width: 16}
	l.ord = func(x Register) Op {
		VCMPPS(U8(7), x, x, K3) // ordered
		return K3
	}
	// No VPMOVD2M (AVX512DQ): compare with 0, so -0 and NaN read as not negative, which gives
	// the same results (exp(-0) = 1; NaN is restored after).
	l.neg = func(x Register) Op {
		VCMPPS(U8(1), l.r("Zero"), x, K2) // x < 0
		return K2
	}
	l.geLo = func(t Register) Op {
		VCMPPS(U8(13), l.r("ExpLo"), t, K1) // t >= ExpLo
		return K1
	}
	l.blend = func(m Op, src, dst Register) { VMOVAPS(src, m, dst) }
	l.zeroMul = func(m Op, a, b, dst Register) { VMULPS_Z(a, b, m, dst) }
	return l
}

func avx2Level() *actLevel {
	l := &actLevel{level: lvl256, width: 8}
	l.ord = func(x Register) Op {
		m := YMM()
		VCMPPS(U8(7), x, x, m) // ordered
		return m
	}
	l.neg = func(x Register) Op { return x } // VBLENDVPS reads the sign bit
	l.geLo = func(t Register) Op {
		m := YMM()
		VCMPPS(U8(13), l.c("ExpLo"), t, m) // t >= ExpLo
		return m
	}
	l.blend = func(m Op, src, dst Register) { VBLENDVPS(m, src, dst, dst) }
	l.zeroMul = func(m Op, a, b, dst Register) {
		VMULPS(a, b, dst)
		VANDPS(m, dst, dst)
	}
	return l
}

// vactSet is the f32vact group.
func vactSet() {
	exp := []string{"One", "ExpLo", "Log2e", "Ln2Hi", "Ln2Lo", "Bias127", "ExpP0", "ExpP1", "ExpP2", "ExpP3", "ExpP4", "ExpP5", "Sign", "Zero"}
	for _, l := range []*actLevel{avx512Level(), avx2Level()} {
		logistic := exp
		if l.width == 8 {
			logistic = []string{"One"} // the rest from memory
		}
		// Unrolling: four vectors per iteration for the clamps, two for the logistic functions
		// (see stream.go: ReLU ran 1.76x / 1.72x slower with one at AVX-512 / AVX2, sigmoid
		// 1.05x / 1.11x), and one for the exact GELU, whose 60-odd instructions per vector
		// need many registers.
		actFunc(l, "ReLU", "max(x, 0)", 4, []string{"Zero"}, l.relu)
		actFunc(l, "ReLU6", "min(max(x, 0), 6)", 4, []string{"Zero", "Six"}, l.relu6)
		actFunc(l, "Sigmoid", "1/(1+exp(-x))", 2, logistic, l.sigmoid)
		actFunc(l, "SiLU", "x/(1+exp(-x))", 2, logistic, l.silu)
		actFunc(l, "HardSigmoid", "relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSigmoid)
		actFunc(l, "HardSwish", "x*relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSwish)
		// GELU's polynomial coefficients stay in memory (embedded broadcasts at AVX-512): with
		// them, its constants would take 28 of the 32 zmm.
		gelu := append([]string{"Half", "NegHalf", "AbsMask", "Sqrt1_2", "ErfcC0"}, exp...)
		if l.width == 8 {
			gelu = []string{"One", "Half"}
		}
		actFunc(l, "GELU", "x*Phi(x) = 0.5*x*(1+erf(x/sqrt2))", 1, gelu, l.gelu)
		geluTanh := logistic
		if l.width == 16 {
			geluTanh = append([]string{"GeluK1", "GeluK2"}, exp...)
		}
		actFunc(l, "GELUTanh", "0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))", 2, geluTanh, l.geluTanh)
	}
}

// actFunc emits f32V<op><level>(x []float32): body on unroll vectors per iteration while
// enough remain, then on one at a time, then on the last partial vector under a mask. regs are
// the constants body wants in registers.
func actFunc(l *actLevel, op, formula string, unroll int, regs []string, body func(x Register)) {
	name := "f32V" + op + l.name
	TEXT(name, NOSPLIT, "func(x []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32V%sGo with %s: x[i] = %s for every i.", name, op, isaName(l.level), formula))
	l.regs = map[string]Register{}
	for _, c := range regs {
		r := l.vec()
		VBROADCASTSS(constant(c), r)
		l.regs[c] = r
	}
	x := in("x")
	e := newEwise(l.level, name, x)
	e.loop(loadLen("x"), unroll, func(e *ewise) {
		v := e.load(x, 0)
		body(v)
		e.store(x, 0, v)
	})
	VZEROUPPER()
	RET()
}

// exp returns e = exp(t) for t = -|x| <= 0, in the Go twin's order of operations (with each
// multiply-add fused). t is clobbered.
func (l *actLevel) exp(t Register) Register {
	keep := l.geLo(t)
	VMAXPS(l.c("ExpLo"), t, t) // NaN becomes ExpLo: the callers restore NaNs
	n := l.vec()
	VMULPS(l.c("Log2e"), t, n)
	VCVTPS2DQ(n, n) // round to nearest (MXCSR's default, which Go keeps)
	fn := l.vec()
	VCVTDQ2PS(n, fn)
	r := t
	VFNMADD231PS(l.c("Ln2Hi"), fn, r) // r = t - fn*Ln2Hi
	VFNMADD231PS(l.c("Ln2Lo"), fn, r)
	return l.expPoly(keep, n, fn, r)
}

// expSplit returns exp(a + b), a + b <= ~0, in expNonPositive's steps but for the argument
// reduction: r = ((a - fn*Ln2Hi) + b) - fn*Ln2Lo, where a - fn*Ln2Hi is exact, so that a large
// exact a (GELU's -x^2/2) is never rounded against b. 0 below ExpLo (and for NaN). a is
// clobbered.
func (l *actLevel) expSplit(a, b Register) Register {
	s := l.vec()
	VADDPS(b, a, s)
	keep := l.geLo(s)
	VMAXPS(l.c("ExpLo"), s, s) // NaN becomes ExpLo: keep is clear there
	n := l.vec()
	VMULPS(l.c("Log2e"), s, n)
	VCVTPS2DQ(n, n)
	fn := s
	VCVTDQ2PS(n, fn)
	r := a
	VFNMADD231PS(l.c("Ln2Hi"), fn, r) // exact
	VADDPS(b, r, r)
	VFNMADD231PS(l.c("Ln2Lo"), fn, r)
	return l.expPoly(keep, n, fn, r)
}

// expPoly returns 2^n * exp(r) (|r| <= ln2/2: 1 + r + r^2*P(r)) where keep is set, else 0; fn
// is clobbered.
func (l *actLevel) expPoly(keep Op, n, fn, r Register) Register {
	p := l.vec()
	VMOVUPS(l.c("ExpP0"), p)
	for i := 1; i <= 5; i++ {
		VFMADD213PS(l.c(fmt.Sprintf("ExpP%d", i)), r, p) // p = p*r + P[i]
	}
	r2 := fn
	VMULPS(r, r, r2)
	VFMADD213PS(r, r2, p) // p = p*r^2 + r
	VADDPS(l.c("One"), p, p)
	VPADDD(l.c("Bias127"), n, n)
	VPSLLD(U8(23), n, n) // 2^n
	l.zeroMul(keep, n, p, p)
	return p
}

// logistic sets x = sigmoid(x), or SiLU(x) if silu.
func (l *actLevel) logistic(x Register, silu bool) {
	t := l.vec()
	l.or(l.c("Sign"), x, t) // -|x|
	e := l.exp(t)
	d := t
	VADDPS(l.c("One"), e, d)
	neg := l.neg(x)
	num := l.vec()
	if silu {
		// num = x < 0 ? x*e : x
		VMULPS(x, e, e)
		VMOVAPS(x, num)
		l.blend(neg, e, num)
	} else {
		// num = x < 0 ? e : 1
		VMOVAPS(l.r("One"), num)
		l.blend(neg, e, num)
	}
	VDIVPS(d, num, num)
	l.blend(l.ord(x), num, x)
}

func (l *actLevel) sigmoid(x Register) { l.logistic(x, false) }
func (l *actLevel) silu(x Register)    { l.logistic(x, true) }

func (l *actLevel) relu(x Register) { VMAXPS(x, l.r("Zero"), x) }

func (l *actLevel) relu6(x Register) {
	VMAXPS(x, l.r("Zero"), x)
	VMINPS(x, l.r("Six"), x)
}

// gelu: x*Phi(x), Phi from erfc(z), z = |x|/sqrt2, as the Go twin (kernels' gelu) computes it:
// Phi = 1 - erfc(z)/2 for x >= 0, erfc(z)/2 for x < 0, so the negative tail keeps its relative
// precision; exp's argument -z^2 is -x*x/2, split exactly (hi = x*x, lo = fma(x, x, -hi)) into a
// large exact part for the argument reduction and a small one.
func (l *actLevel) gelu(x Register) {
	z := l.vec()
	l.and(l.c("AbsMask"), x, z)
	VMULPS(l.c("Sqrt1_2"), z, z)
	VFMADD213PS(l.r("One"), l.r("Half"), z) // 1 + z/2 (z/2 is exact: one rounding either way)
	t := l.vec()
	VDIVPS(z, l.r("One"), t) // t = 1/(1 + z/2)
	p := l.vec()
	VBROADCASTSS(constant("ErfcP8"), p)
	for i := 7; i >= 0; i-- {
		l.fmadd213(fmt.Sprintf("ErfcP%d", i), t, p) // p = p*t + P[i]
	}
	VMULPS(t, p, p)
	VSUBPS(l.c("ErfcC0"), p, p) // b = t*P(t) - C0 ...
	hi, lo := l.vec(), l.vec()
	VMULPS(x, x, hi)
	VMOVAPS(hi, lo)
	VFMSUB231PS(x, x, lo)              // lo = x*x - hi, exactly
	VFMADD231PS(l.c("NegHalf"), lo, p) // ... - lo/2
	VMULPS(l.c("NegHalf"), hi, hi)     // a = -hi/2
	e := l.expSplit(hi, p)             // exp(-z^2 - C0 + t*P(t))
	VMULPS(t, e, e)                    // erfc(z)
	VMULPS(l.r("Half"), e, e)          // erfc(z)/2
	phi := l.vec()
	VSUBPS(e, l.r("One"), phi) // 1 - erfc(z)/2
	l.blend(l.neg(x), e, phi)
	VMULPS(phi, x, x)
}

// geluTanh: x*sigmoid(2u), 2u = x*(K1 + K2*x^2), unfused as in the Go twin (kernels' geluTanh).
func (l *actLevel) geluTanh(x Register) {
	u := l.vec()
	VMULPS(x, x, u)
	VMULPS(l.c("GeluK2"), u, u)
	VADDPS(l.c("GeluK1"), u, u)
	VMULPS(x, u, u)
	l.logistic(u, false)
	VMULPS(u, x, x)
}

// hardSigmoid: relu6(x+3)/6.
func (l *actLevel) hardSigmoid(x Register) {
	VADDPS(l.r("Three"), x, x)
	l.relu6(x)
	VDIVPS(l.r("Six"), x, x)
}

// hardSwish: x*relu6(x+3)/6.
func (l *actLevel) hardSwish(x Register) {
	y := l.vec()
	VADDPS(l.r("Three"), x, y)
	l.relu6(y)
	VMULPS(y, x, x)
	VDIVPS(l.r("Six"), x, x)
}
