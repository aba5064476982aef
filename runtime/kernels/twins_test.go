package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestKernelTwins runs every entry of every SIMD level's kernel set the CPU supports against the
// same entry of the Generic set (its pure-Go twin; for the SGEMM micro-kernel, gemmTwins), walking
// the set's fields so that a new entry without a check fails here. Each check sweeps lengths
// from 0 to a few vector widths and past (every tail), the operands' start offsets (misaligned
// starts, each operand its own), and puts every operand in a buffer framed by guards (after
// gonum's internal/asm tests): the guards and the inputs must come back unchanged, the outputs
// as the twin's. Exact kernels must agree exactly (+0 and -0, and any two NaNs, count as equal);
// the others within the bound their check states.
func TestKernelTwins(t *testing.T) {
	if len(testLevels) < 2 {
		t.Skip("no SIMD level in this build or on this CPU: the Generic set is the twins")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	fields := reflect.TypeFor[kernelSet]()
	for _, isa := range testLevels[1:] {
		ks := sets[isa]
		for i := range fields.NumField() {
			name := fields.Field(i).Name
			if notRoutine[name] {
				continue
			}
			if name == "act" {
				for a := range numActs {
					f, g := ks.act[a], genericSet.act[a]
					if f == nil || reflect.ValueOf(f).Pointer() == reflect.ValueOf(g).Pointer() {
						continue // no assembly for it (tanh): the level runs the twin
					}
					t.Run(fmt.Sprintf("%v/act[%v]", isa, a), func(t *testing.T) { checkAct(t, rng, ks, a, f, g) })
				}
				continue
			}
			e, ok := twinChecks[name]
			if !ok {
				t.Errorf("kernelSet.%s has no twin check", name)
				continue
			}
			t.Run(fmt.Sprintf("%v/%s", isa, name), func(t *testing.T) { e.check(t, rng, ks, e.get(ks), e.get(&genericSet)) })
		}
	}
}

// notRoutine are the kernelSet fields that are no routines with outputs to compare: fmaPeak is
// a timing loop (TestPeakGFLOPS measures it).
var notRoutine = map[string]bool{"isa": true, "fmaPeak": true, "peakFlops": true}

// twinCheck checks one entry: simd and twin are the level's and the Generic set's values of it.
type twinCheck func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any)

// twinEntry is a kernelSet field's check, and how to read the field.
type twinEntry struct {
	get   func(ks *kernelSet) any
	check twinCheck
}

