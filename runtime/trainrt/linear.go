package trainrt

import (
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
)

// Linear is a fully connected layer over a batch, generalized as ONNX's Gemm:
// out = act(Alpha * in W^T + Beta * b), W stored [Out][In], or [In][Out] with TransW; Act is an
// activation whose derivative its output gives. The batch's products are GEMMs: the forward
// pass multiplies the batch by W packed once per update.
type Linear struct {
	In, Out     int
	Act         kernels.Act
	Alpha, Beta float32
	TransW      bool
	W, B        *train.Param

	wp  kernels.PackedB // W^T as the forward product's B
	ver uint64
	set bool
}

// Scratch implements Layer.
func (l *Linear) Scratch(int) (perThread, shared int) { return kernels.GemmScratchLen(), 0 }

// Trainable reports whether a parameter of the layer trains.
func (l *Linear) Trainable() bool { return !l.W.Frozen || l.B != nil && !l.B.Frozen }

// wT is W^T (In x Out) as a GEMM operand.
func (l *Linear) wT() kernels.Matrix {
	if l.TransW {
		return kernels.Matrix{Data: l.W.Value, Ld: l.Out}
	}
	return kernels.Matrix{Data: l.W.Value, Ld: l.In, Trans: true}
}

// Linear computes the layer's output for x.N images.
func (x *Exec) Linear(l *Linear, out, in []float32) {
	if !l.set || l.ver != x.Version {
		l.wp.Pack(l.In, l.Out, l.wT())
		l.ver, l.set = x.Version, true
	}
	n := x.N
	x.gemm(gemmTask{m: n, n: l.Out, k: l.In, a: kernels.Matrix{Data: in, Ld: l.In}, pb: &l.wp, c: out, ldc: l.Out})
	alpha, beta := l.Alpha, l.Beta
	for r := range n {
		row := out[r*l.Out : (r+1)*l.Out]
		if alpha != 1 {
			for i := range row {
				row[i] *= alpha
			}
		}
		if l.B != nil {
			for i, b := range l.B.Value {
				row[i] += beta * b
			}
		}
	}
	if l.Act != kernels.ActNone {
		x.Act(&Act{Act: l.Act}, out, out)
	}
}

// LinearBackward computes the layer's gradients from dOut (overwritten with the gradient before
// the fused activation): dW = Alpha dOut^T in (transposed with TransW), db = Beta sum dOut,
// dIn = Alpha dOut W.
func (x *Exec) LinearBackward(l *Linear, dIn Grad, dOut, in, out []float32) {
	if l.Act != kernels.ActNone {
		x.ActGradInPlace(l.Act, dOut, out)
	}
	n := x.N
	dy := kernels.Matrix{Data: dOut, Ld: l.Out}
	xs := kernels.Matrix{Data: in, Ld: l.In}
	if !l.W.Frozen {
		if l.TransW { // dW [In][Out] = X^T dY
			x.gemm(gemmTask{m: l.In, n: l.Out, k: n, a: kernels.Matrix{Data: in, Ld: l.In, Trans: true}, b: dy, c: l.W.Grad, ldc: l.Out})
		} else { // dW [Out][In] = dY^T X
			x.gemm(gemmTask{m: l.Out, n: l.In, k: n, a: kernels.Matrix{Data: dOut, Ld: l.Out, Trans: true}, b: xs, c: l.W.Grad, ldc: l.In})
		}
		scale(l.W.Grad, l.Alpha)
	}
	if l.B != nil && !l.B.Frozen {
		db := l.B.Grad
		clear(db)
		for r := range n {
			for i, g := range dOut[r*l.Out : (r+1)*l.Out] {
				db[i] += g
			}
		}
		scale(db, l.Beta)
	}
	if dIn.Buf == nil {
		return
	}
	w := kernels.Matrix{Data: l.W.Value, Ld: l.In}
	if l.TransW {
		w = kernels.Matrix{Data: l.W.Value, Ld: l.Out, Trans: true}
	}
	// Alpha scales the product, not what dIn may hold already: dOut (read by nothing after
	// this) takes it.
	scale(dOut, l.Alpha)
	x.gemm(gemmTask{m: n, n: l.In, k: l.Out, a: dy, b: w, c: dIn.Buf, ldc: l.In, acc: dIn.Acc})
}

func scale(v []float32, s float32) {
	if s == 1 {
		return
	}
	for i := range v {
		v[i] *= s
	}
}

// gemmTask is a product split by column panels.
type gemmTask struct {
	x       *Exec
	m, n, k int
	a, b    kernels.Matrix
	pb      *kernels.PackedB
	c       []float32
	ldc     int
	acc     bool
}

func (x *Exec) gemm(t gemmTask) {
	g := &x.tasks.gemm
	*g = t
	g.x = x
	x.run(g, (t.n+panelCols-1)/panelCols)
	*g = gemmTask{}
}

func (t *gemmTask) runPart(part, parts int) {
	p0, p1 := split((t.n+panelCols-1)/panelCols, part, parts)
	j0, j1 := min(t.n, p0*panelCols), min(t.n, p1*panelCols)
	if j0 >= j1 {
		return
	}
	s := t.x.scratch[part]
	if t.pb != nil {
		kernels.GemmPackedB(t.m, t.n, t.k, t.a, t.pb, t.c, t.ldc, t.acc, j0, j1, s)
		return
	}
	kernels.Gemm(t.m, t.n, t.k, t.a, t.b, t.c, t.ldc, t.acc, j0, j1, s)
}
