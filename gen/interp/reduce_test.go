package interp

import (
	"math"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

func TestReduce(t *testing.T) {
	// One image [2 2 3]: channel 0 is 1..6, channel 1 is -1..-6.
	in := []float32{1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}
	cases := []struct {
		op   ir.Op
		a    ir.ReduceAttrs
		want []float64
	}{
		{ir.OpReduceMean, ir.ReduceAttrs{Axis: 1, KeepDims: true}, []float64{3.5, -3.5}},
		{ir.OpReduceSum, ir.ReduceAttrs{Axis: 0, AxisEnd: 1}, []float64{0, 0, 0, 0, 0, 0}},
		{ir.OpReduceMax, ir.ReduceAttrs{Axis: 2, KeepDims: true}, []float64{3, 6, -1, -4}},
		{ir.OpReduceL2, ir.ReduceAttrs{Axis: 1, AxisEnd: 2}, []float64{math.Sqrt(17), math.Sqrt(29), math.Sqrt(45), math.Sqrt(17), math.Sqrt(29), math.Sqrt(45)}},
	}
	for _, c := range cases {
		x := &ir.Node{Name: "x", Op: ir.OpInput, Shape: ir.Shape{2, 2, 3}}
		n := ir.NewNode(c.op, "r", x)
		a := c.a
		n.Attrs = &a
		g := &ir.Graph{Name: "t", Nodes: []*ir.Node{x, n}}
		if err := g.Infer(); err != nil {
			t.Fatal(err)
		}
		got, err := Run(g, nil, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s %+v: %v, want %v", c.op, c.a, got, c.want)
		}
		for i := range got {
			if math.Abs(float64(got[i])-c.want[i]) > 1e-6 {
				t.Fatalf("%s %+v: %v, want %v", c.op, c.a, got, c.want)
			}
		}
	}
}
