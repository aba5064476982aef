package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The blocked (NCHW16c) forms of the pools and the per-channel operations, each against its
// float64 reference through the NCHW form, with junk in the input's padding lanes, guards, and
// odd channel counts, at every level.

var channels16c = []int{1, 5, 16, 17, 35}

func TestPool16c(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		cases := []Pool{
			poolCase(17, 23, 23, 3, 3, 2, 2, 1, 1, 1, 1, false, true), // ResNet
			poolCase(5, 27, 27, 3, 3, 2, 2, 0, 0, 0, 0, true, true),   // AlexNet / GoogLeNet ceil_mode
			poolCase(35, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, true, true),  // GoogLeNet branch pool
			poolCase(16, 14, 14, 5, 5, 3, 3, 0, 0, 0, 0, false, true), // GoogLeNet aux avg
			poolCase(6, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, false, true),    // LeNet
		}
		for len(cases) < 120 {
			kh, kw := 1+rng.IntN(5), 1+rng.IntN(5)
			pt, pl, pb, pr := rng.IntN(kh/2+1), rng.IntN(kw/2+1), rng.IntN(kh/2+1), rng.IntN(kw/2+1)
			p := poolCase(channels16c[rng.IntN(len(channels16c))], 1+rng.IntN(12), 1+rng.IntN(12), kh, kw, 1+rng.IntN(3), 1+rng.IntN(3),
				pt, pl, pb, pr, rng.IntN(2) == 0, rng.IntN(2) == 0)
			if p.OutH < 1 || p.OutW < 1 || p.Validate() != nil {
				continue
			}
			cases = append(cases, p)
		}
		for _, p := range cases {
			p.Layout = NCHW16c
			if err := p.Validate(); err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
			ihw, ohw := p.InH*p.InW, p.OutH*p.OutW
			x := randSlice(rng, p.C*ihw)
			x[len(x)/2] = float32(math.NaN())
			inBuf, in := toBlockedGuarded(rng, x, p.C, ihw)
			for _, isMax := range []bool{true, false} {
				p.Avg = !isMax
				name := fmt.Sprintf("%+v", p)
				outBuf, out := guarded(BlockedLen(p.C, ohw), nil)
				p.Run(out, in)
				checkClose(t, name, fromBlockedCheck(t, name, out, p.C, ohw), refPool(&p, x, isMax), nil, p.KH*p.KW)
				checkGuards(t, name+" out", outBuf)
				checkGuards(t, name+" in", inBuf)
				// Channel ranges that partition C give Run's output, each block once.
				split := make([]float32, len(out))
				for _, r := range [][2]int{{0, p.C / 3}, {p.C / 3, p.C / 2}, {p.C / 2, p.C}} {
					p.RunChannels(r[0], r[1], split, in)
				}
				for i := range out {
					if !sameBits(split[i], out[i]) {
						t.Fatalf("%s: RunChannels in three ranges: [%d] = %v, Run %v", name, i, split[i], out[i])
					}
				}
			}
		}
	})
}

func TestGlobalAdaptivePool16c(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, c := range channels16c {
			for _, hw := range [][2]int{{1, 1}, {7, 7}, {5, 3}, {13, 13}} {
				n := hw[0] * hw[1]
				x := randSlice(rng, c*n)
				inBuf, in := toBlockedGuarded(rng, x, c, n)
				for _, isMax := range []bool{false, true} {
					g := GlobalPool{C: c, HW: n, Max: isMax, Layout: NCHW16c}
					outBuf, out := guarded(BlockedLen(c, 1), func(int) float32 { return 9 })
					g.Run(out, in)
					want := make([]float64, c)
					for ch := range c {
						s, m := 0.0, math.Inf(-1)
						for _, v := range x[ch*n : (ch+1)*n] {
							s += float64(v)
							m = math.Max(m, float64(v))
						}
						want[ch] = s / float64(n)
						if isMax {
							want[ch] = m
						}
					}
					name := fmt.Sprintf("%+v", g)
					checkClose(t, name, out[:c], want, nil, n)
					for i, v := range out[c:] {
						if v != 0 {
							t.Fatalf("%s: padding lane %d = %v", name, c+i, v)
						}
					}
					checkGuards(t, name, outBuf)
				}
				for _, o := range [][2]int{{1, 1}, {2, 3}, {hw[0], hw[1]}, {3, 2}} {
					a := AdaptiveAvgPool{C: c, InH: hw[0], InW: hw[1], OutH: o[0], OutW: o[1], Layout: NCHW16c}
					outBuf, out := guarded(BlockedLen(c, o[0]*o[1]), nil)
					a.Run(out, in)
					name := fmt.Sprintf("%+v", a)
					checkClose(t, name, fromBlockedCheck(t, name, out, c, o[0]*o[1]), refAdaptive(c, hw[0], hw[1], o[0], o[1], x), nil, n)
					checkGuards(t, name, outBuf)
				}
				checkGuards(t, "in", inBuf)
			}
		}
	})
}

