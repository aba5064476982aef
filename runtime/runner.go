package runtime

import (
	"fmt"
	"sync"
	"time"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// Arena is the memory one image's forward pass works in: the planned activations and the kernels'
// scratch (one share per part a layer may be split into). A generated network keeps a pool of
// them, so concurrent calls never share one and steady-state calls allocate nothing.
type Arena struct {
	Buf, Scratch []float32
	scratchLen   int
	parts        int // how many shares a large layer is split into for this call
	wg           sync.WaitGroup
	prof         *Profile
	last         time.Time // when the previous layer ended (profiling only)
}

// ImageRunner runs one image through a network: in is one input image, out receives its logits
// (or, with features set, its penultimate features).
type ImageRunner interface {
	RunImage(a *Arena, in, out []float32, features bool)
}

// Runner splits work over goroutines: the images of a batch, or, for a single image, the output
// of each large layer. Each call takes its own arena from the pool.
type Runner struct {
	pool    sync.Pool
	threads int
	prof    *Profile
}

// NewRunner makes a runner for a network whose arena and per-part scratch need the given float32
// counts. prof, if not nil, receives per-layer times.
func NewRunner(arenaLen, scratchLen, threads int, prof *Profile) *Runner {
	r := &Runner{threads: max(threads, 1), prof: prof}
	r.pool.New = func() any {
		return &Arena{Buf: make([]float32, arenaLen), Scratch: make([]float32, r.threads*scratchLen), scratchLen: scratchLen, prof: prof}
	}
	if r.threads > 1 {
		ensureWorkers(r.threads - 1)
	}
	return r
}

// Run checks the slice lengths and runs every image of the batch. A batch of several images is
// split by image over the threads; a single image has its large layers split instead. Single-
// threaded and single-image calls allocate nothing once the pool is warm.
func (r *Runner) Run(net ImageRunner, in, out []float32, inSize, outSize int, features bool) error {
	if len(in) == 0 || len(in)%inSize != 0 {
		return fmt.Errorf("input has %d values, not a whole number of images of %d values", len(in), inSize)
	}
	batch := len(in) / inSize
	if len(out) != batch*outSize {
		return fmt.Errorf("output has %d values, want %d (%d images x %d)", len(out), batch*outSize, batch, outSize)
	}
	workers := min(r.threads, batch)
	if workers <= 1 {
		a := r.pool.Get().(*Arena)
		a.parts = r.threads
		for i := 0; i < batch; i++ {
			a.begin()
			net.RunImage(a, in[i*inSize:(i+1)*inSize], out[i*outSize:(i+1)*outSize], features)
		}
		r.pool.Put(a)
		return nil
	}
	var wg sync.WaitGroup
	var next sync.Mutex
	i := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := r.pool.Get().(*Arena)
			a.parts = 1 // the images already keep every thread busy
			defer r.pool.Put(a)
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= batch {
					return
				}
				a.begin()
				net.RunImage(a, in[k*inSize:(k+1)*inSize], out[k*outSize:(k+1)*outSize], features)
			}
		}()
	}
	wg.Wait()
	return nil
}

// minParallelMACs keeps small layers on one thread: handing them out costs more than it saves.
const minParallelMACs = 2 << 20

// Conv runs one convolution of the image, split over the shared workers when the call has several
// threads and the layer is large enough. The split is exact: results do not depend on it.
func (a *Arena) Conv(c *kernels.Conv, in, out []float32, w *kernels.ConvWeights, residual []float32) {
	parts := a.parts
	macs := c.OutC * c.OutH * c.OutW * (c.InC / max(c.Groups, 1)) * c.KH * c.KW
	if parts <= 1 || macs < minParallelMACs {
		c.Run(in, out, w, residual, a.Scratch[:a.scratchLen])
		return
	}
	sl := a.scratchLen
	for p := 1; p < parts; p++ {
		a.wg.Add(1)
		jobs <- convJob{c: c, part: p, parts: parts, in: in, out: out, w: w, residual: residual, scratch: a.Scratch[p*sl : (p+1)*sl], wg: &a.wg}
	}
	c.RunPart(0, parts, in, out, w, residual, a.Scratch[:sl])
	a.wg.Wait()
}

// convJob is one share of a convolution, handed to a worker by value (no allocation).
type convJob struct {
	c                          *kernels.Conv
	part, parts                int
	in, out, residual, scratch []float32
	w                          *kernels.ConvWeights
	wg                         *sync.WaitGroup
}

// The workers are shared by every network in the process, so several Nets running at once do
// not start more goroutines than the largest thread count asked for.
var (
	jobs        = make(chan convJob, 64)
	workersMu   sync.Mutex
	workerCount int
)

func ensureWorkers(n int) {
	workersMu.Lock()
	defer workersMu.Unlock()
	for ; workerCount < n; workerCount++ {
		go func() {
			for j := range jobs {
				j.c.RunPart(j.part, j.parts, j.in, j.out, j.w, j.residual, j.scratch)
				j.wg.Done()
			}
		}()
	}
}
