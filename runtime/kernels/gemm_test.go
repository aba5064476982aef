package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// gemmSizes covers the tails of the blocking: 1..~70 with the MR/NR multiples, their neighbours
// and primes.
var gemmSizes = []int{1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 23, 31, 32, 33, 47, 61, 64, 67, 70}

func TestSgemmSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, m := range gemmSizes {
			for _, n := range gemmSizes {
				for _, k := range gemmSizes {
					if (m*7+n*3+k)%3 != 0 && m > 8 && n > 8 && k > 8 {
						continue // thin out the big cube; every small size and tail is still covered
					}
					testSgemm(t, rng, m, n, k, k, n, n)
				}
			}
		}
	})
}

// TestSgemmBlocks crosses the KC, MC and NC block boundaries and uses padded leading dimensions.
func TestSgemmBlocks(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		sh := activeImpl().gemmShape
		gemmMC, gemmKC, gemmNC, gemmNR := max(sh.mc, 7*sh.mr), sh.kc, sh.nc, sh.nr
		for _, s := range [][3]int{
			{gemmMC + 1, 5, gemmKC + 1},
			{2*gemmMC + 3, 9, 2*gemmKC + 7},
			{3, gemmNC + 5, 17},
			{gemmMC - 1, gemmNC + gemmNR + 1, gemmKC - 1},
			{33, 2*gemmNC + 3, gemmKC + 3},
			{1, 1, 3*gemmKC + 1},
		} {
			m, n, k := s[0], s[1], s[2]
			testSgemm(t, rng, m, n, k, k, n, n)
			testSgemm(t, rng, m, n, k, k+3, n+5, n+1)
		}
	})
}

func testSgemm(t *testing.T, rng *rand.Rand, m, n, k, lda, ldb, ldc int) {
	t.Helper()
	name := fmt.Sprintf("Sgemm(m=%d n=%d k=%d lda=%d ldb=%d ldc=%d)", m, n, k, lda, ldb, ldc)
	aBuf, a := randGuarded(rng, (m-1)*lda+k)
	bBuf, b := randGuarded(rng, (k-1)*ldb+n)
	cBuf, c := randGuarded(rng, (m-1)*ldc+n)
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	want, mag := refGemm(m, n, k, a, lda, b, ldb, c, ldc)
	c0 := append([]float32(nil), c...)
	Sgemm(m, n, k, a, lda, b, ldb, c, ldc)
	got := make([]float32, 0, m*n)
	for i := range m {
		got = append(got, c[i*ldc:i*ldc+n]...)
		for j := n; j < ldc && i < m-1; j++ { // the gaps between rows of C are not C
			if c[i*ldc+j] != c0[i*ldc+j] {
				t.Errorf("%s: wrote C[%d][%d] outside the matrix", name, i, j)
			}
		}
	}
	checkClose(t, name, got, want, mag, k)
	checkGuards(t, name+" C", cBuf)
	checkGuards(t, name+" A", aBuf)
	checkGuards(t, name+" B", bBuf)
	for i := range a {
		if a[i] != a0[i] {
			t.Fatalf("%s: modified A", name)
		}
	}
	for i := range b {
		if b[i] != b0[i] {
			t.Fatalf("%s: modified B", name)
		}
	}
}

func TestSgemmEmpty(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		c := []float32{1, 2, 3}
		Sgemm(1, 3, 0, nil, 1, nil, 3, c, 3)
		Sgemm(0, 3, 5, nil, 5, make([]float32, 15), 3, nil, 3)
		if c[0] != 1 || c[1] != 2 || c[2] != 3 {
			t.Errorf("k=0 changed C: %v", c)
		}
	})
}
