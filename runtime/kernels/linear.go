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
	w    []float32 // [Out][In], rows padded with zeros to a multiple of 4
	bias []float32 // Out
}

// Validate reports whether the shape is usable.
func (l *Linear) Validate() error {
	if l.In <= 0 || l.Out <= 0 || !l.Act.valid() {
		return fmt.Errorf("kernels: linear %v: sizes must be positive and the activation valid", *l)
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
	lw := &LinearWeights{lin: *l, w: make([]float32, roundUp(l.Out, 4)*l.In), bias: make([]float32, l.Out)}
	copy(lw.w, w)
	copy(lw.bias, bias)
	return lw, nil
}

// Run computes out[0:Out] = act(W in[0:In] + b). out must not overlap in. Run does not allocate.
func (l *Linear) Run(in, out []float32, w *LinearWeights) {
	if w == nil || w.lin != *l {
		panic("kernels: Linear.Run: weights were packed for a different Linear")
	}
	if len(in) < l.In || len(out) < l.Out {
		panic(fmt.Sprintf("kernels: Linear.Run: slice too short: in %d/%d out %d/%d", len(in), l.In, len(out), l.Out))
	}
	n := l.In
	x := in[:n]
	out = out[:l.Out]
	// Four rows at a time, each with two accumulators (even and odd columns): eight independent
	// add chains and one load of x per four multiplies. The matrix streams from memory once.
	for o := 0; o < l.Out; o += 4 {
		r0 := w.w[o*n : (o+1)*n]
		r1 := w.w[(o+1)*n : (o+2)*n]
		r2 := w.w[(o+2)*n : (o+3)*n]
		r3 := w.w[(o+3)*n : (o+4)*n]
		r0, r1, r2, r3 = r0[:len(x)], r1[:len(x)], r2[:len(x)], r3[:len(x)]
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
		sums := [4]float32{s0 + t0, s1 + t1, s2 + t2, s3 + t3}
		for r := 0; r < 4 && o+r < l.Out; r++ {
			out[o+r] = sums[r] + w.bias[o+r]
		}
	}
	Apply(l.Act, out)
}
