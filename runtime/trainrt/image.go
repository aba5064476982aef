package trainrt

import (
	"github.com/cnngen/cnngen/runtime/kernels"
)

// The layers computed image by image with the inference kernels (poolings, LRN, per-channel
// products, padding, softmax, concatenation), their gradients plane by plane or image by image.

// Pool is a max or average pooling of one image (kernels.Pool).
type Pool struct{ K kernels.Pool }

// AdaptivePool is an adaptive average pooling of one image.
type AdaptivePool struct{ K kernels.AdaptiveAvgPool }

// GlobalPool is a global average or max pooling of one image.
type GlobalPool struct{ K kernels.GlobalPool }

// LRN is a local response normalization of one image.
type LRN struct{ K kernels.LRN }

// Mul is an elementwise or per-channel (squeeze-and-excitation) product of one image.
type Mul struct{ K kernels.Mul }

// Affine is a per-channel x*Scale[c] + Shift[c] with constant values (torchvision's
// transform_input).
type Affine struct {
	C, HW        int
	Scale, Shift []float32
}

// Pad is a constant padding of one image.
type Pad struct{ K kernels.Pad }

// Softmax is a softmax or log-softmax within one image.
type Softmax struct{ K kernels.Softmax }

// Concat concatenates its inputs along channels: Sizes are their values per image.
type Concat struct {
	Sizes []int
	ins   [][]float32 // the call's inputs, kept here (a variadic argument kept by the task would escape)
	grads []Grad
}

// Scratch implements Layer: LRN's gradient needs two planes stacks a goroutine.
func (l *LRN) Scratch(int) (perThread, shared int) { return 2 * l.K.C * l.K.HW, 0 }

const (
	imgPool uint8 = iota
	imgPoolGrad
	imgAdaptive
	imgAdaptiveGrad
	imgGlobal
	imgGlobalGrad
	imgLRN
	imgLRNGrad
	imgMul
	imgMulGrad
	imgAffine
	imgAffineGrad
	imgPad
	imgPadGrad
	imgSoftmax
	imgSoftmaxGrad
	imgConcat
	imgConcatGrad
)

// planeTask runs an operation image by image (or plane by plane), split over images.
type planeTask struct {
	x       *Exec
	op      uint8
	l       any
	out, in []float32
	in2     []float32 // a product's second factor, the input of a max pooling's gradient
	dx, dx2 Grad
	dy      []float32
	ins     [][]float32 // a concatenation's inputs
	grads   []Grad
	ni, no  int // values per image in and out
	units   int // images, or planes for the poolings' gradients
}

func (x *Exec) images(t planeTask) {
	p := &x.tasks.planes
	*p = t
	p.x = x
	if p.units == 0 {
		p.units = x.N
	}
	x.run(p, p.units)
	*p = planeTask{}
}

// Pool computes the pooling of x.N images.
func (x *Exec) Pool(l *Pool, out, in []float32) {
	x.images(planeTask{op: imgPool, l: l, out: out, in: in, ni: l.K.C * l.K.InH * l.K.InW, no: l.K.C * l.K.OutH * l.K.OutW})
}

// PoolBackward puts the pooling's input gradient in dIn (in is the forward pass's input).
func (x *Exec) PoolBackward(l *Pool, dIn Grad, dOut, in []float32) {
	if dIn.Buf == nil {
		return
	}
	x.images(planeTask{op: imgPoolGrad, l: l, dx: dIn, dy: dOut, in2: in, ni: l.K.InH * l.K.InW, no: l.K.OutH * l.K.OutW, units: x.N * l.K.C})
}

// AdaptivePool computes the pooling of x.N images.
func (x *Exec) AdaptivePool(l *AdaptivePool, out, in []float32) {
	k := &l.K
	x.images(planeTask{op: imgAdaptive, l: l, out: out, in: in, ni: k.C * k.InH * k.InW, no: k.C * k.OutH * k.OutW})
}

