//go:build purego || !amd64

package kernels

// winoSIMD: this build has no SIMD transforms.
func winoSIMD(m, nr int) *winoXform { return nil }
