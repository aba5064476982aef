package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The checks of TestKernelTwins for the blocked kernels (NCHW16c).

// checkConv16c checks a level's direct blocked kernel against its twin over every pixel and
// block count of its tile, one and two input blocks with a partial last one, kernels of 0 to 2
// rows and 1 or 3 columns, strides with gaps, and every epilogue.
func checkConv16c(t *testing.T, rng *rand.Rand, ks *kernelSet, _, _ any) {
	im, tw := ks.conv16c, conv16cTwins[ks.isa]
	if im.p != tw.p || im.f != tw.f {
		t.Fatalf("%v: twin's tiles %v x %d, kernel's %v x %d", ks.isa, tw.p, tw.f, im.p, im.f)
	}
	for _, flags := range epiFlagSets {
		for _, shape := range [][4]int{{1, 1, 1, 16}, {2, 1, 3, 5}, {1, 2, 3, 1}, {2, 0, 1, 16}, {1, 1, 1, 7}} {
			icb, kh, kw, cl := shape[0], shape[1], shape[2], shape[3]
			for nf := 1; nf <= im.f; nf++ {
				for n := 1; n <= im.p[nf]; n++ {
					ldp, ldk := 16*(1+n%2), 16*(1+nf%2) // stride or dilation 2 on some
					ldr := ldk*kw + ldp*n + 16*3
					ldcb := ldr*max(kh, 1) + 16*5
					ldwc := kh*kw*256 + 256
					ldf := icb*ldwc + 64
					ldo := n*16 + 16*(nf%3)
					src := (icb-1)*ldcb + max(kh-1, 0)*ldr + (kw-1)*ldk + (n-1)*ldp + 16
					wl := (nf-1)*ldf + (icb-1)*ldwc + kh*kw*256
					dl := (nf-1)*ldo + n*16
					off := (n + nf) % 16
					c4 := func(int) float32 { return rng.Float32()*8 - 4 }
					ops := []operand{newOp(dl, off, c4), newOp(src, (off+3)%16, uniform(rng, false)),
						newOp(wl, (off+5)%16, uniform(rng, false)), newOp(nf*16, off, c4), newOp(dl, (off+9)%16, c4)}
					sum := sumTol(icb*kh*kw*16 + 2)
					tol := func(k, i int, w float32, mag [][]float32) float64 {
						if i%ldo >= n*16 {
							return 0 // the gaps between the blocks' rows
						}
						return sum(k, i, w, mag)
					}
					name := fmt.Sprintf("flags=%b shape=%v %dx%d", flags, shape, n, nf)
					compare(t, name, ops, []int{0}, tol, true, func(f any, s [][]float32) {
						f.(conv16cTile)(s[0], s[1], s[2], n, nf, icb, kh, kw, cl, ldp, ldk, ldr, ldcb, ldf, ldwc, ldo, flags, s[3], s[4])
					}, im.tile, tw.tile)
				}
			}
		}
	}
}

// checkDW16c checks a level's depthwise blocked kernel against its twin over every pixel count
// of its tile, kernels of 0 to 3 rows and 1, 3 or 5 columns, strides and every epilogue.
func checkDW16c(t *testing.T, rng *rand.Rand, ks *kernelSet, _, _ any) {
	im, tw := ks.dw16c, dw16cTwins[ks.isa]
	if im.p != tw.p {
		t.Fatalf("%v: twin's tile %d, kernel's %d", ks.isa, tw.p, im.p)
	}
	for _, flags := range epiFlagSets {
		flags |= epiInit
		for _, shape := range [][2]int{{3, 3}, {1, 5}, {0, 3}, {2, 1}} {
			kh, kw := shape[0], shape[1]
			for n := 1; n <= im.p; n++ {
				ldp, ldk := 16*(1+n%2), 16
				ldr := ldk*kw + ldp*n + 16
				src := max(kh-1, 0)*ldr + (kw-1)*ldk + (n-1)*ldp + 16
				off := n % 16
				c4 := func(int) float32 { return rng.Float32()*8 - 4 }
				ops := []operand{newOp(n*16, off, c4), newOp(src, (off+3)%16, uniform(rng, false)),
					newOp(kh*kw*16, (off+5)%16, uniform(rng, false)), newOp(16, off, c4), newOp(n*16, (off+9)%16, c4)}
				name := fmt.Sprintf("flags=%b shape=%v n=%d", flags, shape, n)
				compare(t, name, ops, []int{0}, sumTol(kh*kw+2), true, func(f any, s [][]float32) {
					f.(dw16cTile)(s[0], s[1], s[2], n, kh, kw, ldp, ldk, ldr, flags, s[3], s[4])
				}, im.tile, tw.tile)
			}
		}
	}
}

