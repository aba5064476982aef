package runtime

import (
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// BenchmarkSplit times blocked convolutions, depthwise convolutions, global poolings, SE scales,
// linear layers and poolings around the minParallel bounds on one thread and split in two parts
// over the shared workers, which is what those bounds were chosen from:
//
//	go test -run - -bench Split -count 5 ./runtime
//
// A split pays for handing its parts out and waiting for the slowest (a few microseconds with
// the workers polling), and each part reads what the other wrote in the previous layer.
func BenchmarkSplit(b *testing.B) {
	conv := func(c, hw, outC, k, stride int) kernels.Conv {
		return kernels.Conv{InC: c, InH: hw, InW: hw, OutC: outC, OutH: (hw+2*(k/2)-k)/stride + 1, OutW: (hw+2*(k/2)-k)/stride + 1,
			KH: k, KW: k, StrideH: stride, StrideW: stride, PadT: k / 2, PadL: k / 2, DilH: 1, DilW: 1, Groups: 1,
			Act: kernels.ActReLU, Layout: kernels.NCHW16c}
	}
	for _, c := range []kernels.Conv{
		conv(64, 7, 64, 3, 1),    // 1.8M MACs
		conv(128, 7, 128, 1, 1),  // 0.8M
		conv(256, 7, 256, 1, 1),  // 3.2M
		conv(96, 14, 32, 1, 1),   // 0.6M
		conv(128, 14, 128, 1, 1), // 3.2M
		conv(64, 14, 64, 3, 1),   // 7.2M (Winograd)
		conv(256, 14, 64, 1, 1),  // 3.2M
		conv(32, 28, 32, 3, 2),   // 1.8M
		// ResNet-50's large layers, which split on two threads: how evenly their work divides.
		conv(128, 28, 128, 3, 1),  // 116M (Winograd)
		conv(256, 14, 256, 3, 1),  // 116M (Winograd)
		conv(512, 7, 512, 3, 1),   // 116M
		conv(1024, 14, 256, 1, 1), // 51M
		conv(2048, 7, 512, 1, 1),  // 51M
		conv(512, 7, 2048, 1, 1),  // 51M
		// EfficientNet-B0's projections to few channels.
		conv(144, 28, 40, 1, 1),  // 4.5M
		conv(240, 28, 40, 1, 1),  // 7.5M
		conv(480, 14, 80, 1, 1),  // 7.5M
		conv(1152, 7, 192, 1, 1), // 10.8M
	} {
		macs := c.OutC * c.OutH * c.OutW * c.InC * c.KH * c.KW
		w, err := c.Pack(make([]float32, c.OutC*c.InC*c.KH*c.KW), make([]float32, c.OutC))
		if err != nil {
			b.Fatal(err)
		}
		in := make([]float32, kernels.BlockedLen(c.InC, c.InH*c.InW))
		out := make([]float32, kernels.BlockedLen(c.OutC, c.OutH*c.OutW))
		name := fmt.Sprintf("conv%dx%d_%dto%d_%dx%d_%.1fM", c.KH, c.KW, c.InC, c.OutC, c.OutH, c.OutW, float64(macs)/1e6)
		benchSplit(b, name, float64(2*macs), c.ScratchLen(), func(a *Arena) {
			if a.parts == 1 {
				c.Run(out, in, w, nil, a.Scratch[:a.scratchLen])
			} else {
				a.splitConv(&c, out, in, w, nil)
			}
		})
	}
	for _, c := range []struct{ c, hw, k, stride int }{
		{1152, 7, 5, 1}, // 1.4M MACs (EfficientNet-B0's stage 7)
		{480, 14, 3, 1}, // 0.85M
		{240, 28, 5, 2}, // 0.29M (to 14x14)
		{144, 56, 3, 1}, // 4.1M
	} {
		o := (c.hw+2*(c.k/2)-c.k)/c.stride + 1
		dw := kernels.Conv{InC: c.c, InH: c.hw, InW: c.hw, OutC: c.c, OutH: o, OutW: o, KH: c.k, KW: c.k, StrideH: c.stride, StrideW: c.stride,
			PadT: c.k / 2, PadL: c.k / 2, DilH: 1, DilW: 1, Groups: c.c, Act: kernels.ActSiLU, Layout: kernels.NCHW16c}
		macs := c.c * o * o * c.k * c.k
		w, err := dw.Pack(make([]float32, c.c*c.k*c.k), nil)
		if err != nil {
			b.Fatal(err)
		}
		in := make([]float32, kernels.BlockedLen(c.c, c.hw*c.hw))
		out := make([]float32, kernels.BlockedLen(c.c, o*o))
		name := fmt.Sprintf("dwconv%dx%ds%d_%d_%dx%d_%.2fM", c.k, c.k, c.stride, c.c, o, o, float64(macs)/1e6)
		benchSplit(b, name, float64(2*macs), dw.ScratchLen(), func(a *Arena) {
			if a.parts == 1 {
				dw.Run(out, in, w, nil, a.Scratch[:a.scratchLen])
			} else {
				a.splitConv(&dw, out, in, w, nil)
			}
		})
	}
	for _, c := range []struct{ c, hw int }{{144, 56}, {240, 28}, {480, 14}, {1152, 7}} {
		x := make([]float32, kernels.BlockedLen(c.c, c.hw*c.hw))
		s := make([]float32, kernels.BlockedLen(c.c, 1))
		for i := range x {
			x[i] = 1
		}
		g := kernels.GlobalPool{C: c.c, HW: c.hw * c.hw, Layout: kernels.NCHW16c}
		m := kernels.Mul{C: c.c, HW: c.hw * c.hw, PerChannel: true, Layout: kernels.NCHW16c}
		vals := float64(c.c*c.hw*c.hw) / 1e3
		benchSplit(b, fmt.Sprintf("globalpool_%d_%dx%d_%.0fK", c.c, c.hw, c.hw, vals), 0, 0, func(a *Arena) {
			a.gpool = gpoolTask{g: &g, out: s, in: x}
			a.split(&a.gpool, a.parts)
		})
		benchSplit(b, fmt.Sprintf("semul_%d_%dx%d_%.0fK", c.c, c.hw, c.hw, vals), 0, 0, func(a *Arena) {
			a.mul = mulTask{m: &m, out: x, x: x, s: s}
			a.split(&a.mul, a.parts)
		})
	}
	for _, l := range []kernels.Linear{{In: 1280, Out: 1000}, {In: 512, Out: 1000}, {In: 1024, Out: 256}} {
		w, err := l.Pack(make([]float32, l.In*l.Out), nil)
		if err != nil {
			b.Fatal(err)
		}
		in, out := make([]float32, l.In), make([]float32, l.Out)
		benchSplit(b, fmt.Sprintf("linear_%dto%d_%.0fK", l.In, l.Out, float64(l.In*l.Out)/1e3), float64(2*l.In*l.Out), 0, func(a *Arena) {
			a.linear = linearTask{l: &l, in: in, out: out, w: w}
			a.split(&a.linear, a.parts)
		})
	}
	{
		rc := kernels.Reorder{C: 3, HW: 224 * 224, To: kernels.NCHW16c}
		in, out := make([]float32, rc.C*rc.HW), make([]float32, kernels.NCHW16c.Len(rc.C, rc.HW))
		benchSplit(b, "reorder_3_224x224_151K", 0, 4096, func(a *Arena) {
			if a.parts == 1 {
				rc.Run(out, in)
			} else {
				a.Reorder(&rc, out, in)
			}
		})
	}
	for _, p := range []kernels.Pool{
		{C: 64, InH: 56, InW: 56, OutH: 28, OutW: 28, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},  // 451K reads
		{C: 192, InH: 28, InW: 28, OutH: 28, OutW: 28, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, // 1.35M
		{C: 480, InH: 14, InW: 14, OutH: 14, OutW: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, // 847K
		{C: 832, InH: 7, InW: 7, OutH: 7, OutW: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},     // 367K
		{C: 64, InH: 28, InW: 28, OutH: 14, OutW: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},  // 113K
	} {
		p.Layout = kernels.NCHW16c
		reads := p.C * p.OutH * p.OutW * p.KH * p.KW
		in := make([]float32, kernels.BlockedLen(p.C, p.InH*p.InW))
		out := make([]float32, kernels.BlockedLen(p.C, p.OutH*p.OutW))
		name := fmt.Sprintf("maxpool%dx%d_%d_%dx%d_%.0fK", p.KH, p.KW, p.C, p.OutH, p.OutW, float64(reads)/1e3)
		benchSplit(b, name, 0, 0, func(a *Arena) {
			if a.parts == 1 {
				p.Run(out, in)
			} else {
				a.splitPool(&p, out, in)
			}
		})
	}
}

// benchSplit times run on one part and on two, reporting GFLOP/s when flops is set, and the
// thread CPU time of the slowest part (part-us): the work a part does, cache misses included,
// without the time it waited for a core, which on a loaded machine swamps the wall time. On an
// idle one a split takes about part-us plus the hand-off (the workers poll: a few us).
func benchSplit(b *testing.B, name string, flops float64, scratch int, run func(a *Arena)) {
	r := NewRunner(0, scratch, Options{Threads: 2})
	a := r.newArena()
	for _, parts := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/parts=%d", name, parts), func(b *testing.B) {
			a.parts = parts
			// A thread's CPU clock is its own: keep part 0 (this goroutine) on one thread.
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			var cpu [2]atomic.Int64
			if parts == 1 {
				// The one-part runs call the kernels directly: time them as one part.
				t := &timedTask{t: runTask(func() { run(a) }), cpu: &cpu}
				for b.Loop() {
					t.runPart(0, 1)
				}
			} else {
				splitWrap = func(t task) task { return &timedTask{t: t, cpu: &cpu} }
				defer func() { splitWrap = nil }()
				for b.Loop() {
					run(a)
				}
			}
			if flops > 0 {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.ReportMetric(float64(max(cpu[0].Load(), cpu[1].Load()))/float64(b.N)/1e3, "part-us")
		})
	}
}

// runTask is a function as a one-part task.
type runTask func()

func (f runTask) runPart(int, int) { f() }

// timedTask adds the thread CPU time of each part of t to cpu (parts 0 and 1 only).
type timedTask struct {
	t   task
	cpu *[2]atomic.Int64
}

func (t *timedTask) runPart(part, parts int) {
	t0, _ := threadCPU()
	t.t.runPart(part, parts)
	t1, _ := threadCPU()
	// A worker moved to another thread mid-part (rare: preemption) reads another clock.
	if d := t1 - t0; part < 2 && d >= 0 && d < 10*time.Millisecond {
		t.cpu[part].Add(int64(d))
	}
}
