package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packWinoAs packs w for c with Winograd variant a, whatever algo() would choose, so that the
// tests reach shapes (tiny, ragged) the selection rule leaves to im2col.
func packWinoAs(t testing.TB, c *Conv, a convAlgo, w, bias []float32) *ConvWeights {
	cw, err := c.Pack(w, bias)
	if err != nil {
		t.Fatal(err)
	}
	cw.algo = a
	cw.packWinograd(activeImpl(), w)
	return cw
}

// packAlgoAs packs w for c (3x3, ungrouped) with algorithm a: im2col or a Winograd variant.
func packAlgoAs(t testing.TB, c *Conv, a convAlgo, w, bias []float32) *ConvWeights {
	if a != algoIm2col {
		return packWinoAs(t, c, a, w, bias)
	}
	cw, err := c.Pack(w, bias)
	if err != nil {
		t.Fatal(err)
	}
	im := activeImpl()
	k := c.InC * 9
	cw.algo, cw.isa = algoIm2col, im.isa
	cw.groupLen = packedALen(im, c.OutC, k)
	cw.w = make([]float32, cw.groupLen)
	packA(im, cw.w, w, k, c.OutC, k)
	return cw
}

// algoScratch is the scratch c needs run with algorithm a.
func algoScratch(c *Conv, a convAlgo) int {
	if a == algoIm2col {
		return max(c.ScratchLen(), maxPackBLen(c.InC*9, c.OutH*c.OutW))
	}
	return winoScratch(c, a)
}

// winoScratch is scratch for c run with variant a.
func winoScratch(c *Conv, a convAlgo) int { return max(c.ScratchLen(), c.winoScratchLen(a.wino())) }

// winoCases sweeps odd sizes: H and W 1..13 and beyond a block, channel counts off the MR/NR
// multiples and past KC, padding 0 and 1 with every bottom/right padding PyTorch's output sizes
// allow.
func winoCases() []Conv {
	var cs []Conv
	rng := rand.New(rand.NewPCG(41, 42))
	for _, hw := range [][2]int{{1, 1}, {3, 3}, {2, 5}, {4, 4}, {5, 7}, {6, 6}, {7, 9}, {8, 8}, {9, 11}, {13, 13}, {12, 10}, {17, 3}} {
		for _, p := range [][4]int{{1, 1, 1, 1}, {0, 0, 0, 0}, {1, 1, 0, 0}, {1, 0, 2, 1}, {0, 1, 1, 2}} {
			c := convCase(1+rng.IntN(19), hw[0], hw[1], 1+rng.IntN(31), 3, 3, 1, 1, p[0], p[1], p[2], p[3], 1, 1, 1, allActs[rng.IntN(len(allActs))])
			if c.OutH < 1 || c.OutW < 1 || c.Validate() != nil {
				continue
			}
			cs = append(cs, c)
		}
	}
	cs = append(cs,
		convCase(300, 37, 29, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // InC > KC, several blocks
		convCase(3, 70, 65, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),   // several blocks, OutC > rows chunk
		convCase(64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // a real layer
		convCase(33, 14, 15, 70, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),  // valid, ragged
		convCase(16, 30, 31, 29, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1, ActReLU6), // asymmetric
	)
	return cs
}

// winoTol is the error bound of the Winograd variants relative to the magnitude of the terms
// summed (|bias| + |residual| + sum |w x|), with terms the number of products: the transforms
// (entries up to 5 in B^T, 8 in A^T for F(4x4)) amplify the rounding of the float32 GEMM by a
// constant factor. Measured worst over winoCases (uniform data in [-1, 1)): see TestWinograd's log.
func winoTol(a convAlgo) float64 {
	if a == algoWino4 {
		return 4e-6
	}
	return 4e-7
}

func TestWinograd(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		worst := map[convAlgo]float64{}
		for _, c := range winoCases() {
			for _, a := range []convAlgo{algoWino4, algoWino2} {
				for _, withRes := range []bool{false, true} {
					e := testWino(t, rng, c, a, withRes)
					worst[a] = max(worst[a], e)
				}
			}
		}
		for a, e := range worst {
			t.Logf("%v: worst error %.3g of the magnitude / sqrt(terms)", a, e)
		}
	})
}

