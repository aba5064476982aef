package runtime

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Arena is the memory one image's forward pass works in: the planned activations and the kernels'
// scratch (one share per part a layer may be split into). A Runner keeps a bounded set of them,
// so concurrent calls never share one and steady-state calls allocate nothing.
type Arena struct {
	Buf, Scratch []float32
	shared       []float32 // B packed once for all parts of a row-split convolution
	pooled       []float32 // ConvPool's global average of its output
	pooledOf     []float32 // that output, until the next GlobalPool takes pooled (or nil)
	pooledKeep   bool      // pooledOf was set in the layer being run: the next Mark keeps it
	scratchLen   int
	parts        int // how many shares a large layer is split into for this call
	wg           sync.WaitGroup
	pending      atomic.Int32 // parts of the current split still running on workers
	prof         *Profile
	last         time.Time // when the previous layer ended (profiling only)

	// Profiling's CPU times (Profile.CPU), while timed: the calling thread's CPU time at the
	// previous mark, what it spent polling for parts since, and what the splits' slowest parts
	// took beyond part 0 since; partMax is the slowest worker part of the current split.
	locked, timed             bool // the goroutine is locked to its thread; and its clock read
	cpuMark, cpuWait, cpuMore time.Duration
	partMax                   atomic.Int64

	// helpers are the other arenas a batch call took with this one, for its other parts.
	helpers []*Arena

	// The layer being split, handed to the workers by pointer (no allocation per layer).
	conv    convTask
	pool    poolTask
	linear  linearTask
	mul     mulTask
	gpool   gpoolTask
	reorder reorderTask
	edw     expandDWTask
	batch   batchTask
}

// ImageRunner runs one image through a network: in is one input image, out receives its logits
// (or, with features set, its penultimate features).
type ImageRunner interface {
	RunImage(a *Arena, in, out []float32, features bool)
}

// Runner splits work over the shared workers: the images of a batch, or, for a single image, the
// output of each large layer. It keeps at most Options.Arenas arenas: a call takes the arenas
// it needs (one, or one per thread for a batch) all at once, and callers beyond wait their
// turn, so a server's memory follows its thread count, not its request count.
type Runner struct {
	threads  int
	slots    chan struct{} // a token per arena that may exist; a call holds one per arena it uses
	taking   chan struct{} // held while a call takes its tokens, so that no two calls hold part of what they need
	mu       sync.Mutex
	idle     []*Arena // arenas made and not in use, the most recently used last (its memory is warm)
	newArena func() *Arena
}

// NewRunner makes a runner for a network whose arena and per-part scratch need the given float32
// counts, with o's thread count, arena bound and profile.
func NewRunner(arenaLen, scratchLen int, o Options) *Runner {
	threads := max(o.Threads, 1)
	arenas := o.Arenas
	if arenas < 1 {
		arenas = threads
	}
	r := &Runner{threads: threads, slots: make(chan struct{}, arenas), taking: make(chan struct{}, 1), idle: make([]*Arena, 0, arenas)}
	r.newArena = func() *Arena {
		return &Arena{Buf: make([]float32, arenaLen), Scratch: make([]float32, threads*scratchLen),
			scratchLen: scratchLen, prof: o.Profile, helpers: make([]*Arena, 0, threads-1)}
	}
	for range arenas {
		r.slots <- struct{}{}
	}
	if threads > 1 {
		ensureWorkers(threads - 1)
	}
	return r
}