var twinChecks = map[string]twinEntry{
	"gemm":           {func(k *kernelSet) any { return k.gemm }, checkGemm},
	"gemv4":          {func(k *kernelSet) any { return k.gemv4 }, checkGemv(4)},
	"gemv1":          {func(k *kernelSet) any { return k.gemv1 }, checkGemv(1)},
	"dwConv3x3s1":    {func(k *kernelSet) any { return k.dwConv3x3s1 }, checkDWConv(3, 1)},
	"dwConv3x3s2":    {func(k *kernelSet) any { return k.dwConv3x3s2 }, checkDWConv(3, 2)},
	"dwConv5x5s1":    {func(k *kernelSet) any { return k.dwConv5x5s1 }, checkDWConv(5, 1)},
	"dwConv5x5s2":    {func(k *kernelSet) any { return k.dwConv5x5s2 }, checkDWConv(5, 2)},
	"copyPlane":      {func(k *kernelSet) any { return k.copyPlane }, checkCopyPlane},
	"dwConvRow3s1":   {func(k *kernelSet) any { return k.dwConvRow3s1 }, checkDWConvRow(3, 1)},
	"dwConvRow3s2":   {func(k *kernelSet) any { return k.dwConvRow3s2 }, checkDWConvRow(3, 2)},
	"dwConvRow5s1":   {func(k *kernelSet) any { return k.dwConvRow5s1 }, checkDWConvRow(5, 1)},
	"dwConvRow5s2":   {func(k *kernelSet) any { return k.dwConvRow5s2 }, checkDWConvRow(5, 2)},
	"wino4x4":        {func(k *kernelSet) any { return k.wino4x4 }, checkWino(4)},
	"wino2x2":        {func(k *kernelSet) any { return k.wino2x2 }, checkWino(2)},
	"vadd":           {func(k *kernelSet) any { return k.vadd }, checkVAdd},
	"vmulAddC":       {func(k *kernelSet) any { return k.vmulAddC }, checkVMulAddC},
	"vmulChannels":   {func(k *kernelSet) any { return k.vmulChannels }, checkVMulChannels},
	"vgatherS2":      {func(k *kernelSet) any { return k.vgatherS2 }, checkVGatherS2},
	"rsum":           {func(k *kernelSet) any { return k.rsum }, checkRSum},
	"lrnSqAcc":       {func(k *kernelSet) any { return k.lrnSqAcc }, checkLRNSqAcc},
	"lrnNorm75":      {func(k *kernelSet) any { return k.lrnNorm75 }, checkLRNNorm75},
	"maxPoolV2":      {func(k *kernelSet) any { return k.maxPoolV2 }, checkMaxPoolV(2)},
	"maxPoolV3":      {func(k *kernelSet) any { return k.maxPoolV3 }, checkMaxPoolV(3)},
	"maxPoolH3s1":    {func(k *kernelSet) any { return k.maxPoolH3s1 }, checkPoolH(3, 1, false)},
	"maxPoolH2s2":    {func(k *kernelSet) any { return k.maxPoolH2s2 }, checkPoolH(2, 2, false)},
	"maxPoolH3s2":    {func(k *kernelSet) any { return k.maxPoolH3s2 }, checkPoolH(3, 2, false)},
	"avgPoolH2s1":    {func(k *kernelSet) any { return k.avgPoolH2s1 }, checkPoolH(2, 1, true)},
	"avgPoolH3s1":    {func(k *kernelSet) any { return k.avgPoolH3s1 }, checkPoolH(3, 1, true)},
	"avgPoolH5s1":    {func(k *kernelSet) any { return k.avgPoolH5s1 }, checkPoolH(5, 1, true)},
	"avgPoolH2s2":    {func(k *kernelSet) any { return k.avgPoolH2s2 }, checkPoolH(2, 2, true)},
	"avgPoolH3s2":    {func(k *kernelSet) any { return k.avgPoolH3s2 }, checkPoolH(3, 2, true)},
	"conv16c":        {func(k *kernelSet) any { return k.conv16c }, checkConv16c},
	"dw16c":          {func(k *kernelSet) any { return k.dw16c }, checkDW16c},
	"maxPool16c":     {func(k *kernelSet) any { return k.maxPool16c }, checkPool16c(false)},
	"avgPool16c":     {func(k *kernelSet) any { return k.avgPool16c }, checkPool16c(true)},
	"vmulAdd16c":     {func(k *kernelSet) any { return k.vmulAdd16c }, checkVMulAdd16c},
	"vmul16c":        {func(k *kernelSet) any { return k.vmul16c }, checkVMul16c},
	"toBlocked16c":   {func(k *kernelSet) any { return k.toBlocked16c }, checkReorder16c(true)},
	"fromBlocked16c": {func(k *kernelSet) any { return k.fromBlocked16c }, checkReorder16c(false)},
	"winoIn16c":      {func(k *kernelSet) any { return k.winoIn16c }, checkWinoIn16c},
	"winoOut16c":     {func(k *kernelSet) any { return k.winoOut16c }, checkWinoOut16c},
	"lrnSqSum16c":    {func(k *kernelSet) any { return k.lrnSqSum16c }, checkLRNSqSum16c},
}

// vlOf is the level's vector length in floats.
func vlOf(ks *kernelSet) int { return map[ISA]int{AVX2: 8, AVX512: 16}[ks.isa] }

// lengths are the lengths a check sweeps: 0 to four vectors and a tail, and a few longer.
func lengths(ks *kernelSet) []int {
	var n []int
	for i := range 5 * vlOf(ks) {
		n = append(n, i)
	}
	return append(n, 101, 1000)
}

// offsets are the operands' start offsets (in floats; the buffers are 64-byte aligned or not).
var offsets = []int{0, 1, 3, 8, 13}

// u is float32's unit roundoff.
const u = 0x1p-24

// operand is one slice argument of a call, v, in a buffer framed by guardLen sentinels each
// side; v starts at buf[start].
type operand struct {
	buf, v []float32
	start  int
}

// newOp returns an operand of n values starting off floats into its buffer, filled by fill.
func newOp(n, off int, fill func(i int) float32) operand {
	buf := make([]float32, off+n+2*guardLen)
	for i := range buf {
		buf[i] = sentinel
	}
	start := guardLen + off
	v := buf[start : start+n : start+n]
	for i := range v {
		v[i] = fill(i)
	}
	return operand{buf, v, start}
}

func (o operand) clone() operand {
	buf := append([]float32(nil), o.buf...)
	return operand{buf, buf[o.start : o.start+len(o.v) : o.start+len(o.v)], o.start}
}

