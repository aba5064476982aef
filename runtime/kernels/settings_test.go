package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the settings structs' API (Eltwise, Pool.RunChannels, Mul, Softmax, Affine) and of
// the activations' names.

func TestActNames(t *testing.T) {
	idents := map[Act]string{ActNone: "ActNone", ActReLU: "ActReLU", ActReLU6: "ActReLU6", ActSigmoid: "ActSigmoid",
		ActSiLU: "ActSiLU", ActTanh: "ActTanh", ActHardSigmoid: "ActHardSigmoid", ActHardSwish: "ActHardSwish", ActClip: "ActClip",
		ActGELU: "ActGELU", ActGELUTanh: "ActGELUTanh"}
	for a := range numActs {
		got, err := ActByName(a.String())
		if err != nil || got != a {
			t.Errorf("ActByName(%q) = %v, %v", a.String(), got, err)
		}
		if a.Ident() != idents[a] {
			t.Errorf("%v.Ident() = %q, want %q", a, a.Ident(), idents[a])
		}
		if want := a != ActClip; a.Epilogue() != want {
			t.Errorf("%v.Epilogue() = %v", a, a.Epilogue())
		}
	}
	if len(idents) != int(numActs) {
		t.Errorf("%d activations, %d identifiers checked", numActs, len(idents))
	}
	if _, err := ActByName("swish"); err == nil {
		t.Error(`ActByName("swish") did not fail`)
	}
	if Act(200).Ident() != "" || Act(200).Epilogue() {
		t.Error("Act(200) has an identifier or runs in an epilogue")
	}
	c := convCase(3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActClip)
	if c.Validate() == nil {
		t.Error("Conv.Validate accepts ActClip")
	}
	if l := (Linear{In: 3, Out: 4, Act: ActClip}); l.Validate() == nil {
		t.Error("Linear.Validate accepts ActClip")
	}
}

// TestEltwise checks Eltwise against the epilogues' activation (bit for bit, in place and not;
// HardSigmoid with PyTorch's parameters 1/6 and 0.5, which must give the epilogue's relu6(x+3)/6
// exactly), and Clip and the parameterized HardSigmoid against float64.
func TestEltwise(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(91, 92))
		for _, n := range []int{0, 1, 7, 16, 33, 100} {
			src := actInputs(rng, n, 8)
			for _, a := range allActs {
				want := append([]float32(nil), src...)
				apply(a, want)
				inBuf, in := guarded(n, func(i int) float32 { return src[i] })
				outBuf, out := guarded(n, nil)
				e := Eltwise{Act: a}
				if a == ActHardSigmoid {
					e.Alpha, e.Beta = 1.0/6, 0.5 // (zero parameters give a constant 0)
				}
				e.Run(out, in)
				inPlace := append([]float32(nil), src...)
				e.Run(inPlace, inPlace)
				name := fmt.Sprintf("%v n=%d", a, n)
				checkGuards(t, name, outBuf)
				checkGuards(t, name+" in", inBuf)
				for i := range want {
					if !sameBits(out[i], want[i]) || !sameBits(inPlace[i], want[i]) || !sameBits(in[i], src[i]) {
						t.Fatalf("%s: [%d] = %v (in place %v), epilogue %v", name, i, out[i], inPlace[i], want[i])
					}
				}
			}
			for _, p := range [][2]float32{{-1, 6}, {0, 1}, {0.2, 0.5}, {2, -1}} {
				for _, a := range []Act{ActClip, ActHardSigmoid} {
					buf, out := guarded(n, nil)
					Eltwise{Act: a, Alpha: p[0], Beta: p[1]}.Run(out, src)
					checkGuards(t, fmt.Sprint(a, p), buf)
					for i, v := range src {
						x, lo, hi := float64(v), float64(p[0]), float64(p[1])
						var w float64
						if a == ActClip {
							w = math.Min(math.Max(x, lo), hi)
						} else {
							w = math.Max(0, math.Min(1, float64(float32(lo*x))+hi))
						}
						if math.IsNaN(w) {
							if out[i] == out[i] {
								t.Fatalf("%v%v(%v) = %v, want NaN", a, p, v, out[i])
							}
							continue
						}
						if out[i] != float32(w) {
							t.Fatalf("%v%v(%v) = %v, want %v", a, p, v, out[i], float32(w))
						}
					}
				}
			}
		}
	})
	mustPanic(t, "Eltwise short in", func() { Eltwise{Act: ActReLU}.Run(make([]float32, 3), make([]float32, 2)) })
	mustPanic(t, "Eltwise bad act", func() { Eltwise{Act: Act(200)}.Run(make([]float32, 3), make([]float32, 3)) })
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// TestPoolRunChannels checks that channel ranges computed apart give Run's output bit for bit
// and leave the other channels alone.
func TestPoolRunChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(93, 94))
	for _, avg := range []bool{false, true} {
		p := poolCase(7, 13, 11, 3, 3, 2, 2, 1, 1, 1, 1, true, false)
		p.Avg = avg
		in := randSlice(rng, p.C*p.InH*p.InW)
		n := p.C * p.OutH * p.OutW
		want := make([]float32, n)
		p.Run(want, in)
		for _, r := range [][2]int{{0, 7}, {0, 3}, {3, 7}, {2, 2}, {6, 7}} {
			buf, out := guarded(n, func(int) float32 { return -9 })
			p.RunChannels(r[0], r[1], out, in)
			checkGuards(t, "RunChannels", buf)
			plane := p.OutH * p.OutW
			for i := range out {
				in := i >= r[0]*plane && i < r[1]*plane
				if in && !sameBits(out[i], want[i]) || !in && out[i] != -9 {
					t.Fatalf("avg %v channels %v: [%d] = %v, Run %v", avg, r, i, out[i], want[i])
				}
			}
		}
		mustPanic(t, "RunChannels past C", func() { p.RunChannels(3, 8, make([]float32, n), in) })
		mustPanic(t, "RunChannels backwards", func() { p.RunChannels(3, 2, make([]float32, n), in) })
	}
}

func TestMulSoftmaxAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(95, 96))
	const c, hw = 3, 20
	x, s, sc := randSlice(rng, c*hw), randSlice(rng, c*hw), randSlice(rng, c)
	for _, perChannel := range []bool{false, true} {
		buf, out := guarded(c*hw, nil)
		m := Mul{C: c, HW: hw, PerChannel: perChannel}
		f := s
		if perChannel {
			f = sc
		}
		m.Run(out, x, f)
		checkGuards(t, "Mul", buf)
		for i := range out {
			j := i
			if perChannel {
				j = i / hw
			}
			w := f[j]
			if out[i] != x[i]*w {
				t.Fatalf("Mul per channel %v: [%d] = %v, want %v", perChannel, i, out[i], x[i]*w)
			}
		}
	}
	mustPanic(t, "Mul short s", func() { Mul{C: c, HW: hw}.Run(make([]float32, c*hw), x, sc) })

	sm := Softmax{Outer: 3, Block: 4, Inner: 5, Log: true}
	want := append([]float32(nil), s[:60]...)
	sm.Run(want, want)
	buf, out := guarded(60, nil)
	sm.Run(out, s)
	checkGuards(t, "Softmax", buf)
	for i := range want {
		if !sameBits(out[i], want[i]) {
			t.Fatalf("Softmax apart: [%d] = %v, in place %v", i, out[i], want[i])
		}
	}

	shift := randSlice(rng, c)
	buf, out = guarded(c*hw, nil)
	Affine{C: c, HW: hw, Act: ActReLU}.Run(out, x, sc, shift)
	checkGuards(t, "Affine", buf)
	ref := make([]float64, c*hw)
	for i := range ref {
		ref[i] = math.Max(0, float64(x[i])*float64(sc[i/hw])+float64(shift[i/hw]))
	}
	checkClose(t, "Affine", out, ref, nil, 2)
}
