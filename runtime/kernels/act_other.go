//go:build purego || !amd64

package kernels

// applySIMD: no assembly activations in this build.
func applySIMD(Act, []float32) bool { return false }