// checkPool16c checks a blocked pooling kernel (max, or avg with a divisor) over pixel counts
// across a few vectors, window shapes, strides and NaNs.
func checkPool16c(avg bool) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for _, shape := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {1, 7}, {3, 1}} {
			kh, kw := shape[0], shape[1]
			for n := 1; n <= 20; n++ {
				for _, s := range []int{1, 2, 0} {
					ldp := 16 * s
					ldr := 16*(kw+ldp/16*n) + 16*3
					src := (kh-1)*ldr + (kw-1)*16 + (n-1)*ldp + 16
					off := n % 16
					ops := []operand{newOp(n*16, off, uniform(rng, true)), newOp(src, (off+3)%16, uniform(rng, true))}
					name := fmt.Sprintf("%dx%d n=%d ldp=%d", kh, kw, n, ldp)
					if !avg {
						compare(t, name, ops, []int{0}, exact, false, func(f any, v [][]float32) {
							f.(func(dst, src []float32, n, kh, kw, ldp, ldr int))(v[0], v[1], n, kh, kw, ldp, ldr)
						}, simd, twin)
						continue
					}
					div := float32(kh*kw - n%2)
					compare(t, name, ops, []int{0}, exact, false, func(f any, v [][]float32) {
						f.(func(dst, src []float32, n, kh, kw, ldp, ldr int, div float32))(v[0], v[1], n, kh, kw, ldp, ldr, div)
					}, simd, twin)
				}
			}
		}
	}
}

func checkVMulAdd16c(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, false)), newOp(n, (off+7)%16, uniform(rng, false)),
				newOp(16, off, uniform(rng, false)), newOp(16, (off+1)%16, uniform(rng, false))}
			// One fused rounding against two: within 4 roundings of |src*s| + |b|.
			tol := func(_, i int, _ float32, _ [][]float32) float64 {
				return 4 * u * (math.Abs(float64(ops[1].v[i]*ops[2].v[i%16])) + math.Abs(float64(ops[3].v[i%16])))
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, tol, false,
				func(f any, s [][]float32) { f.(func(dst, src, s, b []float32))(s[0], s[1], s[2], s[3]) }, simd, twin)
		}
	}
}

func checkVMul16c(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range lengths(ks) {
		for _, off := range offsets {
			ops := []operand{newOp(n, off, uniform(rng, true)), newOp(n, (off+7)%16, uniform(rng, true)), newOp(16, off, uniform(rng, true))}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, exact, false,
				func(f any, s [][]float32) { f.(func(dst, src, s []float32))(s[0], s[1], s[2]) }, simd, twin)
			// Products around the smallest normal, 2^-126, both signs: the flush to +0.
			tiny := func(int) float32 {
				return float32(math.Ldexp(rng.Float64()+0.5, -60-rng.IntN(10))) * float32(1-2*rng.IntN(2))
			}
			ops = []operand{newOp(n, off, uniform(rng, true)), newOp(n, (off+3)%16, tiny), newOp(16, off, tiny)}
			compare(t, fmt.Sprintf("tiny n=%d off=%d", n, off), ops, []int{0}, exact, false,
				func(f any, s [][]float32) { f.(func(dst, src, s []float32))(s[0], s[1], s[2]) }, simd, twin)
		}
	}
}

