package kernels

import "fmt"

// Linear is a fully connected layer on one image: out = act(W in + b), as nn.Linear.
type Linear struct {
	In, Out int
	Act     Act
}

// LinearWeights are a Linear's weights and bias packed for its kernel.
type LinearWeights struct {
	lin  Linear
	w    []float32 // [Out][In]
	bias []float32 // Out
}

// Validate reports whether the shape is usable.
func (l *Linear) Validate() error {
	if l.In <= 0 || l.Out <= 0 || !l.Act.Epilogue() {
		return fmt.Errorf("kernels: linear %v: sizes must be positive and the activation one an epilogue can apply", *l)
	}
	return nil
}

// Pack validates l and packs w [Out, In] (PyTorch's layout) and bias (length Out, or nil for
// zeros). The result does not alias w or bias.
func (l *Linear) Pack(w, bias []float32) (*LinearWeights, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if len(w) != l.In*l.Out {
		return nil, fmt.Errorf("kernels: linear %v: weights have %d values, want %d", *l, len(w), l.In*l.Out)
	}
	if bias != nil && len(bias) != l.Out {
		return nil, fmt.Errorf("kernels: linear %v: bias has %d values, want %d", *l, len(bias), l.Out)
	}
	lw := &LinearWeights{lin: *l, w: allocPacked(l.Out * l.In), bias: make([]float32, l.Out)}
	copy(lw.w, w)
	copy(lw.bias, bias)
	return lw, nil
}

// Run computes out[0:Out] = act(W in[0:In] + b). out must not overlap in. Run does not allocate.
func (l *Linear) Run(out, in []float32, w *LinearWeights) {
	l.RunRows(0, l.Out, out, in, w)
}

// RunRows computes the outputs [o0, o1) of Run: out[o0:o1] = act(W[o0:o1] in + b[o0:o1]), leaving
// the rest of out alone, so that the rows can be split among goroutines. Each output's sum is
// computed by the same operations whatever the range, so the results are those of Run bit for
// bit (provided the activation is computed element by element alike, as ReLU always is; split at
// multiples of 16 rows to keep a vectorized activation's tails in place too).
//
// The matrix streams from memory once: four rows at a time, each with its own accumulators,
// share each load of in.
func (l *Linear) RunRows(o0, o1 int, out, in []float32, w *LinearWeights) {
	if w == nil || w.lin != *l {
		panic("kernels: Linear.RunRows: weights were packed for a different Linear")
	}
	if len(in) < l.In || len(out) < l.Out {
		panic(fmt.Sprintf("kernels: Linear.RunRows: slice too short: in %d/%d out %d/%d", len(in), l.In, len(out), l.Out))
	}
	if o0 < 0 || o0 > o1 || o1 > l.Out {
		panic(fmt.Sprintf("kernels: Linear.RunRows: rows [%d, %d) outside [0, %d)", o0, o1, l.Out))
	}
	n := l.In
	x := in[:n]
	var sums [4]float32
	o := o0
	for ; o+4 <= o1; o += 4 {
		dotRows(w.w[o*n:(o+4)*n], n, x, sums[:4])
		for r, s := range sums {
			out[o+r] = s + w.bias[o+r]
		}
	}
	for ; o < o1; o++ {
		dotRows(w.w[o*n:(o+1)*n], n, x, sums[:1])
		out[o] = sums[0] + w.bias[o]
	}
	apply(l.Act, out[o0:o1])
}

// dotRows sets sums[r] to the dot product of row r of w (len(sums) rows of ld floats) with x:
// the SIMD kernel over the columns it covers and Go after them, or Go throughout.
func dotRows(w []float32, ld int, x, sums []float32) {
	i := gemvSIMD(w, ld, x, sums)
	if i == 0 {
		dotRowsGo(w, ld, x, sums)
		return
	}
	for r := range sums {
		row := w[r*ld+i : r*ld+len(x)]
		s := sums[r]
		for j, v := range x[i:] {
			s += row[j] * v
		}
		sums[r] = s
	}
}

// dotRowsGo is dotRows in Go for 4 rows or 1. Each row sums its even and its odd columns
// separately (eight independent add chains for four rows), the same way for 4 rows and for 1.
func dotRowsGo(w []float32, ld int, x, sums []float32) {
	if len(sums) == 1 {
		r0 := w[:len(x)]
		var s0, t0 float32
		i := 0
		for ; i+1 < len(x); i += 2 {
			s0 += r0[i] * x[i]
			t0 += r0[i+1] * x[i+1]
		}
		if i < len(x) {
			s0 += r0[i] * x[i]
		}
		sums[0] = s0 + t0
		return
	}
	r0, r1, r2, r3 := w[:len(x)], w[ld:ld+len(x)], w[2*ld:2*ld+len(x)], w[3*ld:3*ld+len(x)]
	var s0, s1, s2, s3, t0, t1, t2, t3 float32
	i := 0
	for ; i+1 < len(x); i += 2 {
		x0, x1 := x[i], x[i+1]
		s0 += r0[i] * x0
		s1 += r1[i] * x0
		s2 += r2[i] * x0
		s3 += r3[i] * x0
		t0 += r0[i+1] * x1
		t1 += r1[i+1] * x1
		t2 += r2[i+1] * x1
		t3 += r3[i+1] * x1
	}
	if i < len(x) {
		x0 := x[i]
		s0 += r0[i] * x0
		s1 += r1[i] * x0
		s2 += r2[i] * x0
		s3 += r3[i] * x0
	}
	sums[0], sums[1], sums[2], sums[3] = s0+t0, s1+t1, s2+t2, s3+t3
}
