package runtime

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// TestArenaConvSplitIsExact runs a layer large enough to be split over the shared workers, from
// several goroutines at once (run with -race), and requires the single-threaded result bit for bit.
func TestArenaConvSplitIsExact(t *testing.T) {
	c := &kernels.Conv{InC: 32, InH: 28, InW: 28, OutC: 64, OutH: 28, OutW: 28, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadT: 1, PadL: 1, DilH: 1, DilW: 1, Groups: 1, Act: kernels.ActReLU}
	w := make([]float32, 64*32*9)
	for i := range w {
		w[i] = float32(i%13)/13 - 0.5
	}
	pw, err := c.Pack(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 32*28*28)
	for i := range in {
		in[i] = float32(i%7) / 7
	}
	want := make([]float32, 64*28*28)
	c.Run(want, in, pw, nil, make([]float32, c.ScratchLen()))
	r := NewRunner(0, c.ScratchLen(), Options{Threads: 3})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			a.parts = 3
			out := make([]float32, len(want))
			for rep := 0; rep < 3; rep++ {
				a.Conv(c, out, in, pw, nil)
				for i := range out {
					if out[i] != want[i] {
						t.Errorf("split result %d: %g, want %g", i, out[i], want[i])
						return
					}
				}
			}
			r.give(a)
		}()
	}
	wg.Wait()
}

// TestArenaPoolSplitIsExact splits large pools by channel, from several goroutines at once.
func TestArenaPoolSplitIsExact(t *testing.T) {
	p := &kernels.Pool{C: 37, InH: 57, InW: 55, OutH: 29, OutW: 28, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	in := make([]float32, p.C*p.InH*p.InW)
	for i := range in {
		in[i] = float32((i*7919)%101) - 50
	}
	n := p.C * p.OutH * p.OutW
	wantMax, wantAvg := make([]float32, n), make([]float32, n)
	p.Run(wantMax, in)
	avg := *p
	avg.Avg = true
	avg.Run(wantAvg, in)
	r := NewRunner(0, 0, Options{Threads: 3})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			a.parts = 3
			for rep := 0; rep < 3; rep++ {
				gotMax, gotAvg := make([]float32, n+1), make([]float32, n+1)
				gotMax[n], gotAvg[n] = 12345, 12345
				a.Pool(p, gotMax[:n], in)
				a.Pool(&avg, gotAvg[:n], in)
				for i := range n {
					if gotMax[i] != wantMax[i] || gotAvg[i] != wantAvg[i] {
						t.Errorf("split pool value %d: max %g avg %g, want %g %g", i, gotMax[i], gotAvg[i], wantMax[i], wantAvg[i])
						return
					}
				}
				if gotMax[n] != 12345 || gotAvg[n] != 12345 {
					t.Error("split pool wrote past its output")
				}
			}
		}()
	}
	wg.Wait()
}

