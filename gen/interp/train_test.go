package interp

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// float32Params is Params as Weights, rounding to float32 (for Run).
type float32Params Params

func (p float32Params) Float32(key string) ([]float32, error) {
	v := p[key]
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

// TestTrainForwardMatchesRun: without batch norm or dropout, the training forward computes what
// Run does (its own float64 conv and linear against Run's).
func TestTrainForwardMatchesRun(t *testing.T) {
	g := parseCase(t, "plain", "[3, 9, 9]", `- conv: {name: c1, out: 4, kernel: 3, stride: 2, pad: 1, groups: 1}
- relu
- conv: {name: c2, out: 4, kernel: 3, pad: 1, groups: 4}
- maxpool: {kernel: 2, ceil_mode: true}
- lrn: {size: 3}
- flatten
- linear: {name: fc, out: 5}`)
	r := rand.New(rand.NewPCG(3, 4))
	p := randParams(g, r)
	// Round the weights and input to float32 first, so that both runs see the same values.
	for k, v := range p {
		for i := range v {
			v[i] = float64(float32(v[i]))
		}
		p[k] = v
	}
	in32 := randVals(r, 2*3*9*9)
	in := make([]float64, len(in32))
	for i, v := range in32 {
		in[i] = float64(v)
	}
	want := mustRun(t, g, float32Params(p), in32, 2)
	res, err := TrainParams(g, p, in, []int{1, 3}, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, want, res.Outputs["fc"], 1e-6)
}

// TestTrainKeep: Keep exposes every node's value and gradient, consistent with the result.
func TestTrainKeep(t *testing.T) {
	g := parseCase(t, "keep", "[2, 5, 5]", "- conv: {name: c, out: 3, kernel: 3}\n- bn: {name: bn}\n- relu\n- gap\n- flatten\n- linear: {name: fc, out: 4}")
	p := randParams(g, rand.New(rand.NewPCG(5, 6)))
	in := make([]float64, 3*2*5*5)
	for i := range in {
		in[i] = math.Sin(float64(i))
	}
	res, err := TrainParams(g, p, in, []int{0, 1, 3}, TrainOptions{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != len(g.Nodes) || len(res.NodeGrads) != len(g.Nodes) {
		t.Fatalf("kept %d values and %d gradients of %d nodes", len(res.Values), len(res.NodeGrads), len(g.Nodes))
	}
	expect64(t, res.NodeGrads["input"], res.InputGrad)
	expect64(t, res.Values["fc"], res.Outputs["fc"])
	without, err := TrainParams(g, p, in, []int{0, 1, 3}, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if without.Values != nil || without.Loss != res.Loss {
		t.Errorf("without Keep: values %v, loss %v vs %v", without.Values != nil, without.Loss, res.Loss)
	}
}

func expect64(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestTrainAuxWeightZero: without an aux weight the aux heads are not run: no gradients for their
// weights, no update of their batch norms, and the main loss is the same as with them.
func TestTrainAuxWeightZero(t *testing.T) {
	var aux fdCase
	for _, c := range fdCases {
		if c.name == "aux" {
			aux = c
		}
	}
	g := parseCase(t, aux.name, aux.input, aux.layers+"\n") // reuse the aux case's graph
	p := randParams(g, rand.New(rand.NewPCG(7, 8)))
	in := make([]float64, 3*g.Input().Shape.Size())
	for i := range in {
		in[i] = math.Cos(float64(3 * i))
	}
	labels := []int{0, 2, 3}
	with, err := TrainParams(g, p, in, labels, TrainOptions{AuxWeight: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	without, err := TrainParams(g, p, in, labels, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := without.Grads["a.fc.weight"]; ok || len(without.HeadLoss) != 1 {
		t.Errorf("aux head run without an aux weight: %v", without.HeadLoss)
	}
	if _, ok := with.Grads["a.fc.weight"]; !ok || len(with.HeadLoss) != 2 {
		t.Errorf("aux head not run with an aux weight: %v", with.HeadLoss)
	}
	if want := without.HeadLoss["fc"] + 0.3*with.HeadLoss["a.fc"]; math.Abs(with.Loss-want) > 1e-12 {
		t.Errorf("loss %v, want main %v + 0.3 * aux %v", with.Loss, without.HeadLoss["fc"], with.HeadLoss["a.fc"])
	}
}

// TestTrainErrors: what the reference refuses, before computing anything.
func TestTrainErrors(t *testing.T) {
	g := parseCase(t, "errs", "[2, 4, 4]", "- conv: {name: c, out: 3, kernel: 3}\n- bn: {name: bn}\n- flatten\n- linear: {name: fc, out: 4}")
	p := randParams(g, rand.New(rand.NewPCG(1, 2)))
	in := make([]float64, 2*32)
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", what, err, want)
		}
	}
	_, err := TrainParams(g, p, in, []int{0, 4}, TrainOptions{})
	check("label out of range", err, "label 4")
	bn1 := parseCase(t, "bn1", "[4]", "- linear: {name: fc, out: 3}\n- bn: {name: bn}")
	_, err = TrainParams(bn1, randParams(bn1, rand.New(rand.NewPCG(1, 1))), make([]float64, 4), []int{0}, TrainOptions{})
	check("batch norm of one value per channel", err, "more than one value")
	_, err = TrainParams(g, p, in, []int{0, 1}, TrainOptions{LabelSmoothing: 1.5})
	check("label smoothing", err, "label smoothing")
	_, err = TrainParams(g, p, in[1:], []int{0, 1}, TrainOptions{})
	check("input size", err, "input has")
	q := Params{}
	for k, v := range p {
		q[k] = v
	}
	delete(q, "c.weight")
	_, err = TrainParams(g, q, in, []int{0, 1}, TrainOptions{})
	check("missing weight", err, `no weight "c.weight"`)

	fused := g.Clone()
	fused.Nodes[1].Fused = &ir.Fusion{Act: ir.OpReLU}
	_, err = TrainParams(fused, p, in, []int{0, 1}, TrainOptions{})
	check("fused graph", err, "fused")

	ln := parseCase(t, "ln", "[3, 2, 2]", "- layernorm: {name: ln}\n- flatten\n- linear: {name: fc, out: 2}")
	_, err = TrainParams(ln, randParams(ln, rand.New(rand.NewPCG(1, 1))), make([]float64, 24), []int{0, 1}, TrainOptions{})
	check("op without backward", err, "no backward for layernorm")
}
