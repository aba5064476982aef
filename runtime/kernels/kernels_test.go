package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

var allActs = []Act{ActNone, ActReLU, ActReLU6, ActSigmoid, ActSiLU, ActTanh, ActHardSigmoid, ActHardSwish}

// gemmSizes covers the tails of the blocking: 1..~70 with the MR/NR multiples, their neighbours
// and primes.
var gemmSizes = []int{1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 23, 31, 32, 33, 47, 61, 64, 67, 70}

func TestSgemmSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, m := range gemmSizes {
			for _, n := range gemmSizes {
				for _, k := range gemmSizes {
					if (m*7+n*3+k)%3 != 0 && m > 8 && n > 8 && k > 8 {
						continue // thin out the big cube; every small size and tail is still covered
					}
					testSgemm(t, rng, m, n, k, k, n, n)
				}
			}
		}
	})
}

// TestSgemmBlocks crosses the KC, MC and NC block boundaries and uses padded leading dimensions.
func TestSgemmBlocks(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		sh := activeImpl().gemmShape
		gemmMC, gemmKC, gemmNC, gemmNR := max(sh.mc, 7*sh.mr), sh.kc, sh.nc, sh.nr
		for _, s := range [][3]int{
			{gemmMC + 1, 5, gemmKC + 1},
			{2*gemmMC + 3, 9, 2*gemmKC + 7},
			{3, gemmNC + 5, 17},
			{gemmMC - 1, gemmNC + gemmNR + 1, gemmKC - 1},
			{33, 2*gemmNC + 3, gemmKC + 3},
			{1, 1, 3*gemmKC + 1},
		} {
			m, n, k := s[0], s[1], s[2]
			testSgemm(t, rng, m, n, k, k, n, n)
			testSgemm(t, rng, m, n, k, k+3, n+5, n+1)
		}
	})
}

func testSgemm(t *testing.T, rng *rand.Rand, m, n, k, lda, ldb, ldc int) {
	t.Helper()
	name := fmt.Sprintf("Sgemm(m=%d n=%d k=%d lda=%d ldb=%d ldc=%d)", m, n, k, lda, ldb, ldc)
	aBuf, a := randGuarded(rng, (m-1)*lda+k)
	bBuf, b := randGuarded(rng, (k-1)*ldb+n)
	cBuf, c := randGuarded(rng, (m-1)*ldc+n)
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	want, mag := refGemm(m, n, k, a, lda, b, ldb, c, ldc)
	c0 := append([]float32(nil), c...)
	Sgemm(m, n, k, a, lda, b, ldb, c, ldc)
	got := make([]float32, 0, m*n)
	for i := range m {
		got = append(got, c[i*ldc:i*ldc+n]...)
		for j := n; j < ldc && i < m-1; j++ { // the gaps between rows of C are not C
			if c[i*ldc+j] != c0[i*ldc+j] {
				t.Errorf("%s: wrote C[%d][%d] outside the matrix", name, i, j)
			}
		}
	}
	checkClose(t, name, got, want, mag, k)
	checkGuards(t, name+" C", cBuf)
	checkGuards(t, name+" A", aBuf)
	checkGuards(t, name+" B", bBuf)
	for i := range a {
		if a[i] != a0[i] {
			t.Fatalf("%s: modified A", name)
		}
	}
	for i := range b {
		if b[i] != b0[i] {
			t.Fatalf("%s: modified B", name)
		}
	}
}

func TestSgemmEmpty(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		c := []float32{1, 2, 3}
		Sgemm(1, 3, 0, nil, 1, nil, 3, c, 3)
		Sgemm(0, 3, 5, nil, 5, make([]float32, 15), 3, nil, 3)
		if c[0] != 1 || c[1] != 2 || c[2] != 3 {
			t.Errorf("k=0 changed C: %v", c)
		}
	})
}

