package runtime

import (
	"fmt"
	"sync"
)

// Arena is the memory one image's forward pass works in: the planned activations and the kernels'
// scratch. A generated network keeps a pool of them, so concurrent calls never share one and
// steady-state calls allocate nothing.
type Arena struct {
	Buf, Scratch []float32
}

// ImageRunner runs one image through a network: in is one input image, out receives its logits
// (or, with features set, its penultimate features).
type ImageRunner interface {
	RunImage(a *Arena, in, out []float32, features bool)
}

// Runner splits a batch over goroutines, each with an arena from the pool.
type Runner struct {
	pool                 sync.Pool
	arenaLen, scratchLen int
	threads              int
}

// NewRunner makes a runner for a network whose arena and scratch need the given float32 counts.
func NewRunner(arenaLen, scratchLen, threads int) *Runner {
	r := &Runner{arenaLen: arenaLen, scratchLen: scratchLen, threads: threads}
	r.pool.New = func() any {
		return &Arena{Buf: make([]float32, arenaLen), Scratch: make([]float32, scratchLen)}
	}
	return r
}

// Run checks the slice lengths and runs every image of the batch. Batch 1 and single-threaded
// runs stay on the caller's goroutine and allocate nothing once the pool is warm.
func (r *Runner) Run(net ImageRunner, in, out []float32, inSize, outSize int, features bool) error {
	if len(in) == 0 || len(in)%inSize != 0 {
		return fmt.Errorf("input has %d values, not a whole number of images of %d values", len(in), inSize)
	}
	batch := len(in) / inSize
	if len(out) != batch*outSize {
		return fmt.Errorf("output has %d values, want %d (%d images x %d)", len(out), batch*outSize, batch, outSize)
	}
	workers := r.threads
	if workers > batch {
		workers = batch
	}
	if workers <= 1 {
		a := r.pool.Get().(*Arena)
		for i := 0; i < batch; i++ {
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
			defer r.pool.Put(a)
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= batch {
					return
				}
				net.RunImage(a, in[k*inSize:(k+1)*inSize], out[k*outSize:(k+1)*outSize], features)
			}
		}()
	}
	wg.Wait()
	return nil
}
