//go:build purego || !amd64

package kernels

// No assembly in this build: Go computes every value.

func scaleSIMD(dst, src []float32, s float32) int { return 0 }
func sumSIMD(x []float32) (float32, int)          { return 0, 0 }
