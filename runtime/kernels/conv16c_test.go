package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// toBlockedGuarded returns the NCHW16c form of the NCHW x (c planes of hw) in a guarded buffer,
// its padding lanes filled with finite junk the kernels must ignore.
func toBlockedGuarded(rng *rand.Rand, x []float32, c, hw int) (buf, b []float32) {
	buf, b = guarded(BlockedLen(c, hw), func(int) float32 { return rng.Float32()*200 - 100 })
	for ch := range c {
		for p := range hw {
			b[((ch/16)*hw+p)*16+ch%16] = x[ch*hw+p]
		}
	}
	return buf, b
}

// fromBlockedCheck returns the NCHW form of the NCHW16c b and checks that its padding lanes are
// finite.
func fromBlockedCheck(t *testing.T, name string, b []float32, c, hw int) []float32 {
	t.Helper()
	out := make([]float32, c*hw)
	Reorder{C: c, HW: hw, To: NCHW}.Run(out, b)
	for i, v := range b {
		if i/hw/16*16+i%16 >= c && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			t.Fatalf("%s: padding lane at %d is %v", name, i, v)
		}
	}
	return out
}

// conv16cCases are the blocked convolutions tested: the NCHW sweep's ungrouped and depthwise
// cases, and channel counts around the blocks.
func conv16cCases() []Conv {
	var cs []Conv
	for _, c := range convCases() {
		if BlockedGroups(c.InC, c.OutC, c.Groups) {
			c.Layout = NCHW16c
			cs = append(cs, c)
		}
	}
	for _, c := range []Conv{
		convCase(17, 9, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),
		convCase(33, 7, 7, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSiLU),
		convCase(40, 8, 9, 17, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(70, 15, 13, 40, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActReLU),  // gathered: odd sizes
		convCase(33, 11, 10, 24, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1, 1, ActSiLU),  // strides 3 and 2
		convCase(20, 9, 60, 24, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActReLU),   // rows of 30: not gathered
		convCase(32, 10, 10, 32, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 32, ActNone), // depthwise strided 1x1
		convCase(3, 23, 21, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU),   // a stem
		convCase(32, 13, 12, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActReLU6), // stride 2
		convCase(20, 11, 10, 24, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, ActNone),  // dilated
		convCase(150, 7, 7, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),   // chunks of input blocks
		convCase(300, 6, 5, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActGELU),   // chunks, pointwise
		convCase(40, 15, 14, 40, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 40, ActSiLU), // depthwise 5x5 s2
		convCase(24, 29, 27, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24, ActReLU6),
		convCase(70, 40, 37, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),   // several bands
		convCase(4, 60, 90, 20, 3, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1, ActReLU),   // bands, left pad only
		convCase(48, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid), // 1x1 image: gemv
		// Groups: of whole blocks (AlexNet 2012's 2, ResNeXt's deep layers), of 8 and 4 channels
		// (RegNet's 13 groups of 8 in 104 channels: a half last block), several to a block.
		convCase(96, 13, 13, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActReLU),
		convCase(64, 9, 11, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, ActNone),     // 2 groups of 32: strided
		convCase(160, 7, 7, 160, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, ActReLU),    // 32 a group, 5 super-groups
		convCase(104, 9, 7, 104, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 13, ActReLU),   // 8 a group, last block half
		convCase(104, 10, 10, 104, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 13, ActNone), // stride 2
		convCase(36, 8, 9, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 9, ActSiLU),      // 4 a group
		convCase(32, 7, 7, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 8, ActNone),      // grouped pointwise
		convCase(16, 1, 1, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, ActReLU),      // grouped on a 1x1 image: not gemv
		convCase(12, 6, 6, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 6, ActReLU6),     // 2 a group, dilated
	} {
		c.Layout = NCHW16c
		cs = append(cs, c)
	}
	return cs
}

func TestConv16c(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		algos := map[convAlgo]int{}
		for i, c := range conv16cCases() {
			if err := c.Validate(); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			algos[c.algo()]++
			for _, withRes := range []bool{false, true} {
				testConv16c(t, rng, c, withRes, i%5 != 0)
			}
		}
		for _, a := range []convAlgo{algoDirect16c, algoDW16c, algoGemv, algoWino16c} {
			if algos[a] < 3 {
				t.Errorf("only %d cases of %v", algos[a], a)
			}
		}
	})
}

