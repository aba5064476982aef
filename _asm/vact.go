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
		// Unrolling: four vectors per iteration for the clamps (loads and stores dominate),
		// two for the logistic functions, whose 30-odd instructions per vector fill the
		// pipelines from two independent chains.
		actFunc(l, "ReLU", "max(x, 0)", 4, []string{"Zero"}, l.relu)
		actFunc(l, "ReLU6", "min(max(x, 0), 6)", 4, []string{"Zero", "Six"}, l.relu6)
		actFunc(l, "Sigmoid", "1/(1+exp(-x))", 2, logistic, l.sigmoid)
		actFunc(l, "SiLU", "x/(1+exp(-x))", 2, logistic, l.silu)
		actFunc(l, "HardSigmoid", "relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSigmoid)
		actFunc(l, "HardSwish", "x*relu6(x+3)/6", 4, []string{"Zero", "Three", "Six"}, l.hardSwish)
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
