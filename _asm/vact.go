package main

// The f32vact group: the activations of kernels.Eltwise and of the convolutions' epilogues, in
// place over a slice, for AVX-512 F and AVX2 + FMA, generated into
// runtime/kernels/f32vact_amd64.s. Each is func(x []float32), over every element of x; the Go
// drivers pass a few thousand elements per call, so goroutines stay preemptible. The last
// partial vector runs under masks, so every element is computed by the same instructions
// whatever its position (a split of a convolution into parts gives the same bits).
//
// Sigmoid and SiLU are 1/(1+e) and x/(1+e) with e = exp(-min(x, 20)) (vexp.go's expParts, its
// product folded into 1+e; from x = 17.4 on, 1+e rounds to 1), the reciprocal VRCP14PS or
// VRCPPS refined by Newton-Raphson (vexp.go's recip) and SiLU's product x*r: 16 arithmetic
// instructions a vector at AVX-512 (0.66 cycle an element on a 2-port Intel core, where the
// exact division and Cephes' degree-7 exp took 27, VDIVPS among them: 1.16), 19 at AVX2. Where
// x < -87.33, 1/(1+e) is below float32's normal range (e > 2^126) and the reciprocal is zeroed
// under a mask: sigmoid is +0 there, SiLU x*0 (-0; NaN for -Inf, as PyTorch's x/(1+exp(-x))).
// NaN passes through (the clamp returns it). runtime/kernels/act.go states the measured error
// bounds.
//
// Tanh is x + x^3*P(x^2) for |x| < 0.625 (Cephes tanhf.c's degree-4 P, relative error 4.4e-9
// there) and sign(x)*(1-e)/(1+e), e = exp(-2*min(|x|, 9)), above (where 1-e >= 0.71 loses
// nothing; tanh(9) rounds to 1), blended. GELUTanh is x*sigmoid(2u). The exact GELU computes
// erfc's t = 1/(1+z/2) with recip and its exp with the split reduction of expSplit.
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
// exp's are in expConsts (vexp.go).
var actConsts = map[string]uint32{
	"Zero":    0,
	"One":     math.Float32bits(1),
	"Three":   math.Float32bits(3),
	"Six":     math.Float32bits(6),
	"Sign":    0x80000000,
	"AbsMask": 0x7fffffff,
	"Log2e":   math.Float32bits(1.44269504),
	"Ln2Hi":   math.Float32bits(0.693359375), // ln2 in two parts (Cephes expf.c)
	"Ln2Lo":   math.Float32bits(-2.12194440e-4),
	// The logistic functions' clamps: exp's argument -x is at least -20 (below, 1+e^-x rounds
	// to 1) and, unmasked, at most 87.33 (1/(1+e^x) stays normal).
	"ExpHi":  math.Float32bits(20),
	"NegLim": math.Float32bits(-87.33),
	// GELU's: exp's lower end (its Go twin's expSplit returns 0 below), erfc(z) = t*exp(-z^2 -
	// ErfcC0 + t*P(t)), t = 1/(1 + z/2), P's coefficients ErfcP0 (lowest degree) to ErfcP8
	// (Numerical Recipes in C, 2nd ed., 6.2, erfcc: fractional error below 1.2e-7), z clamped
	// to 10 (erfc(10) = 2e-45: 0 in float32, and t stays finite for the reciprocal); the tanh
	// form's 2*sqrt(2/pi) and 2*sqrt(2/pi)*0.044715.
	"ExpLo":   math.Float32bits(-87),
	"Half":    math.Float32bits(0.5),
	"NegHalf": math.Float32bits(-0.5),
	"Sqrt1_2": math.Float32bits(0.70710678118654752),
	"ZMax":    math.Float32bits(10),
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
	// Tanh's: the polynomial's end, exp's clamp of |x| and P (Cephes tanhf.c: relative error
	// 4.4e-9 on |x| < 0.625 in exact arithmetic).
	"TanhSmall": math.Float32bits(0.625),
	"TanhHi":    math.Float32bits(9),
	"TanhP0":    math.Float32bits(-3.33332819422e-1),
	"TanhP1":    math.Float32bits(1.33314422036e-1),
	"TanhP2":    math.Float32bits(-5.37397155531e-2),
	"TanhP3":    math.Float32bits(2.06390887954e-2),
	"TanhP4":    math.Float32bits(-5.70498872745e-3),
}

