package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// testLevels are the levels the tests run at: the supported ones up to the level active when the
// test binary started (so CNNGEN_ISA=avx2 go test stops at AVX2).
var testLevels = Levels()[:Active()+1]

// forEachISA runs f as a subtest at each level of testLevels, with that level active.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	old := Active()
	defer SetISA(old)
	for _, isa := range testLevels {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		t.Run(isa.String(), f)
	}
}

func TestISAFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env     string
		best    ISA
		want    ISA
		wantErr bool
	}{
		{"", AVX512, AVX512, false},
		{"", Generic, Generic, false},
		{"generic", AVX512, Generic, false},
		{"AVX2", AVX512, AVX2, false},
		{" avx512 ", AVX512, AVX512, false},
		{"avx512", AVX2, AVX2, true},
		{"avx2", Generic, Generic, true},
		{"sse9", AVX2, AVX2, true},
	} {
		got, err := isaFromEnv(tc.env, tc.best)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("isaFromEnv(%q, %v) = %v, %v; want %v, error %v", tc.env, tc.best, got, err, tc.want, tc.wantErr)
		}
	}
	if env := os.Getenv("CNNGEN_ISA"); env != "" {
		want, err := isaFromEnv(env, Best())
		if testLevels[len(testLevels)-1] != want || (err == nil) != (ISAError() == nil) {
			t.Errorf("CNNGEN_ISA=%s: started at %v (error %v), want %v (error %v)", env, testLevels[len(testLevels)-1], ISAError(), want, err)
		}
	} else if ISAError() != nil || testLevels[len(testLevels)-1] != Best() {
		t.Errorf("CNNGEN_ISA unset: started at %v with error %v, want %v", testLevels[len(testLevels)-1], ISAError(), Best())
	}
}

func TestSetISA(t *testing.T) {
	old := Active()
	defer SetISA(old)
	t.Logf("best ISA here: %v (GOARCH %s)", Best(), runtime.GOARCH)
	for i := Generic; i < numISA; i++ {
		err := SetISA(i)
		if (err == nil) != (i <= Best()) {
			t.Errorf("SetISA(%v) = %v with best %v", i, err, Best())
		}
		if err == nil && Active() != i {
			t.Errorf("SetISA(%v): Active() = %v", i, Active())
		}
		if p, err := ParseISA(i.String()); p != i || err != nil {
			t.Errorf("ParseISA(%q) = %v, %v", i.String(), p, err)
		}
	}
	for _, bad := range []ISA{-1, numISA, 42} {
		before := Active()
		if SetISA(bad) == nil || Active() != before {
			t.Errorf("SetISA(%v) accepted", bad)
		}
	}
	if runtime.GOARCH != "amd64" && Best() != Generic {
		t.Errorf("best %v on %s", Best(), runtime.GOARCH)
	}
}

// TestSgemmVsTwin compares each level's Sgemm with its pure-Go twin (same blocking and packing,
// Go tiles) over m, n, k from 1 to 70 and across the block boundaries, with guard bands.
func TestSgemmVsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	sizes := []int{1, 2, 3, 5, 6, 7, 13, 14, 15, 16, 17, 28, 31, 32, 33, 43, 49, 64, 70}
	for _, isa := range testLevels[1:] {
		im, tw := sets[isa].gemm, gemmTwins[isa]
		cases := [][3]int{}
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range []int{1, 4, 7, 70} {
					cases = append(cases, [3]int{m, n, k})
				}
			}
		}
		cases = append(cases, [][3]int{
			{10*im.mr + 1, im.nc + 1, im.kc + 1}, {10*im.mr - 1, im.nc - 1, im.kc - 1}, {20*im.mr + 1, 2*im.nc + im.nr - 1, 2*im.kc + 3},
			{49, 2048, 512}, {1, 1, 3*im.kc + 5},
		}...)
		for _, s := range cases {
			m, n, k := s[0], s[1], s[2]
			lda, ldb, ldc := k+1, n+2, n+3
			a, b := randSlice(rng, (m-1)*lda+k), randSlice(rng, (k-1)*ldb+n)
			cBuf, c := randGuarded(rng, (m-1)*ldc+n)
			want := append([]float32(nil), c...)
			bufA, bufB := make([]float32, roundUp(m, im.mr)*min(k, im.kc)), make([]float32, maxKCNC)
			gemm(tw, m, n, k, &gemmA{raw: a, lda: lda, buf: bufA}, &gemmB{b: b, ldb: ldb}, want, ldc, bufB)
			gemm(im, m, n, k, &gemmA{raw: a, lda: lda, buf: bufA}, &gemmB{b: b, ldb: ldb}, c, ldc, bufB)
			name := fmt.Sprintf("%v m=%d n=%d k=%d", isa, m, n, k)
			checkGuards(t, name, cBuf)
			for i := range c {
				if i%ldc >= n {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: wrote the gap at %d", name, i)
					}
					continue
				}
				if !close(c[i], float64(want[i]), 1+math.Abs(float64(want[i])), k) {
					t.Fatalf("%s: [%d] = %v, Go twin %v", name, i, c[i], want[i])
				}
			}
		}
	}
}

