package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestApply(t *testing.T) {
	var xs []float32
	for v := -12.0; v <= 12; v += 0.37 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, 0, -3, 3, 6, -6, float32(math.Inf(1)), float32(math.Inf(-1)), 100, -100)
	for _, a := range allActs {
		buf, x := guarded(len(xs), func(i int) float32 { return xs[i] })
		apply(a, x)
		checkGuards(t, a.String(), buf)
		for i, v := range xs {
			want := refAct(a, float64(v))
			if math.IsNaN(want) { // inf * 0 in the reference's hardswish/silu at -inf
				continue
			}
			if !close(x[i], want, math.Abs(want), 1) && !(math.IsInf(want, 0) && float64(x[i]) == want) {
				t.Errorf("%v(%v) = %v, want %v", a, v, x[i], want)
			}
		}
		nan := []float32{float32(math.NaN())}
		apply(a, nan)
		if nan[0] == nan[0] {
			t.Errorf("%v(NaN) = %v, want NaN", a, nan[0])
		}
	}
	if ActHardSwish.String() != "hardswish" || Act(200).String() != "Act(200)" {
		t.Errorf("String: %q %q", ActHardSwish.String(), Act(200).String())
	}
	mustPanic(t, "bad act", func() { apply(Act(200), xs) })
}

func TestLRN(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []struct {
		c, hw, size    int
		alpha, beta, k float64
	}{
		{16, 30, 5, 1e-4, 0.75, 2}, // AlexNet
		{8, 11, 5, 1e-4, 0.75, 1},  // GoogLeNet
		{7, 3, 4, 0.5, 0.5, 1},
		{3, 4, 2, 2, 1, 0.5},
		{5, 6, 3, 1.5, 0.6, 1.5},
		{2, 5, 7, 1, 0.75, 1},
	} {
		name := fmt.Sprintf("LRN%+v", s)
		inBuf, in := guarded(s.c*s.hw, func(int) float32 { return rng.Float32()*8 - 4 })
		outBuf, out := guarded(s.c*s.hw, nil)
		for _, lo := range []int{s.size / 2, (s.size - 1) / 2} { // PyTorch's and ONNX's windows
			LRN{C: s.c, HW: s.hw, Size: s.size, Lo: lo, Alpha: float32(s.alpha), Beta: float32(s.beta), K: float32(s.k)}.Run(out, in)
			checkClose(t, name, out, refLRN(s.c, s.hw, s.size, lo, float64(float32(s.alpha)), float64(float32(s.beta)), float64(float32(s.k)), in), nil, 2*s.size)
			checkGuards(t, name, outBuf)
			checkGuards(t, name, inBuf)
		}
	}
}

