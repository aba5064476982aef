//go:build !cnngen_nozoo

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/cnngen/cnngen/gen/frontend"
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
	Batch          int     `json:"batch"`
	MsMedian       float64 `json:"ms_median"`
	ImagesPerS     float64 `json:"images_per_s"`
	GFLOPS         float64 `json:"gflops"`
	PeakGFLOPS     float64 `json:"peak_gflops"`
	FractionOfPeak float64 `json:"fraction_of_peak"`
	Runs           int     `json:"runs"`
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
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *arch == "" || *batch < 1 || fs.NArg() > 0 {
		return usageError{"bench needs -arch (and -batch >= 1)\n" + usage}
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
	var w bytes.Buffer
	if err := runtime.WriteSafetensors(&w, seedweights.Tensors(g, ""), nil); err != nil {
		return err
	}
	net, err := e.New(bytes.NewReader(w.Bytes()), runtime.WithThreads(*threads))
	if err != nil {
		return err
	}
	in := seedweights.Input(*batch, g.Input().Shape)
	out := make([]float32, *batch*e.NumClasses)
	for i := 0; i < 2; i++ { // warm-up: pools, caches, page faults
		if err := net.Forward(in, out); err != nil {
			return err
		}
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
	var times []float64
	bar := progress.New("bench "+*arch, 0)
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	for len(times) < 5 || time.Now().Before(deadline) {
		t0 := time.Now()
		if err := net.Forward(in, out); err != nil {
			return err
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
		bar.Add(1)
	}
	bar.Done()
	sort.Float64s(times)
	med := times[len(times)/2]
	flops := 2 * float64(g.Totals().MACs) * float64(*batch)
	r := benchResult{Arch: *arch, ISA: level.name, Threads: *threads, Batch: *batch, MsMedian: med,
		ImagesPerS: float64(*batch) * 1000 / med, GFLOPS: flops / med / 1e6, Runs: len(times)}
	r.PeakGFLOPS = level.peak(*threads)
	if r.PeakGFLOPS > 0 {
		r.FractionOfPeak = r.GFLOPS / r.PeakGFLOPS
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "%s  isa %s  threads %d  batch %d\n  median %.3f ms per batch (%d runs)  %.1f images/s  %.1f GFLOP/s",
		r.Arch, r.ISA, r.Threads, r.Batch, r.MsMedian, r.Runs, r.ImagesPerS, r.GFLOPS)
	if r.PeakGFLOPS > 0 {
		fmt.Fprintf(stdout, "  (%.0f%% of the %.0f GFLOP/s FMA peak measured here)", 100*r.FractionOfPeak, r.PeakGFLOPS)
	}
	fmt.Fprintln(stdout)
	return nil
}
