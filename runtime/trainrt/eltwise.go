package trainrt

import (
	"math"

	"github.com/cnngen/cnngen/internal/splitmix"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
)

// tasks are the Exec's tasks, one of each kind: a layer fills one, splits it, and clears it.
type tasks struct {
	conv      convTask
	dw        dwTask
	transpose transposeTask
	wgrad     wgradTask
	direct    directTask
	gemm      gemmTask
	elt       eltTask
	bn        bnTask
	planes    planeTask
	ext       extTask
	repack    repackTask
}

// extTask is a train.Task run by the Exec's workers (Exec.Run).
type extTask struct{ t train.Task }

func (e *extTask) runPart(part, parts int) { e.t.RunPart(part, parts) }

// eltChunk is the granularity of elementwise parts: 64-byte lines of 16 values, whole.
const eltChunk = 16

// eltTask is an elementwise operation over n values split in ranges.
type eltTask struct {
	op            uint8
	act           kernels.Act
	alpha, beta   float32
	dst, a, b     []float32
	acc           bool
	scale         float32
	seed          uint64
	p             float64
	n             int
	dropoutOffset int
}

const (
	eltAct     uint8 = iota // dst = act(a)
	eltActGrad              // dst = b * act'(a) (or +=)
	eltAdd                  // dst = a + b
	eltCopy                 // dst = a (or +=)
	eltDropout              // dst = a * mask / (1 - p)
	eltDropoutGrad
	eltErf     // dst = erf(a)
	eltErfGrad // dst = b * 2/sqrt(pi) * exp(-a^2) (or +=)
)

func (t *eltTask) runPart(part, parts int) {
	c0, c1 := split((t.n+eltChunk-1)/eltChunk, part, parts)
	i0, i1 := min(t.n, c0*eltChunk), min(t.n, c1*eltChunk)
	if i0 >= i1 {
		return
	}
	dst := t.dst[i0:i1]
	switch t.op {
	case eltAct:
		kernels.Eltwise{Act: t.act, Alpha: t.alpha, Beta: t.beta}.Run(dst, t.a[i0:i1])
	case eltActGrad:
		kernels.ActGrad(t.act, t.alpha, t.beta, dst, t.b[i0:i1], t.a[i0:i1], t.acc)
	case eltAdd:
		kernels.Add{}.Run(dst, t.a[i0:i1], t.b[i0:i1])
	case eltCopy:
		if t.acc {
			kernels.Add{}.Run(dst, dst, t.a[i0:i1])
		} else {
			copy(dst, t.a[i0:i1])
		}
	case eltErf:
		kernels.Erf{}.Run(dst, t.a[i0:i1])
	case eltErfGrad:
		erfGrad(dst, t.b[i0:i1], t.a[i0:i1], t.acc)
	case eltDropout, eltDropoutGrad:
		dropout(dst, t.a[i0:i1], t.seed, t.p, t.scale, i0, t.op == eltDropoutGrad && t.acc)
	}
}

func (x *Exec) elementwise(t eltTask) {
	e := &x.tasks.elt
	*e = t
	x.run(e, (t.n+eltChunk-1)/eltChunk)
	*e = eltTask{}
}

// ActGradInPlace replaces dy by dy * act'(y), y the activation's output: the gradient before an
// activation fused into the layer that produced y (one ActGradFromOutput accepts).
func (x *Exec) ActGradInPlace(act kernels.Act, dy, y []float32) {
	x.elementwise(eltTask{op: eltActGrad, act: act, dst: dy, a: y, b: dy, n: len(dy)})
}

// Act is an elementwise activation layer with Eltwise's parameters.
type Act struct {
	Act         kernels.Act
	Alpha, Beta float32
}

// Act computes out = act(in) (out may be in).
func (x *Exec) Act(l *Act, out, in []float32) {
	x.elementwise(eltTask{op: eltAct, act: l.Act, alpha: l.Alpha, beta: l.Beta, dst: out, a: in, n: len(out)})
}

// ActBackward puts dOut * act'(v) in dIn, v the activation's output or input as
// kernels.ActGradFromOutput says (dIn may be dOut itself: in place).
func (x *Exec) ActBackward(l *Act, dIn Grad, dOut, in, out []float32) {
	if dIn.Buf == nil {
		return
	}
	v := in
	if kernels.ActGradFromOutput(l.Act) {
		v = out
	}
	x.elementwise(eltTask{op: eltActGrad, act: l.Act, alpha: l.Alpha, beta: l.Beta, dst: dIn.Buf, a: v, b: dOut, n: len(dOut), acc: dIn.Acc && !same(dIn.Buf, dOut)})
}

