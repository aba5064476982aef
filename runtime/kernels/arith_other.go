//go:build purego || !amd64

package kernels

// Builds without assembly compute every element of Add, ChannelAffine and the stride-2 gather
// in Go.

func addSIMD(dst, a, b []float32) int                   { return 0 }
func affineSIMD(dst, src []float32, s, b float32) int   { return 0 }
func evenSIMD(dst, src []float32) int                   { return 0 }
func scaleChSIMD(c, hw int, dst, src, s []float32) bool { return false }
