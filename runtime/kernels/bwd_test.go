package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The training kernels against float64 references, at every ISA level.

func TestGemmTrans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scratch := make([]float32, GemmScratchLen())
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {14, 32, 256}, {15, 33, 257}, {64, 120, 400}, {40, 600, 300}, {1100, 20, 70}, {7, 1, 513}}
	forEachISA(t, func(t *testing.T) {
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, acc := range []bool{false, true} {
						a, b := randSlice(rng, m*k), randSlice(rng, k*n)
						lda, ldb := k, n
						if ta {
							lda = m
						}
						if tb {
							ldb = k
						}
						c0 := randSlice(rng, m*n)
						c := append([]float32(nil), c0...)
						// The product in two column parts, as goroutines would split it.
						j := min(n, 32)
						Gemm(m, n, k, Matrix{a, lda, ta}, Matrix{b, ldb, tb}, c, n, acc, 0, j, scratch)
						Gemm(m, n, k, Matrix{a, lda, ta}, Matrix{b, ldb, tb}, c, n, acc, j, n, scratch)
						want, mag := make([]float64, m*n), make([]float64, m*n)
						for i := range m {
							for jj := range n {
								var sum, mg float64
								if acc {
									sum, mg = float64(c0[i*n+jj]), math.Abs(float64(c0[i*n+jj]))
								}
								for p := range k {
									var av, bv float32
									if ta {
										av = a[p*lda+i]
									} else {
										av = a[i*lda+p]
									}
									if tb {
										bv = b[jj*ldb+p]
									} else {
										bv = b[p*ldb+jj]
									}
									sum += float64(av) * float64(bv)
									mg += math.Abs(float64(av) * float64(bv))
								}
								want[i*n+jj], mag[i*n+jj] = sum, mg
							}
						}
						checkClose(t, fmt.Sprintf("%dx%dx%d ta=%v tb=%v acc=%v", m, n, k, ta, tb, acc), c, want, mag, k)
						// And with B packed whole.
						var pb PackedB
						pb.Pack(k, n, Matrix{b, ldb, tb})
						c = append(c[:0], c0...)
						GemmPackedB(m, n, k, Matrix{a, lda, ta}, &pb, c, n, acc, 0, n, scratch)
						checkClose(t, fmt.Sprintf("packed %dx%dx%d ta=%v tb=%v acc=%v", m, n, k, ta, tb, acc), c, want, mag, k)
					}
				}
			}
		}
	})
}