// convCase makes a Conv with the given parameters, deriving OutH/OutW from a bottom/right padding.
func convCase(inC, inH, inW, outC, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups int, act Act) Conv {
	effH, effW := dh*(kh-1)+1, dw*(kw-1)+1
	return Conv{
		InC: inC, InH: inH, InW: inW, OutC: outC,
		OutH: (inH+pt+pb-effH)/sh + 1, OutW: (inW+pl+pr-effW)/sw + 1,
		KH: kh, KW: kw, StrideH: sh, StrideW: sw, PadT: pt, PadL: pl, DilH: dh, DilW: dw,
		Groups: groups, Act: act,
	}
}

// convCases is the sweep: hand-picked layers of the target networks and the corner cases, then
// random shapes over odd sizes, strides 1-3, asymmetric pads, dilation 1-2, groups 1, 2 and
// depthwise, with every activation and residual on and off.
func convCases() []Conv {
	cs := []Conv{
		convCase(3, 17, 19, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU),        // stem-like
		convCase(8, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),         // 3x3 same
		convCase(16, 7, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),        // 1x1 -> gemm1x1
		convCase(16, 7, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, ActReLU6),       // grouped 1x1, dilation ignored
		convCase(16, 9, 9, 20, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone),        // 1x1 stride 2 (downsample)
		convCase(6, 8, 8, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),          // 1x1 padded -> im2col
		convCase(12, 10, 11, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12, ActSiLU),     // depthwise 3x3
		convCase(12, 11, 10, 12, 5, 5, 2, 2, 1, 2, 2, 1, 1, 1, 12, ActSigmoid),  // depthwise 5x5 s2 TF-same
		convCase(12, 11, 10, 12, 3, 3, 2, 1, 0, 0, 1, 1, 2, 2, 12, ActNone),     // depthwise dilated
		convCase(4, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, ActReLU),          // depthwise multiplier 2 -> im2col
		convCase(5, 6, 6, 7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActTanh),          // valid
		convCase(24, 5, 5, 61, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),        // few columns: parts split rows
		convCase(40, 7, 7, 97, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActSiLU),        // few columns, im2col, rows split
		convCase(3, 5, 5, 4, 3, 3, 1, 1, 4, 4, 4, 4, 1, 1, 1, ActNone),          // pad larger than kernel
		convCase(2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActHardSwish),     // 1x1 image
		convCase(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),          // 1x1x1 (depthwise)
		convCase(30, 9, 9, 131, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),       // K=270 > KC, M > MC
		convCase(3, 40, 37, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),        // N=1480 > NC
		convCase(64, 7, 7, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActHardSigmoid), // grouped, K crosses KC per group? (288)
		convCase(300, 5, 5, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),        // 1x1 with K > KC
		convCase(19, 30, 29, 23, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),      // -> winograd4x4, ragged
		convCase(9, 14, 13, 17, 3, 3, 1, 1, 1, 1, 0, 1, 1, 1, 1, ActSiLU),       // -> winograd2x2, ragged
		convCase(3, 37, 75, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActSiLU),       // stride-2 stems: the SIMD gather of im2col
		convCase(3, 40, 81, 4, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU),
		convCase(2, 9, 70, 70, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone),
		// Few channels on small planes -> direct (LeNet-5's two convolutions first).
		convCase(1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, ActNone),
		convCase(6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),
		convCase(3, 37, 75, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActSiLU),
		convCase(2, 9, 70, 3, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(4, 13, 11, 9, 5, 5, 2, 2, 2, 1, 1, 2, 1, 1, 1, ActReLU6),
		convCase(1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActTanh),
		// Squeeze-and-excitation: 1x1 on a 1x1 image -> gemv, across the vector lengths.
		convCase(96, 1, 1, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),
		convCase(4, 1, 1, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid),
		convCase(1152, 1, 1, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),
		convCase(48, 1, 1, 1152, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid),
		convCase(37, 1, 1, 53, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActReLU),
		convCase(33, 1, 1, 17, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(1, 1, 1, 31, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActHardSwish),
		convCase(15, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActTanh),
		convCase(64, 1, 1, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU6),
		convCase(17, 1, 1, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for len(cs) < 400 {
		kh, kw := 1+rng.IntN(5), 1+rng.IntN(5)
		if rng.IntN(3) == 0 {
			kw = kh
		}
		sh, sw := 1+rng.IntN(3), 1+rng.IntN(3)
		dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
		effH, effW := dh*(kh-1)+1, dw*(kw-1)+1
		pt, pl := rng.IntN(effH), rng.IntN(effW)
		pb, pr := rng.IntN(effH), rng.IntN(effW)
		inH, inW := 1+rng.IntN(13), 1+rng.IntN(13)
		if inH+pt+pb < effH || inW+pl+pr < effW {
			continue
		}
		var inC, outC, groups int
		switch rng.IntN(4) {
		case 0: // depthwise
			inC = 1 + rng.IntN(9)
			outC, groups = inC, inC
		case 1: // two groups
			groups = 2
			inC, outC = 2*(1+rng.IntN(5)), 2*(1+rng.IntN(6))
		default:
			groups = 1
			inC, outC = 1+rng.IntN(9), 1+rng.IntN(13)
		}
		c := convCase(inC, inH, inW, outC, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, allActs[rng.IntN(len(allActs))])
		if c.Validate() != nil {
			continue // the end padding drawn exceeds what a shape implies (pb > max(pt, eff-1) after floor)
		}
		cs = append(cs, c)
	}
	return cs
}

func TestConv(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		algos := map[convAlgo]int{}
		for i, c := range convCases() {
			if err := c.Validate(); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			algos[c.algo()]++
			for _, withRes := range []bool{false, true} {
				testConv(t, rng, c, withRes, i%5 != 0)
			}
		}
		for a := range convAlgo(6) {
			if algos[a] < 10 && a.wino() == nil || algos[a] < 1 {
				t.Errorf("only %d cases use %v", algos[a], a)
			}
		}
	})
}

func testConv(t *testing.T, rng *rand.Rand, c Conv, withRes, withBias bool) {
	t.Helper()
	name := fmt.Sprintf("%+v res=%v bias=%v (%v)", c, withRes, withBias, c.algo())
	k := c.InC / c.Groups * c.KH * c.KW
	w := randSlice(rng, c.OutC*k)
	var bias []float32
	if withBias {
		bias = randSlice(rng, c.OutC)
	}
	pw, err := c.Pack(w, bias)
	if err != nil {
		t.Fatalf("%s: Pack: %v", name, err)
	}
	nOut := c.OutC * c.OutH * c.OutW
	inBuf, in := randGuarded(rng, c.InC*c.InH*c.InW)
	in0 := append([]float32(nil), in...)
	outBuf, out := guarded(nOut, nil)
	var resBuf, res []float32
	if withRes {
		resBuf, res = randGuarded(rng, nOut)
	}
	scrBuf, scr := guarded(c.ScratchLen(), nil)
	want, mag := refConv(&c, in, w, bias, res)
	c.Run(out, in, pw, res, scr)
	checkClose(t, name, out, want, mag, k)
	checkGuards(t, name+" out", outBuf)
	checkGuards(t, name+" in", inBuf)
	checkGuards(t, name+" scratch", scrBuf)
	if withRes {
		checkGuards(t, name+" residual", resBuf)
	}
	for i := range in {
		if in[i] != in0[i] {
			t.Fatalf("%s: modified the input", name)
		}
	}
	// Running again on stale output and scratch gives the same result.
	for i := range scr {
		scr[i] = float32(math.NaN())
	}
	out2 := make([]float32, nOut)
	for i := range out2 {
		out2[i] = float32(math.NaN())
	}
	c.Run(out2, in, pw, res, scr)
	for i := range out {
		if math.Float32bits(out[i]) != math.Float32bits(out2[i]) {
			t.Fatalf("%s: second run differs at %d: %v vs %v", name, i, out2[i], out[i])
		}
	}
	if withRes && !t.Failed() {
		// The residual may be the output itself.
		inPlace := append([]float32(nil), res...)
		c.Run(inPlace, in, pw, inPlace, scr)
		for i := range out {
			if math.Float32bits(out[i]) != math.Float32bits(inPlace[i]) {
				t.Fatalf("%s: residual == out differs at %d: %v vs %v", name, i, inPlace[i], out[i])
			}
		}
	}
}

// TestConvRunPart checks that the parts of a convolution, run concurrently with their own
// scratch, compute exactly (bit for bit) what Run computes.
func TestConvRunPart(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for i, c := range convCases() {
			if i%4 != 0 && i > 20 {
				continue
			}
			k := c.InC / c.Groups * c.KH * c.KW
			w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			nOut := c.OutC * c.OutH * c.OutW
			in, res := randSlice(rng, c.InC*c.InH*c.InW), randSlice(rng, nOut)
			if c.algo() == algoDepthwise && i%2 == 0 {
				res = nil // depthwise without a residual runs on whole planes
			}
			want := make([]float32, nOut)
			c.Run(want, in, w, res, make([]float32, c.ScratchLen()))
			for _, parts := range []int{2, 3, 7, 64} {
				outBuf, out := guarded(nOut, nil)
				done := make(chan struct{})
				for part := range parts {
					go func() {
						c.RunPart(part, parts, out, in, w, res, make([]float32, c.ScratchLen()))
						done <- struct{}{}
					}()
				}
				for range parts {
					<-done
				}
				name := fmt.Sprintf("%+v (%v) in %d parts", c, c.algo(), parts)
				checkGuards(t, name, outBuf)
				for j := range want {
					if math.Float32bits(out[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s: [%d] = %v, Run gives %v", name, j, out[j], want[j])
					}
				}
			}
		}
		c := convCase(4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone)
		w, _ := c.Pack(make([]float32, 4*4*9), nil)
		mustPanic(t, "part out of range", func() {
			c.RunPart(2, 2, make([]float32, 100), make([]float32, 100), w, nil, make([]float32, c.ScratchLen()))
		})
	})
}

func TestConvAllActs(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, act := range allActs {
			for _, c := range []Conv{
				convCase(8, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, act),
				convCase(8, 6, 6, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, act),
				convCase(8, 6, 6, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8, act),
			} {
				testConv(t, rng, c, act%2 == 0, true)
				testConv(t, rng, c, act%2 == 1, true)
			}
		}
	})
}