var constData = map[string]Mem{}

// constBits returns the bits of constant name: from actConsts or expConsts, or the negation of
// the one name ends in n for ("E8C1n" is -E8C1).
func constBits(name string) uint32 {
	if b, ok := actConsts[name]; ok {
		return b
	}
	if b, ok := expConsts[name]; ok {
		return b
	}
	if n := len(name) - 1; n > 0 && name[n] == 'n' {
		return constBits(name[:n]) ^ 0x80000000
	}
	panic("act: no constant " + name)
}

// constant returns the 64-byte DATA of sixteen copies of constant name (a zmm's worth, so that
// any instruction can read it from memory), defining it once.
func constant(name string) Mem {
	if m, ok := constData[name]; ok {
		return m
	}
	bits := constBits(name)
	m := GLOBL("act"+name, RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(bits))
	}
	constData[name] = m
	return m
}

// actLevel is what differs between the AVX-512 and the AVX2 code of the activations.
type actLevel struct {
	*level
	// regs are the constants a function keeps in registers, loaded before its loop; tab is
	// exp's AVX-512 table (two zmm), loaded by loadTable.
	regs map[string]Register
	tab  [2]Register
	nk   int // the K registers cmp used
}

// The predicates of cmp (VCMPPS's immediate).
const (
	cmpLT  = 1  // a < b, false if either is NaN
	cmpNLT = 5  // !(a < b): true if either is NaN
	cmpGE  = 13 // a >= b, false if either is NaN
	cmpORD = 7  // neither is NaN
)

// cmp returns the mask of the lanes where a pred b: a K register (K1 to K4, in turn) at
// AVX-512, a vector at AVX2.
func (l *actLevel) cmp(pred uint8, b Op, a Register) Op {
	if l.avx512() {
		k := []Register{K1, K2, K3, K4}[l.nk%4]
		l.nk++
		VCMPPS(U8(pred), b, a, k)
		return k
	}
	m := l.vec()
	VCMPPS(U8(pred), b, a, m)
	return m
}

// and sets dst = a & b (VPANDD for zmm: VANDPS zmm needs AVX-512 DQ).
func (l *actLevel) and(a Op, b, dst Register) {
	if l.avx512() {
		VPANDD(a, b, dst)
	} else {
		VANDPS(a, b, dst)
	}
}

// minNaN sets dst = min(x, constant name), NaN where x is NaN: x is VMINPS's second source (the
// first operand in Go's order), the one it returns when either is NaN; the constant must then
// be in a register.
func (l *actLevel) minNaN(x Register, name string, dst Register) {
	if r, ok := l.regs[name]; ok {
		VMINPS(x, r, dst)
		return
	}
	if dst == x {
		panic("act: minNaN in place needs " + name + " in a register")
	}
	VMOVUPS(constant(name), dst)
	VMINPS(x, dst, dst)
}

// neg returns a mask of the lanes where x < 0: from cmp at AVX-512 (-0 and NaN are not), x
// itself at AVX2 (VBLENDVPS reads the sign bit: -0 is; the callers give the same results).
func (l *actLevel) neg(x Register) Op {
	if l.avx512() {
		return l.cmp(cmpLT, l.c("Zero"), x)
	}
	return x
}