// take waits for k arenas, or until ctx ends. The first is returned with the others in its
// helpers. Arenas already made are reused before new ones are made, so a Net that never has
// more than one call at a time keeps one arena.
func (r *Runner) take(ctx context.Context, k int) (*Arena, error) {
	select {
	case r.taking <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.taking }()
	for i := 0; i < k; i++ {
		select {
		case <-r.slots:
		case <-ctx.Done():
			for ; i > 0; i-- {
				r.slots <- struct{}{}
			}
			return nil, ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lead := r.pop()
	for i := 1; i < k; i++ {
		lead.helpers = append(lead.helpers, r.pop())
	}
	return lead, nil
}

// pop takes an idle arena, or makes one; r.mu is held.
func (r *Runner) pop() *Arena {
	if n := len(r.idle); n > 0 {
		a := r.idle[n-1]
		r.idle = r.idle[:n-1]
		return a
	}
	return r.newArena()
}

// give returns a call's arenas.
func (r *Runner) give(lead *Arena) {
	r.mu.Lock()
	k := 1 + len(lead.helpers)
	r.idle = append(r.idle, lead.helpers...)
	lead.helpers = lead.helpers[:0]
	r.idle = append(r.idle, lead)
	r.mu.Unlock()
	for range k {
		r.slots <- struct{}{}
	}
}

// Run checks the slice lengths and runs every image of the batch, waiting first for its arenas
// while ctx allows. A batch of several images is split by image over the threads; a single image
// has its large layers split instead. Calls allocate nothing once the arenas exist.
func (r *Runner) Run(ctx context.Context, net ImageRunner, in, out []float32, inSize, outSize int, features bool) error {
	if len(in) == 0 || len(in)%inSize != 0 {
		return fmt.Errorf("input has %d values, not a whole number of images of %d values", len(in), inSize)
	}
	batch := len(in) / inSize
	if len(out) != batch*outSize {
		return fmt.Errorf("output has %d values, want %d (%d images x %d)", len(out), batch*outSize, batch, outSize)
	}
	workers := min(r.threads, batch, cap(r.slots))
	a, err := r.take(ctx, workers)
	if err != nil {
		return err
	}
	defer r.give(a)
	if workers > 1 {
		// The images keep every thread busy: each runs whole on one thread, in its own arena.
		a.batch = batchTask{a: a, net: net, in: in, out: out, inSize: inSize, outSize: outSize, features: features, n: int64(batch)}
		a.split(&a.batch, workers)
		a.batch = batchTask{} // drop the references to the caller's slices
		return nil
	}
	a.parts = r.threads
	if a.prof != nil {
		// The profile's CPU times read the calling thread's clock before and after each layer:
		// the goroutine must not move to another thread (as it may when preempted) between them.
		goruntime.LockOSThread()
		a.locked = true
		defer func() {
			a.locked = false
			goruntime.UnlockOSThread()
		}()
	}
	for i := 0; i < batch; i++ {
		a.begin()
		net.RunImage(a, in[i*inSize:(i+1)*inSize], out[i*outSize:(i+1)*outSize], features)
	}
	return nil
}

// batchTask hands out a batch's images to whichever part asks next.
type batchTask struct {
	a               *Arena // the caller's, for part 0; its helpers for the others
	net             ImageRunner
	in, out         []float32
	inSize, outSize int
	features        bool
	n               int64
	next            atomic.Int64
}

func (t *batchTask) runPart(part, parts int) {
	a := t.a
	if part > 0 {
		a = t.a.helpers[part-1]
	}
	a.parts = 1
	for {
		k := int(t.next.Add(1) - 1)
		if int64(k) >= t.n {
			return
		}
		a.begin()
		t.net.RunImage(a, t.in[k*t.inSize:(k+1)*t.inSize], t.out[k*t.outSize:(k+1)*t.outSize], t.features)
	}
}

// task is work split into parts that may run concurrently, each computing a disjoint share.
type task interface{ runPart(part, parts int) }

// split runs the parts of t: part 0 on the calling goroutine, the others on the shared workers,
// and returns when all are done.
func (a *Arena) split(t task, parts int) {
	if splitWrap != nil {
		t = splitWrap(t)
	}
	timed := a.timed
	var c0, c1 time.Duration
	if timed {
		a.partMax.Store(0)
		c0, _ = threadCPU()
	}
	a.pending.Store(int32(parts - 1))
	for p := 1; p < parts; p++ {
		a.wg.Add(1)
		jobs <- job{t: t, part: p, parts: parts, a: a, timed: timed}
	}
	t.runPart(0, parts)
	if timed {
		c1, _ = threadCPU()
	}
	// The other parts usually finish within microseconds of this one: poll for them before
	// sleeping, since a sleeping goroutine takes tens of microseconds to wake, which layers of a
	// fraction of a millisecond would pay at every split, and waking puts this goroutine in the
	// run queue of the worker's P, from where it may go on on the other core.
	spin(func() bool { return a.pending.Load() == 0 })
	a.wg.Wait()
	if timed {
		c2, _ := threadCPU()
		a.cpuWait += c2 - c1
		if m := time.Duration(a.partMax.Load()); m > c1-c0 {
			a.cpuMore += m - (c1 - c0)
		}
	}
}

// splitWrap, set only by BenchmarkSplit, wraps every split task (to time its parts).
var splitWrap func(task) task

// spinBudget bounds the polling of split and of idle workers: long enough that a worker does
// not fall asleep between the layers of one image (a wake-up costs 50-200 us in a VM), short
// enough that an idle Net gives its cores back at once. Polling for 2 ms instead of 4096 polls
// (~60 us) took ResNet-50 on two threads from 41.9 to 37.6 ms (commit 397a9f6).
const spinBudget = 2 * time.Millisecond

// A Gosched costs ~0.23 us and reading the clock ~55 ns in this VM, a poll ~1 ns (measured with
// go test -bench on this machine): yielding every spinYield polls still hands the P over every
// ~0.3 us, and reading the clock every spinClock polls (~4 us of polling and yielding) keeps it
// under 2% of the spin and overruns spinBudget by ~4 us at most.
const (
	spinYield = 16
	spinClock = 256
)

// spin polls done until it holds or spinBudget has passed, yielding now and then so that other
// goroutines of the host program (and, with fewer Ps than threads, the parts being waited for)
// still run. It reports whether done held.
func spin(done func() bool) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%spinYield == 0 {
			goruntime.Gosched()
		}
		if i%spinClock == 0 && time.Since(start) > spinBudget {
			return false
		}
	}
}