// gradConvs are convolutions of every kind the gradients handle.
var gradConvs = []Conv{
	{InC: 1, InH: 28, InW: 28, OutC: 6, OutH: 28, OutW: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: 1},
	{InC: 6, InH: 14, InW: 14, OutC: 16, OutH: 10, OutW: 10, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 3, InH: 6, InW: 5, OutC: 3, OutH: 3, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 2, InH: 7, InW: 6, OutC: 3, OutH: 7, OutW: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, DilH: 2, DilW: 2, Groups: 1},
	{InC: 4, InH: 5, InW: 5, OutC: 6, OutH: 5, OutW: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 2},
	{InC: 40, InH: 9, InW: 9, OutC: 48, OutH: 9, OutW: 9, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 33, InH: 11, InW: 11, OutC: 20, OutH: 6, OutW: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 3, InH: 16, InW: 16, OutC: 8, OutH: 8, OutW: 8, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadT: 3, PadL: 3, DilH: 1, DilW: 1, Groups: 1},
	{InC: 32, InH: 8, InW: 8, OutC: 64, OutH: 4, OutW: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
	{InC: 24, InH: 6, InW: 6, OutC: 36, OutH: 6, OutW: 6, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 8, InH: 1, InW: 1, OutC: 5, OutH: 1, OutW: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 2, InH: 7, InW: 5, OutC: 3, OutH: 4, OutW: 4, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadT: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 3, InH: 5, InW: 5, OutC: 6, OutH: 5, OutW: 5, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: 3},
	{InC: 4, InH: 6, InW: 6, OutC: 4, OutH: 3, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 4},
	{InC: 5, InH: 9, InW: 9, OutC: 5, OutH: 9, OutW: 9, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: 5},
	{InC: 2, InH: 7, InW: 6, OutC: 4, OutH: 6, OutW: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 1},
	{InC: 3, InH: 20, InW: 21, OutC: 8, OutH: 22, OutW: 23, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: 1},
}

// refConvGrads are a convolution's weight, bias and input gradients over n images in float64,
// with the magnitudes of their terms.
func refConvGrads(c *Conv, x, w, dy []float32, n int) (dw, dwMag, db, dx, dxMag []float64) {
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	kk := c.KH * c.KW
	dw, dwMag = make([]float64, c.OutC*cg*kk), make([]float64, c.OutC*cg*kk)
	db = make([]float64, c.OutC)
	dx, dxMag = make([]float64, n*c.InC*c.InH*c.InW), make([]float64, n*c.InC*c.InH*c.InW)
	for b := range n {
		for o := range c.OutC {
			g := o / og
			for yo := range c.OutH {
				for xo := range c.OutW {
					d := float64(dy[((b*c.OutC+o)*c.OutH+yo)*c.OutW+xo])
					db[o] += d
					for ci := range cg {
						for i := range c.KH {
							for j := range c.KW {
								yi := yo*c.StrideH - c.PadT + i*c.DilH
								xi := xo*c.StrideW - c.PadL + j*c.DilW
								if yi < 0 || yi >= c.InH || xi < 0 || xi >= c.InW {
									continue
								}
								xidx := ((b*c.InC+g*cg+ci)*c.InH+yi)*c.InW + xi
								widx := ((o*cg+ci)*c.KH+i)*c.KW + j
								dw[widx] += d * float64(x[xidx])
								dwMag[widx] += math.Abs(d * float64(x[xidx]))
								dx[xidx] += d * float64(w[widx])
								dxMag[xidx] += math.Abs(d * float64(w[widx]))
							}
						}
					}
				}
			}
		}
	}
	return
}

func TestConvGrads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 3
	forEachISA(t, func(t *testing.T) {
		for _, c := range gradConvs {
			name := fmt.Sprintf("%dx%dx%d->%d k%dx%d s%d g%d", c.InC, c.InH, c.InW, c.OutC, c.KH, c.KW, c.StrideH, c.Groups)
			in, out := c.InC*c.InH*c.InW, c.OutC*c.OutH*c.OutW
			x, dy := randSlice(rng, n*in), randSlice(rng, n*out)
			w := randSlice(rng, c.OutC*c.GradTaps())
			dw, dwMag, db, dx, dxMag := refConvGrads(&c, x, w, dy, n)
			terms := n * c.OutH * c.OutW

			gotDB := make([]float32, c.OutC)
			BiasGrad(gotDB, dy, c.OutC, c.OutH*c.OutW, n, false)
			checkClose(t, name+" bias", gotDB, db, nil, terms)

			gotDW := make([]float32, len(dw))
			if c.Groups == c.InC && c.OutC == c.InC {
				gotDX := make([]float32, len(dx))
				c.DepthwiseGrad(0, c.InC, gotDW, gotDX, dy, x, w, n, false)
				checkClose(t, name+" depthwise weights", gotDW, dw, dwMag, terms)
				checkClose(t, name+" depthwise input", gotDX, dx, dxMag, c.KH*c.KW)
			}
			xt, dyt := make([]float32, n*in), make([]float32, n*out)
			for b := range n {
				ToChannelsLast(xt[b*in:], x[b*in:], c.InC, c.InH*c.InW)
				ToChannelsLast(dyt[b*out:], dy[b*out:], c.OutC, c.OutH*c.OutW)
			}
			og, kt := c.OutC/c.Groups, c.GradTaps()
			dwp := make([]float32, og*kt)
			scratch := make([]float32, max(GemmScratchLen(), c.InputGradScratchLen()))
			for g := range c.Groups {
				half := min(kt, 32)
				c.WeightGradGemm(g, dwp, dyt, xt, n, 0, half, scratch)
				c.WeightGradGemm(g, dwp, dyt, xt, n, half, kt, scratch)
				c.PermuteWeightGrad(gotDW, dwp, g, false)
			}
			checkClose(t, name+" weights", gotDW, dw, dwMag, terms)
			if c.DirectWeightGrad() {
				// In two parts, on scratch left dirty by the first.
				clear(gotDW)
				ds := make([]float32, c.WeightGradDirectScratchLen())
				half := c.WeightGradDirectBlocks() / 2
				c.WeightGradDirect(gotDW, dy, x, n, 0, half, ds)
				c.WeightGradDirect(gotDW, dy, x, n, half, c.WeightGradDirectBlocks(), ds)
				checkClose(t, name+" weights (direct)", gotDW, dw, dwMag, terms)
			}

			// Input gradients: the GEMM path for every shape, the transposed convolution where it applies.
			wp := make([]PackedB, c.Groups)
			tmp := make([]float32, og*kt)
			for g := range c.Groups {
				c.PackInputGradWeights(&wp[g], w, tmp, g)
			}
			gotDX := make([]float32, len(dx))
			for b := range n {
				c.InputGradImage(gotDX[b*in:], dy[b*out:], wp, false, scratch)
			}
			checkClose(t, name+" input (gemm)", gotDX, dx, dxMag, c.KH*c.KW*og)
			if tc, ok := c.TransposedConv(); ok {
				wf := make([]float32, len(w))
				c.FlipWeights(wf, w)
				tw, err := tc.Pack(wf, nil)
				if err != nil {
					t.Fatal(err)
				}
				ts := make([]float32, tc.ScratchLen())
				clear(gotDX)
				for b := range n {
					gotDX[b*in] = 1 // accumulate onto a value, then check it was added to
					tc.Run(gotDX[b*in:], dy[b*out:], tw, gotDX[b*in:], ts)
					gotDX[b*in]--
				}
				checkClose(t, name+" input (transposed "+tc.Algorithm()+")", gotDX, dx, dxMag, c.KH*c.KW*og*30)
			}
		}
	})
}

func TestPackInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	forEachISA(t, func(t *testing.T) {
		for _, c := range gradConvs {
			w, w2 := randSlice(rng, c.OutC*c.GradTaps()), randSlice(rng, c.OutC*c.GradTaps())
			bias := randSlice(rng, c.OutC)
			cw, err := c.Pack(w, bias)
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.PackInto(cw, w2, nil)
			if err != nil || again != cw {
				t.Fatalf("%v: PackInto made new weights (%v)", c, err)
			}
			fresh, _ := c.Pack(w2, nil)
			x := randSlice(rng, c.InC*c.InH*c.InW)
			o1, o2 := make([]float32, c.OutC*c.OutH*c.OutW), make([]float32, c.OutC*c.OutH*c.OutW)
			s := make([]float32, c.ScratchLen())
			c.Run(o1, x, again, nil, s)
			c.Run(o2, x, fresh, nil, s)
			for i := range o1 {
				if o1[i] != o2[i] {
					t.Fatalf("%v (%s): repacked weights compute %v at %d, fresh ones %v", c, c.Algorithm(), o1[i], i, o2[i])
				}
			}
			if a := testing.AllocsPerRun(3, func() { c.PackInto(cw, w, bias) }); a != 0 {
				t.Errorf("%v: PackInto allocates %v times", c, a)
			}
		}
	})
}

