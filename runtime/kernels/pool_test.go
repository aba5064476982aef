package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// poolCase builds a Pool with PyTorch's output size (ceil_mode dropping a last window that starts
// in the right padding).
func poolCase(c, inH, inW, kh, kw, sh, sw, pt, pl, pb, pr int, ceil, countPad bool) Pool {
	size := func(in, k, s, p0, p1 int) int {
		num := in + p0 + p1 - k
		o := num/s + 1
		if ceil {
			o = (num+s-1)/s + 1
			if (o-1)*s >= in+p0 {
				o--
			}
		}
		return o
	}
	return Pool{C: c, InH: inH, InW: inW, OutH: size(inH, kh, sh, pt, pb), OutW: size(inW, kw, sw, pl, pr),
		KH: kh, KW: kw, StrideH: sh, StrideW: sw, PadT: pt, PadL: pl, PadB: pb, PadR: pr, CountIncludePad: countPad}
}

func TestPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	cases := []Pool{
		poolCase(3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, false, true), // ResNet
		poolCase(2, 55, 55, 3, 3, 2, 2, 0, 0, 0, 0, true, true),    // AlexNet / GoogLeNet ceil_mode
		poolCase(2, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, true, true),    // GoogLeNet branch pool
		poolCase(2, 14, 14, 5, 5, 3, 3, 0, 0, 0, 0, false, true),   // GoogLeNet aux avg
		poolCase(2, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, false, true),     // LeNet
	}
	for len(cases) < 300 {
		kh, kw := 1+rng.IntN(5), 1+rng.IntN(5)
		pt, pl, pb, pr := rng.IntN(kh/2+1), rng.IntN(kw/2+1), rng.IntN(kh/2+1), rng.IntN(kw/2+1)
		p := poolCase(1+rng.IntN(3), 1+rng.IntN(12), 1+rng.IntN(12), kh, kw, 1+rng.IntN(3), 1+rng.IntN(3),
			pt, pl, pb, pr, rng.IntN(2) == 0, rng.IntN(2) == 0)
		if p.OutH < 1 || p.OutW < 1 || p.Validate() != nil {
			continue
		}
		cases = append(cases, p)
	}
	for _, p := range cases {
		if err := p.Validate(); err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		inBuf, in := randGuarded(rng, p.C*p.InH*p.InW)
		if len(in) > 3 {
			in[len(in)/2] = float32(math.NaN()) // NaN wins the max, spreads through the average
		}
		nOut := p.C * p.OutH * p.OutW
		for _, isMax := range []bool{true, false} {
			name := fmt.Sprintf("%+v max=%v", p, isMax)
			outBuf, out := guarded(nOut, nil)
			p.Avg = !isMax
			p.Run(out, in)
			checkClose(t, name, out, refPool(&p, in, isMax), nil, p.KH*p.KW)
			checkGuards(t, name+" out", outBuf)
			checkGuards(t, name+" in", inBuf)
		}
	}
	bad := poolCase(1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, false, false)
	bad.OutH = 3
	if bad.Validate() == nil {
		t.Error("window starting past the input validated")
	}
}

