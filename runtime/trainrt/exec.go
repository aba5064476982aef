// Package trainrt is what generated training code runs its layers with: each layer's forward
// pass in training or evaluation mode and its backward pass, over a whole batch in NCHW
// ([n][C][H][W], one tensor after another in a planned arena), split over a Trainer's
// goroutines. The arithmetic is runtime/kernels': the forward kernels of inference, and the
// training kernels (GEMM with transposed operands, gradients of convolutions, poolings, batch
// norm and activations) beside them. The parameters, optimizers, loss and saving are
// runtime/train's.
//
// A generated Trainer keeps one value of a layer type per layer (Conv, Linear, BatchNorm, ...:
// its shape, its train.Params and what it packs from them) and calls the Exec's method of that
// type for the forward pass (x.Conv) and the backward pass (x.ConvBackward), destination first,
// with slices of its arena. Nothing allocates once the first step has run.
package trainrt

import (
	"os"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
)

// Region is where a tensor of a batch lies in a Trainer's arena: Size values per image, the
// batch's images one after another from Off. For a gradient, Node is the index of the node it
// belongs to and Buf the index of the node whose buffer it shares (itself, or a reader that
// computes it in place), for the bookkeeping of who has written it in a step.
type Region struct{ Off, Size, Node, Buf int }

// Of is the region's first n images in buf.
func (r Region) Of(buf []float32, n int) []float32 {
	return buf[r.Off : r.Off+n*r.Size : r.Off+n*r.Size]
}

// Grad is where a backward pass puts an input's gradient: Buf, set, or added to when Acc (an
// other reader of the input has put its share there already). A nil Buf means the input needs
// no gradient (the network's input, or a part of the network that is frozen).
type Grad struct {
	Buf []float32
	Acc bool
}

// same reports whether two slices start at the same element: a gradient computed in place.
func same(a, b []float32) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// Layer is a layer that needs scratch memory: per goroutine, and shared by a layer's goroutines
// (a channels-last copy of its input, say), for a batch of batch images.
type Layer interface {
	Scratch(batch int) (perThread, shared int)
}

// Exec runs layers over a batch: N images (at most the batch the Trainer was generated for), in
// training mode (batch statistics, dropout, gradients) or evaluation mode, on Threads goroutines.
type Exec struct {
	N        int
	Training bool
	// Version counts the parameters' updates: a layer packs its weights for the kernels again
	// when its packing is older.
	Version uint64
	// Seed selects the dropout masks of the step (interp.DropoutKeep's rule).
	Seed uint64
	// BNMomentum is batch norm's running-statistics momentum (0: torch's 0.1).
	BNMomentum float64

	threads int
	scratch [][]float32 // per part
	shared  []float32
	pool    *pool

	// The task being split, kept here so that handing it to the workers allocates nothing.
	tasks tasks
}

// NewExec returns an Exec for batches of up to batch images on threads goroutines (at least
// one), with the scratch the layers need.
func NewExec(threads, batch int, layers ...Layer) *Exec {
	threads = max(threads, 1)
	per, shared := 0, 0
	for _, l := range layers {
		p, s := l.Scratch(batch)
		per, shared = max(per, p), max(shared, s)
	}
	x := &Exec{N: batch, threads: threads, shared: make([]float32, shared), scratch: make([][]float32, threads)}
	for i := range x.scratch {
		x.scratch[i] = make([]float32, per)
	}
	if threads > 1 {
		x.pool = newPool(threads - 1)
	}
	return x
}

// Threads is the number of goroutines the layers use.
func (x *Exec) Threads() int { return x.threads }

// Hold keeps the workers polling for tasks, never sleeping, until Release: a training step
// holds them from its first layer to its last, through the optimizer's single-threaded update,
// so that they do not park (a parked goroutine takes tens of microseconds or more to wake, and
// parking allocates now and then in the Go runtime).
func (x *Exec) Hold() {
	if x.pool != nil {
		x.pool.hot.Store(true)
	}
}

// Release lets idle workers sleep again after spinBudget.
func (x *Exec) Release() {
	if x.pool != nil {
		x.pool.hot.Store(false)
	}
}

// Close stops the Exec's goroutines.
func (x *Exec) Close() {
	if x.pool != nil {
		x.pool.close()
		x.pool = nil
	}
}

func (x *Exec) momentum() float64 {
	if x.BNMomentum == 0 {
		return 0.1
	}
	return x.BNMomentum
}

// Run runs t in parts on the Exec's goroutines (train.Runner: the clipping's sums and the
// optimizer's update).
func (x *Exec) Run(t train.Task, parts int) {
	x.tasks.ext.t = t
	x.run(&x.tasks.ext, parts)
	x.tasks.ext.t = nil
}

