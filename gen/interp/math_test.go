package interp

import (
	"math"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

func TestSoftmax(t *testing.T) {
	g := chain(t, input(3), &ir.Node{Op: ir.OpSoftmax})
	out := mustRun(t, g, nil, []float32{1000, 1001, 1002, -1, 0, 5}, 2)
	for b := range 2 {
		s := 0.0
		for _, v := range out[b*3 : b*3+3] {
			if math.IsNaN(float64(v)) {
				t.Fatalf("NaN in %v", out)
			}
			s += float64(v)
		}
		if !near(s, 1, 1e-6) {
			t.Fatalf("image %d sums to %v: %v", b, s, out)
		}
	}
	e := math.Exp(1)
	d := 1 + e + e*e
	expect(t, out[:3], []float64{1 / d, e / d, e * e / d}, 1e-6)
}

func TestLinearAndMerges(t *testing.T) {
	// input [2 1 2] -> flatten [4] -> fc [3] (W [3 4], bias)
	in := input(2, 1, 2)
	fl := &ir.Node{Name: "flat", Op: ir.OpFlatten, Inputs: []*ir.Node{in}}
	fc := &ir.Node{Name: "fc", Op: ir.OpLinear, Attrs: &ir.LinearAttrs{Out: 3, Bias: true, Alpha: 1, Beta: 1}, Inputs: []*ir.Node{fl}}
	g := chain(t, in, fl, fc)
	w := mapWeights{
		"fc.weight": {1, 0, 0, 0, 0, 1, 1, 0, 1, -1, 2, -2},
		"fc.bias":   {0, 10, 0.5},
	}
	expect(t, mustRun(t, g, w, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2), []float64{1, 15, 0.5 - 1 + 6 - 8, 5, 23, 0.5 - 1 + 14 - 16}, 1e-7)

	// Residual add of three, concat, SE-style mul, affine.
	in = input(2, 1, 2)
	r1 := &ir.Node{Name: "r1", Op: ir.OpReLU, Inputs: []*ir.Node{in}}
	r6 := &ir.Node{Name: "r6", Op: ir.OpReLU6, Inputs: []*ir.Node{in}}
	add := &ir.Node{Name: "add", Op: ir.OpAdd, Inputs: []*ir.Node{in, r1, r6}}
	cat := &ir.Node{Name: "cat", Op: ir.OpConcat, Inputs: []*ir.Node{add, in, r1}} // [6 1 2]
	gp := &ir.Node{Name: "gap", Op: ir.OpGlobalMaxPool, Inputs: []*ir.Node{cat}}   // [6 1 1]
	se := &ir.Node{Name: "se", Op: ir.OpMul, Inputs: []*ir.Node{cat, gp}}
	sq := &ir.Node{Name: "sq", Op: ir.OpMul, Inputs: []*ir.Node{se, se}}
	af := &ir.Node{Name: "af", Op: ir.OpAffine, Inputs: []*ir.Node{sq}, Attrs: &ir.AffineAttrs{Scale: []float64{1, 2, 3, 4, 5, 6}, Shift: []float64{0, 0, 0, 0, 0, -1}}}
	g = chain(t, in, r1, r6, add, cat, gp, se, sq, af)
	x := []float32{-1, 8, 2, 3, 1, 1, 1, 1}
	out, nodes, err := RunNodes(g, nil, x, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Image 1: in = [-1 8 | 2 3], r1 = [0 8 | 2 3], r6 = [0 6 | 2 3], add = [-1 22 | 6 9].
	// cat = [-1 22 | 6 9 | -1 8 | 2 3 | 0 8 | 2 3], channel maxima 22 9 8 3 8 3.
	cat1 := []float64{-1, 22, 6, 9, -1, 8, 2, 3, 0, 8, 2, 3}
	mx1 := []float64{22, 9, 8, 3, 8, 3}
	// Image 2: everything is 1 except add = 3.
	cat2 := []float64{3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}
	mx2 := []float64{3, 3, 1, 1, 1, 1}
	var want []float64
	for b, cv := range [][]float64{cat1, cat2} {
		mx := [][]float64{mx1, mx2}[b]
		for i, v := range cv {
			c := i / 2
			s := v * mx[c]
			want = append(want, s*s*float64(c+1)+[]float64{0, 0, 0, 0, 0, -1}[c])
		}
	}
	expect(t, out, want, 1e-7)
	if got := nodes["cat"]; len(got) != 24 || got[1] != 22 || got[12] != 3 {
		t.Fatalf("cat = %v", got)
	}
	if len(nodes) != len(g.Nodes) {
		t.Fatalf("RunNodes returned %d nodes, want %d", len(nodes), len(g.Nodes))
	}
}