// blend sets dst = src where the mask m (from cmp) is set.
func (l *actLevel) blend(m Op, src, dst Register) {
	if l.avx512() {
		VMOVAPS(src, m, dst)
	} else {
		VBLENDVPS(m, src, dst, dst)
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

// fmadd213Reg sets dst = dst*constant mul + constant add, mul from its register.
func (l *actLevel) fmadd213Reg(mul, add string, dst Register) {
	if r, ok := l.regs[add]; ok {
		VFMADD213PS(r, l.r(mul), dst)
	} else if l.avx512() {
		VFMADD213PS_BCST(constant(add), l.r(mul), dst)
	} else {
		VFMADD213PS(constant(add), l.r(mul), dst)
	}
}

// c returns constant name as an operand: its register if the function loaded it, else its
// memory (with AVX2's 16 registers, not every constant fits in one).
func (l *actLevel) c(name string) Op {
	if r, ok := l.regs[name]; ok {
		return r
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

// keepRegs loads the constants names into registers.
func (l *actLevel) keepRegs(names []string) {
	for _, c := range names {
		if _, ok := l.regs[c]; ok {
			continue
		}
		r := l.vec()
		VBROADCASTSS(constant(c), r)
		l.regs[c] = r
	}
}

func avx512Level() *actLevel { return &actLevel{level: lvl512} }
func avx2Level() *actLevel   { return &actLevel{level: lvl256} }

// vactSet is the f32vact group.
func vactSet() {
	for _, l := range []*actLevel{avx512Level(), avx2Level()} {
		// The constants in registers at AVX2 (16 ymm): the ones used on every vector.
		logistic := append([]string{"ExpHi", "NegLim"}, expRegs(true, true)...)
		tanh := append([]string{"AbsMask", "TanhSmall", "TanhHi", "Sign"}, expRegs(true, true)...)
		gelu := append([]string{"Half", "NegHalf", "AbsMask", "Sqrt1_2", "ErfcC0", "ExpLo", "Zero", "ZMax"}, expRegs(false, false)...)
		geluTanh := append([]string{"GeluK1", "GeluK2"}, logistic...)
		if !l.avx512() {
			logistic, tanh, gelu, geluTanh = []string{"One"}, []string{"One", "AbsMask"}, []string{"One", "Half", "ZMax"}, []string{"One"}
		}
		// Unrolling: four vectors per iteration for the clamps, two for the logistic functions
		// (see stream.go: ReLU ran 1.76x / 1.72x slower with one at AVX-512 / AVX2, sigmoid
		// 1.05x / 1.11x), and one for tanh and the exact GELU, whose 30 and 60-odd
		// instructions per vector need many registers.
		actFunc(l, "ReLU", "max(x, 0)", 4, []string{"Zero"}, l.relu)
		actFunc(l, "ReLU6", "min(max(x, 0), 6)", 4, []string{"Zero", "Six"}, l.relu6)
		actFunc(l, "Sigmoid", "1/(1+exp(-x))", 2, logistic, l.sigmoid)
		actFunc(l, "SiLU", "x/(1+exp(-x))", 2, logistic, l.silu)
		actFunc(l, "Tanh", "tanh(x)", 1, tanh, l.tanh)
		actFunc(l, "HardSigmoid", "relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSigmoid)
		actFunc(l, "HardSwish", "x*relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSwish)
		actFunc(l, "GELU", "x*Phi(x) = 0.5*x*(1+erf(x/sqrt2))", 1, gelu, l.gelu)
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
	l.tab = [2]Register{}
	l.keepRegs(regs)
	if _, ok := l.regs["Magic32"]; ok {
		l.loadTable()
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

// logistic returns 1/(1 + exp(-x)), 0 where x < -87.33.
func (l *actLevel) logistic(x Register) Register {
	keep := l.cmp(cmpNLT, l.c("NegLim"), x) // x >= -87.33, or NaN
	v := l.vec()
	l.minNaN(x, "ExpHi", v)
	sc, q := l.expParts(v, true)
	VFMADD213PS(l.c("One"), sc, q) // 1 + e
	return l.recip(q, keep)
}

func (l *actLevel) sigmoid(x Register) { VMOVAPS(l.logistic(x), x) }
func (l *actLevel) silu(x Register)    { VMULPS(l.logistic(x), x, x) }

func (l *actLevel) relu(x Register) { VMAXPS(x, l.r("Zero"), x) }

func (l *actLevel) relu6(x Register) {
	VMAXPS(x, l.r("Zero"), x)
	VMINPS(x, l.r("Six"), x)
}

// tanh: the polynomial below 0.625 in magnitude, (1-e)/(1+e) with x's sign above.
func (l *actLevel) tanh(x Register) {
	a := l.vec()
	l.and(l.c("AbsMask"), x, a)
	small := l.cmp(cmpLT, l.c("TanhSmall"), a)
	v := l.vec()
	l.minNaN(a, "TanhHi", v)
	VADDPS(v, v, v) // 2|x|, exactly
	sc, e := l.expParts(v, true)
	d := l.vec()
	VMOVAPS(e, d)
	VFMADD213PS(l.c("One"), sc, d)  // 1 + e
	VFNMADD213PS(l.c("One"), sc, e) // 1 - e
	r := l.recip(d, nil)
	VMULPS(r, e, e) // |tanh|
	z, p := l.vec(), l.vec()
	VMULPS(x, x, z)
	VBROADCASTSS(constant("TanhP4"), p)
	for i := 3; i >= 0; i-- {
		l.fmadd213(fmt.Sprintf("TanhP%d", i), z, p) // p = p*z + P[i]
	}
	VMULPS(z, p, p)
	VFMADD213PS(x, x, p) // x + x*z*P(z): x's sign, but +0 for -0
	l.blend(small, p, e)
	// x's sign bit, e's others (the polynomial's sign is x's already).
	if l.avx512() {
		VPTERNLOGD(U8(0xe4), l.c("Sign"), e, x)
	} else {
		VANDPS(l.c("Sign"), x, x)
		VORPS(e, x, x)
	}
}

// gelu: x*Phi(x), Phi from erfc(z), z = |x|/sqrt2, as the Go twin (kernels' gelu) computes it:
// Phi = 1 - erfc(z)/2 for x >= 0, erfc(z)/2 for x < 0, so the negative tail keeps its relative
// precision; exp's argument -z^2 is -x*x/2, split exactly (hi = x*x, lo = fma(x, x, -hi)) into a
// large exact part for the argument reduction and a small one.
func (l *actLevel) gelu(x Register) {
	z := l.vec()
	l.and(l.c("AbsMask"), x, z)
	VMULPS(l.c("Sqrt1_2"), z, z)
	l.minNaN(z, "ZMax", z)
	VFMADD213PS(l.c("One"), l.r("Half"), z) // 1 + z/2 (z/2 is exact: one rounding either way)
	t := l.recip(z, nil)                    // t = 1/(1 + z/2)
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
	VSUBPS(e, l.c("One"), phi) // 1 - erfc(z)/2
	l.blend(l.neg(x), e, phi)
	VMULPS(phi, x, x)
}

// expSplit returns exp(a + b), a + b <= ~0, in exp's steps but for the argument reduction: r =
// ((a - (k/N)*Ln2Hi) + b) - (k/N)*Ln2Lo, where a - (k/N)*Ln2Hi is exact, so that a large exact
// a (GELU's -x^2/2) is never rounded against b. 0 below ExpLo (and for NaN), as the Go twin's.
// a is clobbered.
func (l *actLevel) expSplit(a, b Register) Register {
	s := l.vec()
	VADDPS(b, a, s)
	keep := l.cmp(cmpGE, l.c("ExpLo"), s)
	p := l.expIndex(s, false)
	r := a
	VFNMADD231PS(l.c("Ln2Hi"), p.n, r) // exact
	VADDPS(b, r, r)
	VFNMADD231PS(l.c("Ln2Lo"), p.n, r)
	return l.expValue(p, r, false, true, keep)
}

// geluTanh: x*sigmoid(2u), 2u = x*(K1 + K2*x^2), unfused as in the Go twin (kernels' geluTanh).
func (l *actLevel) geluTanh(x Register) {
	u := l.vec()
	VMULPS(x, x, u)
	VMULPS(l.c("GeluK2"), u, u)
	VADDPS(l.c("GeluK1"), u, u)
	VMULPS(x, u, u)
	VMULPS(l.logistic(u), x, x)
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