// TestChannelKernels runs MulChannel (also in place) and GlobalAvgPool at every level over plane
// sizes across the SIMD kernels' vector multiples, with guards.
func TestChannelKernels(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(47, 48))
		const c = 3
		for _, hw := range []int{1, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 196, 785, 3136} {
			xBuf, x := randGuarded(rng, c*hw)
			scale := randSlice(rng, c)
			want, wantAvg, mag := make([]float64, c*hw), make([]float64, c), make([]float64, c)
			for i, v := range x {
				want[i] = float64(v) * float64(scale[i/hw])
				wantAvg[i/hw] += float64(v) / float64(hw)
				mag[i/hw] += math.Abs(float64(v)) / float64(hw)
			}
			outBuf, out := guarded(c*hw, nil)
			Mul{C: c, HW: hw, PerChannel: true}.Run(out, x, scale)
			checkClose(t, fmt.Sprint("MulChannel hw=", hw), out, want, nil, 1)
			checkGuards(t, "MulChannel", outBuf)
			avgBuf, avg := guarded(c, nil)
			GlobalPool{C: c, HW: hw}.Run(avg, x)
			checkClose(t, fmt.Sprint("GlobalAvgPool hw=", hw), avg, wantAvg, mag, hw)
			checkGuards(t, "GlobalAvgPool", avgBuf)
			Mul{C: c, HW: hw, PerChannel: true}.Run(x, x, scale)
			checkClose(t, fmt.Sprint("MulChannel in place hw=", hw), x, want, nil, 1)
			checkGuards(t, "MulChannel in place", xBuf)
		}
	})
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const c, hw = 5, 13
	n := c * hw
	_, a := randGuarded(rng, n)
	_, b := randGuarded(rng, n)
	scale, shift := randSlice(rng, c), randSlice(rng, c)
	for _, act := range allActs {
		outBuf, out := guarded(n, nil)
		Affine{C: c, HW: hw, Act: act}.Run(out, a, scale, shift)
		want := make([]float64, n)
		for i := range want {
			want[i] = refAct(act, float64(a[i])*float64(scale[i/hw])+float64(shift[i/hw]))
		}
		checkClose(t, "ChannelAffine "+act.String(), out, want, nil, 2)
		checkGuards(t, "ChannelAffine", outBuf)
		inPlace := append([]float32(nil), a...)
		Affine{C: c, HW: hw, Act: act}.Run(inPlace, inPlace, scale, shift)
		checkClose(t, "ChannelAffine in place "+act.String(), inPlace, want, nil, 2)

		outBuf, out = guarded(n, nil)
		Add{Act: act}.Run(out, a, b)
		for i := range want {
			want[i] = refAct(act, float64(a[i])+float64(b[i]))
		}
		checkClose(t, "Add "+act.String(), out, want, nil, 2)
		checkGuards(t, "Add", outBuf)
		alias := append([]float32(nil), a...)
		Add{Act: act}.Run(alias, alias, b)
		checkClose(t, "Add aliased "+act.String(), alias, want, nil, 2)
	}
	outBuf, out := guarded(n, nil)
	Mul{C: c, HW: hw}.Run(out, a, b)
	want := make([]float64, n)
	for i := range want {
		want[i] = float64(a[i]) * float64(b[i])
	}
	checkClose(t, "Mul", out, want, nil, 1)
	checkGuards(t, "Mul", outBuf)

	outBuf, out = guarded(n, nil)
	Mul{C: c, HW: hw, PerChannel: true}.Run(out, a, scale)
	for i := range want {
		want[i] = float64(a[i]) * float64(scale[i/hw])
	}
	checkClose(t, "MulChannel", out, want, nil, 1)
	checkGuards(t, "MulChannel", outBuf)

	for _, m := range []int{1, 2, 10, 1000} {
		xBuf, x := guarded(m, func(i int) float32 { return rng.Float32()*40 - 20 })
		x[0] = 100 // large values must not overflow: the maximum is subtracted
		want := make([]float64, m)
		mx, sum := math.Inf(-1), 0.0
		for _, v := range x {
			mx = math.Max(mx, float64(v))
		}
		for i, v := range x {
			want[i] = math.Exp(float64(v) - mx)
			sum += want[i]
		}
		for i := range want {
			want[i] /= sum
		}
		Softmax{Outer: 1, Block: len(x), Inner: 1}.Run(x, x)
		checkClose(t, fmt.Sprint("Softmax ", m), x, want, nil, 4)
		checkGuards(t, "Softmax", xBuf)
	}
	Softmax{Outer: 1, Block: 0, Inner: 1}.Run(nil, nil)
}

func TestSoftmaxAxisClipPad(t *testing.T) {
	// [2 3 4]: softmax over the middle axis (block 3, inner 4) against a direct computation.
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i%7) - 3 + float32(i)/10
	}
	for _, log := range []bool{false, true} {
		y := append([]float32(nil), x...)
		Softmax{Outer: 2, Block: 3, Inner: 4, Log: log}.Run(y, y)
		for o := 0; o < 2; o++ {
			for j := 0; j < 4; j++ {
				sum := 0.0
				for k := 0; k < 3; k++ {
					sum += math.Exp(float64(x[o*12+k*4+j]))
				}
				for k := 0; k < 3; k++ {
					i := o*12 + k*4 + j
					want := math.Exp(float64(x[i])) / sum
					if log {
						want = math.Log(want)
					}
					if math.Abs(float64(y[i])-want) > 1e-6 {
						t.Fatalf("log %v: y[%d] = %g, want %g", log, i, y[i], want)
					}
				}
			}
		}
	}
	c := []float32{-2, -0.5, 0, 3, 7}
	Eltwise{Act: ActClip, Alpha: -1, Beta: 6}.Run(c, c)
	if fmt.Sprint(c) != "[-1 -0.5 0 3 6]" {
		t.Errorf("Clip: %v", c)
	}
	out := make([]float32, 2*3*3)
	Pad{C: 2, H: 1, W: 2, Top: 1, Left: 1, Bottom: 1, Right: 0, Value: 9}.Run(out, []float32{1, 2, 3, 4})
	if fmt.Sprint(out) != "[9 9 9 9 1 2 9 9 9 9 9 9 9 3 4 9 9 9]" {
		t.Errorf("Pad: %v", out)
	}
}

