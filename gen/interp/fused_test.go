package interp

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// TestFusedEqualsUnfused runs a conv -> bn -> add(residual) -> relu block and a linear -> add ->
// hardsigmoid and linear -> clip tail as separate nodes, then with the work fused into the conv, the linear and the
// add the way gen/passes records it: both graphs must compute the same values.
func TestFusedEqualsUnfused(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	build := func(fused bool) *ir.Graph {
		in := input(2, 3, 3)
		conv := &ir.Node{Name: "conv", Op: ir.OpConv, Inputs: []*ir.Node{in}, Attrs: &ir.ConvAttrs{Out: 2, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 1}}
		bn := &ir.Node{Name: "bn", Op: ir.OpBatchNorm, Inputs: []*ir.Node{conv}, Attrs: &ir.BatchNormAttrs{Eps: 1e-3}}
		add := &ir.Node{Name: "add", Op: ir.OpAdd, Inputs: []*ir.Node{bn, in}}
		relu := &ir.Node{Name: "relu", Op: ir.OpReLU, Inputs: []*ir.Node{add}}
		flat := &ir.Node{Name: "flat", Op: ir.OpFlatten, Inputs: []*ir.Node{relu}}
		fc := &ir.Node{Name: "fc", Op: ir.OpLinear, Inputs: []*ir.Node{flat}, Attrs: &ir.LinearAttrs{Out: 4, Bias: true, Alpha: 0.5, Beta: 2}}
		fc2 := &ir.Node{Name: "fc2", Op: ir.OpLinear, Inputs: []*ir.Node{flat}, Attrs: &ir.LinearAttrs{Out: 4, Alpha: 1, Beta: 1}}
		sum := &ir.Node{Name: "sum", Op: ir.OpAdd, Inputs: []*ir.Node{fc, fc2}}
		hs := &ir.Node{Name: "hs", Op: ir.OpHardSigmoid, Inputs: []*ir.Node{sum}, Attrs: &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}}
		fc3 := &ir.Node{Name: "fc3", Op: ir.OpLinear, Inputs: []*ir.Node{flat}, Attrs: &ir.LinearAttrs{Out: 4, Alpha: 1, Beta: 1}}
		clip := &ir.Node{Name: "clip", Op: ir.OpClip, Inputs: []*ir.Node{fc3}, Attrs: &ir.ClipAttrs{Min: -0.5, Max: 0.5}}
		out := &ir.Node{Name: "out", Op: ir.OpMul, Inputs: []*ir.Node{hs, clip}}
		for _, n := range []*ir.Node{conv, bn, fc, fc2, fc3} {
			n.SetParamKeys(n.Name)
		}
		g := &ir.Graph{Name: "block", Nodes: []*ir.Node{in, conv, bn, add, relu, flat, fc, fc2, sum, hs, fc3, clip, out}}
		if err := g.Infer(); err != nil {
			t.Fatal(err)
		}
		if fused {
			conv.Fused = &ir.Fusion{BN: &ir.FoldedBN{Name: "bn", Params: bn.Params, Eps: 1e-3}, Residual: in, Act: ir.OpReLU}
			fc3.Fused = &ir.Fusion{Act: ir.OpClip, ActAttrs: &ir.ClipAttrs{Min: -0.5, Max: 0.5}}
			sum.Fused = &ir.Fusion{Act: ir.OpHardSigmoid, ActAttrs: &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}}
			flat.Inputs = []*ir.Node{conv}
			out.Inputs = []*ir.Node{sum, fc3}
			g = &ir.Graph{Name: "block", Nodes: []*ir.Node{in, conv, flat, fc, fc2, sum, fc3, out}}
			if err := g.Infer(); err != nil {
				t.Fatal(err)
			}
		}
		return g
	}
	w := mapWeights{
		"conv.weight": randVals(r, 2*2*9),
		"bn.weight":   randVals(r, 2), "bn.bias": randVals(r, 2), "bn.running_mean": randVals(r, 2),
		"bn.running_var": {0.5, 2},
		"fc.weight":      randVals(r, 4*18), "fc.bias": randVals(r, 4),
		"fc2.weight": randVals(r, 4*18), "fc3.weight": randVals(r, 4*18),
	}
	x := randVals(r, 3*18)
	want := mustRun(t, build(false), w, x, 3)
	got := mustRun(t, build(true), w, x, 3)
	want64 := make([]float64, len(want))
	for i, v := range want {
		want64[i] = float64(v)
	}
	expect(t, got, want64, 0)

	// A fused residual is kept alive until the node that adds it has run.
	g := build(true)
	_, nodes, err := RunNodes(g, w, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes["conv"]) != 3*18 {
		t.Fatalf("conv has %d values", len(nodes["conv"]))
	}

	// A fused activation that is not elementwise, and a residual computed too late, are errors.
	g = build(true)
	g.Node("sum").Fused.Act, g.Node("sum").Fused.ActAttrs = ir.OpConcat, nil
	if _, err := Run(g, w, x, 3); err == nil || !strings.Contains(err.Error(), "not an elementwise op") {
		t.Errorf("concat as activation: %v", err)
	}
	g = build(true)
	g.Node("conv").Fused.Residual = g.Node("flat")
	if _, err := Run(g, w, x, 3); err == nil || !strings.Contains(err.Error(), "not computed before") {
		t.Errorf("late residual: %v", err)
	}
	g = build(true)
	delete(w, "bn.running_var")
	if _, err := Run(g, w, x, 3); err == nil || !strings.Contains(err.Error(), "bn.running_var") {
		t.Errorf("missing folded bn tensor: %v", err)
	}
}