// AdaptivePoolBackward puts the pooling's input gradient in dIn.
func (x *Exec) AdaptivePoolBackward(l *AdaptivePool, dIn Grad, dOut []float32) {
	if dIn.Buf == nil {
		return
	}
	k := &l.K
	x.images(planeTask{op: imgAdaptiveGrad, l: l, dx: dIn, dy: dOut, ni: k.InH * k.InW, no: k.OutH * k.OutW, units: x.N * k.C})
}

// GlobalPool computes the pooling of x.N images.
func (x *Exec) GlobalPool(l *GlobalPool, out, in []float32) {
	x.images(planeTask{op: imgGlobal, l: l, out: out, in: in, ni: l.K.C * l.K.HW, no: l.K.C})
}

// GlobalPoolBackward puts the pooling's input gradient in dIn (in is the forward pass's input).
func (x *Exec) GlobalPoolBackward(l *GlobalPool, dIn Grad, dOut, in []float32) {
	if dIn.Buf == nil {
		return
	}
	x.images(planeTask{op: imgGlobalGrad, l: l, dx: dIn, dy: dOut, in2: in, ni: l.K.HW, no: 1, units: x.N * l.K.C})
}

// LRN computes the normalization of x.N images.
func (x *Exec) LRN(l *LRN, out, in []float32) {
	n := l.K.C * l.K.HW
	x.images(planeTask{op: imgLRN, l: l, out: out, in: in, ni: n, no: n})
}

// LRNBackward puts the normalization's input gradient in dIn.
func (x *Exec) LRNBackward(l *LRN, dIn Grad, dOut, in []float32) {
	if dIn.Buf == nil {
		return
	}
	n := l.K.C * l.K.HW
	x.images(planeTask{op: imgLRNGrad, l: l, dx: dIn, dy: dOut, in2: in, ni: n, no: n})
}

// Mul computes out = a * s for x.N images (s per value, or per channel).
func (x *Exec) Mul(l *Mul, out, a, s []float32) {
	ns := l.K.C * l.K.HW
	if l.K.PerChannel {
		ns = l.K.C
	}
	x.images(planeTask{op: imgMul, l: l, out: out, in: a, in2: s, ni: l.K.C * l.K.HW, no: ns})
}

// MulBackward puts the product's gradients in dA (dOut * s) and dS (dOut * a, summed over each
// plane for a per-channel s). dA may be dOut itself.
func (x *Exec) MulBackward(l *Mul, dA, dS Grad, dOut, a, s []float32) {
	ns := l.K.C * l.K.HW
	if l.K.PerChannel {
		ns = l.K.C
	}
	x.images(planeTask{op: imgMulGrad, l: l, dx: dA, dx2: dS, dy: dOut, in: a, in2: s, ni: l.K.C * l.K.HW, no: ns})
}

// Affine computes the map of x.N images (out may be in).
func (x *Exec) Affine(l *Affine, out, in []float32) {
	x.images(planeTask{op: imgAffine, l: l, out: out, in: in, ni: l.C * l.HW, no: l.C * l.HW})
}

// AffineBackward puts dOut * Scale in dIn (which may be dOut).
func (x *Exec) AffineBackward(l *Affine, dIn Grad, dOut []float32) {
	if dIn.Buf == nil {
		return
	}
	x.images(planeTask{op: imgAffineGrad, l: l, dx: dIn, dy: dOut, ni: l.C * l.HW, no: l.C * l.HW})
}

// Pad computes the padding of x.N images.
func (x *Exec) Pad(l *Pad, out, in []float32) {
	k := &l.K
	x.images(planeTask{op: imgPad, l: l, out: out, in: in, ni: k.C * k.H * k.W, no: k.C * (k.H + k.Top + k.Bottom) * (k.W + k.Left + k.Right)})
}

// PadBackward puts the gradient of the copied values in dIn.
func (x *Exec) PadBackward(l *Pad, dIn Grad, dOut []float32) {
	if dIn.Buf == nil {
		return
	}
	k := &l.K
	x.images(planeTask{op: imgPadGrad, l: l, dx: dIn, dy: dOut, ni: k.C * k.H * k.W, no: k.C * (k.H + k.Top + k.Bottom) * (k.W + k.Left + k.Right)})
}