// testWino runs c with variant a against the float64 reference and returns the worst error
// relative to the magnitude of the terms and sqrt of their count.
func testWino(t *testing.T, rng *rand.Rand, c Conv, a convAlgo, withRes bool) float64 {
	t.Helper()
	name := fmt.Sprintf("%+v res=%v (%v)", c, withRes, a)
	k := c.InC * 9
	w, bias := randSlice(rng, c.OutC*k), randSlice(rng, c.OutC)
	pw := packWinoAs(t, &c, a, w, bias)
	nOut := c.OutC * c.OutH * c.OutW
	inBuf, in := randGuarded(rng, c.InC*c.InH*c.InW)
	outBuf, out := guarded(nOut, nil)
	var resBuf, res []float32
	if withRes {
		resBuf, res = randGuarded(rng, nOut)
	}
	scrBuf, scr := guarded(winoScratch(&c, a), nil)
	// The reference before the activation, to measure the error where it is made.
	pre := c
	pre.Act = ActNone
	want, mag := refConv(&pre, in, w, bias, res)
	c.Run(out, in, pw, res, scr)
	checkGuards(t, name+" out", outBuf)
	checkGuards(t, name+" in", inBuf)
	checkGuards(t, name+" scratch", scrBuf)
	if withRes {
		checkGuards(t, name+" residual", resBuf)
	}
	worst := 0.0
	bad := 0
	for i, x := range out {
		wv := refAct(c.Act, want[i])
		// The activations are 1-Lipschitz (hardswish: 1.5): the bound before them holds after.
		e := math.Abs(float64(x)-wv) / (math.Max(mag[i], math.Abs(want[i])) * math.Sqrt(float64(k)))
		worst = max(worst, e)
		if e > winoTol(a) && math.Abs(float64(x)-wv) > 1e-6 {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v, want %v (magnitude %v)", name, i, x, wv, mag[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d wrong", name, bad)
	}
	// Bit-identical in parts, and on stale scratch.
	for i := range scr {
		scr[i] = float32(math.NaN())
	}
	for _, parts := range []int{1, 2, 3, 5, 64} {
		got := make([]float32, nOut)
		for p := range parts {
			c.RunPart(p, parts, got, in, pw, res, scr)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(out[i]) {
				t.Fatalf("%s: %d parts: [%d] = %v, Run gives %v", name, parts, i, got[i], out[i])
			}
		}
	}
	if withRes {
		inPlace := append([]float32(nil), res...)
		c.Run(inPlace, in, pw, inPlace, scr)
		for i := range out {
			if math.Float32bits(out[i]) != math.Float32bits(inPlace[i]) {
				t.Fatalf("%s: residual == out differs at %d", name, i)
			}
		}
	}
	return worst
}

func TestWinoAlgo(t *testing.T) {
	for _, l := range winoLayers {
		want := algoWino4
		switch l.c.OutH {
		case 14:
			want = algoWino2
		case 7:
			want = algoIm2col
		}
		if got := l.c.algo(); got != want {
			t.Errorf("%s: %v, want %v", l.name, got, want)
		}
	}
	for _, c := range []Conv{
		convCase(64, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU), // stride 2
		convCase(64, 56, 56, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, ActReLU), // dilated
		convCase(64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActReLU), // grouped
		convCase(64, 56, 56, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, ActReLU), // 5x5
	} {
		if a := c.algo(); a.wino() != nil {
			t.Errorf("%+v: %v", c, a)
		}
	}
}

// TestWinogradAccuracy measures the error of both variants and of im2col against the float64
// reference on realistic data: inputs the ReLU of a normal variable (half zeros, as after a
// ReLU layer), He-initialized weights (normal, variance 2/(9 InC)), bias 0.1-normal, at layer
// shapes of VGG and ResNet. Measured worst error over the outputs relative to their RMS
// (AVX-512, AVX2 and generic alike):
//
//	                 im2col    F(2x2)    F(4x4)
//	64ch@56x56      1.6e-6    1.5e-6    2.1e-5
//	256ch@28x28     9.2e-7    2.0e-6    2.5e-5
//	512ch@14x14     9.9e-7    2.2e-6    2.3e-5
//
// F(4x4) loses about 4 bits more than im2col (its transforms' entries reach 5 and 8 and the
// non-negative inputs do not cancel in them); 2.5e-5 of the output scale is still within the
// zoo's 1e-4 goldens through a whole network. The bounds below leave 2x.
func TestWinogradAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 reference of full-size layers")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for _, c := range []Conv{
		convCase(64, 56, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),
		convCase(256, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),
		convCase(512, 14, 14, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),
	} {
		in := make([]float32, c.InC*c.InH*c.InW)
		for i := range in {
			in[i] = float32(max(rng.NormFloat64(), 0))
		}
		w := make([]float32, c.OutC*c.InC*9)
		sd := math.Sqrt(2 / float64(9*c.InC))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * sd)
		}
		bias := make([]float32, c.OutC)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64() * 0.1)
		}
		want, _ := refConv(&c, in, w, bias, nil)
		rms := 0.0
		for _, v := range want {
			rms += v * v
		}
		rms = math.Sqrt(rms / float64(len(want)))
		for _, a := range []convAlgo{algoIm2col, algoWino2, algoWino4} {
			pw := packAlgoAs(t, &c, a, w, bias)
			out := make([]float32, len(want))
			c.Run(out, in, pw, nil, make([]float32, algoScratch(&c, a)))
			worst := 0.0
			for i, v := range want {
				worst = max(worst, math.Abs(float64(out[i])-v)/rms)
			}
			t.Logf("%dch@%dx%d %v: worst error %.2g of the RMS output", c.InC, c.InH, c.InW, a, worst)
			bound := map[convAlgo]float64{algoIm2col: 4e-6, algoWino2: 5e-6, algoWino4: 5e-5}[a]
			if worst > bound {
				t.Errorf("%dch@%dx%d %v: worst error %.2g of the RMS output, over %.2g", c.InC, c.InH, c.InW, a, worst, bound)
			}
		}
	}
}