// job is one part of a task, handed to a worker by value.
type job struct {
	t           task
	part, parts int
	a           *Arena // the splitting arena: its pending count and WaitGroup
	timed       bool   // add the part's thread CPU time to a.partMax (profiling)
}

// The workers are shared by every network in the process, so several Nets running at once do
// not start more goroutines than the largest thread count asked for. A job never waits for
// another job (images of a batch run their layers unsplit), so the workers cannot deadlock.
var (
	// jobs holds the parts waiting for a worker. A split sends parts-1 jobs, so 64 is room for
	// every arena's split at once up to 8 threads x 8 arenas; beyond it a sender waits for a
	// worker to take one, which is correct, only slower.
	jobs        = make(chan job, 64)
	workersMu   sync.Mutex
	workerCount int
)

// nextJob waits for a job, polling for a while first: the next layer's split usually comes
// within microseconds, sooner than a parked goroutine wakes.
func nextJob() job {
	var j job
	if spin(func() bool {
		select {
		case j = <-jobs:
			return true
		default:
			return false
		}
	}) {
		return j
	}
	return <-jobs
}

func ensureWorkers(n int) {
	workersMu.Lock()
	defer workersMu.Unlock()
	for ; workerCount < n; workerCount++ {
		go func() {
			for {
				j := nextJob()
				if j.timed {
					c0, _ := threadCPU()
					j.t.runPart(j.part, j.parts)
					c1, _ := threadCPU()
					for d := int64(c1 - c0); ; {
						m := j.a.partMax.Load()
						if d <= m || j.a.partMax.CompareAndSwap(m, d) {
							break
						}
					}
				} else {
					j.t.runPart(j.part, j.parts)
				}
				j.a.pending.Add(-1)
				j.a.wg.Done()
			}
		}()
	}
}