// Dropout is a dropout layer: in training each value of the batch is kept with probability 1-P
// (and scaled by 1/(1-P)) by a mask seeded from the layer's Name and the step's Seed, as
// interp.DropoutKeep draws it; in evaluation it is the identity.
type Dropout struct {
	Name string
	P    float64
}

// Dropout computes out = in * mask / (1-P), or out = in in evaluation (out may be in).
func (x *Exec) Dropout(l *Dropout, out, in []float32) {
	if !x.Training {
		if !same(out, in) {
			copy(out, in)
		}
		return
	}
	x.elementwise(eltTask{op: eltDropout, dst: out, a: in, n: len(out), seed: dropoutSeed(l.Name, x.Seed), p: l.P, scale: dropScale(l.P)})
}

// DropoutBackward puts dOut times the step's mask / (1-P) in dIn (which may be dOut).
func (x *Exec) DropoutBackward(l *Dropout, dIn Grad, dOut []float32) {
	if dIn.Buf == nil {
		return
	}
	x.elementwise(eltTask{op: eltDropoutGrad, dst: dIn.Buf, a: dOut, n: len(dOut), seed: dropoutSeed(l.Name, x.Seed), p: l.P, scale: dropScale(l.P), acc: dIn.Acc && !same(dIn.Buf, dOut)})
}

func dropScale(p float64) float32 {
	if p >= 1 {
		return 0
	}
	return float32(1 / (1 - p))
}

// dropoutSeed is interp.DropoutKeep's hash of name+"@"+decimal(seed) (FNV-1a), without
// building the string.
func dropoutSeed(name string, seed uint64) uint64 {
	h := uint64(0xcbf29ce484222325)
	add := func(c byte) {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	for i := 0; i < len(name); i++ {
		add(name[i])
	}
	add('@')
	var digits [20]byte
	k := len(digits)
	for {
		k--
		digits[k] = byte('0' + seed%10)
		if seed /= 10; seed == 0 {
			break
		}
	}
	for _, c := range digits[k:] {
		add(c)
	}
	return h
}

// dropout sets dst[i] = a[i]*scale where value i0+i is kept, else 0 (adds with acc).
func dropout(dst, a []float32, seed uint64, p float64, scale float32, i0 int, acc bool) {
	a = a[:len(dst)]
	for i, v := range a {
		var r float32
		if splitmix.Uniform(seed, i0+i) >= p {
			r = v * scale
		}
		if acc {
			dst[i] += r
		} else {
			dst[i] = r
		}
	}
}

// Add computes out = in[0] + in[1] + ... (out may be in[0]).
func (x *Exec) Add(out []float32, in ...[]float32) {
	x.elementwise(eltTask{op: eltAdd, dst: out, a: in[0], b: in[1], n: len(out)})
	for _, b := range in[2:] {
		x.elementwise(eltTask{op: eltAdd, dst: out, a: out, b: b, n: len(out)})
	}
}

// AddBackward gives each input the output's gradient (skipping one whose gradient is dOut
// itself: the planner's in-place share).
func (x *Exec) AddBackward(dOut []float32, dIn ...Grad) {
	for _, d := range dIn {
		x.GradCopy(d, dOut)
	}
}

// GradCopy puts g in d: copied, or added when d.Acc; nothing when d is g itself or not needed.
func (x *Exec) GradCopy(d Grad, g []float32) {
	if d.Buf == nil || same(d.Buf, g) {
		return
	}
	x.elementwise(eltTask{op: eltCopy, dst: d.Buf, a: g, n: len(g), acc: d.Acc})
}

// Erf is the error function, elementwise (torch.erf).
type Erf struct{}

// Erf computes out = erf(in) (out may be in).
func (x *Exec) Erf(l *Erf, out, in []float32) {
	x.elementwise(eltTask{op: eltErf, dst: out, a: in, n: len(out)})
}

// ErfBackward puts dOut * 2/sqrt(pi) * exp(-in^2) in dIn.
func (x *Exec) ErfBackward(l *Erf, dIn Grad, dOut, in []float32) {
	if dIn.Buf == nil {
		return
	}
	x.elementwise(eltTask{op: eltErfGrad, dst: dIn.Buf, a: in, b: dOut, n: len(dOut), acc: dIn.Acc && !same(dIn.Buf, dOut)})
}

func erfGrad(dst, dy, x []float32, acc bool) {
	const k = 2 / 1.7724538509055159 // 2/sqrt(pi)
	for i, v := range x[:len(dst)] {
		g := dy[i] * float32(k*math.Exp(-float64(v)*float64(v)))
		if acc {
			dst[i] += g
		} else {
			dst[i] = g
		}
	}
}