func TestConvValidate(t *testing.T) {
	good := convCase(3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU)
	if good.OutH != 112 || good.Validate() != nil {
		t.Fatalf("stem: %+v %v", good, good.Validate())
	}
	tfSame := Conv{InC: 3, InH: 8, InW: 8, OutC: 4, OutH: 4, OutW: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}
	if err := tfSame.Validate(); err != nil {
		t.Errorf("TF same padding (bottom pad implied 1): %v", err)
	}
	bad := []func(c *Conv){
		func(c *Conv) { c.OutH += 3 }, // needs a bottom pad of 8 > 7-1
		func(c *Conv) { c.OutW -= 2 }, // even without right padding the output is 111 wide
		func(c *Conv) { c.Groups = 2 },
		func(c *Conv) { c.StrideH = 0 },
		func(c *Conv) { c.DilW = 0 },
		func(c *Conv) { c.PadT = -1 },
		func(c *Conv) { c.InC = 0 },
		func(c *Conv) { c.Act = 99 },
	}
	for i, f := range bad {
		c := good
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad %d: %+v validated", i, c)
		}
		if _, err := c.Pack(make([]float32, 64*3*49), nil); err == nil {
			t.Errorf("bad %d: Pack accepted %+v", i, c)
		}
	}
	if _, err := good.Pack(make([]float32, 10), nil); err == nil {
		t.Error("Pack accepted short weights")
	}
	if _, err := good.Pack(make([]float32, 64*3*49), make([]float32, 3)); err == nil {
		t.Error("Pack accepted short bias")
	}
}

