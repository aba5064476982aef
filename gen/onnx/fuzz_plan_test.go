package onnx

import (
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/gen/report"
)

// fuzzLimits are small, so that the fuzzer explores the limits' edges quickly.
var fuzzLimits = ir.Limits{MaxNodes: 200, MaxActivationBytes: 64 << 20, MaxWeightBytes: 64 << 20}

// FuzzPlan takes arbitrary bytes past parsing, as the CLI does: ONNX -> IR under the limits ->
// summary -> inference passes and memory plan. A panic, a graph that passes the limits but plans
// an arena beyond them, or a plan whose validator fails, is a failure.
func FuzzPlan(f *testing.F) {
	for _, s := range seedModels(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "")
		if err != nil {
			return
		}
		l := fuzzLimits
		m.Limits = &l
		g, _, err := m.Graph("fuzz")
		if err != nil {
			return
		}
		if err := g.Check(l); err != nil {
			t.Fatalf("Graph returned a graph beyond its limits: %v", err)
		}
		report.Summarize(g)
		p, err := pipeline.Plan(g)
		if err != nil {
			return
		}
		if arena := 4 * int64(p.Plan.Arena); arena > l.MaxActivationBytes {
			t.Fatalf("a graph within %d activation bytes plans an arena of %d", l.MaxActivationBytes, arena)
		}
	})
}
