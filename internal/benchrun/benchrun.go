// Package benchrun times a generated network's Forward: the one implementation of `cnngen bench`.
// cnngen runs it in-process on the built-in networks compiled into it (internal/zoo), and for any
// other network (a spec file, an ONNX model) it generates the package into a temporary module
// with a small program whose main is Main: both paths share the flags, the timing loop, the
// metrics and the report, so their numbers mean the same thing.
package benchrun

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/cnngen/cnngen/internal/progress"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/runtime"
	"github.com/cnngen/cnngen/runtime/kernels"
)

// Options are the timing flags, the same for `cnngen bench` and for a benchmark program.
type Options struct {
	Threads, Batch, Callers int
	ISA                     string
	Seconds                 float64
	JSON, Layers            bool
	CPUProfile              string
}

// AddFlags defines the options' flags on fs (their defaults are cnngen bench's).
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Threads, "threads", 1, "goroutines per Forward call")
	fs.IntVar(&o.Batch, "batch", 1, "images per Forward call")
	fs.StringVar(&o.ISA, "isa", "auto", "kernel level: auto, avx512, avx2 or generic")
	fs.Float64Var(&o.Seconds, "seconds", 3, "time to spend timing (at least 5 runs)")
	fs.IntVar(&o.Callers, "callers", 1, "goroutines calling Forward at once (a server's concurrent requests)")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object")
	fs.BoolVar(&o.Layers, "layers", false, "add each layer's time and GFLOP/s")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed runs to this file")
}

// Validate reports a mistake in the options themselves (a usage error), before any work.
// Whether the CPU runs a named -isa is known only where the timing runs (Run).
func (o Options) Validate() error {
	switch {
	case o.Threads < 1 || o.Batch < 1 || o.Callers < 1:
		return errors.New("-threads, -batch and -callers must be at least 1")
	case o.Seconds < 0 || math.IsNaN(o.Seconds) || math.IsInf(o.Seconds, 0):
		return fmt.Errorf("-seconds %v: want a duration in seconds", o.Seconds)
	}
	if o.ISA != "auto" {
		if _, err := kernels.ParseISA(o.ISA); err != nil {
			return fmt.Errorf("-isa: %v", err)
		}
	}
	return nil
}

// Args are the flags that give a benchmark program these options, with -json: the program's
// output is read back by cnngen, which prints it as the user asked.
func (o Options) Args() []string {
	a := []string{"-threads", strconv.Itoa(o.Threads), "-batch", strconv.Itoa(o.Batch), "-callers", strconv.Itoa(o.Callers),
		"-isa", o.ISA, "-seconds", strconv.FormatFloat(o.Seconds, 'g', -1, 64), "-json"}
	if o.Layers {
		a = append(a, "-layers")
	}
	if o.CPUProfile != "" {
		a = append(a, "-cpuprofile", o.CPUProfile)
	}
	return a
}

// Net is what a generated package's *Net does for a benchmark.
type Net interface {
	Forward(in, out []float32) error
}

// Model is a generated package as the benchmark sees it.
type Model struct {
	Arch       string          // the name reported
	Input      []int           // one image's shape (InputChannels, InputHeight, InputWidth)
	NumClasses int             // logits per image
	MACs       int64           // multiply-accumulates per image (ir.Graph.Totals), for GFLOP/s
	Layers     []runtime.Layer // the package's Layers, for -layers
	// Load is the package's Load.
	Load func(path string, opts ...runtime.Option) (Net, error)
}

// Result is the JSON object of `cnngen bench -json`.
type Result struct {
	Arch           string  `json:"arch"`
	ISA            string  `json:"isa"`
	Threads        int     `json:"threads"`
	Callers        int     `json:"callers"`
	Batch          int     `json:"batch"`
	MsMedian       float64 `json:"ms_median"`
	ImagesPerS     float64 `json:"images_per_s"`
	GFLOPS         float64 `json:"gflops"`
	PeakGFLOPS     float64 `json:"peak_gflops"`
	FractionOfPeak float64 `json:"fraction_of_peak"`
	Runs           int     `json:"runs"`
	// LoadMs is Load's time: reading the safetensors file, folding and packing every weight.
	LoadMs float64 `json:"load_ms"`
	// PeakRSSMB is the process's peak resident memory from just before Load to the end of the
	// timed runs (Linux; 0 elsewhere).
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// CPUMsPerImage is the CPU time the whole process used during the timed runs per image
	// (Linux; 0 elsewhere): unlike the wall time, it leaves out the time other processes had
	// the cores, so that one-thread comparisons on a loaded machine hold. With several threads
	// it counts the workers' polling too.
	CPUMsPerImage float64 `json:"cpu_ms_per_image"`
	Layers        []Layer `json:"layers,omitempty"`
}