func TestConvRunMismatchPanics(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		c := convCase(4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone)
		w, err := c.Pack(make([]float32, 4*4*9), nil)
		if err != nil {
			t.Fatal(err)
		}
		d := c
		d.Act = ActReLU
		mustPanic(t, "mismatch", func() { d.Run(make([]float32, 100), make([]float32, 100), w, nil, make([]float32, d.ScratchLen())) })
		mustPanic(t, "short out", func() { c.Run(make([]float32, 99), make([]float32, 100), w, nil, make([]float32, c.ScratchLen())) })
		mustPanic(t, "short scratch", func() { c.Run(make([]float32, 100), make([]float32, 100), w, nil, nil) })
	})
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestLinear(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, in := range []int{1, 2, 3, 5, 8, 17, 64, 129} {
			for _, out := range []int{1, 2, 3, 4, 5, 7, 10, 33} {
				for _, act := range []Act{ActNone, ActReLU, allActs[(in+out)%len(allActs)]} {
					l := Linear{In: in, Out: out, Act: act}
					name := fmt.Sprintf("%+v", l)
					w := randSlice(rng, in*out)
					var bias []float32
					if out%2 == 1 {
						bias = randSlice(rng, out)
					}
					pw, err := l.Pack(w, bias)
					if err != nil {
						t.Fatal(err)
					}
					inBuf, x := randGuarded(rng, in)
					outBuf, y := guarded(out, nil)
					want, mag := refLinear(&l, x, w, bias)
					l.Run(y, x, pw)
					checkClose(t, name, y, want, mag, in)
					checkGuards(t, name+" out", outBuf)
					checkGuards(t, name+" in", inBuf)
				}
			}
		}
		l := Linear{In: 3, Out: 2}
		if _, err := l.Pack(make([]float32, 5), nil); err == nil {
			t.Error("Pack accepted short weights")
		}
		if _, err := (&Linear{In: 0, Out: 2}).Pack(nil, nil); err == nil {
			t.Error("Pack accepted In=0")
		}
	})
}