// task is work split into parts that run concurrently, each computing a disjoint share.
type task interface{ runPart(part, parts int) }

// run runs t in parts (at most the thread count): part 0 on the calling goroutine.
func (x *Exec) run(t task, parts int) {
	parts = min(parts, x.threads)
	if parts <= 1 || x.pool == nil {
		t.runPart(0, 1)
		return
	}
	x.pool.run(t, parts)
}

// split is [lo, hi) of n items for part part of parts.
func split(n, part, parts int) (lo, hi int) { return n * part / parts, n * (part + 1) / parts }

// pool is the Exec's workers. They poll for the next task for spinBudget before sleeping: a
// training step hands out a task every few hundred microseconds, and a sleeping goroutine
// takes tens to hundreds of microseconds to wake in a VM.
type pool struct {
	workers int
	gen     atomic.Uint64 // bumped for each task
	pending atomic.Int32  // workers not yet done with the current task
	t       task
	parts   int
	quit    atomic.Bool
	hot     atomic.Bool // held: poll without a time limit

	mu       sync.Mutex
	cond     *sync.Cond
	sleepers int

	cpu []time.Duration // per part: its thread's CPU time in the current task (critOn)
}

const spinBudget = 2 * time.Millisecond

// critOn (CNNGEN_TRAIN_CRITPATH set) has the pools time each part of a split in its thread's
// CPU time, the workers locked to their threads: Crit then estimates the step on idle cores
// from a loaded machine, where wall times measure the contention (see docs/training.md).
var critOn = os.Getenv("CNNGEN_TRAIN_CRITPATH") != ""

var crit struct {
	path, inRun atomic.Int64 // ns: the splits' slowest parts; the calling thread's CPU in them
}

// Crit returns, since the last call, the sum over split tasks of their slowest part's CPU
// time (path) and the calling goroutine's CPU time inside them (its part and its wait), for
// CNNGEN_TRAIN_CRITPATH runs: a step's estimated time on idle cores is the calling thread's
// CPU time for it, less inRun, plus path. Zero otherwise.
func Crit() (path, inRun time.Duration) {
	return time.Duration(crit.path.Swap(0)), time.Duration(crit.inRun.Swap(0))
}

// CritOn reports whether CNNGEN_TRAIN_CRITPATH is set.
func CritOn() bool { return critOn }

func newPool(workers int) *pool {
	p := &pool{workers: workers, cpu: make([]time.Duration, workers+1)}
	p.cond = sync.NewCond(&p.mu)
	for i := range workers {
		go p.work(i + 1)
	}
	return p
}

// spin polls done for up to spinBudget, yielding now and then; it reports whether done held.
func spin(done func() bool) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%16 == 0 {
			goruntime.Gosched()
		}
		if i%256 == 0 && time.Since(start) > spinBudget {
			return false
		}
	}
}

func (p *pool) work(part int) {
	if critOn {
		goruntime.LockOSThread()
	}
	var seen uint64
	for {
		for p.hot.Load() && p.gen.Load() == seen && !p.quit.Load() {
			goruntime.Gosched()
		}
		if !spin(func() bool { return p.gen.Load() != seen || p.quit.Load() }) {
			p.mu.Lock()
			for p.gen.Load() == seen && !p.quit.Load() {
				p.sleepers++
				p.cond.Wait()
				p.sleepers--
			}
			p.mu.Unlock()
		}
		if p.quit.Load() {
			return
		}
		seen = p.gen.Load()
		if part < p.parts {
			if critOn {
				c0, _ := kernels.ThreadCPU()
				p.t.runPart(part, p.parts)
				c1, _ := kernels.ThreadCPU()
				p.cpu[part] = c1 - c0
			} else {
				p.t.runPart(part, p.parts)
			}
		}
		p.pending.Add(-1)
	}
}

func (p *pool) run(t task, parts int) {
	p.t, p.parts = t, parts
	p.pending.Store(int32(p.workers))
	p.gen.Add(1)
	p.mu.Lock()
	if p.sleepers > 0 {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	var c0 time.Duration
	if critOn {
		c0, _ = kernels.ThreadCPU()
	}
	t.runPart(0, parts)
	if critOn {
		c1, _ := kernels.ThreadCPU()
		p.cpu[0] = c1 - c0
	}
	for !spin(func() bool { return p.pending.Load() == 0 }) {
	}
	if critOn {
		c2, _ := kernels.ThreadCPU()
		crit.path.Add(int64(slices.Max(p.cpu[:parts])))
		crit.inRun.Add(int64(c2 - c0))
	}
	p.t = nil
}

func (p *pool) close() {
	p.quit.Store(true)
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}
