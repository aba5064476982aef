package benchrun

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Write prints r as one JSON object, or as the table `cnngen bench` prints.
func Write(w io.Writer, r Result, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	if len(r.Layers) > 0 {
		printLayers(w, r.Layers)
	}
	fmt.Fprintf(w, "%s  isa %s  threads %d  callers %d  batch %d\n  median %.3f ms per batch (%d runs)  %.1f images/s  %.1f GFLOP/s",
		r.Arch, r.ISA, r.Threads, r.Callers, r.Batch, r.MsMedian, r.Runs, r.ImagesPerS, r.GFLOPS)
	if r.PeakGFLOPS > 0 {
		fmt.Fprintf(w, "  (%.0f%% of the %.0f GFLOP/s FMA peak measured here)", 100*r.FractionOfPeak, r.PeakGFLOPS)
	}
	fmt.Fprintf(w, "\n  load %.0f ms", r.LoadMs)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, "  peak RSS %.0f MB", r.PeakRSSMB)
	}
	if r.CPUMsPerImage > 0 {
		fmt.Fprintf(w, "  CPU %.3f ms per image", r.CPUMsPerImage)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// printLayers prints the per-layer table, then the time per op kind, largest first.
func printLayers(w io.Writer, layers []Layer) {
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