// TestLinearRunRows splits Linears into random row ranges at every level: the ranges must
// reproduce Run bit for bit and leave the other outputs alone, and Run must match the reference
// across the SIMD kernels' column and row tails.
func TestLinearRunRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, in := range []int{15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 300, 1027} {
			for _, out := range []int{1, 3, 4, 5, 9, 18} {
				l := Linear{In: in, Out: out, Act: ActReLU}
				w, bias := randSlice(rng, in*out), randSlice(rng, out)
				pw, err := l.Pack(w, bias)
				if err != nil {
					t.Fatal(err)
				}
				x := randSlice(rng, in)
				name := fmt.Sprintf("%+v", l)
				outBuf, whole := guarded(out, nil)
				l.Run(whole, x, pw)
				checkGuards(t, name, outBuf)
				want, mag := refLinear(&l, x, w, bias)
				checkClose(t, name, whole, want, mag, in)
				for range 5 {
					partBuf, parts := guarded(out, nil)
					for o0 := 0; o0 < out; {
						o1 := o0 + 1 + rng.IntN(out-o0)
						l.RunRows(o0, o1, parts, x, pw)
						for i := o1; i < out; i++ {
							if math.Float32bits(parts[i]) != math.Float32bits(sentinel) {
								t.Fatalf("%s: RunRows(%d, %d) wrote output %d", name, o0, o1, i)
							}
						}
						o0 = o1
					}
					checkGuards(t, name+" parts", partBuf)
					for i := range whole {
						if math.Float32bits(parts[i]) != math.Float32bits(whole[i]) {
							t.Fatalf("%s: split output %d = %v, Run %v", name, i, parts[i], whole[i])
						}
					}
				}
			}
		}
		l := Linear{In: 4, Out: 3}
		pw, _ := l.Pack(make([]float32, 12), nil)
		mustPanic(t, "RunRows past Out", func() { l.RunRows(2, 4, make([]float32, 3), make([]float32, 4), pw) })
		mustPanic(t, "RunRows backwards", func() { l.RunRows(2, 1, make([]float32, 3), make([]float32, 4), pw) })
	})
}

