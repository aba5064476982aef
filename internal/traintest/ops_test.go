package traintest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/internal/goldens/grad"
)

// opTol is the agreement asked of a float32 backward pass with the float64 reference: sums of
// tens to hundreds of products round at a few float32 ulps of their terms' magnitude (6e-8
// each), the transcendental activations add their kernels' 3e-7, Winograd's transforms about
// 4 bits; 1e-4 of the tensor's scale leaves a margin of ten.
const opTol = 1e-4

// TestOpsBackward runs every per-op case of the gradient goldens through generated training
// code, at every ISA level: the forward values, the gradients of the input and of every weight,
// and the running statistics after the step, against the reference's (interp.Backward, or
// interp.TrainParams for the cases with a loss), which torch's autograd checks.
func TestOpsBackward(t *testing.T) {
	ops, err := grad.OpCases()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var cases []*trainCase
	var refs []*interp.TrainResult
	for _, c := range ops {
		g, err := c.Graph()
		if err != nil {
			t.Fatal(err)
		}
		w := c.Weights(g)
		p, err := interp.LoadParams(g, w)
		if err != nil {
			t.Fatal(err)
		}
		in := c.InputData()
		opts := interp.TrainOptions{LabelSmoothing: c.LabelSmoothing, AuxWeight: c.AuxWeight, BNMomentum: c.BNMomentum, DropoutSeed: c.DropoutSeed}
		tc := &trainCase{Name: c.Name, Batch: c.Batch, graph: g, inputGrad: true, LabelSmoothing: c.LabelSmoothing,
			AuxWeight: c.AuxWeight, BNMomentum: c.BNMomentum, DropoutSeed: c.DropoutSeed}
		for _, v := range in {
			tc.Input = append(tc.Input, float32(v))
		}
		var ref *interp.TrainResult
		if c.LossMode {
			labels := c.Labels(g.Output.Shape.Size())
			for _, l := range labels {
				tc.Labels = append(tc.Labels, int32(l))
			}
			ref, err = interp.TrainParams(g, p, in, labels, opts)
		} else {
			up := c.Upstream(c.Batch * g.Output.Shape.Size())
			for _, v := range up {
				tc.Upstream = append(tc.Upstream, float32(v))
			}
			tc.upstream = true
			ref, err = interp.Backward(g, p, in, c.Batch, up, opts)
		}
		if err != nil {
			t.Fatalf("%s: the reference: %v", c.Name, err)
		}
		tc.Weights = writeWeights(t, dir, c.Name, g, func(key string) []float32 { v, _ := w.Float32(key); return v })
		cases = append(cases, tc)
		refs = append(refs, ref)
	}
	results := runCases(t, cases, nil)
	levels := make([]string, 0, len(results))
	for l := range results {
		levels = append(levels, l)
	}
	sort.Strings(levels)
	for _, l := range levels {
		for i, c := range cases {
			r, ref := results[l][i], refs[i]
			t.Run(fmt.Sprintf("%s/%s", l, c.Name), func(t *testing.T) {
				if r.Err != "" {
					t.Fatal(r.Err)
				}
				if c.Labels != nil && !agree(r.Loss, ref.Loss, 0, opTol) {
					t.Errorf("loss %.8g, want %.8g", r.Loss, ref.Loss)
				}
				compare(t, "output", r.Output.Values, ref.Outputs[ref.Head], opTol, 0)
				compare(t, "input gradient", r.InputGrad.Values, ref.InputGrad, opTol, 0)
				// The scale of the weights' gradients: the largest root mean square of a
				// tensor's (a zero gradient, such as a bias before a batch norm, is noise at it).
				scale := 0.0
				for _, want := range ref.Grads {
					scale = max(scale, rmsOf(want))
				}
				for k, want := range ref.Grads {
					got, ok := r.Grads[k]
					if !ok {
						t.Errorf("no gradient of %s", k)
						continue
					}
					compare(t, "gradient of "+k, got.Values, want, opTol, 1e-3*scale)
				}
				for k, want := range ref.Running {
					compare(t, k, r.Running[k].Values, want, opTol, 0)
				}
			})
		}
	}
}
