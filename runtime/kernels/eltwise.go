package kernels

import "fmt"

// The elementwise and per-channel operations, each a settings struct whose Run method takes the
// destination first, as copy does.

// Eltwise applies an activation to every value: out[i] = Act(in[i]). Alpha and Beta are the
// parameters of the activations that take some: ActClip clamps to [Alpha, Beta];
// ActHardSigmoid computes max(0, min(1, Alpha*x + Beta)), and for Alpha = 1/6, Beta = 0.5
// (PyTorch's nn.Hardsigmoid) exactly what a Conv's epilogue computes, relu6(x+3)/6, so that a
// fused and an unfused activation agree (the zero value, Alpha = Beta = 0, gives 0). The other
// activations ignore them.
type Eltwise struct {
	Act         Act
	Alpha, Beta float32
}

// Run computes out = Act(in) over len(out) values. out may be in (not otherwise overlap it).
// NaN stays NaN.
func (e Eltwise) Run(out, in []float32) {
	if len(in) < len(out) {
		panic(fmt.Sprintf("kernels: Eltwise: slice too short: out %d in %d", len(out), len(in)))
	}
	in = in[:len(out)]
	switch {
	case e.Act == ActClip:
		lo, hi := e.Alpha, e.Beta
		for i, v := range in {
			out[i] = min(max(v, lo), hi)
		}
		return
	case e.Act == ActHardSigmoid && !(e.Alpha == float32(1.0/6) && e.Beta == 0.5):
		a, b := e.Alpha, e.Beta
		for i, v := range in {
			out[i] = max(0, min(1, float32(a*v)+b)) // the conversion keeps the product unfused
		}
		return
	case !e.Act.Epilogue():
		panic("kernels: Eltwise: invalid activation " + e.Act.String())
	}
	if len(out) > 0 && &out[0] != &in[0] {
		copy(out, in)
	}
	apply(e.Act, out)
}

// Affine computes out[ch][i] = Act(in[ch][i]*scale[ch] + shift[ch]) for C planes of HW values
// (a standalone batch norm, GoogLeNet's transform_input). Act must be an epilogue activation.
type Affine struct {
	C, HW  int
	Act    Act
	Layout Layout
}

// Run computes the affine map of in into out; out may be in.
func (f Affine) Run(out, in, scale, shift []float32) {
	if f.Layout == NCHW16c {
		f.run16c(out, in, scale, shift)
		return
	}
	mustLayout("affine", f.Layout, true)
	c, hw := f.C, f.HW
	if len(in) < c*hw || len(out) < c*hw || len(scale) < c || len(shift) < c {
		panic("kernels: Affine: slice too short")
	}
	k := kern()
	for ch := range c {
		dst := out[ch*hw : (ch+1)*hw]
		k.vmulAddC(dst, in[ch*hw:(ch+1)*hw], scale[ch], shift[ch])
		apply(f.Act, dst)
	}
}

// Add computes out = Act(a + b) elementwise. Act must be an epilogue activation.
type Add struct {
	Act Act
}

// Run computes the sum over len(out) values; out may be a or b.
func (d Add) Run(out, a, b []float32) {
	if len(a) < len(out) || len(b) < len(out) {
		panic(fmt.Sprintf("kernels: Add: slice too short: out %d a %d b %d", len(out), len(a), len(b)))
	}
	// In chunks, so that the activation finds each in cache.
	for c := 0; c < len(out); c += addChunk {
		o := out[c:min(c+addChunk, len(out))]
		addRows(o, a[c:], b[c:])
		apply(d.Act, o)
	}
}

// Mul computes out = x * s for C planes of HW values: elementwise (s as long as x), or with
// PerChannel each plane by its channel's factor, out[ch][i] = x[ch][i] * s[ch] (squeeze and
// excitation; on NCHW16c, products below float32's normal range become +0: see f32VMul16cGo).
type Mul struct {
	C, HW      int
	PerChannel bool
	Layout     Layout
}

// Run computes the product; out may be x (or, elementwise, s).
func (m Mul) Run(out, x, s []float32) { m.RunPart(0, 1, out, x, s) }

// RunPart computes part of parts of the product, as Run would (each value is independent): on
// NCHW16c the blocks of SplitBlocks, on NCHW channels [C*part/parts, C*(part+1)/parts).
func (m Mul) RunPart(part, parts int, out, x, s []float32) {
	if parts < 1 || part < 0 || part >= parts {
		panic(fmt.Sprintf("kernels: Mul.RunPart: part %d of %d", part, parts))
	}
	if m.Layout == NCHW16c {
		b0, b1 := SplitBlocks(m.C, part, parts)
		m.run16c(b0, b1, out, x, s)
		return
	}
	mustLayout("mul", m.Layout, true)
	c, hw := m.C, m.HW
	ns := c * hw
	if m.PerChannel {
		ns = c
	}
	if len(x) < c*hw || len(out) < c*hw || len(s) < ns {
		panic(fmt.Sprintf("kernels: Mul: slice too short: out %d x %d s %d for %d x %d", len(out), len(x), len(s), c, hw))
	}
	c0, c1 := c*part/parts, c*(part+1)/parts
	if !m.PerChannel {
		x, s = x[:c*hw], s[:c*hw]
		for i := c0 * hw; i < c1*hw; i++ {
			out[i] = x[i] * s[i]
		}
		return
	}
	if hw == 0 {
		return
	}
	// mulChunk values a call at most: tens of microseconds, so the goroutine stays preemptible.
	f := kern().vmulChannels
	step := max(1, mulChunk/hw)
	for ch := c0; ch < c1; ch += step {
		ce := min(c1, ch+step)
		f(out[ch*hw:ce*hw], x[ch*hw:ce*hw], s[ch:ce], hw)
	}
}

// mulChunk is about the most values one call of Mul's per-channel kernel scales (64K: 0.25 MiB
// in, as much out, some tens of microseconds).
const mulChunk = 1 << 16

// Pad surrounds each of C planes of H x W values with Top rows above, Bottom below, Left
// columns before and Right after, all Value: out is [C][H+Top+Bottom][W+Left+Right].
type Pad struct {
	C, H, W, Top, Left, Bottom, Right int
	Value                             float32
	Layout                            Layout
}

// Run pads in into out, which must not overlap it.
func (p Pad) Run(out, in []float32) {
	if p.Layout == NCHW16c {
		p.run16c(out, in)
		return
	}
	mustLayout("pad", p.Layout, true)
	c, h, w := p.C, p.H, p.W
	oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
	if len(in) < c*h*w || len(out) < c*oh*ow {
		panic("kernels: Pad: slice too short")
	}
	out = out[:c*oh*ow]
	for i := range out {
		out[i] = p.Value
	}
	for ch := range c {
		for y := range h {
			copy(out[ch*oh*ow+(y+p.Top)*ow+p.Left:][:w], in[ch*h*w+y*w:][:w])
		}
	}
}

// addRows sets dst[i] = a[i] + b[i] for i < len(dst); dst may be a or b.
func addRows(dst, a, b []float32) { kern().vadd(dst, a[:len(dst)], b[:len(dst)]) }

// addChunk is how many values Add sums before applying the activation to them: 4096 floats,
// 16 KiB of output, still in L1 (32-48 KiB) when the activation reads it back.
const addChunk = 4096