func TestNoAllocs(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, c := range []Conv{
			convCase(16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // im2col
			convCase(16, 12, 12, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),  // gemm1x1
			convCase(16, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, ActSiLU), // depthwise
			convCase(32, 28, 28, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),  // winograd4x4
			convCase(16, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActSiLU),  // winograd2x2
			convCase(16, 21, 21, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 16, ActSiLU), // depthwise
			convCase(96, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid), // gemv
		} {
			w, err := c.Pack(randSlice(rng, c.OutC*c.InC/c.Groups*c.KH*c.KW), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			in := randSlice(rng, c.InC*c.InH*c.InW)
			out := make([]float32, c.OutC*c.OutH*c.OutW)
			res := randSlice(rng, len(out))
			scr := make([]float32, c.ScratchLen())
			if a := testing.AllocsPerRun(20, func() { c.Run(out, in, w, res, scr) }); a != 0 {
				t.Errorf("Conv.Run (%v) allocates %v times", c.algo(), a)
			}
			if a := testing.AllocsPerRun(20, func() { c.Run(out, in, w, nil, scr) }); a != 0 {
				t.Errorf("Conv.Run (%v) without residual allocates %v times", c.algo(), a)
			}
			if a := testing.AllocsPerRun(20, func() { c.RunPart(1, 3, out, in, w, res, scr) }); a != 0 {
				t.Errorf("Conv.RunPart (%v) allocates %v times", c.algo(), a)
			}
		}
		l := Linear{In: 100, Out: 10, Act: ActReLU}
		w, _ := l.Pack(randSlice(rng, 1000), nil)
		in, out := randSlice(rng, 100), make([]float32, 10)
		if a := testing.AllocsPerRun(20, func() { l.Run(out, in, w) }); a != 0 {
			t.Errorf("Linear.Run allocates %v times", a)
		}
		x, y := randSlice(rng, 64), make([]float32, 64)
		p := Pool{C: 4, InH: 4, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		pa := p
		pa.Avg = true
		if a := testing.AllocsPerRun(20, func() {
			p.Run(y, x)
			pa.Run(y, x)
			Eltwise{Act: ActSiLU}.Run(y, y)
			Eltwise{Act: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}.Run(y, x)
			Softmax{Outer: 1, Block: 16, Inner: 4}.Run(y, y)
			LRN{C: 4, HW: 16, Size: 3, Lo: 1, Alpha: 1e-4, Beta: 0.75, K: 1}.Run(y, x)
			Add{Act: ActSiLU}.Run(y, x, y)
			ChannelAffine(4, 16, x, y, x, y, ActReLU)
			MulChannel(4, 16, x, y, y)
		}); a != 0 {
			t.Errorf("pooling and elementwise kernels allocate %v times", a)
		}
	})
}

func TestApply(t *testing.T) {
	var xs []float32
	for v := -12.0; v <= 12; v += 0.37 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, 0, -3, 3, 6, -6, float32(math.Inf(1)), float32(math.Inf(-1)), 100, -100)
	for _, a := range allActs {
		buf, x := guarded(len(xs), func(i int) float32 { return xs[i] })
		Apply(a, x)
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
		Apply(a, nan)
		if nan[0] == nan[0] {
			t.Errorf("%v(NaN) = %v, want NaN", a, nan[0])
		}
	}
	if ActHardSwish.String() != "hardswish" || Act(200).String() != "Act(200)" {
		t.Errorf("String: %q %q", ActHardSwish.String(), Act(200).String())
	}
	mustPanic(t, "bad act", func() { Apply(Act(200), xs) })
}

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
		GlobalAvgPool(5, hw, in, avg)
		GlobalMaxPool(5, hw, in, mx)
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
	GlobalMaxPool(1, 3, x, y)
	if y[0] == y[0] {
		t.Errorf("GlobalMaxPool with NaN = %v", y[0])
	}
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
			MulChannel(c, hw, x, scale, out)
			checkClose(t, fmt.Sprint("MulChannel hw=", hw), out, want, nil, 1)
			checkGuards(t, "MulChannel", outBuf)
			avgBuf, avg := guarded(c, nil)
			GlobalAvgPool(c, hw, x, avg)
			checkClose(t, fmt.Sprint("GlobalAvgPool hw=", hw), avg, wantAvg, mag, hw)
			checkGuards(t, "GlobalAvgPool", avgBuf)
			MulChannel(c, hw, x, scale, x)
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
		ChannelAffine(c, hw, scale, shift, a, out, act)
		want := make([]float64, n)
		for i := range want {
			want[i] = refAct(act, float64(a[i])*float64(scale[i/hw])+float64(shift[i/hw]))
		}
		checkClose(t, "ChannelAffine "+act.String(), out, want, nil, 2)
		checkGuards(t, "ChannelAffine", outBuf)
		inPlace := append([]float32(nil), a...)
		ChannelAffine(c, hw, scale, shift, inPlace, inPlace, act)
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
	MulChannel(c, hw, a, scale, out)
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
		SoftmaxAxis(2, 3, 4, y, log)
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
	Clip(c, -1, 6)
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

