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

// LinearSplitRows is the granularity at which RunRows gives Run's results bit for bit: ranges
// that start and end at multiples of it (or at Out) keep a vectorized activation's tails where
// Run has them.
const LinearSplitRows = 16

// RunRows computes the outputs [o0, o1) of Run: out[o0:o1] = act(W[o0:o1] in + b[o0:o1]), leaving
// the rest of out alone, so that the rows can be split among goroutines. Each output's sum is
// computed by the same operations whatever the range, so the results are those of Run bit for
// bit (provided the activation is computed element by element alike, as ReLU always is; split at
// multiples of LinearSplitRows to keep a vectorized activation's tails in place too).
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
	k := kern()
	o := o0
	for ; o+4 <= o1; o += 4 {
		k.gemv4(w.w[o*n:(o+4)*n], n, x, out[o:o+4])
		for r := o; r < o+4; r++ {
			out[r] += w.bias[r]
		}
	}
	for ; o < o1; o++ {
		k.gemv1(w.w[o*n:(o+1)*n], n, x, out[o:o+1])
		out[o] += w.bias[o]
	}
	apply(l.Act, out[o0:o1])
}
