package kernels

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
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

// TestTileKernels checks each level's micro-kernel against the Go twin on every row and column
// count and several kc, writing into a C with gaps between rows and guards around it: nothing
// outside the tile may change.
func TestTileKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, isa := range testLevels {
		im := impls[isa]
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 255, 256} {
			a := randSlice(rng, kc*im.mr)
			b := randSlice(rng, kc*im.nr)
			for mrows := 1; mrows <= im.mr; mrows++ {
				for ncols := 1; ncols <= im.nr; ncols++ {
					ldc := ncols + 3
					n := (mrows-1)*ldc + ncols
					cBuf, c := randGuarded(rng, n)
					want := append([]float32(nil), c...)
					tileGo(im.mr, im.nr, kc, a, b, want, ldc, mrows, ncols)
					im.tile(kc, a, b, c, ldc, mrows, ncols)
					name := fmt.Sprintf("%v tile kc=%d %dx%d", isa, kc, mrows, ncols)
					checkGuards(t, name, cBuf)
					for i := range c {
						if i%ldc >= ncols {
							if c[i] != want[i] {
								t.Fatalf("%s: wrote the gap at %d", name, i)
							}
							continue
						}
						if d := math.Abs(float64(c[i] - want[i])); d > 1e-5*math.Sqrt(float64(kc))*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("%s: [%d] = %v, Go twin %v", name, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestSgemmVsTwin compares each level's Sgemm with its pure-Go twin (same blocking and packing,
// Go tiles) over m, n, k from 1 to 70 and across the block boundaries, with guard bands.
func TestSgemmVsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	sizes := []int{1, 2, 3, 5, 6, 7, 13, 14, 15, 16, 17, 28, 31, 32, 33, 43, 49, 64, 70}
	for _, isa := range testLevels[1:] {
		im, tw := impls[isa], twins[isa]
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

// TestAsmEncodings reads the generated assembly (every *_amd64.s) and checks what the dispatch
// relies on: the functions of the AVX2 level (all but *AVX512*) use only VEX encodings and the
// registers X/Y0-15 (no Z or K registers, no EVEX-only instruction or suffix), every function ends its vector work with VZEROUPPER before each RET,
// and each TEXT has its signature and Requires comments.
func TestAsmEncodings(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("amd64 assembly")
	}
	files, err := filepath.Glob("*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]bool{}
	for _, file := range files {
		checkAsmFile(t, file, funcs)
	}
	for _, f := range []string{"sgemm_amd64.s", "pool_amd64.s", "gemv_amd64.s", "dw_amd64.s", "eltwise_amd64.s", "act_amd64.s", "dwconv_amd64.s", "arith_amd64.s", "avgpool_amd64.s", "lrn_amd64.s", "winograd_amd64.s"} {
		if !slices.Contains(files, f) {
			t.Errorf("%s missing", f)
		}
	}
	for mr := 1; mr <= gemmShapes[AVX512].mr; mr++ {
		if !funcs[fmt.Sprintf("sgemmAVX512x%d", mr)] {
			t.Errorf("sgemmAVX512x%d missing", mr)
		}
	}
	for mr := 1; mr <= gemmShapes[AVX2].mr; mr++ {
		if !funcs[fmt.Sprintf("sgemmAVX2x%d", mr)] {
			t.Errorf("sgemmAVX2x%d missing", mr)
		}
	}
	for _, op := range []string{"sigmoid", "silu", "relu", "relu6", "hardSigmoid", "hardSwish"} {
		for _, level := range []string{"AVX512", "AVX2"} {
			if !funcs[op+level] {
				t.Errorf("%s%s missing", op, level)
			}
		}
	}
	for _, f := range []string{"winoIn4AVX512", "winoOut4AVX512", "winoIn4AVX2", "winoOut4AVX2", "winoIn2AVX512", "winoOut2AVX512", "winoIn2AVX2", "winoOut2AVX2"} {
		if !funcs[f] {
			t.Errorf("%s missing", f)
		}
	}
}

// checkAsmFile checks one generated .s file for TestAsmEncodings, adding its functions to funcs.
func checkAsmFile(t *testing.T, file string, funcs map[string]bool) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "// Code generated by command: go run asm.go") || !strings.HasSuffix(lines[0], "DO NOT EDIT.") {
		t.Errorf("%s: first line is not the generator's", file)
	}
	textRe := regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	forbidden := regexp.MustCompile(`\b(Z\d+|K[0-7]|[XY](1[6-9]|2\d|3[01]))\b|\.(BCST|Z|SAE)\b|^\s*(K\w+|VPXOR[DQ]|VPORD|VPERMT2\w+|VMOVDQ[AU](32|64)|V\w+(32X|64X)\w*)\b`)
	var name string
	var lastVec string
	for i, l := range lines {
		if m := textRe.FindStringSubmatch(l); m != nil {
			name = m[1]
			funcs[name] = true
			if i < 2 || !strings.HasPrefix(lines[i-2], "// func "+name+"(") || !strings.HasPrefix(lines[i-1], "// Requires: ") {
				t.Errorf("TEXT %s: not preceded by its // func and // Requires comments", name)
			}
			for _, ext := range strings.Split(strings.TrimPrefix(lines[i-1], "// Requires: "), ", ") {
				if strings.HasPrefix(ext, "AVX512") && ext != "AVX512F" {
					t.Errorf("%s needs %s: the AVX512 level promises AVX-512 F only", name, ext)
				}
			}
			if !strings.Contains(name, "AVX512") {
				if strings.Contains(lines[i-1], "AVX512") {
					t.Errorf("%s: %s", name, lines[i-1])
				}
			}
			lastVec = ""
			continue
		}
		if name == "" {
			continue
		}
		code := strings.TrimSpace(l)
		if strings.HasPrefix(code, "//") {
			continue
		}
		if !strings.Contains(name, "AVX512") { // the AVX2 level's functions
			if forbidden.MatchString(code) {
				t.Errorf("%s: line %d uses AVX-512 (EVEX, Z/K or high registers): %s", name, i+1, code)
			}
		}
		if strings.HasPrefix(code, "V") {
			lastVec = strings.Fields(code)[0]
		}
		if code == "RET" && lastVec != "VZEROUPPER" {
			t.Errorf("%s: RET at line %d without VZEROUPPER before it", name, i+1)
		}
	}
}
