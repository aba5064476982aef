//go:build !cnngen_nozoo

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/progress"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/internal/zoo"
	"github.com/cnngen/cnngen/runtime"
)

// benchResult is the JSON object of `cnngen bench -json`.
type benchResult struct {
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
	PeakRSSMB float64      `json:"peak_rss_mb"`
	Layers    []benchLayer `json:"layers,omitempty"`
}

// benchLayer is one layer's share of the timed runs (-layers).
type benchLayer struct {
	Name    string  `json:"name"`
	Op      string  `json:"op"`
	MsImage float64 `json:"ms_per_image"`
	GFLOPS  float64 `json:"gflops"`
}

// benchCmd times a built-in network's generated code on seeded random weights.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnngen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "built-in architecture")
	threads := fs.Int("threads", 1, "goroutines per Forward call")
	batch := fs.Int("batch", 1, "images per Forward call")
	isa := fs.String("isa", "auto", "kernel level: auto, avx512, avx2 or generic")
	seconds := fs.Float64("seconds", 3, "time to spend timing (at least 5 runs)")
	callers := fs.Int("callers", 1, "goroutines calling Forward at once (a server's concurrent requests)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	layers := fs.Bool("layers", false, "add each layer's time and GFLOP/s")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *arch == "" || *batch < 1 || *callers < 1 || fs.NArg() > 0 {
		return usageError{"bench needs -arch (and -batch >= 1, -callers >= 1)\n" + usage}
	}
	level, err := selectISA(*isa)
	if err != nil {
		return err
	}
	e, err := zoo.Get(*arch)
	if err != nil {
		return err
	}
	g, err := frontend.Load(*arch)
	if err != nil {
		return err
	}
	path, err := seededWeightsFile(g)
	if err != nil {
		return err
	}
	defer os.Remove(path)

	// Load the way a user does, from a file, with the generator's garbage returned to the OS
	// first so that the peak RSS is the network's.
	debug.FreeOSMemory()
	resetPeakRSS()
	opts := []runtime.Option{runtime.WithThreads(*threads)}
	var prof *runtime.Profile
	if *layers {
		prof = runtime.NewProfile(len(e.Layers))
		opts = append(opts, runtime.WithProfile(prof))
	}
	t0 := time.Now()
	net, err := e.Load(path, opts...)
	if err != nil {
		return err
	}
	loadMs := float64(time.Since(t0).Nanoseconds()) / 1e6

	in := seedweights.Input(*batch, g.Input().Shape)
	out := make([]float32, *batch*e.NumClasses)
	for i := 0; i < 2; i++ { // warm-up: pools, caches, page faults
		if err := net.Forward(in, out); err != nil {
			return err
		}
	}
	if prof != nil {
		prof.Reset()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	bar := progress.New("bench "+*arch, 0)
	times, wall, err := timeCalls(*callers, time.Duration(*seconds*float64(time.Second)), in, len(out), net.Forward, func() { bar.Add(1) })
	bar.Done()
	if err != nil {
		return err
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	flops := 2 * float64(g.Totals().MACs) * float64(*batch)
	// With several callers a call's time includes its wait for an arena: throughput is the
	// images all callers finished per second of wall time.
	r := benchResult{Arch: *arch, ISA: level.name, Threads: *threads, Callers: *callers, Batch: *batch, MsMedian: med,
		ImagesPerS: float64(*batch*len(times)) * 1000 / wall, GFLOPS: flops * float64(len(times)) / wall / 1e6, Runs: len(times),
		LoadMs: loadMs, PeakRSSMB: float64(peakRSS()) / 1e6}
	r.PeakGFLOPS = level.peak(*threads)
	if r.PeakGFLOPS > 0 {
		r.FractionOfPeak = r.GFLOPS / r.PeakGFLOPS
	}
	if prof != nil && prof.Images() > 0 {
		for i, l := range e.Layers {
			ms := float64(prof.Time(i).Nanoseconds()) / 1e6 / float64(prof.Images())
			bl := benchLayer{Name: l.Name, Op: l.Op, MsImage: ms}
			if ms > 0 {
				bl.GFLOPS = 2 * float64(l.MACs) / ms / 1e6
			}
			r.Layers = append(r.Layers, bl)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	if len(r.Layers) > 0 {
		printLayers(stdout, r.Layers)
	}
	fmt.Fprintf(stdout, "%s  isa %s  threads %d  callers %d  batch %d\n  median %.3f ms per batch (%d runs)  %.1f images/s  %.1f GFLOP/s",
		r.Arch, r.ISA, r.Threads, r.Callers, r.Batch, r.MsMedian, r.Runs, r.ImagesPerS, r.GFLOPS)
	if r.PeakGFLOPS > 0 {
		fmt.Fprintf(stdout, "  (%.0f%% of the %.0f GFLOP/s FMA peak measured here)", 100*r.FractionOfPeak, r.PeakGFLOPS)
	}
	fmt.Fprintf(stdout, "\n  load %.0f ms", r.LoadMs)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(stdout, "  peak RSS %.0f MB", r.PeakRSSMB)
	}
	fmt.Fprintln(stdout)
	return nil
}

// timeCalls calls forward from callers goroutines at once, each with its own output, for at least d (and 5 calls), and returns every call's time and the wall time, in ms.
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

// seededWeightsFile writes g's seeded weights to a temporary safetensors file.
func seededWeightsFile(g *ir.Graph) (string, error) {
	f, err := os.CreateTemp("", "cnngen-bench-*.safetensors")
	if err != nil {
		return "", err
	}
	err = runtime.WriteSafetensors(f, seedweights.Tensors(g, ""), nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// printLayers prints the per-layer table, then the time per op kind, largest first.
func printLayers(w io.Writer, layers []benchLayer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\top\tms/image\t%\tGFLOP/s\t")
	total := 0.0
	for _, l := range layers {
		total += l.MsImage
	}
	byOp := map[string]float64{}
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.1f\t%s\t\n", l.Name, l.Op, l.MsImage, 100*l.MsImage/total, gflopsCell(l.GFLOPS))
		byOp[l.Op] += l.MsImage
	}
	tw.Flush()
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return byOp[ops[i]] > byOp[ops[j]] })
	fmt.Fprint(w, "by op:")
	for _, op := range ops {
		fmt.Fprintf(w, "  %s %.2f ms (%.0f%%)", op, byOp[op], 100*byOp[op]/total)
	}
	fmt.Fprintln(w)
}

func gflopsCell(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}
