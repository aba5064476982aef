package gentest

import (
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/spec"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// TestGELU runs both forms of gelu through generated code, fused into a conv's epilogue and on
// its own (after an add, with a second reader), against the interpreter.
func TestGELU(t *testing.T) {
	src := `name: gelus
input: [3, 9, 9]
layers:
  - conv: {name: c1, out: 8, kernel: 3, pad: 1}
  - gelu: {name: g1}
  - conv: {name: c2, out: 8, kernel: 3, pad: 1}
  - gelu: {name: g2, approximate: tanh}
  - add: {name: sum, inputs: [g2, g1]}
  - gelu: {name: g3, approximate: tanh}
  - add: {name: sum2, inputs: [g3, sum]}
  - gelu: {name: g4}
  - gap
  - flatten
  - linear: {name: fc, out: 5}
`
	g, err := spec.Parse([]byte(src), "gelus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := mapWeights{}
	for _, p := range g.AllParams() {
		w[p.Key] = seedweights.Values(p.Key, p.Shape)
	}
	const batch = 2
	in := seedweights.Input(batch, g.Input().Shape)
	for i := range in {
		in[i] *= 4 // both tails of the nonlinearity
	}
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