func TestChannelOps16c(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		for _, c := range channels16c {
			for _, hw := range []int{1, 3, 49, 50} {
				x := randSlice(rng, c*hw)
				_, in := toBlockedGuarded(rng, x, c, hw)
				scale, shift := randSlice(rng, c), randSlice(rng, c)
				n := BlockedLen(c, hw)

				f := Affine{C: c, HW: hw, Act: ActSiLU, Layout: NCHW16c}
				outBuf, out := guarded(n, nil)
				f.Run(out, in, scale, shift)
				want := make([]float64, c*hw)
				for i := range want {
					want[i] = refAct(ActSiLU, float64(x[i])*float64(scale[i/hw])+float64(shift[i/hw]))
				}
				name := fmt.Sprintf("%+v", f)
				checkClose(t, name, fromBlockedCheck(t, name, out, c, hw), want, nil, 4)
				checkGuards(t, name, outBuf)

				_, sb := toBlockedGuarded(rng, scale, c, 1)
				for _, perChannel := range []bool{false, true} {
					m := Mul{C: c, HW: hw, PerChannel: perChannel, Layout: NCHW16c}
					y := randSlice(rng, c*hw)
					_, s := toBlockedGuarded(rng, y, c, hw)
					if perChannel {
						s = sb
					}
					outBuf, out := guarded(n, nil)
					m.Run(out, in, s)
					for i := range want {
						if perChannel {
							want[i] = float64(x[i]) * float64(scale[i/hw])
						} else {
							want[i] = float64(x[i]) * float64(y[i])
						}
					}
					name := fmt.Sprintf("%+v", m)
					checkClose(t, name, fromBlockedCheck(t, name, out, c, hw), want, nil, 1)
					checkGuards(t, name, outBuf)
				}

				for _, size := range []int{1, 3, 5, 20} {
					l := LRN{C: c, HW: hw, Size: size, Lo: size / 2, Alpha: 1e-2, Beta: 0.75, K: 2, Layout: NCHW16c}
					for _, beta := range []float32{0.75, 0.5, 0.6} {
						l.Beta = beta
						outBuf, out := guarded(n, nil)
						l.Run(out, in)
						name := fmt.Sprintf("%+v", l)
						checkClose(t, name, fromBlockedCheck(t, name, out, c, hw), refLRN(c, hw, size, size/2, 1e-2, float64(beta), 2, x), nil, size)
						checkGuards(t, name, outBuf)
						for i, v := range out {
							if i/hw/16*16+i%16 >= c && v != 0 {
								t.Fatalf("%s: padding lane %d = %v", name, i, v)
							}
						}
					}
				}
			}
		}
	})
}

func TestPad16c(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	for _, c := range channels16c {
		for _, p := range []Pad{{H: 3, W: 4, Top: 1, Left: 2, Bottom: 0, Right: 1, Value: -2}, {H: 1, W: 1, Bottom: 2, Value: float32(math.Inf(-1))}, {H: 5, W: 2}} {
			p.C, p.Layout = c, NCHW16c
			x := randSlice(rng, c*p.H*p.W)
			_, in := toBlockedGuarded(rng, x, c, p.H*p.W)
			oh, ow := p.H+p.Top+p.Bottom, p.W+p.Left+p.Right
			outBuf, out := guarded(BlockedLen(c, oh*ow), nil)
			p.Run(out, in)
			name := fmt.Sprintf("%+v", p)
			checkGuards(t, name, outBuf)
			want := make([]float32, c*oh*ow)
			q := p
			q.Layout = NCHW
			q.Run(want, x)
			got := make([]float32, len(want))
			Reorder{C: c, HW: oh * ow, To: NCHW}.Run(got, out)
			for i := range want {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
				}
			}
			for i, v := range out {
				if i/(oh*ow)/16*16+i%16 >= c && (math.IsInf(float64(v), 0) || v != v) {
					t.Fatalf("%s: padding lane %d = %v", name, i, v)
				}
			}
		}
	}
}
