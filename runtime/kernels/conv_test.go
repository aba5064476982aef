package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

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
