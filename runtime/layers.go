package runtime

import (
	"unsafe"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// Region is where a tensor of one image lies in the arena, in float32s.
type Region struct{ Off, Len int }

// At is the arena's n float32s from off: a tensor of the planned layout. Its capacity ends with
// it, so no kernel can write past the tensor by appending.
func (a *Arena) At(off, n int) []float32 { return a.Buf[off : off+n : off+n] }

// Region is the arena slice r.
func (a *Arena) Region(r Region) []float32 { return a.At(r.Off, r.Len) }

// The layer methods below are what generated layer functions call: one per kernel settings type,
// destination first. Those whose layers can be large split them over the call's workers when it
// has several (exactly: results do not depend on the split); the others run the kernel directly.

// Layers smaller than these stay on one thread: handing them out costs more than it saves.
// On an idle machine a split of two parts takes about its slower part plus the hand-off (a few
// us with the workers polling): splitting the layers above these bounds took ResNet-50 from 52.2
// to 35.3 ms (2026-11-27) and from 42.7 to 24.2 ms (2026-12-04) on two threads.
//
// BenchmarkSplit, 2026-12-05 (commit after 0f5fbc9), this 2-core VM at load 5.1-5.6 (an ONNX
// sweep and another engineer's runs: a part waits for a core, so every split lost in wall time,
// 1.5-15x). Its part-us, the thread CPU time of the slower part, is the split's cost on an idle
// machine less the hand-off; one part -> the slower of two, us:
//
//	convolutions     0.6M MACs 7.4 -> 6.4, 0.8M 8.9 -> 6.0, 1.8M 19-22 -> 13-15, 3.2M 34 -> 20
//	                 ResNet-50's 3x3 (116M) 490 -> 276 at 28x28, 696 -> 366 at 14x14, 1367 -> 792
//	                 at 7x7; its 1x1 (51M) 600 -> 298 at 14x14, 628-656 -> 317-328 at 7x7
//	                 (Winograd 3x3 64->64 at 14x14, 7.2M: 39 -> 42: one tile band and one channel
//	                 group, which runWino16c gives whole to one part)
//	depthwise        0.85M MACs 44 -> 28, 1.2M 54 -> 27, 1.4M 49 -> 27, 4.1M 220 -> 130
//	global pooling   56K values 2.3 -> 5, 94K 4.5 -> 6.6, 188K 11 -> 8, 452K 31 -> 19
//	SE scale (Mul)   56K 4.5 -> 6.5, 94K 7.3 -> 7.6, 188K 14 -> 11, 452K 37 -> 35
//	linear           262K weights 7.8 -> 4.6, 512K 26 -> 12, 1.28M 177 -> 68
//	max pooling      113K reads 5 -> 7, 367K 20 -> 13, 452K 18 -> 14, 1.36M 49 -> 27
//	input reorder    3x224x224 to NCHW16c (802K values written) 131 -> 77-82
//
// So a split pays from ~1.5-2M MACs of a convolution, ~0.25M of a depthwise one (15-25 us), 0.25M
// values of a per-channel layer or written by a reorder, ~0.4M weights of a linear layer and 0.25M
// pool reads, where the saving exceeds the hand-off. Re-measure idle (wall time) before moving
// them further; Profile.CPU gives the same estimate for a whole network (per layer, the slower
// part's CPU time).
const (
	minParallelMACs    = 2 << 20
	minParallelReads   = 256 << 10 // pool inputs read (window reads)
	minParallelDWMACs  = 256 << 10 // depthwise convolutions: memory bound, ~0.05-0.1 ns a MAC
	minParallelValues  = 256 << 10 // per-channel layers' values (global pooling, SE scale), reorders' output
	minParallelWeights = 384 << 10 // a linear layer's weights, streamed once at batch 1
)

// Conv runs one convolution of the image, split over the shared workers when the call has several
// threads and the layer is large enough.
func (a *Arena) Conv(c *kernels.Conv, out, in []float32, w *kernels.ConvWeights, residual []float32) {
	macs := c.OutC * c.OutH * c.OutW * (c.InC / max(c.Groups, 1)) * c.KH * c.KW
	bound := minParallelMACs
	if c.Groups > 1 && c.Groups == c.InC && c.OutC == c.InC {
		bound = minParallelDWMACs
	}
	if a.parts <= 1 || macs < bound {
		c.Run(out, in, w, residual, a.Scratch[:a.scratchLen])
		return
	}
	a.splitConv(c, out, in, w, residual)
}

// ConvPool runs a depthwise convolution that a global average pooling of its output follows
// (a squeeze-and-excitation block): its parts also pool the channel blocks they compute, while
// those are in their cache, and the GlobalPool call on out that comes next takes those values
// (the same bits) instead of reading the whole output again, half of it from the other core's
// cache when the convolution was split.
func (a *Arena) ConvPool(c *kernels.Conv, out, in []float32, w *kernels.ConvWeights, residual []float32) {
	macs := c.OutC * c.OutH * c.OutW * (c.InC / max(c.Groups, 1)) * c.KH * c.KW
	parts := a.parts
	if parts <= 1 || macs < minParallelDWMACs {
		parts = 1
	}
	if !c.PoolsParts(parts) {
		a.Conv(c, out, in, w, residual)
		return
	}
	n := kernels.BlockedLen(c.OutC, 1)
	if len(a.pooled) < n {
		a.pooled = make([]float32, n) // during warm-up: the largest layer's size sticks
	}
	a.pooledOf, a.pooledKeep = out, true
	if parts == 1 {
		c.RunPartPool(0, 1, out, in, w, residual, a.Scratch[:a.scratchLen], a.pooled[:n])
		return
	}
	a.conv = convTask{a: a, c: c, in: in, out: out, w: w, residual: residual, pooled: a.pooled[:n]}
	a.split(&a.conv, parts)
	a.conv = convTask{}
}

// ExpandDW runs a pointwise convolution e and the depthwise convolution d that alone reads its
// output, together, band by band of d's output rows (kernels.ExpandDW): e's output never goes
// through memory. On several threads each part owns a run of d's output rows from e's input to
// d's output, recomputing the few rows of e's output that its neighbour's first band also reads,
// so that no part reads what another wrote in between.
func (a *Arena) ExpandDW(e, d *kernels.Conv, out, in []float32, we, wd *kernels.ConvWeights) {
	f := kernels.ExpandDW{E: e, D: d}
	macs := e.OutC*e.OutH*e.OutW*e.InC + d.OutC*d.OutH*d.OutW*d.KH*d.KW
	if a.parts <= 1 || macs < minParallelMACs {
		f.RunPart(0, 1, out, in, we, wd, a.Scratch[:a.scratchLen])
		return
	}
	a.edw = expandDWTask{a: a, f: f, out: out, in: in, we: we, wd: wd}
	a.split(&a.edw, a.parts)
	a.edw = expandDWTask{}
}

type expandDWTask struct {
	a       *Arena
	f       kernels.ExpandDW
	out, in []float32
	we, wd  *kernels.ConvWeights
}

func (t *expandDWTask) runPart(part, parts int) {
	sl := t.a.scratchLen
	t.f.RunPart(part, parts, t.out, t.in, t.we, t.wd, t.a.Scratch[part*sl:(part+1)*sl])
}

// splitConv runs a convolution in a.parts parts over the shared workers.
func (a *Arena) splitConv(c *kernels.Conv, out, in []float32, w *kernels.ConvWeights, residual []float32) {
	a.conv = convTask{a: a, c: c, in: in, out: out, w: w, residual: residual}
	if n := c.SharedLen(w, a.parts); n > 0 {
		// The parts pack B once between them, then each computes its output channels from it.
		if len(a.shared) < n {
			a.shared = make([]float32, n) // during warm-up: the largest layer's size sticks
		}
		a.conv.shared = a.shared[:n]
		a.split(&a.conv, a.parts)
		a.conv.packed = true
	}
	a.split(&a.conv, a.parts)
	a.conv = convTask{}
}

type convTask struct {
	a                 *Arena
	c                 *kernels.Conv
	in, out, residual []float32
	w                 *kernels.ConvWeights
	shared            []float32 // B packed whole for all parts (Conv.SharedLen), or nil
	packed            bool      // shared is filled: the parts compute
	pooled            []float32 // the output's global average, for ConvPool, or nil
}

func (t *convTask) runPart(part, parts int) {
	switch {
	case t.pooled != nil:
		sl := t.a.scratchLen
		t.c.RunPartPool(part, parts, t.out, t.in, t.w, t.residual, t.a.Scratch[part*sl:(part+1)*sl], t.pooled)
	case t.shared == nil:
		sl := t.a.scratchLen
		t.c.RunPart(part, parts, t.out, t.in, t.w, t.residual, t.a.Scratch[part*sl:(part+1)*sl])
	case !t.packed:
		t.c.PackShared(part, parts, t.in, t.w, t.shared)
	default:
		t.c.RunPartShared(part, parts, t.out, t.in, t.w, t.residual, t.shared)
	}
}

// Pool runs a max or average pooling, split by channels over the workers when the layer is
// large enough.
func (a *Arena) Pool(p *kernels.Pool, out, in []float32) {
	reads := p.C * p.OutH * p.OutW * p.KH * p.KW
	if a.parts <= 1 || reads < minParallelReads || p.C < 2 {
		p.Run(out, in)
		return
	}
	a.splitPool(p, out, in)
}

// splitPool runs a pooling in a.parts parts (at most one a channel) over the shared workers.
func (a *Arena) splitPool(p *kernels.Pool, out, in []float32) {
	a.pool = poolTask{p: p, in: in, out: out}
	a.split(&a.pool, min(a.parts, p.C))
	a.pool = poolTask{}
}

type poolTask struct {
	p       *kernels.Pool
	in, out []float32
}

// runPart pools channels [C*part/parts, C*(part+1)/parts): each channel is independent.
func (t *poolTask) runPart(part, parts int) {
	c := t.p.C
	if c0, c1 := c*part/parts, c*(part+1)/parts; c0 < c1 {
		t.p.RunChannels(c0, c1, t.out, t.in)
	}
}

// Linear runs a fully connected layer, its rows split over the workers when the layer is large
// enough: at batch 1 it streams its weights once, so two cores give it twice the memory bandwidth.
func (a *Arena) Linear(l *kernels.Linear, out, in []float32, w *kernels.LinearWeights) {
	if a.parts <= 1 || l.In*l.Out < minParallelWeights {
		l.Run(out, in, w)
		return
	}
	a.linear = linearTask{l: l, in: in, out: out, w: w}
	a.split(&a.linear, a.parts)
	a.linear = linearTask{}
}

type linearTask struct {
	l       *kernels.Linear
	in, out []float32
	w       *kernels.LinearWeights
}

// runPart computes rows split where RunRows's results match Run's exactly.
func (t *linearTask) runPart(part, parts int) {
	const k = kernels.LinearSplitRows
	rows := (t.l.Out + k - 1) / k
	o0, o1 := min(t.l.Out, rows*part/parts*k), min(t.l.Out, rows*(part+1)/parts*k)
	if o0 < o1 {
		t.l.RunRows(o0, o1, t.out, t.in, t.w)
	}
}

// ChannelAffine is a per-channel x*Scale[c] + Shift[c]: a batch norm that could not be folded
// (LoadBN), or constant values from the network's definition.
type ChannelAffine struct{ Scale, Shift []float32 }

// Affine runs a per-channel affine map.
func (a *Arena) Affine(c *kernels.Affine, out, in []float32, w *ChannelAffine) {
	c.Run(out, in, w.Scale, w.Shift)
}

// LRN runs a local response normalization.
func (a *Arena) LRN(c *kernels.LRN, out, in []float32) { c.Run(out, in) }

// Eltwise runs an elementwise activation; out may be in.
func (a *Arena) Eltwise(c *kernels.Eltwise, out, in []float32) { c.Run(out, in) }

// Add runs an elementwise sum; out may be x or y.
func (a *Arena) Add(c *kernels.Add, out, x, y []float32) { c.Run(out, x, y) }

// Mul runs an elementwise or per-channel product; out may be x. A large one is split by channel
// blocks as a depthwise convolution before it splits (kernels.SplitBlocks): in a
// squeeze-and-excitation block each part scales the blocks it computed.
func (a *Arena) Mul(c *kernels.Mul, out, x, s []float32) {
	if a.parts <= 1 || c.C*c.HW < minParallelValues || c.C < 2 {
		c.Run(out, x, s)
		return
	}
	a.mul = mulTask{m: c, out: out, x: x, s: s}
	a.split(&a.mul, a.parts)
	a.mul = mulTask{}
}

type mulTask struct {
	m         *kernels.Mul
	out, x, s []float32
}

func (t *mulTask) runPart(part, parts int) { t.m.RunPart(part, parts, t.out, t.x, t.s) }

// Pad runs a constant padding.
func (a *Arena) Pad(c *kernels.Pad, out, in []float32) { c.Run(out, in) }

// Softmax runs a softmax or log-softmax; out may be in.
func (a *Arena) Softmax(c *kernels.Softmax, out, in []float32) { c.Run(out, in) }

// GlobalPool runs a global average or max pooling, split by channel blocks as Mul when large;
// an average of what ConvPool just computed is the values ConvPool pooled.
func (a *Arena) GlobalPool(c *kernels.GlobalPool, out, in []float32) {
	of := a.pooledOf
	a.pooledOf = nil
	if n := kernels.BlockedLen(c.C, 1); of != nil && !c.Max && c.Layout == kernels.NCHW16c && len(in) == len(of) &&
		unsafe.SliceData(in) == unsafe.SliceData(of) && len(in) == kernels.BlockedLen(c.C, c.HW) {
		copy(out[:n], a.pooled[:n])
		return
	}
	if a.parts <= 1 || c.C*c.HW < minParallelValues || c.C < 2 {
		c.Run(out, in)
		return
	}
	a.gpool = gpoolTask{g: c, out: out, in: in}
	a.split(&a.gpool, a.parts)
	a.gpool = gpoolTask{}
}

type gpoolTask struct {
	g       *kernels.GlobalPool
	out, in []float32
}

func (t *gpoolTask) runPart(part, parts int) { t.g.RunPart(part, parts, t.out, t.in) }

// AdaptiveAvgPool runs an adaptive average pooling.
func (a *Arena) AdaptiveAvgPool(c *kernels.AdaptiveAvgPool, out, in []float32) { c.Run(out, in) }

// Reorder converts a feature map between layouts; one to the blocked layout that writes many
// values (the network's input: 3 channels, 224x224, 0.2 ms on one thread, writing 3.2 MB) is split
// by pixels.
func (a *Arena) Reorder(c *kernels.Reorder, out, in []float32) {
	if a.parts <= 1 || c.To != kernels.NCHW16c || kernels.NCHW16c.Len(c.C, c.HW) < minParallelValues || a.scratchLen < 16*kernels.BlockC {
		c.Run(out, in)
		return
	}
	a.reorder = reorderTask{a: a, r: c, out: out, in: in}
	a.split(&a.reorder, a.parts)
	a.reorder = reorderTask{}
}

type reorderTask struct {
	a       *Arena
	r       *kernels.Reorder
	out, in []float32
}

func (t *reorderTask) runPart(part, parts int) {
	sl := t.a.scratchLen
	t.r.RunPart(part, parts, t.out, t.in, t.a.Scratch[part*sl:(part+1)*sl])
}