// TestPoolMaxShapes sweeps the shapes of Max's fast paths (3x3 stride 1 and 2, 2x2 stride 2,
// with and without padding and ceil_mode) over widths across the vector lengths, at every level,
// with NaN, infinities and signed zeros in the input: the max is exact, so every output must equal
// the reference's value (NaN where a window holds one).
func TestPoolMaxShapes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
		for _, k := range [][3]int{{3, 3, 1}, {3, 3, 2}, {2, 2, 2}, {3, 2, 2}, {2, 3, 1}, {1, 3, 2}, {5, 5, 3}} {
			kh, kw, s := k[0], k[1], k[2]
			for _, h := range []int{1, 2, 3, 4, 7, 14, 19} {
				for _, w := range []int{1, 2, 3, 5, 7, 8, 9, 14, 15, 16, 17, 31, 32, 33, 34, 35, 55, 67, 112} {
					for _, pad := range []int{0, 1} {
						for _, ceil := range []bool{false, true} {
							if pad >= kh || pad >= kw {
								continue
							}
							p := poolCase(2, h, w, kh, kw, s, s, pad, pad, pad, pad, ceil, false)
							if p.OutH < 1 || p.OutW < 1 || p.Validate() != nil {
								continue
							}
							inBuf, in := randGuarded(rng, p.C*h*w)
							for range 1 + len(in)/20 {
								in[rng.IntN(len(in))] = special[rng.IntN(len(special))]
							}
							outBuf, out := guarded(p.C*p.OutH*p.OutW, nil)
							p.Run(out, in)
							name := fmt.Sprintf("%+v", p)
							checkGuards(t, name+" out", outBuf)
							checkGuards(t, name+" in", inBuf)
							for i, want := range refPool(&p, in, true) {
								if got := float64(out[i]); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
									t.Fatalf("%s: [%d] = %v, want %v", name, i, got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestAdaptiveAvgPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, s := range [][4]int{{7, 7, 1, 1}, {13, 13, 6, 6}, {6, 6, 6, 6}, {5, 7, 3, 2}, {2, 3, 7, 5}, {10, 9, 4, 7}, {1, 1, 1, 1}} {
		inH, inW, outH, outW := s[0], s[1], s[2], s[3]
		name := fmt.Sprint("AdaptiveAvgPool", s)
		inBuf, in := randGuarded(rng, 3*inH*inW)
		outBuf, out := guarded(3*outH*outW, nil)
		AdaptiveAvgPool{C: 3, InH: inH, InW: inW, OutH: outH, OutW: outW}.Run(out, in)
		checkClose(t, name, out, refAdaptive(3, inH, inW, outH, outW, in), nil, inH*inW)
		checkGuards(t, name, outBuf)
		checkGuards(t, name, inBuf)
	}
}

func TestGlobalPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, hw := range []int{1, 2, 3, 5, 7, 49, 50, 3136} {
		inBuf, in := randGuarded(rng, 5*hw)
		avgBuf, avg := guarded(5, nil)
		maxBuf, mx := guarded(5, nil)
		GlobalPool{C: 5, HW: hw}.Run(avg, in)
		GlobalPool{C: 5, HW: hw, Max: true}.Run(mx, in)
		wantAvg, wantMax, mag := make([]float64, 5), make([]float64, 5), make([]float64, 5)
		for c := range 5 {
			wantMax[c] = math.Inf(-1)
			for _, v := range in[c*hw : (c+1)*hw] {
				wantAvg[c] += float64(v) / float64(hw)
				mag[c] += math.Abs(float64(v)) / float64(hw)
				wantMax[c] = math.Max(wantMax[c], float64(v))
			}
		}
		checkClose(t, fmt.Sprint("GlobalAvgPool hw=", hw), avg, wantAvg, mag, hw)
		checkClose(t, fmt.Sprint("GlobalMaxPool hw=", hw), mx, wantMax, nil, 1)
		checkGuards(t, "GlobalAvgPool", avgBuf)
		checkGuards(t, "GlobalMaxPool", maxBuf)
		checkGuards(t, "GlobalPool in", inBuf)
	}
	x := []float32{1, float32(math.NaN()), 3}
	y := []float32{0}
	GlobalPool{C: 1, HW: 3, Max: true}.Run(y, x)
	if y[0] == y[0] {
		t.Errorf("GlobalMaxPool with NaN = %v", y[0])
	}
}

// TestPoolAvgShapes sweeps the shapes of Avg's SIMD kernels (window widths 2, 3 and 5 at stride
// 1, 2 and 3 at stride 2) and one without (stride 3), with and without padding, ceil_mode and
// count_include_pad, over widths across the vector lengths, at every level, against the
// reference with guards.
func TestPoolAvgShapes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, k := range [][3]int{{3, 3, 1}, {2, 2, 1}, {5, 5, 1}, {3, 3, 2}, {2, 2, 2}, {1, 3, 2}, {3, 3, 3}} {
			kh, kw, s := k[0], k[1], k[2]
			for _, h := range []int{1, 3, 7, 14} {
				for _, w := range []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 34, 35, 55, 67, 112} {
					for _, pad := range []int{0, 1, 2} {
						for _, ceil := range []bool{false, true} {
							countPad := (w+pad)%2 == 0
							if 2*pad > kh || 2*pad > kw {
								continue
							}
							p := poolCase(2, h, w, kh, kw, s, s, pad, pad, pad, pad, ceil, countPad)
							if p.OutH < 1 || p.OutW < 1 || p.Validate() != nil {
								continue
							}
							inBuf, in := randGuarded(rng, p.C*h*w)
							outBuf, out := guarded(p.C*p.OutH*p.OutW, nil)
							p.Avg = true
							p.Run(out, in)
							name := fmt.Sprintf("%+v", p)
							checkClose(t, name, out, refPool(&p, in, false), nil, kh*kw)
							checkGuards(t, name+" out", outBuf)
							checkGuards(t, name+" in", inBuf)
						}
					}
				}
			}
		}
	})
}