// TestArenaLinearSplitIsExact splits a large linear layer by rows, from several goroutines.
func TestArenaLinearSplitIsExact(t *testing.T) {
	l := &kernels.Linear{In: 1531, Out: 1403, Act: kernels.ActReLU}
	w := make([]float32, l.In*l.Out)
	for i := range w {
		w[i] = float32((i*7919)%103)/103 - 0.5
	}
	b := make([]float32, l.Out)
	for i := range b {
		b[i] = float32(i%5) - 2
	}
	pw, err := l.Pack(w, b)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, l.In)
	for i := range in {
		in[i] = float32(i%11) / 11
	}
	want := make([]float32, l.Out)
	l.Run(want, in, pw)
	r := NewRunner(0, 0, Options{Threads: 3})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			a.parts = 3
			for rep := 0; rep < 3; rep++ {
				got := make([]float32, l.Out)
				a.Linear(l, got, in, pw)
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("split linear output %d: %g, want %g", i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestArenaSESplitIsExact splits a squeeze-and-excitation block's per-channel layers (a blocked
// depthwise convolution, its global pooling and the scale) from several goroutines at once: the
// results are one part's bit for bit, at sizes just above their bounds.
func TestArenaSESplitIsExact(t *testing.T) {
	const c, hw = 1149, 16 // 72 blocks, the last partial
	dw := &kernels.Conv{InC: c, InH: hw, InW: hw, OutC: c, OutH: hw, OutW: hw, KH: 5, KW: 5, StrideH: 1, StrideW: 1,
		PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: c, Act: kernels.ActSiLU, Layout: kernels.NCHW16c}
	w := make([]float32, c*25)
	for i := range w {
		w[i] = float32((i*7919)%103)/103 - 0.5
	}
	pw, err := dw.Pack(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, nc := kernels.BlockedLen(c, hw*hw), kernels.BlockedLen(c, 1)
	in := make([]float32, n)
	for i := range in {
		if i%kernels.BlockC < c-i/(hw*hw*kernels.BlockC)*kernels.BlockC {
			in[i] = float32((i*31)%17)/17 - 0.5
		}
	}
	gp := &kernels.GlobalPool{C: c, HW: hw * hw, Layout: kernels.NCHW16c}
	mul := &kernels.Mul{C: c, HW: hw * hw, PerChannel: true, Layout: kernels.NCHW16c}
	if c*hw*hw < minParallelValues || dw.OutC*hw*hw*25 < minParallelDWMACs {
		t.Fatal("the layers are too small to be split")
	}
	run := func(a *Arena) (y, pooled []float32) {
		y, pooled = make([]float32, n+1), make([]float32, nc+1)
		y[n], pooled[nc] = 12345, 12345
		a.Conv(dw, y[:n], in, pw, nil)
		a.GlobalPool(gp, pooled[:nc], y[:n])
		a.Mul(mul, y[:n], y[:n], pooled[:nc])
		if y[n] != 12345 || pooled[nc] != 12345 {
			t.Error("a split layer wrote past its output")
		}
		return y[:n], pooled[:nc]
	}
	r := NewRunner(0, dw.ScratchLen(), Options{Threads: 3})
	one, _ := r.take(context.Background(), 1)
	one.parts = 1
	wantY, wantP := run(one)
	r.give(one)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			for _, parts := range []int{2, 3} {
				a.parts = parts
				y, p := run(a)
				for i := range wantY {
					if y[i] != wantY[i] {
						t.Errorf("%d parts: value %d: %g, want %g", parts, i, y[i], wantY[i])
						return
					}
				}
				for i := range wantP {
					if p[i] != wantP[i] {
						t.Errorf("%d parts: pooled %d: %g, want %g", parts, i, p[i], wantP[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestArenaConvPoolIsExact runs squeeze-and-excitation blocks' depthwise convolutions with
// ConvPool on one to three parts: the GlobalPool after each gives what it computes from the
// output itself, bit for bit, and a GlobalPool that does not follow right after (another layer
// marked in between) computes its own.
func TestArenaConvPoolIsExact(t *testing.T) {
	for _, s := range []struct{ c, hw, k, stride int }{{1149, 16, 5, 1}, {37, 9, 3, 1}, {96, 23, 3, 2}, {480, 14, 3, 1}} {
		o := (s.hw+2*(s.k/2)-s.k)/s.stride + 1
		dw := &kernels.Conv{InC: s.c, InH: s.hw, InW: s.hw, OutC: s.c, OutH: o, OutW: o, KH: s.k, KW: s.k, StrideH: s.stride, StrideW: s.stride,
			PadT: s.k / 2, PadL: s.k / 2, DilH: 1, DilW: 1, Groups: s.c, Act: kernels.ActSiLU, Layout: kernels.NCHW16c}
		w := make([]float32, s.c*s.k*s.k)
		for i := range w {
			w[i] = float32((i*7919)%103)/103 - 0.5
		}
		pw, err := dw.Pack(w, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, nc := kernels.BlockedLen(s.c, o*o), kernels.BlockedLen(s.c, 1)
		in := make([]float32, kernels.BlockedLen(s.c, s.hw*s.hw))
		for i := range in {
			if b := i / (s.hw * s.hw * kernels.BlockC); b*kernels.BlockC+i%kernels.BlockC < s.c {
				in[i] = float32((i*31)%17)/17 - 0.5
			}
		}
		gp := &kernels.GlobalPool{C: s.c, HW: o * o, Layout: kernels.NCHW16c}
		r := NewRunner(0, dw.ScratchLen(), Options{Threads: 3})
		a, _ := r.take(context.Background(), 1)
		a.parts = 1
		wantY, wantP := make([]float32, n), make([]float32, nc)
		a.Conv(dw, wantY, in, pw, nil)
		gp.Run(wantP, wantY)
		for parts := 1; parts <= 3; parts++ {
			a.parts = parts
			a.begin()
			y, p := make([]float32, n), make([]float32, nc+1)
			p[nc] = 12345
			a.ConvPool(dw, y, in, pw, nil)
			a.Mark(0)
			a.GlobalPool(gp, p[:nc], y)
			a.Mark(1)
			for i := range wantY {
				if y[i] != wantY[i] {
					t.Fatalf("%v, %d parts: value %d: %g, want %g", s, parts, i, y[i], wantY[i])
				}
			}
			for i := range wantP {
				if p[i] != wantP[i] {
					t.Fatalf("%v, %d parts: pooled %d: %g, want %g", s, parts, i, p[i], wantP[i])
				}
			}
			if p[nc] != 12345 {
				t.Fatalf("%v, %d parts: the pooling wrote past its output", s, parts)
			}
			// A layer in between changes the output: the pooling reads it again.
			a.ConvPool(dw, y, in, pw, nil)
			a.Mark(0)
			y[0] += 1
			a.Mark(1)
			a.GlobalPool(gp, p[:nc], y)
			a.Mark(2)
			if p[0] == wantP[0] {
				t.Fatalf("%v, %d parts: a pooling after another layer took ConvPool's values", s, parts)
			}
		}
		r.give(a)
	}
}

// TestArenaReorderSplitIsExact splits the conversion of a network's input to NCHW16c by pixels
// from several goroutines at once.
func TestArenaReorderSplitIsExact(t *testing.T) {
	rc := &kernels.Reorder{C: 3, HW: 301 * 299, To: kernels.NCHW16c}
	in := make([]float32, rc.C*rc.HW)
	for i := range in {
		in[i] = float32((i*7919)%101) - 50
	}
	n := kernels.NCHW16c.Len(rc.C, rc.HW)
	want := make([]float32, n)
	rc.Run(want, in)
	r := NewRunner(0, 1000, Options{Threads: 3})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			for _, parts := range []int{2, 3} {
				a.parts = parts
				got := make([]float32, n+1)
				got[n] = 12345
				a.Reorder(rc, got[:n], in)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%d parts: value %d: %g, want %g", parts, i, got[i], want[i])
						return
					}
				}
				if got[n] != 12345 {
					t.Error("a split reorder wrote past its output")
				}
			}
		}()
	}
	wg.Wait()
}

// TestLoadParallel returns the first failing loader's error, in order, whatever the threads.
func TestLoadParallel(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		var got [20]int
		loaders := make([]func() error, len(got))
		for i := range loaders {
			loaders[i] = func() error {
				got[i] = i + 1
				return nil
			}
		}
		if err := LoadParallel(threads, loaders); err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("threads %d: loader %d did not run", threads, i)
			}
		}
		bad := errors.New("bad tensor")
		loaders[7] = func() error { return bad }
		loaders[13] = func() error { return errors.New("later") }
		if err := LoadParallel(threads, loaders); err != bad {
			t.Errorf("threads %d: error %v, want %v", threads, err, bad)
		}
	}
}

// TestArenaExpandDWSplitIsExact runs an expansion and the depthwise convolution after it fused
// (Arena.ExpandDW) on one thread and split by rows in 2 and 3 parts, from several goroutines at
// once (run with -race), and requires the unfused layers' result bit for bit, without allocating.
func TestArenaExpandDWSplitIsExact(t *testing.T) {
	e := &kernels.Conv{InC: 21, InH: 57, InW: 57, OutC: 83, OutH: 57, OutW: 57, KH: 1, KW: 1, StrideH: 1, StrideW: 1,
		DilH: 1, DilW: 1, Groups: 1, Act: kernels.ActSiLU, Layout: kernels.NCHW16c}
	d := &kernels.Conv{InC: 83, InH: 57, InW: 57, OutC: 83, OutH: 29, OutW: 29, KH: 5, KW: 5, StrideH: 2, StrideW: 2,
		PadT: 2, PadL: 2, DilH: 1, DilW: 1, Groups: 83, Act: kernels.ActSiLU, Layout: kernels.NCHW16c}
	f := kernels.ExpandDW{E: e, D: d}
	if !f.Fuses() {
		t.Fatal("the pair does not fuse")
	}
	vals := func(n, m int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32((i*7919)%m)/float32(m) - 0.5
		}
		return x
	}
	we, err := e.Pack(vals(83*21, 97), vals(83, 13))
	if err != nil {
		t.Fatal(err)
	}
	wd, err := d.Pack(vals(83*25, 31), vals(83, 7))
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, kernels.BlockedLen(21, 57*57))
	for i := range in {
		if i/(57*57*16)*16+i%16 < 21 {
			in[i] = float32((i*31)%17)/17 - 0.5
		}
	}
	mid := make([]float32, kernels.BlockedLen(83, 57*57))
	n := kernels.BlockedLen(83, 29*29)
	want := make([]float32, n)
	e.Run(mid, in, we, nil, make([]float32, e.ScratchLen()))
	d.Run(want, mid, wd, nil, make([]float32, d.ScratchLen()))
	r := NewRunner(0, ConvScratch([]*kernels.Conv{e, d}, f), Options{Threads: 3})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			out := make([]float32, n+1)
			for parts := 1; parts <= 3; parts++ {
				a.parts = parts
				out[n] = 12345
				a.ExpandDW(e, d, out[:n], in, we, wd)
				for i := range n {
					if out[i] != want[i] {
						t.Errorf("%d parts: value %d: %g, want %g", parts, i, out[i], want[i])
						return
					}
				}
				if out[n] != 12345 {
					t.Errorf("%d parts: wrote past the output", parts)
				}
			}
		}()
	}
	wg.Wait()
	a, _ := r.take(context.Background(), 1)
	defer r.give(a)
	a.parts = 3
	if allocs := testing.AllocsPerRun(3, func() { a.ExpandDW(e, d, want, in, we, wd) }); allocs != 0 {
		t.Errorf("ExpandDW allocates %v times a call", allocs)
	}
}
