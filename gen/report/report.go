// Package report renders a graph's summary: the per-layer table and totals of `cnngen -summary`.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cnngen/cnngen/gen/ir"
)

// Layer is one row of the summary.
type Layer struct {
	Name            string   `json:"name"`
	Op              string   `json:"op"`
	Inputs          []string `json:"inputs,omitempty"`
	Shape           []int    `json:"shape"`
	Params          int64    `json:"params"`
	MACs            int64    `json:"macs"`
	ActivationBytes int64    `json:"activation_bytes"`
	TrainingOnly    bool     `json:"training_only,omitempty"`
	Weights         []Weight `json:"weights,omitempty"`
}

// Weight is one tensor a layer reads.
type Weight struct {
	Key    string `json:"key"`
	Shape  []int  `json:"shape"`
	Buffer bool   `json:"buffer,omitempty"`
}

// Summary is the JSON object of `cnngen -summary -json`.
type Summary struct {
	Name            string `json:"name"`
	Input           []int  `json:"input"`
	Classes         int    `json:"classes"`
	Params          int64  `json:"params"`
	TrainParams     int64  `json:"train_params"`
	MACs            int64  `json:"macs"`
	ActivationBytes int64  `json:"activation_bytes"`
	// ArenaBytes is the planned arena of the generated code (one image, liveness-based reuse);
	// MaxLiveBytes is the largest sum of tensors live at once, the least any layout can use.
	ArenaBytes   int64   `json:"arena_bytes"`
	MaxLiveBytes int64   `json:"max_live_bytes"`
	Layers       []Layer `json:"layers"`
}

// Summarize computes the summary of an inferred graph.
func Summarize(g *ir.Graph) Summary {
	t := g.Totals()
	s := Summary{Name: g.Name, Input: g.Input().Shape, Classes: g.Classes, Params: t.Params, TrainParams: t.TrainParams,
		MACs: t.MACs, ActivationBytes: t.ActivationBytes}
	for _, n := range g.Nodes {
		st := ir.NodeStats(n)
		l := Layer{Name: n.Name, Op: string(n.Op), Shape: n.Shape, Params: st.Params, MACs: st.MACs,
			ActivationBytes: st.ActivationBytes, TrainingOnly: n.TrainingOnly}
		for _, in := range n.Inputs {
			l.Inputs = append(l.Inputs, in.Name)
		}
		for _, p := range n.Params {
			l.Weights = append(l.Weights, Weight{Key: p.Key, Shape: p.Shape, Buffer: p.Buffer})
		}
		s.Layers = append(s.Layers, l)
	}
	return s
}

// WriteJSON writes the summary as one indented JSON object.
func WriteJSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable writes the human-readable per-layer table and totals.
func WriteTable(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\top\toutput\tparams\tMACs\tact bytes\t\n")
	for _, l := range s.Layers {
		name := l.Name
		if l.TrainingOnly {
			name += " (train)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", name, l.Op, ir.Shape(l.Shape), Group(l.Params), Group(l.MACs), Group(l.ActivationBytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: input %v, %d classes\n  params           %s (%s with training-only heads)\n  MACs             %s (%.3f G)\n  activation bytes %s (%.2f MB: input + every tensor a layer writes; in-place ops count 0)\n",
		s.Name, ir.Shape(s.Input), s.Classes, Group(s.Params), Group(s.TrainParams), Group(s.MACs), float64(s.MACs)/1e9,
		Group(s.ActivationBytes), float64(s.ActivationBytes)/1e6)
	if err == nil && s.ArenaBytes > 0 {
		_, err = fmt.Fprintf(w, "  arena (planned)  %s (%.2f MB per image; largest live set %.2f MB)\n", Group(s.ArenaBytes), float64(s.ArenaBytes)/1e6, float64(s.MaxLiveBytes)/1e6)
	}
	return err
}

// Group formats 1234567 as 1,234,567.
func Group(v int64) string {
	s := fmt.Sprint(v)
	if v < 0 {
		return "-" + Group(-v)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