// Softmax computes the softmax of x.N images (out may be in).
func (x *Exec) Softmax(l *Softmax, out, in []float32) {
	n := l.K.Outer * l.K.Block * l.K.Inner
	x.images(planeTask{op: imgSoftmax, l: l, out: out, in: in, ni: n, no: n})
}

// SoftmaxBackward puts the softmax's input gradient in dIn (which may be dOut); out is its output.
func (x *Exec) SoftmaxBackward(l *Softmax, dIn Grad, dOut, out []float32) {
	if dIn.Buf == nil {
		return
	}
	n := l.K.Outer * l.K.Block * l.K.Inner
	x.images(planeTask{op: imgSoftmaxGrad, l: l, dx: dIn, dy: dOut, in2: out, ni: n, no: n})
}

// Concat copies each image's inputs one after another into out.
func (x *Exec) Concat(l *Concat, out []float32, in ...[]float32) {
	l.ins = append(l.ins[:0], in...)
	x.images(planeTask{op: imgConcat, l: l, out: out, ins: l.ins})
}

// ConcatBackward puts each input's slice of dOut in its gradient.
func (x *Exec) ConcatBackward(l *Concat, dOut []float32, dIn ...Grad) {
	l.grads = append(l.grads[:0], dIn...)
	x.images(planeTask{op: imgConcatGrad, l: l, dy: dOut, grads: l.grads})
}

func (t *planeTask) runPart(part, parts int) {
	u0, u1 := split(t.units, part, parts)
	if u0 >= u1 {
		return
	}
	ni, no := t.ni, t.no
	img := func(s []float32, size, b int) []float32 { return s[b*size : (b+1)*size] }
	var x []float32 // a max pooling's input (an average pooling's gradient reads none)
	if t.in2 != nil && (t.op == imgPoolGrad || t.op == imgGlobalGrad) {
		x = t.in2[u0*ni : u1*ni]
	}
	switch t.op {
	case imgPoolGrad:
		t.l.(*Pool).K.Backward(t.dx.Buf[u0*ni:u1*ni], t.dy[u0*no:u1*no], x, u1-u0, t.dx.Acc)
		return
	case imgAdaptiveGrad:
		t.l.(*AdaptivePool).K.Backward(t.dx.Buf[u0*ni:u1*ni], t.dy[u0*no:u1*no], u1-u0, t.dx.Acc)
		return
	case imgGlobalGrad:
		t.l.(*GlobalPool).K.Backward(t.dx.Buf[u0*ni:u1*ni], t.dy[u0*no:u1*no], x, u1-u0, t.dx.Acc)
		return
	}
	for b := u0; b < u1; b++ {
		switch t.op {
		case imgPool:
			t.l.(*Pool).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgAdaptive:
			t.l.(*AdaptivePool).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgGlobal:
			t.l.(*GlobalPool).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgLRN:
			t.l.(*LRN).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgLRNGrad:
			t.l.(*LRN).K.LRNBackward(img(t.dx.Buf, ni, b), img(t.dy, no, b), img(t.in2, ni, b), t.x.scratch[part], t.dx.Acc)
		case imgMul:
			t.l.(*Mul).K.Run(img(t.out, ni, b), img(t.in, ni, b), img(t.in2, no, b))
		case imgMulGrad:
			t.mulGrad(b)
		case imgAffine, imgAffineGrad:
			t.affine(b)
		case imgPad:
			t.l.(*Pad).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgPadGrad:
			t.padGrad(b)
		case imgSoftmax:
			t.l.(*Softmax).K.Run(img(t.out, no, b), img(t.in, ni, b))
		case imgSoftmaxGrad:
			acc := t.dx.Acc && !same(t.dx.Buf, t.dy)
			t.l.(*Softmax).K.Backward(img(t.dx.Buf, ni, b), img(t.dy, no, b), img(t.in2, no, b), acc)
		case imgConcat, imgConcatGrad:
			t.concat(b)
		}
	}
}

