//go:build purego || !amd64

package kernels

// detectISA: builds without assembly have the pure-Go kernels only.
func detectISA() ISA { return Generic }

// simdSets: no assembly kernels in this build; the Generic set (the twins) is the only one.
func simdSets() [numISA]*kernelSet { return [numISA]*kernelSet{} }