// TestConvPackedAcrossISA packs weights at each level and runs them at each level: SetISA after
// Pack must still give the right result (the level's kernel or its Go twin).
func TestConvPackedAcrossISA(t *testing.T) {
	old := Active()
	defer SetISA(old)
	rng := rand.New(rand.NewPCG(35, 36))
	for _, c := range []Conv{
		convCase(30, 9, 9, 131, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU),
		convCase(300, 5, 5, 19, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(8, 7, 7, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, ActNone),
		convCase(20, 29, 30, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU), // winograd4x4
		convCase(20, 13, 14, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone), // winograd2x2
	} {
		k := c.InC / c.Groups * c.KH * c.KW
		w, bias := randSlice(rng, c.OutC*k), randSlice(rng, c.OutC)
		in, res := randSlice(rng, c.InC*c.InH*c.InW), randSlice(rng, c.OutC*c.OutH*c.OutW)
		want, mag := refConv(&c, in, w, bias, res)
		for _, packAt := range testLevels {
			SetISA(packAt)
			pw, err := c.Pack(w, bias)
			if err != nil {
				t.Fatal(err)
			}
			if pw.isa != packAt {
				t.Errorf("packed at %v records %v", packAt, pw.isa)
			}
			for _, runAt := range testLevels {
				SetISA(runAt)
				out := make([]float32, len(res))
				c.Run(out, in, pw, res, make([]float32, c.ScratchLen()))
				checkClose(t, fmt.Sprintf("%+v packed at %v, run at %v", c, packAt, runAt), out, want, mag, k)
			}
		}
	}
}

// TestScratchLenISAIndependent: ScratchLen serves every level whatever the active one.
func TestScratchLenISAIndependent(t *testing.T) {
	for _, c := range convCases()[:40] {
		s := c.ScratchLen()
		switch c.algo() {
		case algoDepthwise:
			if hp, wp, ok := c.dwPlane(); ok && s < hp*wp+dwPlaneSlack {
				t.Errorf("%+v: ScratchLen %d < the padded plane %dx%d", c, s, hp, wp)
			}
			continue
		case algoGemv, algoWino4, algoWino2, algoDirect:
			continue // no B packing; Winograd's scratch depends on no level's blocking but MR (see winoScratchLen)
		}
		k, n := c.InC/c.Groups*c.KH*c.KW, c.OutH*c.OutW
		for _, sh := range gemmShapes {
			if need := packBLen(sh, k, n); need > s {
				t.Errorf("%+v: ScratchLen %d < %d for %+v", c, s, need, sh)
			}
		}
	}
}

func TestPeakGFLOPS(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for 50 ms per level")
	}
	for _, isa := range testLevels {
		p := PeakGFLOPS(isa)
		t.Logf("%v: peak %.1f GFLOP/s", isa, p)
		if p <= 0 || math.IsInf(p, 0) || math.IsNaN(p) {
			t.Errorf("PeakGFLOPS(%v) = %v", isa, p)
		}
	}
	if Best() < AVX512 && PeakGFLOPS(AVX512) != 0 {
		t.Error("PeakGFLOPS of an unsupported level is not 0")
	}
}
