package runtime

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// checkSplits calls run from three goroutines at once (run with -race), each on its own arena
// split in 1, 2 and 3 parts, twice, and requires the outputs run writes to be want bit for bit,
// with nothing written past them.
func checkSplits(t *testing.T, r *Runner, want [][]float32, run func(a *Arena, out [][]float32)) {
	t.Helper()
	const guard = 12345
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := r.take(context.Background(), 1)
			defer r.give(a)
			out := make([][]float32, len(want))
			for k, w := range want {
				out[k] = make([]float32, len(w)+1)[:len(w)]
			}
			for rep := 0; rep < 2; rep++ {
				for parts := 1; parts <= 3; parts++ {
					a.parts = parts
					for _, o := range out {
						o[:len(o)+1][len(o)] = guard
					}
					run(a, out)
					for k, o := range out {
						for i := range o {
							if o[i] != want[k][i] {
								t.Errorf("%d parts: output %d, value %d: %g, want %g", parts, k, i, o[i], want[k][i])
								return
							}
						}
						if o[:len(o)+1][len(o)] != guard {
							t.Errorf("%d parts: output %d: written past its end", parts, k)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

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
	checkSplits(t, r, [][]float32{want}, func(a *Arena, out [][]float32) { a.Conv(c, out[0], in, pw, nil) })
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
	checkSplits(t, r, [][]float32{wantMax, wantAvg}, func(a *Arena, out [][]float32) {
		a.Pool(p, out[0], in)
		a.Pool(&avg, out[1], in)
	})
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
	checkSplits(t, r, [][]float32{want}, func(a *Arena, out [][]float32) { a.Linear(l, out[0], in, pw) })
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
	run := func(a *Arena, out [][]float32) {
		a.Conv(dw, out[0], in, pw, nil)
		a.GlobalPool(gp, out[1], out[0])
		a.Mul(mul, out[0], out[0], out[1])
	}
	r := NewRunner(0, dw.ScratchLen(), Options{Threads: 3})
	one, _ := r.take(context.Background(), 1)
	one.parts = 1
	want := [][]float32{make([]float32, n), make([]float32, nc)}
	run(one, want)
	r.give(one)
	checkSplits(t, r, want, run)
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
	checkSplits(t, r, [][]float32{want}, func(a *Arena, out [][]float32) { a.Reorder(rc, out[0], in) })
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
	checkSplits(t, r, [][]float32{want}, func(a *Arena, out [][]float32) { a.ExpandDW(e, d, out[0], in, we, wd) })
	a, _ := r.take(context.Background(), 1)
	defer r.give(a)
	a.parts = 3
	if allocs := testing.AllocsPerRun(3, func() { a.ExpandDW(e, d, want, in, we, wd) }); allocs != 0 {
		t.Errorf("ExpandDW allocates %v times a call", allocs)
	}
}