// uniform fills with values in [-1, 1); special adds NaN, the infinities, signed zeros, huge and
// subnormal values to about one value in eight.
func uniform(rng *rand.Rand, special bool) func(int) float32 {
	sp := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0,
		float32(math.Copysign(0, -1)), 1e30, -1e30, 1e-40, -1e-40, 3, -3, 6, -6}
	return func(int) float32 {
		if special && rng.IntN(8) == 0 {
			return sp[rng.IntN(len(sp))]
		}
		return rng.Float32()*2 - 1
	}
}

// absOps returns copies of ops with every value replaced by its magnitude: the twin run on them
// gives the sum of the terms' magnitudes, the scale of a sum's rounding error.
func absOps(ops []operand) []operand {
	a := make([]operand, len(ops))
	for i, o := range ops {
		a[i] = o.clone()
		for j, v := range a[i].v {
			a[i].v[j] = float32(math.Abs(float64(v)))
		}
	}
	return a
}

func views(ops []operand) [][]float32 {
	s := make([][]float32, len(ops))
	for i, o := range ops {
		s[i] = o.v
	}
	return s
}

func cloneOps(ops []operand) []operand {
	c := make([]operand, len(ops))
	for i, o := range ops {
		c[i] = o.clone()
	}
	return c
}

// tolerance gives the bound for output value i of operand k: 0 for exact, else |got - want| at
// most that. mag holds the twin's outputs on absOps (nil if the check did not ask for them).
type tolerance func(k, i int, want float32, mag [][]float32) float64

// exact is the tolerance of the exact kernels.
func exact(int, int, float32, [][]float32) float64 { return 0 }

// sumTol is the bound of a sum of terms terms computed in another order, with or without fused
// multiply-adds: 2(terms+2) roundings of the sum of the terms' magnitudes.
func sumTol(terms int) tolerance {
	return func(k, i int, _ float32, mag [][]float32) float64 {
		return 2 * float64(terms+2) * u * float64(mag[k][i])
	}
}

// compare runs simd and twin through call on copies of ops and checks the result: the guards of
// every operand, the inputs (operands not in outs) unchanged, and the outputs within tol of the
// twin's. withMag runs the twin on absOps too, for tol.
func compare(t *testing.T, name string, ops []operand, outs []int, tol tolerance, withMag bool, call func(f any, s [][]float32), simd, twin any) {
	t.Helper()
	got, want := cloneOps(ops), cloneOps(ops)
	call(simd, views(got))
	call(twin, views(want))
	var mag [][]float32
	if withMag {
		m := absOps(ops)
		call(twin, views(m))
		mag = views(m)
	}
	isOut := map[int]bool{}
	for _, k := range outs {
		isOut[k] = true
	}
	for k, o := range got {
		checkGuards(t, fmt.Sprintf("%s: operand %d", name, k), o.buf)
		for i, g := range o.v {
			w := want[k].v[i]
			if !isOut[k] {
				w = ops[k].v[i]
				if math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("%s: input %d changed at %d: %v, was %v", name, k, i, g, w)
				}
				continue
			}
			if g == w || g != g && w != w {
				continue
			}
			if d := math.Abs(float64(g) - float64(w)); !(d <= tol(k, i, w, mag)) {
				t.Fatalf("%s: output %d [%d] = %v, twin %v", name, k, i, g, w)
			}
		}
	}
}

func checkAct(t *testing.T, rng *rand.Rand, ks *kernelSet, a Act, f, g func([]float32)) {
	// The clamps are exact; the others' assembly has a shorter exp and a refined reciprocal
	// estimate where the twin divides: within actBounds' relative twin bound (act_test.go).
	tol := tolerance(exact)
	if b := actBounds[a].twin; b > 0 {
		tol = func(_, _ int, w float32, _ [][]float32) float64 { return b * math.Abs(float64(w)) }
	}
	for _, n := range append(lengths(ks), actChunk-1, actChunk+17) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, func(int) float32 { return actInputs(rng, 1, 8)[0] })}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, tol, false,
				func(f any, s [][]float32) { f.(func([]float32))(s[0]) }, f, g)
		}
	}
}

func checkVAdd(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, true)), newOp(n, (off+5)%16, uniform(rng, true)), newOp(n, (off+11)%16, uniform(rng, true))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, exact, false,
				func(f any, s [][]float32) { f.(func(dst, a, b []float32))(s[0], s[1], s[2]) }, simd, twin)
		}
	}
}