func TestPoolGrads(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pools := []Pool{
		{C: 2, InH: 8, InW: 8, OutH: 4, OutW: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{C: 2, InH: 9, InW: 41, OutH: 4, OutW: 20, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, // vectors and a tail, an odd row
		{C: 2, InH: 7, InW: 7, OutH: 4, OutW: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 2, InH: 8, InW: 8, OutH: 4, OutW: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2},
		// 3x3 stride 2 wide enough for maxArg3x3s2's 8 windows, with borders and a tail.
		{C: 2, InH: 9, InW: 45, OutH: 5, OutW: 23, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 2, InH: 10, InW: 40, OutH: 4, OutW: 19, KH: 3, KW: 3, StrideH: 2, StrideW: 2},
		{C: 3, InH: 7, InW: 6, OutH: 4, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Avg: true, CountIncludePad: true},
		{C: 3, InH: 7, InW: 6, OutH: 4, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Avg: true},
	}
	forEachISA(t, func(t *testing.T) {
		for _, p := range pools {
			checkPoolGrad(t, rng, p)
		}
	})
}

func checkPoolGrad(t *testing.T, rng *rand.Rand, p Pool) {
	{
		const n = 2
		planes := n * p.C
		x := randSlice(rng, planes*p.InH*p.InW)
		for i := range x { // ties: a ReLU's zeros
			if x[i] < 0 {
				x[i] = 0
			}
		}
		dy := randSlice(rng, planes*p.OutH*p.OutW)
		got := make([]float32, len(x))
		p.Backward(got, dy, x, planes, false)
		// The reference: the gradient of sum(dy * pool(x)) by finite differences is ill-defined
		// at ties, so it follows the rule directly: the first maximum, or every value over div.
		want := make([]float64, len(x))
		for t0 := range planes {
			for yo := range p.OutH {
				for xo := range p.OutW {
					g := float64(dy[(t0*p.OutH+yo)*p.OutW+xo])
					ys, xs := yo*p.StrideH-p.PadT, xo*p.StrideW-p.PadL
					best, at, cnt := math.Inf(-1), -1, 0
					for i := range p.KH {
						for j := range p.KW {
							yi, xi := ys+i, xs+j
							if yi < 0 || yi >= p.InH || xi < 0 || xi >= p.InW {
								continue
							}
							cnt++
							if v := float64(x[(t0*p.InH+yi)*p.InW+xi]); v > best {
								best, at = v, (t0*p.InH+yi)*p.InW+xi
							}
						}
					}
					if !p.Avg {
						want[at] += g
						continue
					}
					div := cnt
					if p.CountIncludePad {
						div = (min(ys+p.KH, p.InH+p.PadB) - ys) * (min(xs+p.KW, p.InW+p.PadR) - xs)
					}
					for i := range p.KH {
						for j := range p.KW {
							if yi, xi := ys+i, xs+j; yi >= 0 && yi < p.InH && xi >= 0 && xi < p.InW {
								want[(t0*p.InH+yi)*p.InW+xi] += g / float64(div)
							}
						}
					}
				}
			}
		}
		checkClose(t, fmt.Sprintf("pool %+v", p), got, want, nil, p.KH*p.KW)
	}
}

// TestMaxBackward2x2NaN: the 2x2 fast path picks the window's position as firstMax does with
// NaNs and ties (the last NaN; else the first maximum).
func TestMaxBackward2x2NaN(t *testing.T) {
	forEachISA(t, checkMaxBackward2x2NaN)
}

func checkMaxBackward2x2NaN(t *testing.T) {
	nan := float32(math.NaN())
	windows := [][4]float32{{1, 2, 3, 4}, {4, 3, 2, 1}, {2, 2, 2, 2}, {nan, 1, 2, 3}, {1, nan, 5, nan}, {0, 0, 1, nan},
		{nan, nan, 0, 0}, {-1, 3, 3, -2}, {float32(math.Copysign(0, -1)), 0, 0, 0}}
	for _, w := range windows {
		src := []float32{w[0], w[1], w[2], w[3]}
		got := make([]float32, 4)
		maxBackward2x2(got, []float32{1}, src, 2, 1, 1)
		want := make([]float32, 4)
		want[firstMax(src, 2, 0, 2, 0, 2)] = 1
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("window %v: gradient %v, want %v", w, got, want)
		}
	}
}

// TestChannelsLast: the transposes both ways, whole 8 x 8 blocks and ragged edges, set and added.
func TestChannelsLast(t *testing.T) { forEachISA(t, checkChannelsLast) }

func checkChannelsLast(t *testing.T) {
	for _, sz := range [][2]int{{8, 16}, {3, 5}, {13, 21}, {1, 9}} {
		c, hw := sz[0], sz[1]
		x := make([]float32, c*hw)
		for i := range x {
			x[i] = float32(i)
		}
		xt := make([]float32, c*hw)
		ToChannelsLast(xt, x, c, hw)
		for ch := range c {
			for p := range hw {
				if xt[p*c+ch] != x[ch*hw+p] {
					t.Fatalf("%dx%d: [%d][%d] = %v, want %v", c, hw, p, ch, xt[p*c+ch], x[ch*hw+p])
				}
			}
		}
		back := make([]float32, c*hw)
		for i := range back {
			back[i] = 1
		}
		FromChannelsLast(back, xt, c, hw, true)
		for i := range back {
			if back[i] != x[i]+1 {
				t.Fatalf("%dx%d: added back [%d] = %v, want %v", c, hw, i, back[i], x[i]+1)
			}
		}
		FromChannelsLast(back, xt, c, hw, false)
		if fmt.Sprint(back) != fmt.Sprint(x) {
			t.Fatalf("%dx%d: set back %v", c, hw, back)
		}
	}
}

// The optimizer's kernels in TestKernelTwins' sweep (lengths, offsets, guards): exact.
func init() {
	for _, name := range []string{"sgdMom", "sgdNesterov"} {
		get := func(k *kernelSet) any { return k.sgdMom }
		if name == "sgdNesterov" {
			get = func(k *kernelSet) any { return k.sgdNesterov }
		}
		twinChecks[name] = twinEntry{get, checkSGD}
	}
}

func checkSGD(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, true)), newOp(n, (off+5)%16, uniform(rng, true)), newOp(n, (off+11)%16, uniform(rng, true))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0, 2}, exact, false,
				func(f any, s [][]float32) {
					f.(func(w, g, buf []float32, wd, mom, damp, lr float32))(s[0], s[1], s[2], 5e-4, 0.9, 1, -0.05)
				}, simd, twin)
		}
	}
}

