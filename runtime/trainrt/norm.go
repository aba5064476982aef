package trainrt

import (
	"fmt"
	"math"

	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
)

// BatchNorm is a batch norm over C channels of HW values (HW = 1 for BatchNorm1d on [C]), with an
// activation (one whose derivative its output gives) and a residual added before it, fused:
// out = act(bn(in) + res). In training it normalizes by the batch's statistics and updates the
// running ones as torch does (momentum, unbiased variance, num_batches_tracked); in evaluation
// it uses the running ones. Count is nil when the layer's tensor names do not follow torch's
// (prefix.weight, ...), so that there is no num_batches_tracked to save.
type BatchNorm struct {
	C, HW        int
	Eps          float64
	Act          kernels.Act
	Weight, Bias *train.Param
	Mean, Var    *train.Buffer
	Count        *train.Counter
	mean, varSum []float32 // the batch's statistics
	invStd       []float32
	scale, shift []float32 // the affine map they fold to
}

// Scratch implements Layer.
func (l *BatchNorm) Scratch(int) (perThread, shared int) { return 0, 0 }

// Trainable reports whether a parameter of the layer trains.
func (l *BatchNorm) Trainable() bool { return !l.Weight.Frozen || !l.Bias.Frozen }

// BatchNorm computes the layer's output for x.N images (res nil for no residual; out may be in
// or res).
func (x *Exec) BatchNorm(l *BatchNorm, out, in, res []float32) {
	if l.mean == nil {
		c := l.C
		buf := make([]float32, 5*c)
		l.mean, l.varSum, l.invStd, l.scale, l.shift = buf[:c], buf[c:2*c], buf[2*c:3*c], buf[3*c:4*c], buf[4*c:]
	}
	n := x.N
	t := &x.tasks.bn
	gamma, beta := l.Weight.Value, l.Bias.Value
	if x.Training {
		count := n * l.HW
		if count < 2 {
			// torch refuses too: the unbiased variance of one value is undefined.
			panic(fmt.Sprintf("trainrt: batch norm %s in training needs more than one value per channel, got %d", l.Weight.Name, count))
		}
		*t = bnTask{op: bnStats, l: l, x: in, n: n}
		x.run(t, l.C)
		for c := range l.C {
			inv := 1 / math.Sqrt(float64(l.varSum[c])/float64(count)+l.Eps)
			l.invStd[c] = float32(inv)
			l.scale[c] = float32(float64(gamma[c]) * inv)
			l.shift[c] = float32(float64(beta[c]) - float64(l.mean[c])*float64(gamma[c])*inv)
		}
		train.UpdateRunningStats(l.Mean.Value, l.Var.Value, l.mean, l.varSum, count, x.momentum())
		if l.Count != nil {
			l.Count.Value++
		}
	} else {
		for c := range l.C {
			inv := 1 / math.Sqrt(float64(l.Var.Value[c])+l.Eps)
			l.scale[c] = float32(float64(gamma[c]) * inv)
			l.shift[c] = float32(float64(beta[c]) - float64(l.Mean.Value[c])*float64(gamma[c])*inv)
		}
	}
	*t = bnTask{op: bnApply, l: l, x: in, out: out, res: res, n: n}
	x.run(t, l.C)
	*t = bnTask{}
}

// BatchNormBackward computes the layer's gradients from dOut (overwritten with the gradient
// before the fused activation): gamma's and beta's (unless frozen), the residual's into dRes and
// the input's into dIn (which may be dOut: computed in place).
func (x *Exec) BatchNormBackward(l *BatchNorm, dIn, dRes Grad, dOut, in, out []float32) {
	if l.Act != kernels.ActNone {
		x.ActGradInPlace(l.Act, dOut, out)
	}
	x.GradCopy(dRes, dOut)
	t := &x.tasks.bn
	*t = bnTask{op: bnBackward, l: l, x: in, dy: dOut, dx: dIn, n: x.N}
	x.run(t, l.C)
	*t = bnTask{}
}

const (
	bnStats uint8 = iota
	bnApply
	bnBackward
)

type bnTask struct {
	op          uint8
	l           *BatchNorm
	x, out, res []float32
	dy          []float32
	dx          Grad
	n           int
}

func (t *bnTask) runPart(part, parts int) {
	l := t.l
	c0, c1 := split(l.C, part, parts)
	switch t.op {
	case bnStats:
		kernels.BNStats(l.mean, l.varSum, t.x, l.C, l.HW, t.n, c0, c1)
	case bnApply:
		kernels.BNApply(t.out, t.x, t.res, l.scale, l.shift, l.Act, l.C, l.HW, t.n, c0, c1)
	case bnBackward:
		var dg, db []float32
		if !l.Weight.Frozen {
			dg = l.Weight.Grad
		}
		if !l.Bias.Frozen {
			db = l.Bias.Grad
		}
		kernels.BNBackward(t.dx.Buf, dg, db, t.dy, t.x, l.mean, l.invStd, l.Weight.Value, l.C, l.HW, t.n, c0, c1, t.dx.Acc && !same(t.dx.Buf, t.dy))
	}
}
