package trainrt

import (
	"fmt"

	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
)

// Conv is a convolution layer: K is one image's convolution (K.Act the activation fused into it,
// one whose derivative its output gives), W its weights [OutC][InC/Groups][KH][KW] and B its
// bias (nil without).
type Conv struct {
	K    kernels.Conv
	W, B *train.Param

	fwd    *kernels.ConvWeights // W and B packed for the forward kernel
	fwdVer uint64
	bwdVer uint64
	tconv  kernels.Conv         // the input gradient's convolution (stride 1), or zero
	tw     *kernels.ConvWeights // its weights
	flip   []float32
	gw     []kernels.PackedB // strided: each group's W' for InputGradImage
}

// panelCols is the column granularity of GEMM parts: a multiple of every level's NR.
const panelCols = 32

func (l *Conv) depthwise() bool { return l.K.Groups == l.K.InC && l.K.OutC == l.K.InC }

func (l *Conv) sizes() (in, out int) {
	return l.K.InC * l.K.InH * l.K.InW, l.K.OutC * l.K.OutH * l.K.OutW
}

// Scratch implements Layer: the kernels' scratch per goroutine; the channels-last input and
// output gradient of a batch and a group's weight gradient, shared.
func (l *Conv) Scratch(batch int) (perThread, shared int) {
	in, out := l.sizes()
	perThread = max(l.K.ScratchLen(), kernels.GemmScratchLen(), l.K.InputGradScratchLen())
	if l.K.DirectWeightGrad() {
		perThread = max(perThread, l.K.WeightGradDirectScratchLen())
	}
	if t, ok := l.K.TransposedConv(); ok {
		perThread = max(perThread, t.ScratchLen())
	}
	shared = batch*(in+out) + l.K.OutC/l.K.Groups*l.K.GradTaps()
	return perThread, shared
}

// Trainable reports whether a parameter of the layer trains.
func (l *Conv) Trainable() bool { return !l.W.Frozen || l.B != nil && !l.B.Frozen }

func (l *Conv) bias() []float32 {
	if l.B == nil {
		return nil
	}
	return l.B.Value
}

// Conv computes the layer's output for x.N images: out = act(conv(in) + bias).
func (x *Exec) Conv(l *Conv, out, in []float32) {
	if l.fwd == nil || l.fwdVer != x.Version {
		w, err := l.K.PackInto(l.fwd, l.W.Value, l.bias())
		if err != nil {
			panic(fmt.Sprintf("trainrt: %s: %v", l.W.Name, err))
		}
		l.fwd, l.fwdVer = w, x.Version
	}
	t := &x.tasks.conv
	*t = convTask{x: x, l: l, out: out, in: in}
	x.run(t, x.N)
	*t = convTask{}
}

type convTask struct {
	x       *Exec
	l       *Conv
	out, in []float32
	dx, dy  []float32
	acc     bool
	back    bool // the input gradient
}

func (t *convTask) runPart(part, parts int) {
	l := t.l
	ni, no := l.sizes()
	b0, b1 := split(t.x.N, part, parts)
	s := t.x.scratch[part]
	for b := b0; b < b1; b++ {
		switch {
		case !t.back:
			l.K.Run(t.out[b*no:(b+1)*no], t.in[b*ni:(b+1)*ni], l.fwd, nil, s)
		case l.tw != nil:
			var res []float32
			dx := t.dx[b*ni : (b+1)*ni]
			if t.acc {
				res = dx // the kernel adds its result to the gradient already there
			}
			l.tconv.Run(dx, t.dy[b*no:(b+1)*no], l.tw, res, s)
		default:
			l.K.InputGradImage(t.dx[b*ni:(b+1)*ni], t.dy[b*no:(b+1)*no], l.gw, t.acc, s)
		}
	}
}