func TestSigmoidAccuracy(t *testing.T) {
	worst := 0.0
	for i := -200000; i <= 200000; i++ {
		v := float32(i) / 2000 // -100 .. 100
		want := 1 / (1 + math.Exp(-float64(v)))
		got := float64(sigmoid(v))
		if d := math.Abs(got-want) / math.Max(want, 1e-30); d > worst && want > 1e-30 {
			worst = d
		}
	}
	if worst > 1e-6 {
		t.Errorf("sigmoid: worst relative error %g", worst)
	}
	if s := sigmoid(float32(math.NaN())); s == s {
		t.Error("sigmoid(NaN) is not NaN")
	}
	if sigmoid(float32(math.Inf(1))) != 1 || sigmoid(float32(math.Inf(-1))) != 0 {
		t.Error("sigmoid at the infinities")
	}
	t.Logf("worst relative error %.2g", worst)
}

// TestArithSizes runs Add (also aliased, across addChunk) and ChannelAffine (also in place) at
// every level over sizes across the vector lengths and their multiples, with guards.
func TestArithSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(61, 62))
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 200, 4095, 4097, 9000} {
			act := allActs[n%len(allActs)]
			_, a := randGuarded(rng, n)
			_, b := randGuarded(rng, n)
			want := make([]float64, n)
			for i := range want {
				want[i] = refAct(act, float64(a[i])+float64(b[i]))
			}
			outBuf, out := guarded(n, nil)
			Add{Act: act}.Run(out, a, b)
			name := fmt.Sprintf("Add n=%d %v", n, act)
			checkClose(t, name, out, want, nil, 2)
			checkGuards(t, name, outBuf)
			Add{Act: act}.Run(a, a, b)
			checkClose(t, name+" aliased", a, want, nil, 2)

			const c = 3
			if n < c {
				continue
			}
			hw := n / c
			_, x := randGuarded(rng, c*hw)
			scale, shift := randSlice(rng, c), randSlice(rng, c)
			want = want[:c*hw]
			for i := range want {
				want[i] = refAct(act, float64(x[i])*float64(scale[i/hw])+float64(shift[i/hw]))
			}
			outBuf, out = guarded(c*hw, nil)
			Affine{C: c, HW: hw, Act: act}.Run(out, x, scale, shift)
			name = fmt.Sprintf("ChannelAffine hw=%d %v", hw, act)
			checkClose(t, name, out, want, nil, 2)
			checkGuards(t, name, outBuf)
			Affine{C: c, HW: hw, Act: act}.Run(x, x, scale, shift)
			checkClose(t, name+" in place", x, want, nil, 2)
		}
	})
}

// TestLRNSizes runs LRN at every level over plane sizes across the vector lengths, for beta
// 0.75 (the SIMD normalization) and 0.5, against the reference with guards.
func TestLRNSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(63, 64))
		for _, hw := range []int{1, 7, 8, 9, 15, 16, 17, 33, 64, 65, 169, 729} {
			for _, beta := range []float32{0.75, 0.5} {
				const c, size = 7, 5
				inBuf, in := guarded(c*hw, func(int) float32 { return rng.Float32()*8 - 4 })
				outBuf, out := guarded(c*hw, nil)
				LRN{C: c, HW: hw, Size: size, Lo: size / 2, Alpha: 1e-4, Beta: beta, K: 2}.Run(out, in)
				name := fmt.Sprintf("LRN hw=%d beta=%v", hw, beta)
				checkClose(t, name, out, refLRN(c, hw, size, size/2, float64(float32(1e-4)), float64(beta), 2, in), nil, 2*size)
				checkGuards(t, name, outBuf)
				checkGuards(t, name, inBuf)
			}
		}
	})
}

func BenchmarkLRN(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		const c, hw = 96, 55 * 55 // AlexNet's first LRN
		in, out := randSlice(rng, c*hw), make([]float32, c*hw)
		for b.Loop() {
			LRN{C: c, HW: hw, Size: 5, Lo: 2, Alpha: 1e-4, Beta: 0.75, K: 2}.Run(out, in)
		}
	})
}
