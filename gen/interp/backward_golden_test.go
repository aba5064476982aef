package interp

import (
	"math"
	"sort"
	"testing"

	"github.com/cnngen/cnngen/internal/goldens/grad"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/internal/splitmix"
)

// goldenTol is the agreement asked of the backward with torch autograd, both in float64: each
// value within goldenTol of torch's, relative to the larger of its magnitude and a thousandth of
// the tensor's largest (so that a value that is the small difference of large terms, which the
// two sum in another order, is not held to its own digits), plus 1e-15 (a bias before a batch
// norm has a gradient of exactly 0 in exact arithmetic: rounding noise of 1e-17 on both sides).
const goldenTol = 1e-10

// TestBackwardGoldens compares every per-op case of tools/grad_cases.py with torch: the output,
// the loss, the input's and every weight's gradient and the running statistics after the step.
func TestBackwardGoldens(t *testing.T) {
	convPaths(t, testBackwardGoldens)
}

func testBackwardGoldens(t *testing.T) {
	cases, err := grad.OpCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("only %d per-op cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			g, err := c.Graph()
			if err != nil {
				t.Fatal(err)
			}
			p, err := LoadParams(g, c.Weights(g))
			if err != nil {
				t.Fatal(err)
			}
			opts := TrainOptions{LabelSmoothing: c.LabelSmoothing, AuxWeight: c.AuxWeight, BNMomentum: c.BNMomentum, DropoutSeed: c.DropoutSeed}
			var res *TrainResult
			var out []float64
			if c.LossMode {
				res, err = TrainParams(g, p, c.InputData(), c.Labels(g.Output.Shape.Size()), opts)
				if err == nil {
					out = res.Outputs[res.Head]
				}
			} else {
				n := c.Batch * g.Output.Shape.Size()
				res, err = Backward(g, p, c.InputData(), c.Batch, c.Upstream(n), opts)
				if err == nil {
					out = res.Outputs[g.Output.Name]
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(res.Loss - c.Loss); d > goldenTol*max(1, math.Abs(c.Loss)) {
				t.Errorf("loss %.17g, torch %.17g", res.Loss, c.Loss)
			}
			got := map[string][]float64{"output": out, "input_grad": res.InputGrad}
			for k, v := range res.Grads {
				got["grad/"+k] = v
			}
			for k, v := range res.Running {
				got["running/"+k] = v
			}
			if len(got) != len(c.Tensors) {
				t.Errorf("computed %v, torch %v", keys(got), keys(c.Tensors))
			}
			worst := 0.0
			for name, want := range c.Tensors {
				worst = max(worst, compareTensor(t, name, got[name], want, goldenTol))
			}
			t.Logf("worst relative difference from torch %.2g", worst)
		})
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// compareTensor checks got against want value by value (see goldenTol) and returns the largest
// relative difference (to the larger of the value and a thousandth of the tensor's largest).
func compareTensor(t *testing.T, name string, got, want []float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, torch %d", name, len(got), len(want))
		return math.Inf(1)
	}
	worst := 0.0
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	bad := 0
	for i, w := range want {
		d := math.Abs(got[i] - w)
		if rel := max(math.Abs(w), 1e-3*scale); scale > 1e-12 { // else rounding noise about an exact 0
			worst = max(worst, d/rel)
		}
		if !(d <= tol*max(math.Abs(w), 1e-3*scale)+1e-15) {
			if bad++; bad <= 3 {
				t.Errorf("%s[%d]: %.17g, torch %.17g (|diff| %.3g)", name, i, got[i], w, d)
			}
		}
	}
	return worst
}

// TestDropoutRule checks the dropout mask's uniforms against the weight rule's (seedweights), the
// rule tools/make_grad_goldens.py applies in torch.
func TestDropoutRule(t *testing.T) {
	for _, key := range []string{DropoutKey("classifier.0", 0), DropoutKey("aux1.dropout#30", 12345)} {
		for _, i := range []int{0, 1, 999, 1 << 20} {
			if got, want := splitmix.Uniform(splitmix.Hash(key), i), seedweights.Uniform(key, i); got != want {
				t.Errorf("%s[%d]: %v, seedweights %v", key, i, got, want)
			}
		}
	}
	if k := DropoutKey("d", 7); k != "d@7" {
		t.Errorf("DropoutKey = %q", k)
	}
	kept := 0
	for i := range 10000 {
		if DropoutKeep("d", 7, 0.3, i) {
			kept++
		}
	}
	if kept < 6800 || kept > 7200 {
		t.Errorf("p=0.3 keeps %d of 10000", kept)
	}
}