// testConv16c runs c on blocked copies of random operands and checks, against the float64
// reference through the NCHW form, the output, its padding lanes (finite), the guards, a second
// run on stale output and scratch, the residual as the output itself, and parts.
func testConv16c(t *testing.T, rng *rand.Rand, c Conv, withRes, withBias bool) {
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
	ihw, ohw := c.InH*c.InW, c.OutH*c.OutW
	x := randSlice(rng, c.InC*ihw)
	inBuf, in := toBlockedGuarded(rng, x, c.InC, ihw)
	in0 := append([]float32(nil), in...)
	nOut := BlockedLen(c.OutC, ohw)
	outBuf, out := guarded(nOut, nil)
	var r, resBuf, res []float32
	if withRes {
		r = randSlice(rng, c.OutC*ohw)
		resBuf, res = toBlockedGuarded(rng, r, c.OutC, ohw)
	}
	scrBuf, scr := guarded(c.ScratchLen(), nil)
	want, mag := refConv(&c, x, w, bias, r)
	c.Run(out, in, pw, res, scr)
	checkClose(t, name, fromBlockedCheck(t, name, out, c.OutC, ohw), want, mag, k)
	checkGuards(t, name+" out", outBuf)
	checkGuards(t, name+" in", inBuf)
	checkGuards(t, name+" scratch", scrBuf)
	if withRes {
		checkGuards(t, name+" residual", resBuf)
	}
	for i := range in {
		if !sameBits(in[i], in0[i]) {
			t.Fatalf("%s: modified the input", name)
		}
	}
	if t.Failed() {
		return
	}
	for i := range scr {
		scr[i] = float32(math.NaN())
	}
	same := func(what string, got []float32) {
		t.Helper()
		for i := range out {
			if !sameBits(got[i], out[i]) {
				t.Fatalf("%s: %s differs at %d: %v vs %v", name, what, i, got[i], out[i])
			}
		}
	}
	out2 := make([]float32, nOut)
	for i := range out2 {
		out2[i] = float32(math.NaN())
	}
	c.Run(out2, in, pw, res, scr)
	same("second run", out2)
	if withRes {
		inPlace := append([]float32(nil), res...)
		c.Run(inPlace, in, pw, inPlace, scr)
		same("residual == out", inPlace)
	}
	for _, parts := range []int{2, 3, 5} {
		got := make([]float32, nOut)
		var wg sync.WaitGroup
		for part := range parts {
			wg.Go(func() { c.RunPart(part, parts, got, in, pw, res, make([]float32, c.ScratchLen())) })
		}
		wg.Wait()
		same(fmt.Sprintf("%d parts", parts), got)
	}
}

// TestConv16cValidate checks the shapes NCHW16c refuses: groups of more than 16 channels that do
// not fill whole blocks, of different sizes in and out under 16, and depthwise multipliers.
func TestConv16cValidate(t *testing.T) {
	c := convCase(48, 9, 9, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActNone)
	c.Layout = NCHW16c
	if c.Validate() == nil {
		t.Error("NCHW16c accepts two groups of 24")
	}
	c = convCase(8, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActNone)
	c.Layout = NCHW16c
	if c.Validate() == nil {
		t.Error("NCHW16c accepts groups of 4 in and 8 out")
	}
	c = convCase(4, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, ActNone)
	c.Layout = NCHW16c
	if c.Validate() == nil {
		t.Error("NCHW16c accepts a depthwise multiplier")
	}
}
