//go:build purego || !amd64

package kernels

// dwPlaneSIMD: no assembly in this build; dwPlaneGo computes the plane.
func dwPlaneSIMD(k, s int, dst, src, w []float32, bias float32, rows, cols, ld, ldd int) bool {
	return false
}

// dwPadSIMD: no assembly in this build; Go copies the rows.
func dwPadSIMD(dst, src []float32, rows, cols, ldd int) bool { return false }