func checkVMulAddC(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	sc, b := rng.Float32()*4-2, rng.Float32()*4-2
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, false)), newOp(n, (off+7)%16, uniform(rng, false))}
			// One fused rounding against two: within 4 roundings of |src*s| + |b|.
			tol := func(_, i int, _ float32, _ [][]float32) float64 {
				return 4 * u * (math.Abs(float64(ops[1].v[i]*sc)) + math.Abs(float64(b)))
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, tol, false,
				func(f any, s [][]float32) { f.(func(dst, src []float32, s, b float32))(s[0], s[1], sc, b) }, simd, twin)
		}
	}
}

func checkVMulChannels(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for c := range 4 {
		for _, hw := range lengths(ks)[:3*vlOf(ks)] {
			for _, off := range offsets {
				ops := []operand{newOp(c*hw, off, uniform(rng, true)), newOp(c*hw, (off+3)%16, uniform(rng, true)), newOp(c, off, uniform(rng, true))}
				compare(t, fmt.Sprintf("c=%d hw=%d off=%d", c, hw, off), ops, []int{0}, exact, false,
					func(f any, s [][]float32) { f.(func(dst, src, s []float32, hw int))(s[0], s[1], s[2], hw) }, simd, twin)
			}
		}
	}
}

func checkVGatherS2(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, true)), newOp(max(2*n-1, 0), (off+5)%16, uniform(rng, true))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, exact, false,
				func(f any, s [][]float32) { f.(func(dst, src []float32))(s[0], s[1]) }, simd, twin)
		}
	}
}

func checkRSum(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			// The sum goes to a one-value output operand.
			ops := []operand{newOp(1, 0, func(int) float32 { return 0 }), newOp(n, off, uniform(rng, false))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(n), true,
				func(f any, s [][]float32) { s[0][0] = f.(func([]float32) float32)(s[1]) }, simd, twin)
		}
	}
}

func checkLRNSqAcc(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, func(int) float32 { return rng.Float32() * 10 }), newOp(n, (off+9)%16, uniform(rng, false))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(1), true,
				func(f any, s [][]float32) { f.(func(dst, src []float32))(s[0], s[1]) }, simd, twin)
		}
	}
}

func checkLRNNorm75(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	// d = k + scale*dst fused against not: within an ulp of d, so 0.75 ulp of the power, and the
	// same roundings after: within 4e-7 relative (about 3.4 ulps).
	tol := func(_, _ int, w float32, _ [][]float32) float64 { return 4e-7 * math.Abs(float64(w)) }
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, func(int) float32 { return rng.Float32() * 1e4 }), newOp(n, (off+9)%16, uniform(rng, false))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, tol, false,
				func(f any, s [][]float32) { f.(func(dst, src []float32, k, scale float32))(s[0], s[1], 2, 2e-5) }, simd, twin)
		}
	}
}

func checkMaxPoolV(rows int) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for _, n := range lengths(ks) {
			for _, off := range offsets {
				ops := []operand{newOp(n, off, uniform(rng, true))}
				for r := range rows {
					ops = append(ops, newOp(n, (off+3+5*r)%16, uniform(rng, true)))
				}
				compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, exact, false, func(f any, s [][]float32) {
					if rows == 2 {
						f.(func(dst, a, b []float32))(s[0], s[1], s[2])
					} else {
						f.(func(dst, a, b, c []float32))(s[0], s[1], s[2], s[3])
					}
				}, simd, twin)
			}
		}
	}
}

// checkPoolH checks a horizontal pool pass of window k, stride s: max, or avg with the divisors
// of PyTorch's clipped windows (small integers) and rows in 1..3.
func checkPoolH(k, s int, avg bool) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for _, n := range lengths(ks) {
			for _, off := range offsets {
				src := 0
				if n > 0 {
					src = s*(n-1) + k
				}
				ops := []operand{newOp(n, off, uniform(rng, true)), newOp(src, (off+5)%16, uniform(rng, true))}
				name := fmt.Sprintf("n=%d off=%d", n, off)
				if !avg {
					compare(t, name, ops, []int{0}, exact, false,
						func(f any, s [][]float32) { f.(func(dst, src []float32))(s[0], s[1]) }, simd, twin)
					continue
				}
				ops = append(ops, newOp(n, (off+7)%16, func(int) float32 { return float32(1 + rng.IntN(k)) }))
				rows := float32(1 + rng.IntN(3))
				compare(t, name, ops, []int{0}, exact, false,
					func(f any, s [][]float32) { f.(func(dst, src, cols []float32, rows float32))(s[0], s[1], s[2], rows) }, simd, twin)
			}
		}
	}
}
