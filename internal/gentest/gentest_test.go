package gentest

import (
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
)

type mapWeights map[string][]float32

func (m mapWeights) Float32(k string) ([]float32, error) { return m[k], nil }

// TestONNXOnlyOps runs the ops only the ONNX front end produces (reshape, clip, log-softmax over
// an inner axis, pad, ONNX's LRN window, transposed Gemm with alpha/beta, scalar affine) through
// generated code and the interpreter.
func TestONNXOnlyOps(t *testing.T) {
	g := &ir.Graph{Name: "ops"}
	add := func(n *ir.Node) *ir.Node {
		if len(g.Nodes) > 0 && n.Inputs == nil {
			n.Inputs = []*ir.Node{g.Nodes[len(g.Nodes)-1]}
		}
		g.Nodes = append(g.Nodes, n)
		return n
	}
	add(&ir.Node{Name: "input", Op: ir.OpInput, Shape: ir.Shape{4, 5, 6}})
	add(&ir.Node{Name: "pad", Op: ir.OpPad, Attrs: &ir.PadAttrs{Pads: [4]int{1, 0, 2, 1}, Value: 0.5}})
	c := add(&ir.Node{Name: "conv", Op: ir.OpConv, Attrs: &ir.ConvAttrs{Out: 4, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}})
	c.SetParamKeys("conv")
	add(&ir.Node{Name: "lrn", Op: ir.OpLRN, Attrs: &ir.LRNAttrs{Size: 2, Alpha: 0.5, Beta: 0.75, Bias: 1, Lo: 0}})
	add(&ir.Node{Name: "clip", Op: ir.OpClip, Attrs: &ir.ClipAttrs{Min: -0.5, Max: 0.7}})
	add(&ir.Node{Name: "aff", Op: ir.OpAffine, Attrs: &ir.AffineAttrs{Scale: []float64{2}, Shift: []float64{-0.25}}})
	add(&ir.Node{Name: "sm", Op: ir.OpLogSoftmax, Attrs: &ir.SoftmaxAttrs{Axis: 1, AxisEnd: 2}})
	add(&ir.Node{Name: "rs", Op: ir.OpReshape, Attrs: &ir.ReshapeAttrs{Shape: ir.Shape{4 * 6 * 5}}})
	l := add(&ir.Node{Name: "fc", Op: ir.OpLinear, Attrs: &ir.LinearAttrs{Out: 7, Bias: true, Alpha: 0.5, Beta: 2, TransW: true}})
	l.SetParamKeys("fc")
	add(&ir.Node{Name: "smax", Op: ir.OpSoftmax, Attrs: &ir.SoftmaxAttrs{}})
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	w := mapWeights{}
	for _, p := range g.AllParams() {
		w[p.Key] = seedweights.Values(p.Key, p.Shape)
	}
	const batch = 2
	in := seedweights.Input(batch, g.Input().Shape)
	want, err := interp.Run(g, w, in, batch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(g, w, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := goldens.Compare(got, want, batch); err != nil {
		t.Fatal(err)
	}
}