// TestConvShared checks that PackShared's parts followed by RunPartShared's compute exactly
// what Run computes, with the residual both apart and as the output itself, and that the shared
// split is offered for row splits only.
func TestConvShared(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(27, 28))
		cs := append(convCases()[:60], resnet50Convs()[24:]...) // the 14x14 and 7x7 layers
		tested := 0
		for _, c := range cs {
			k := c.InC / c.Groups * c.KH * c.KW
			w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
			if err != nil {
				t.Fatal(err)
			}
			nOut := c.OutC * c.OutH * c.OutW
			in, res := randSlice(rng, c.InC*c.InH*c.InW), randSlice(rng, nOut)
			want := make([]float32, nOut)
			c.Run(want, in, w, res, make([]float32, c.ScratchLen()))
			for _, parts := range []int{2, 3, 5} {
				n := c.SharedLen(w, parts)
				if n == 0 {
					continue
				}
				if !c.splitRows(runImpl(w.isa), parts) {
					t.Errorf("%+v: SharedLen %d for a column split", c, n)
				}
				tested++
				shared := make([]float32, n)
				var wg sync.WaitGroup
				for part := range parts {
					wg.Go(func() { c.PackShared(part, parts, in, w, shared) })
				}
				wg.Wait()
				outBuf, out := guarded(nOut, nil)
				inPlace := append([]float32(nil), res...)
				for part := range parts {
					wg.Go(func() {
						c.RunPartShared(part, parts, out, in, w, res, shared)
						c.RunPartShared(part, parts, inPlace, in, w, inPlace, shared)
					})
				}
				wg.Wait()
				name := fmt.Sprintf("%+v (%v) shared in %d parts", c, c.algo(), parts)
				checkGuards(t, name, outBuf)
				for j := range want {
					if math.Float32bits(out[j]) != math.Float32bits(want[j]) || math.Float32bits(inPlace[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s: [%d] = %v (in place %v), Run gives %v", name, j, out[j], inPlace[j], want[j])
					}
				}
			}
		}
		if tested < 10 {
			t.Errorf("only %d shared splits tested", tested)
		}
	})
}
