//go:build purego || !amd64

package kernels

// detectISA: builds without assembly have the pure-Go kernels only.
func detectISA() ISA { return Generic }

// simdImpls: no assembly kernels in this build.
func simdImpls() [numISA]*gemmImpl { return [numISA]*gemmImpl{} }

func fmaPeak(ISA, int) {}
