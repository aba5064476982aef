package interp

import (
	"math"
	"testing"

	"github.com/cnngen/cnngen/internal/goldens/grad"
)

// TestSGDGoldens runs torch.optim.SGD's cases (plain, momentum, nesterov, dampening, weight
// decay) over three steps, each after clip_grad_norm_, and compares the weights after every
// step and the norms clipping saw.
func TestSGDGoldens(t *testing.T) {
	cases, err := grad.OptimCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 4 {
		t.Fatalf("only %d optimizer cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			o := SGD{LR: c.SGD.LR, Momentum: c.SGD.Momentum, Dampening: c.SGD.Dampening, WeightDecay: c.SGD.WeightDecay, Nesterov: c.SGD.Nesterov}
			w := make([][]float64, len(c.Sizes))
			bufs := make([][]float64, len(c.Sizes))
			for i := range w {
				w[i] = c.OptimWeights(i)
			}
			for s, want := range c.Steps {
				g := make([][]float64, len(w))
				for i := range g {
					g[i] = c.OptimGrad(i, s)
				}
				total := ClipGradNorm(g, c.MaxNorm)
				if math.Abs(total-want.TotalNorm) > 1e-13*want.TotalNorm {
					t.Errorf("step %d: total norm %.17g, torch %.17g", s, total, want.TotalNorm)
				}
				for i := range w {
					bufs[i] = o.Step(w[i], g[i], bufs[i])
					compareTensor(t, "weights", w[i], want.Weights[i], 1e-13)
				}
			}
		})
	}
}

// TestClipGradNorm checks the clipping factor's edge: torch always multiplies, by
// max_norm/(total+1e-6) capped at 1.
func TestClipGradNorm(t *testing.T) {
	g := [][]float64{{3, 0}, {0, 4}}
	if n := ClipGradNorm(g, 10); n != 5 || g[0][0] != 3 || g[1][1] != 4 {
		t.Errorf("no clipping: norm %v, grads %v", n, g)
	}
	if n := ClipGradNorm(g, 1); n != 5 || math.Abs(g[0][0]-3/(5+1e-6)) > 1e-15 {
		t.Errorf("clipping to 1: norm %v, grads %v", n, g)
	}
}