// ConvBackward computes the layer's gradients from dOut, the gradient of its output (which it
// overwrites with the gradient before the fused activation): its parameters' gradients (unless
// frozen) and, into dIn, its input's. in and out are the forward pass's input and output.
func (x *Exec) ConvBackward(l *Conv, dIn Grad, dOut, in, out []float32) {
	if l.K.Act != kernels.ActNone {
		x.ActGradInPlace(l.K.Act, dOut, out)
	}
	ni, no := l.sizes()
	n := x.N
	k := &l.K
	if l.B != nil && !l.B.Frozen {
		kernels.BiasGrad(l.B.Grad, dOut, k.OutC, k.OutH*k.OutW, n, false)
	}
	if !l.W.Frozen {
		if l.depthwise() && k.KH*k.KW <= 49 {
			t := &x.tasks.dw
			*t = dwTask{l: l, dw: l.W.Grad, dy: dOut, x: in, n: n}
			x.run(t, k.InC)
			*t = dwTask{}
		} else if k.DirectWeightGrad() {
			t := &x.tasks.direct
			*t = directTask{x: x, l: l, dy: dOut, in: in}
			x.run(t, k.WeightGradDirectBlocks())
			*t = directTask{}
		} else {
			x.convWeightGrad(l, dOut, in, ni, no)
		}
	}
	if dIn.Buf == nil {
		return
	}
	if l.bwdVer != x.Version || l.tw == nil && l.gw == nil {
		l.packBackward()
		l.bwdVer = x.Version
	}
	if l.tw == nil && l.depthwise() && k.KH*k.KW <= 49 {
		t := &x.tasks.dw
		*t = dwTask{l: l, dx: dIn.Buf, dy: dOut, x: in, w: l.W.Value, n: n, acc: dIn.Acc}
		x.run(t, k.InC)
		*t = dwTask{}
		return
	}
	t := &x.tasks.conv
	*t = convTask{x: x, l: l, dx: dIn.Buf, dy: dOut, acc: dIn.Acc, back: true}
	x.run(t, n)
	*t = convTask{}
}

// packBackward packs the weights the input gradient runs on: the flipped kernel of the
// transposed convolution, or each group's W' for the GEMM (the depthwise loops read W).
func (l *Conv) packBackward() {
	if tc, ok := l.K.TransposedConv(); ok {
		if l.flip == nil {
			l.flip = make([]float32, len(l.W.Value))
		}
		l.tconv = tc
		l.K.FlipWeights(l.flip, l.W.Value)
		w, err := tc.PackInto(l.tw, l.flip, nil)
		if err != nil {
			panic(fmt.Sprintf("trainrt: %s: %v", l.W.Name, err))
		}
		l.tw = w
		return
	}
	if l.depthwise() && l.K.KH*l.K.KW <= 49 {
		return
	}
	if l.gw == nil {
		l.gw = make([]kernels.PackedB, l.K.Groups)
		l.flip = make([]float32, len(l.W.Value)/l.K.Groups)
	}
	for g := range l.K.Groups {
		l.K.PackInputGradWeights(&l.gw[g], l.W.Value, l.flip, g)
	}
}

// convWeightGrad computes W's gradient through the channels-last transposes and the GEMM.
func (x *Exec) convWeightGrad(l *Conv, dOut, in []float32, ni, no int) {
	k := &l.K
	n := x.N
	xt := x.shared[:n*ni]
	dyt := x.shared[n*ni : n*(ni+no)]
	og, kt := k.OutC/k.Groups, k.GradTaps()
	dwp := x.shared[n*(ni+no) : n*(ni+no)+og*kt]
	tr := &x.tasks.transpose
	*tr = transposeTask{n: n, src: [2][]float32{in, dOut}, dst: [2][]float32{xt, dyt}, c: [2]int{k.InC, k.OutC}, hw: [2]int{k.InH * k.InW, k.OutH * k.OutW}}
	x.run(tr, n)
	*tr = transposeTask{}
	t := &x.tasks.wgrad
	for g := range k.Groups {
		*t = wgradTask{x: x, l: l, g: g, dwp: dwp, dyt: dyt, xt: xt}
		x.run(t, (kt+panelCols-1)/panelCols)
		t.permute = true
		x.run(t, k.OutC/k.Groups)
	}
	*t = wgradTask{}
}