// Layer is one layer's share of the timed runs (-layers).
type Layer struct {
	Name    string  `json:"name"`
	Op      string  `json:"op"`
	MsImage float64 `json:"ms_per_image"`
	GFLOPS  float64 `json:"gflops"`
}

// Run loads m from the weights file and times its Forward on the seeded input batch.
func Run(m Model, weights string, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	level, err := selectISA(o.ISA)
	if err != nil {
		return Result{}, err
	}
	// Load the way a user does, from a file, with the garbage of what ran before (the generator,
	// in cnngen) returned to the OS first so that the peak RSS is the network's.
	debug.FreeOSMemory()
	resetPeakRSS()
	opts := []runtime.Option{runtime.WithThreads(o.Threads)}
	var prof *runtime.Profile
	if o.Layers {
		prof = runtime.NewProfile(len(m.Layers))
		opts = append(opts, runtime.WithProfile(prof))
	}
	t0 := time.Now()
	net, err := m.Load(weights, opts...)
	if err != nil {
		return Result{}, err
	}
	loadMs := float64(time.Since(t0).Nanoseconds()) / 1e6

	in := seedweights.Input(o.Batch, m.Input)
	out := make([]float32, o.Batch*m.NumClasses)
	for range 2 { // warm-up: pools, caches, page faults
		if err := net.Forward(in, out); err != nil {
			return Result{}, err
		}
	}
	if prof != nil {
		prof.Reset()
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return Result{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return Result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	bar := progress.New("bench "+m.Arch, 0)
	cpu0 := processCPU()
	times, wall, err := timeCalls(o.Callers, time.Duration(o.Seconds*float64(time.Second)), in, len(out), net.Forward, func() { bar.Add(1) })
	cpu := processCPU() - cpu0
	bar.Done()
	if err != nil {
		return Result{}, err
	}
	sort.Float64s(times)
	flops := 2 * float64(m.MACs) * float64(o.Batch)
	// With several callers a call's time includes its wait for an arena: throughput is the
	// images all callers finished per second of wall time.
	r := Result{Arch: m.Arch, ISA: level.name, Threads: o.Threads, Callers: o.Callers, Batch: o.Batch, MsMedian: times[len(times)/2],
		ImagesPerS: float64(o.Batch*len(times)) * 1000 / wall, GFLOPS: flops * float64(len(times)) / wall / 1e6, Runs: len(times),
		LoadMs: loadMs, PeakRSSMB: float64(peakRSS()) / 1e6, CPUMsPerImage: float64(cpu.Nanoseconds()) / 1e6 / float64(o.Batch*len(times))}
	r.PeakGFLOPS = level.peak(o.Threads)
	if r.PeakGFLOPS > 0 {
		r.FractionOfPeak = r.GFLOPS / r.PeakGFLOPS
	}
	if prof != nil && prof.Images() > 0 {
		for i, l := range m.Layers {
			ms := float64(prof.Time(i).Nanoseconds()) / 1e6 / float64(prof.Images())
			bl := Layer{Name: l.Name, Op: l.Op, MsImage: ms}
			if ms > 0 {
				bl.GFLOPS = 2 * float64(l.MACs) / ms / 1e6
			}
			r.Layers = append(r.Layers, bl)
		}
	}
	return r, nil
}

// timeCalls calls forward from callers goroutines at once, each with its own output, for at
// least d (and 5 calls), and returns every call's time and the wall time, in ms.
func timeCalls(callers int, d time.Duration, in []float32, outLen int, forward func(in, out []float32) error, tick func()) ([]float64, float64, error) {
	start := time.Now()
	deadline := start.Add(d)
	var (
		mu    sync.Mutex
		times []float64
		first error
		wg    sync.WaitGroup
	)
	for range callers {
		out := make([]float32, outLen) // in is only read: the callers share it
		wg.Go(func() {
			for {
				mu.Lock()
				done := first != nil || len(times) >= 5 && !time.Now().Before(deadline)
				mu.Unlock()
				if done {
					return
				}
				t0 := time.Now()
				err := forward(in, out)
				ms := float64(time.Since(t0).Nanoseconds()) / 1e6
				mu.Lock()
				times = append(times, ms)
				if err != nil && first == nil {
					first = err
				}
				tick() // under mu: the bar is not safe for concurrent use
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return times, float64(time.Since(start).Nanoseconds()) / 1e6, first
}