// checkReorder16c checks a reorder kernel over channel counts 0 to 16 and pixel counts across a
// few vectors.
func checkReorder16c(to bool) twinCheck {
	return func(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
		for c := 0; c <= 16; c++ {
			for _, hw := range []int{0, 1, 5, 8, 15, 16, 17, 33, 49} {
				off := (c + hw) % 16
				planes, blk := newOp(c*hw, off, uniform(rng, true)), newOp(16*hw, (off+5)%16, uniform(rng, true))
				ops := []operand{blk, planes}
				if !to {
					ops = []operand{planes, blk}
				}
				compare(t, fmt.Sprintf("c=%d hw=%d", c, hw), ops, []int{0}, exact, false, func(f any, s [][]float32) {
					f.(func(dst, src []float32, c, hw int))(s[0], s[1], c, hw)
				}, simd, twin)
			}
		}
	}
}

// checkWinoIn16c checks the blocked Winograd input transform over runs of tiles, with gaps
// between the rows and the positions: the same operations in the same order, so exactly.
func checkWinoIn16c(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for n := 1; n <= 5; n++ {
		ldr, ldd := (4*n+2)*16+16*3, n*16+16*2
		ops := []operand{newOp(35*ldd+n*16, n%16, uniform(rng, false)), newOp(5*ldr+(4*n+2)*16, (n+5)%16, uniform(rng, false))}
		compare(t, fmt.Sprintf("n=%d", n), ops, []int{0}, exact, false, func(f any, s [][]float32) {
			f.(func(dst, src []float32, n, ldr, ldd int))(s[0], s[1], n, ldr, ldd)
		}, simd, twin)
	}
}

// checkWinoOut16c checks the blocked Winograd output transform with every epilogue.
func checkWinoOut16c(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, flags := range []uint{0, epiRes, epiReLU, epiReLU6, epiRes | epiReLU, epiRes | epiReLU6} {
		for n := 1; n <= 5; n++ {
			ss, ldd := n*16+16*2, 4*n*16+16*3
			c4 := func(int) float32 { return rng.Float32()*16 - 8 }
			ops := []operand{newOp(3*ldd+4*n*16, n%16, c4), newOp(35*ss+n*16, (n+5)%16, c4),
				newOp(16, n, c4), newOp(3*ldd+4*n*16, (n+9)%16, c4)}
			tol := func(k, i int, w float32, mag [][]float32) float64 {
				return 0
			}
			compare(t, fmt.Sprintf("flags=%b n=%d", flags, n), ops, []int{0}, tol, false, func(f any, s [][]float32) {
				f.(func(dst, src []float32, n, ss, ldd int, flags uint, bias, res []float32))(s[0], s[1], n, ss, ldd, flags, s[2], s[3])
			}, simd, twin)
		}
	}
}

// checkLRNSqSum16c checks LRN's blocked sums of squares over windows and valid lane counts.
func checkLRNSqSum16c(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, w := range [][2]int{{2, 5}, {0, 1}, {1, 3}, {16, 17}, {0, 16}, {3, 4}} {
		lo, size := w[0], w[1]
		for _, cnt := range [][3]int{{0, 16, 16}, {16, 16, 0}, {16, 5, 0}, {0, 3, 0}, {16, 16, 7}} {
			for _, n := range []int{1, 2, 7} {
				ops := []operand{newOp(16*n, n, uniform(rng, true))}
				for b := range 3 {
					ops = append(ops, newOp(16*n, (n+3*b)%16, uniform(rng, false)))
				}
				compare(t, fmt.Sprintf("lo=%d size=%d counts=%v n=%d", lo, size, cnt, n), ops, []int{0}, exact, false, func(f any, s [][]float32) {
					f.(func(dst, prev, cur, next []float32, n, lo, size, np, nc, nn int))(s[0], s[1], s[2], s[3], n, lo, size, cnt[0], cnt[1], cnt[2])
				}, simd, twin)
			}
		}
	}
}