type transposeTask struct {
	n        int
	src, dst [2][]float32
	c, hw    [2]int
}

func (t *transposeTask) runPart(part, parts int) {
	b0, b1 := split(t.n, part, parts)
	for i := range 2 {
		size := t.c[i] * t.hw[i]
		for b := b0; b < b1; b++ {
			kernels.ToChannelsLast(t.dst[i][b*size:(b+1)*size], t.src[i][b*size:(b+1)*size], t.c[i], t.hw[i])
		}
	}
}

type wgradTask struct {
	x            *Exec
	l            *Conv
	g            int
	dwp, dyt, xt []float32
	// permute: into the weights' order (PermuteWeightGrad), split by output channels.
	permute bool
}

func (t *wgradTask) runPart(part, parts int) {
	if t.permute {
		o0, o1 := split(t.l.K.OutC/t.l.K.Groups, part, parts)
		t.l.K.PermuteWeightGradRange(t.l.W.Grad, t.dwp, t.g, false, o0, o1)
		return
	}
	kt := t.l.K.GradTaps()
	p0, p1 := split((kt+panelCols-1)/panelCols, part, parts)
	j0, j1 := min(kt, p0*panelCols), min(kt, p1*panelCols)
	if j0 < j1 {
		t.l.K.WeightGradGemm(t.g, t.dwp, t.dyt, t.xt, t.x.N, j0, j1, t.x.scratch[part])
	}
}

// directTask is a few-channel stride-1 layer's weight gradient without im2col, split by blocks
// of output channels (kernels.Conv.WeightGradDirect).
type directTask struct {
	x      *Exec
	l      *Conv
	dy, in []float32
}

func (t *directTask) runPart(part, parts int) {
	b0, b1 := split(t.l.K.WeightGradDirectBlocks(), part, parts)
	t.l.K.WeightGradDirect(t.l.W.Grad, t.dy, t.in, t.x.N, b0, b1, t.x.scratch[part])
}

type dwTask struct {
	l             *Conv
	dw, dx, dy, x []float32
	w             []float32
	n             int
	acc           bool
}

func (t *dwTask) runPart(part, parts int) {
	c0, c1 := split(t.l.K.InC, part, parts)
	t.l.K.DepthwiseGrad(c0, c1, t.dw, t.dx, t.dy, t.x, t.w, t.n, t.acc)
}

// Repack packs the convolutions among ls for the kernels after an update of the parameters
// (Exec.Version moved), forward and, for a layer that has computed an input gradient before,
// backward: what their first use in the next step would otherwise do one layer at a time on one
// goroutine (a tenth of ResNet-18's step: Winograd transforms, flipped kernels), split here
// over the threads by layers of about equal weight counts. One thread leaves it to that first
// use.
func (x *Exec) Repack(ls []Weighted) {
	if x.threads <= 1 {
		return
	}
	t := &x.tasks.repack
	*t = repackTask{x: x, ls: ls}
	x.run(t, x.threads)
	*t = repackTask{}
}

type repackTask struct {
	x  *Exec
	ls []Weighted
}

// runPart packs the layers whose first weight lies in the part's share of all of them.
func (t *repackTask) runPart(part, parts int) {
	total := 0
	for _, w := range t.ls {
		if l, ok := w.(*Conv); ok {
			total += len(l.W.Value)
		}
	}
	lo, hi := split(total, part, parts)
	at := 0
	for _, w := range t.ls {
		l, ok := w.(*Conv)
		if !ok {
			continue
		}
		start := at
		at += len(l.W.Value)
		if start < lo || start >= hi {
			continue
		}
		if l.fwdVer != t.x.Version || l.fwd == nil {
			p, err := l.K.PackInto(l.fwd, l.W.Value, l.bias())
			if err != nil {
				panic(fmt.Sprintf("trainrt: %s: %v", l.W.Name, err))
			}
			l.fwd, l.fwdVer = p, t.x.Version
		}
		if (l.tw != nil || l.gw != nil) && l.bwdVer != t.x.Version {
			l.packBackward()
			l.bwdVer = t.x.Version
		}
	}
}