// TestSGDMomentum: the optimizer's update at every level is its twin's bit for bit (both are
// float32 FMAs), over values that round in every way: ties, zeros of both signs, subnormals,
// and lengths with tails.
func TestSGDMomentum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gen := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			switch i % 11 {
			case 0:
				v[i] = 0
			case 1:
				v[i] = float32(math.Copysign(0, -1))
			case 2:
				v[i] = math.Float32frombits(rng.Uint32() & 0x807fffff) // subnormal
			case 3:
				v[i] = float32(rng.IntN(64)) / 8 // exact: ties in the sums
			default:
				v[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(20)-10)))
			}
		}
		return v
	}
	for _, n := range []int{1, 7, 16, 33, 100, 1000} {
		w, g, buf := gen(n), gen(n), gen(n)
		for _, nesterov := range []bool{false, true} {
			for _, sc := range [][4]float32{{5e-4, 0.9, 1, -0.05}, {1e-2, 0.5, 0.75, -0.3}, {0.25, 0.875, 1, -1}} {
				wantW, wantB := append([]float32(nil), w...), append([]float32(nil), buf...)
				sgdGo(wantW, g, wantB, sc[0], sc[1], sc[2], sc[3], nesterov)
				forEachISA(t, func(t *testing.T) {
					gotW, gotB := append([]float32(nil), w...), append([]float32(nil), buf...)
					SGDMomentum(gotW, g, gotB, sc[0], sc[1], sc[2], sc[3], nesterov)
					for i := range gotW {
						if math.Float32bits(gotW[i]) != math.Float32bits(wantW[i]) || math.Float32bits(gotB[i]) != math.Float32bits(wantB[i]) {
							t.Fatalf("n %d nesterov %v %v [%d]: w %g buf %g, twin %g %g", n, nesterov, sc, i, gotW[i], gotB[i], wantW[i], wantB[i])
						}
					}
				})
			}
		}
	}
}

// TestFirstMax3x3: the branch-free 3x3 window scan agrees with firstMax (ties, -0 against +0,
// the maximum anywhere), and leaves a window with a NaN to it.
func TestFirstMax3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	negZero := float32(math.Copysign(0, -1))
	for trial := range 2000 {
		src := make([]float32, 5*6)
		for i := range src {
			switch rng.IntN(4) {
			case 0:
				src[i] = 0
			case 1:
				src[i] = negZero
			default:
				src[i] = float32(rng.IntN(5) - 2)
			}
		}
		y0, x0 := rng.IntN(3), rng.IntN(4)
		nan := trial%10 == 0
		if nan {
			src[(y0+rng.IntN(3))*6+x0+rng.IntN(3)] = float32(math.NaN())
		}
		got, want := firstMax3x3(src, 6, y0, x0), firstMax(src, 6, y0, y0+3, x0, x0+3)
		if nan && got != -1 || !nan && got != want {
			t.Fatalf("window at (%d, %d) of %v: %d, firstMax %d", y0, x0, src, got, want)
		}
	}
}
