package kernels

import (
	"fmt"
	"math"
)

// Reduce reduces blocks of Block values spaced Inner apart, Outer*Inner of them, of a row-major
// tensor (as Softmax addresses them): the sum of each block, or with Mean its mean, with Max its
// maximum (NaN wins), with L2 the square root of its sum of squares. out[o*Inner+i] is the
// reduction of in[(o*Block+b)*Inner+i] over b.
type Reduce struct {
	Outer, Block, Inner int
	Mean, Max, L2       bool
}

// Run reduces in into out, which must not overlap it.
func (r Reduce) Run(out, in []float32) {
	n, m := r.Outer*r.Block*r.Inner, r.Outer*r.Inner
	if len(in) < n || len(out) < m {
		panic(fmt.Sprintf("kernels: Reduce: slice too short: in %d/%d out %d/%d", len(in), n, len(out), m))
	}
	if r.Block == 0 {
		return
	}
	for o := range r.Outer {
		src := in[o*r.Block*r.Inner : (o+1)*r.Block*r.Inner]
		dst := out[o*r.Inner : (o+1)*r.Inner]
		if r.Inner == 1 {
			dst[0] = r.block(src)
			continue
		}
		// Block rows of Inner values: accumulate them row by row, so that the reads are
		// contiguous, then finish each column.
		copy(dst, src[:r.Inner])
		if r.L2 {
			for i, v := range dst {
				dst[i] = v * v
			}
		}
		for b := 1; b < r.Block; b++ {
			row := src[b*r.Inner : (b+1)*r.Inner]
			switch {
			case r.Max:
				for i, v := range row {
					if v > dst[i] || v != v {
						dst[i] = v
					}
				}
			case r.L2:
				for i, v := range row {
					dst[i] += v * v
				}
			default:
				for i, v := range row {
					dst[i] += v
				}
			}
		}
		r.finish(dst)
	}
}

// block reduces one contiguous block.
func (r Reduce) block(s []float32) float32 {
	if r.Max {
		m := float32(math.Inf(-1))
		for _, v := range s {
			if v > m || v != v {
				m = v
			}
		}
		return m
	}
	// Four partial sums: shorter dependency chains and less rounding drift on long blocks.
	var a [4]float32
	i := 0
	for ; i+3 < len(s); i += 4 {
		if r.L2 {
			a[0] += s[i] * s[i]
			a[1] += s[i+1] * s[i+1]
			a[2] += s[i+2] * s[i+2]
			a[3] += s[i+3] * s[i+3]
		} else {
			a[0] += s[i]
			a[1] += s[i+1]
			a[2] += s[i+2]
			a[3] += s[i+3]
		}
	}
	for ; i < len(s); i++ {
		if r.L2 {
			a[0] += s[i] * s[i]
		} else {
			a[0] += s[i]
		}
	}
	v := [1]float32{(a[0] + a[1]) + (a[2] + a[3])}
	r.finish(v[:])
	return v[0]
}

// finish turns sums into means or norms.
func (r Reduce) finish(s []float32) {
	switch {
	case r.Mean:
		n := float32(r.Block)
		for i := range s {
			s[i] /= n
		}
	case r.L2:
		for i, v := range s {
			s[i] = float32(math.Sqrt(float64(v)))
		}
	}
}
