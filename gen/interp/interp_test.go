package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// mapWeights is a Weights backed by a map.
type mapWeights map[string][]float32

func (m mapWeights) Float32(key string) ([]float32, error) {
	v, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return v, nil
}

func input(shape ...int) *ir.Node {
	return &ir.Node{Name: "input", Op: ir.OpInput, Shape: shape}
}

// chain builds a graph where every node reads the previous one (unless it has inputs already),
// names unnamed nodes, gives nodes without attributes their op's defaults, gives weighted nodes
// their parameter keys and runs shape inference.
func chain(t *testing.T, nodes ...*ir.Node) *ir.Graph {
	t.Helper()
	g := &ir.Graph{Name: "test", Nodes: nodes}
	for i, n := range nodes {
		if n.Name == "" {
			n.Name = fmt.Sprintf("n%d", i)
		}
		if d := ir.Def(n.Op); n.Attrs == nil && d != nil && d.New != nil {
			n.Attrs = d.New()
		}
		if i > 0 && n.Inputs == nil {
			n.Inputs = []*ir.Node{nodes[i-1]}
		}
		if len(ir.ParamRoles(n)) > 0 && n.Params == nil {
			n.SetParamKeys(n.Name)
		}
	}
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	return g
}

func seq(n int, f func(i int) float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

func randVals(r *rand.Rand, n int) []float32 {
	return seq(n, func(int) float32 { return float32(r.NormFloat64()) })
}

func mustRun(t *testing.T, g *ir.Graph, w Weights, in []float32, batch int) []float32 {
	t.Helper()
	out, err := Run(g, w, in, batch)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*max(1, math.Abs(a), math.Abs(b))
}

func expect(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if !near(float64(got[i]), want[i], tol) {
			t.Fatalf("value %d: got %v, want %v\n got %v\nwant %v", i, got[i], want[i], got, want)
		}
	}
}

func TestTrainingOnlySkipped(t *testing.T) {
	in := input(4)
	fc := &ir.Node{Name: "fc", Op: ir.OpLinear, Attrs: &ir.LinearAttrs{Out: 2, Alpha: 1, Beta: 1}, Inputs: []*ir.Node{in}}
	aux := &ir.Node{Name: "aux.fc", Op: ir.OpLinear, Attrs: &ir.LinearAttrs{Out: 5, Bias: true, Alpha: 1, Beta: 1}, Inputs: []*ir.Node{in}, TrainingOnly: true}
	g := &ir.Graph{Nodes: []*ir.Node{in, fc, aux}, Output: fc}
	fc.SetParamKeys("fc")
	aux.SetParamKeys("aux.fc")
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	w := mapWeights{"fc.weight": {1, 1, 0, 0, 0, 0, 1, 1}} // no aux.fc weights
	out, nodes, err := RunNodes(g, w, []float32{1, 2, 3, 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, out, []float64{3, 7}, 0)
	if _, ok := nodes["aux.fc"]; ok {
		t.Fatal("training-only node was computed")
	}
}

func TestErrors(t *testing.T) {
	conv := func() *ir.Graph {
		return chain(t, input(2, 3, 3), &ir.Node{Name: "c", Op: ir.OpConv, Attrs: &ir.ConvAttrs{Out: 2, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}})
	}
	good := mapWeights{"c.weight": make([]float32, 36), "c.bias": make([]float32, 2)}
	x := make([]float32, 18)
	if _, err := Run(conv(), good, x, 1); err != nil {
		t.Fatal(err)
	}
	check := func(err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one mentioning %q", wants)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("error %q does not mention %q", err, w)
			}
		}
	}
	_, err := Run(conv(), good, x[:17], 1)
	check(err, "17", "18")
	_, err = Run(conv(), good, x, 2)
	check(err, "18", "36")
	_, err = Run(conv(), good, nil, 0)
	check(err, "batch")

	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 36)}, x, 1)
	check(err, `"c.bias"`)
	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 35), "c.bias": make([]float32, 2)}, x, 1)
	check(err, `"c.weight"`, "35", "36")
	_, err = Run(conv(), mapWeights{"c.weight": make([]float32, 36), "c.bias": make([]float32, 3)}, x, 1)
	check(err, `"c.bias"`, "3", "2")
	_, err = Run(conv(), nil, x, 1)
	check(err, `"c.weight"`)

	// A shape that disagrees with the interpreter's own computation.
	g := chain(t, input(1, 5, 5), &ir.Node{Name: "p", Op: ir.OpMaxPool, Attrs: &ir.PoolAttrs{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, CeilMode: true}})
	g.Output.Shape = ir.Shape{1, 2, 2}
	_, err = Run(g, nil, make([]float32, 25), 1)
	check(err, "[1 2 2]", "[1 3 3]")

	// Attributes of the wrong type and an unknown op are errors, not panics.
	g = conv()
	g.Output.Attrs = &ir.PoolAttrs{}
	_, err = Run(g, good, x, 1)
	check(err, "attributes of type *ir.PoolAttrs")
	g = conv()
	g.Output.Op = "nosuchop"
	_, err = Run(g, good, x, 1)
	check(err, "unsupported op")

	// Not inferred.
	in := input(3)
	r := &ir.Node{Name: "r", Op: ir.OpReLU, Inputs: []*ir.Node{in}}
	_, err = Run(&ir.Graph{Nodes: []*ir.Node{in, r}, Output: r}, nil, make([]float32, 3), 1)
	check(err, "Infer")
}

// TestOutputNotLast checks that an output node in the middle of the graph survives the freeing of
// activations and that later nodes do not disturb it.
func TestOutputNotLast(t *testing.T) {
	in := input(3)
	a := &ir.Node{Name: "a", Op: ir.OpTanh, Inputs: []*ir.Node{in}}
	b := &ir.Node{Name: "b", Op: ir.OpReLU, Inputs: []*ir.Node{a}}
	g := &ir.Graph{Nodes: []*ir.Node{in, a, b}, Output: a}
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	expect(t, mustRun(t, g, nil, []float32{-1, 0, 1}, 1), []float64{math.Tanh(-1), 0, math.Tanh(1)}, 1e-7)
}
