//go:build !purego

package kernels

// gemvSIMD sets sums[r] to the dot product of row r of w (leading dimension ld) with x over its
// first n columns, for the 1 or 4 rows of sums, and returns n: the columns covered by whole
// double vectors of the active level (0 at Generic). The caller adds the other columns.
func gemvSIMD(w []float32, ld int, x []float32, sums []float32) int {
	vl := vecLen()
	if vl == 0 {
		return 0
	}
	n := len(x) &^ (2*vl - 1)
	if n == 0 {
		return 0
	}
	rows := len(sums)
	_ = w[(rows-1)*ld+n-1]
	switch {
	case rows == 4 && vl == 16:
		gemv4AVX512(&w[0], ld, &x[0], n, &sums[0])
	case rows == 4:
		gemv4AVX2(&w[0], ld, &x[0], n, &sums[0])
	case rows == 1 && vl == 16:
		gemv1AVX512(&w[0], ld, &x[0], n, &sums[0])
	case rows == 1:
		gemv1AVX2(&w[0], ld, &x[0], n, &sums[0])
	default:
		panic("kernels: gemvSIMD: bad row count")
	}
	return n
}
