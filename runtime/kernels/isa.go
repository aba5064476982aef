package kernels

import (
	"fmt"
	"os"
	"strings"
)

// ISA is an instruction-set level of the GEMM micro-kernels. Higher levels are faster; each
// level's CPU requirements include the lower ones'.
type ISA int

const (
	Generic ISA = iota // pure Go: runs everywhere, and is the only level of -tags purego and non-amd64 builds
	AVX2               // amd64 AVX2 + FMA: 6x16 micro-tiles in ymm registers
	AVX512             // amd64 AVX-512 F: 14x32 micro-tiles in zmm registers
	numISA
)

// String returns the name CNNGEN_ISA accepts for the level: "generic", "avx2" or "avx512".
func (i ISA) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("ISA(%d)", int(i))
}

// ParseISA parses a level name as String gives it (case-insensitive).
func ParseISA(s string) (ISA, error) {
	for i := range numISA {
		if strings.EqualFold(strings.TrimSpace(s), i.String()) {
			return i, nil
		}
	}
	return Generic, fmt.Errorf("kernels: unknown ISA %q (want generic, avx2 or avx512)", s)
}

// The CPU is probed once, during package initialization: detectISA is build specific (cpuid on
// amd64 without the purego tag, Generic elsewhere). The active level is the kernel set in
// active (dispatch.go): sets[startISA] at first, then what SetISA chooses.
var (
	bestISA          = detectISA()                                  // the highest level this CPU, OS and build support
	startISA, isaErr = isaFromEnv(os.Getenv("CNNGEN_ISA"), bestISA) // the level at start, and a bad CNNGEN_ISA
)

// isaFromEnv applies the value of CNNGEN_ISA to the best supported level: empty keeps it, a
// lower or equal level is taken, and an unknown or unsupported level is an error and keeps the
// best level (so a bad setting never makes the program die on an illegal instruction).
func isaFromEnv(env string, best ISA) (ISA, error) {
	if env == "" {
		return best, nil
	}
	want, err := ParseISA(env)
	if err != nil {
		return best, fmt.Errorf("CNNGEN_ISA=%s: %w; using %v", env, err, best)
	}
	if want > best {
		return best, fmt.Errorf("kernels: CNNGEN_ISA=%s: this CPU (or build) supports at most %v; using %v", env, best, best)
	}
	return want, nil
}

// Active returns the level the kernels use now.
func Active() ISA { return kern().isa }

// Best returns the highest level this CPU, OS and build support.
func Best() ISA { return bestISA }

// Supported reports whether the level can run here.
func Supported(i ISA) bool { return i >= Generic && i <= bestISA }

// Levels returns the supported levels, lowest first.
func Levels() []ISA {
	l := make([]ISA, 0, numISA)
	for i := Generic; i <= bestISA; i++ {
		l = append(l, i)
	}
	return l
}

// SetISA makes the kernels use level i from now on, for tests and benchmarks; it fails, changing
// nothing, if i is not supported. It swaps the whole kernel set at once (one atomic store), so
// a call that has started keeps the set it loaded. Weights packed before keep working: Conv.Run
// runs them with the kernel of the level they were packed for when that level is at most i, and
// otherwise with the pure-Go twin of that kernel on the same layout (correct, slower: pack again
// for speed).
func SetISA(i ISA) error {
	if !Supported(i) {
		return fmt.Errorf("kernels: SetISA(%v): not supported here (best: %v)", i, bestISA)
	}
	active.Store(sets[i])
	return nil
}

// ISAError returns the error of an unusable CNNGEN_ISA setting (unknown, or asking for a level
// this CPU or build lacks), or nil. The kernels then run at the best supported level; generated
// networks report it from New (and Load), which fail with this error, so a setting that did not
// take effect does not go unnoticed.
func ISAError() error { return isaErr }