func (t *planeTask) mulGrad(b int) {
	k := &t.l.(*Mul).K
	size, ns := t.ni, t.no
	dy, a, s := t.dy[b*size:(b+1)*size], t.in[b*size:(b+1)*size], t.in2[b*ns:(b+1)*ns]
	// dA in place over dOut must come after dS, which reads dOut; otherwise dA first, as the
	// generated call acquired it first (mul(x, x): dS then adds to dA).
	if same(t.dx.Buf, t.dy) {
		t.mulGradS(k, b, dy, a)
		t.mulGradA(k, b, dy, s)
		return
	}
	t.mulGradA(k, b, dy, s)
	t.mulGradS(k, b, dy, a)
}

func (t *planeTask) mulGradS(k *kernels.Mul, b int, dy, a []float32) {
	ds := t.dx2.Buf
	if ds == nil {
		return
	}
	ns := t.no
	ds = ds[b*ns : (b+1)*ns]
	for c := range ns {
		var sum float32
		if k.PerChannel {
			g, x := dy[c*k.HW:(c+1)*k.HW], a[c*k.HW:(c+1)*k.HW]
			for i, v := range g {
				sum += v * x[i]
			}
		} else {
			sum = dy[c] * a[c]
		}
		if t.dx2.Acc {
			ds[c] += sum
		} else {
			ds[c] = sum
		}
	}
}

func (t *planeTask) mulGradA(k *kernels.Mul, b int, dy, s []float32) {
	da := t.dx.Buf
	if da == nil {
		return
	}
	size, ns := t.ni, t.no
	da = da[b*size : (b+1)*size]
	acc := t.dx.Acc && !same(t.dx.Buf, t.dy)
	for i, g := range dy {
		f := s[i%ns]
		if k.PerChannel {
			f = s[i/k.HW]
		}
		if acc {
			da[i] += g * f
		} else {
			da[i] = g * f
		}
	}
}

func (t *planeTask) affine(b int) {
	l := t.l.(*Affine)
	size := l.C * l.HW
	for c := range l.C {
		s, sh := l.Scale[c], l.Shift[c]
		lo, hi := b*size+c*l.HW, b*size+(c+1)*l.HW
		if t.op == imgAffine {
			in, out := t.in[lo:hi], t.out[lo:hi]
			for i, v := range in {
				out[i] = v*s + sh
			}
			continue
		}
		dy, dx := t.dy[lo:hi], t.dx.Buf[lo:hi]
		acc := t.dx.Acc && !same(t.dx.Buf, t.dy)
		for i, g := range dy {
			if acc {
				dx[i] += g * s
			} else {
				dx[i] = g * s
			}
		}
	}
}

func (t *planeTask) padGrad(b int) {
	k := &t.l.(*Pad).K
	oh, ow := k.H+k.Top+k.Bottom, k.W+k.Left+k.Right
	dy, dx := t.dy[b*t.no:(b+1)*t.no], t.dx.Buf[b*t.ni:(b+1)*t.ni]
	for c := range k.C {
		for y := range k.H {
			src := dy[c*oh*ow+(y+k.Top)*ow+k.Left:][:k.W]
			dst := dx[c*k.H*k.W+y*k.W:][:k.W]
			for i, g := range src {
				if t.dx.Acc {
					dst[i] += g
				} else {
					dst[i] = g
				}
			}
		}
	}
}

func (t *planeTask) concat(b int) {
	l := t.l.(*Concat)
	total := 0
	for _, s := range l.Sizes {
		total += s
	}
	off := b * total
	for i, s := range l.Sizes {
		if t.op == imgConcat {
			copy(t.out[off:off+s], t.ins[i][b*s:(b+1)*s])
		} else if d := t.grads[i]; d.Buf != nil {
			dst, src := d.Buf[b*s:(b+1)*s], t.dy[off:off+s]
			if d.Acc {
				kernels.Add{}.Run(dst, dst, src)
			} else {
				copy(dst, src)
			}
		}
		off += s
	}
}
