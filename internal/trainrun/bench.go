package trainrun

import (
	"fmt"
	"io"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/cnngen/cnngen/internal/progress"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/trainrt"
)

// Bench times o.BenchSteps training steps of a full batch (forward, backward, clipping if set,
// the optimizer's update) on random inputs and labels after one warm-up step, and prints the
// median and the fastest step and the images per second. It is the benchmark of the training
// targets (docs/training.md), never a test.
func Bench(m Model, o *Options, w io.Writer) error {
	t, err := newTrainer(m, o, o.BenchSteps+1)
	if err != nil {
		return err
	}
	defer t.Close()
	size := m.Input[0] * m.Input[1] * m.Input[2]
	r := rand.New(rand.NewPCG(o.Seed, 1))
	in := make([]float32, m.Batch*size)
	for i := range in {
		in[i] = float32(r.NormFloat64())
	}
	labels := make([]int32, m.Batch)
	for i := range labels {
		labels[i] = int32(r.IntN(m.NumClasses))
	}
	if _, err := t.Step(in, labels); err != nil {
		return err
	}
	times := make([]time.Duration, o.BenchSteps)
	// With CNNGEN_TRAIN_CRITPATH, each step's time on idle cores is estimated from CPU times
	// (trainrt.Crit): this thread's outside the splits, plus each split's slowest part.
	crit := trainrt.CritOn()
	var est, cpu []time.Duration
	if crit {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		trainrt.Crit()
	}
	bar := progress.New(m.Arch+" steps", o.BenchSteps)
	for i := range times {
		t0 := time.Now()
		c0, _ := kernels.ThreadCPU()
		if _, err := t.Step(in, labels); err != nil {
			return err
		}
		times[i] = time.Since(t0)
		if crit {
			c1, _ := kernels.ThreadCPU()
			path, inRun := trainrt.Crit()
			est, cpu = append(est, c1-c0-inRun+path), append(cpu, c1-c0)
		}
		bar.Add(1)
	}
	bar.Done()
	slices.Sort(times)
	med := times[len(times)/2]
	fmt.Fprintf(w, "%s: batch %d, %d thread(s), %s: training step median %.1f ms (fastest %.1f ms) over %d steps, %.1f images/s\n",
		m.Arch, m.Batch, o.Threads, kernels.Active(), ms(med), ms(times[0]), len(times), float64(m.Batch)/med.Seconds())
	if crit {
		slices.Sort(est)
		slices.Sort(cpu)
		fmt.Fprintf(w, "%s: critical path on idle cores (estimated from CPU times): median %.1f ms (fastest %.1f ms); the calling thread's CPU time median %.1f ms\n",
			m.Arch, ms(est[len(est)/2]), ms(est[0]), ms(cpu[len(cpu)/2]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
