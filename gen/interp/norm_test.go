package interp

import (
	"math"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

func TestLRN(t *testing.T) {
	// Four channels 1 2 3 4 at one pixel, alpha 1, beta 1, k 1.
	x := []float32{1, 2, 3, 4}
	// size 2: window [c-1, c]. Sums of squares 1, 5, 13, 25; b = a / (1 + sum/2).
	g := chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, Attrs: &ir.LRNAttrs{Size: 2, Alpha: 1, Beta: 1, Bias: 1, Lo: 1}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{1 / 1.5, 2 / 3.5, 3 / 7.5, 4 / 13.5}, 1e-7)
	// size 3: window [c-1, c+1]. Sums 5, 14, 29, 25; b = a / (1 + sum/3).
	g = chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, Attrs: &ir.LRNAttrs{Size: 3, Alpha: 1, Beta: 1, Bias: 1, Lo: 1}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{3.0 / 8, 6.0 / 17, 9.0 / 32, 3.0 / 7}, 1e-7)
	// size 4: window [c-2, c+1]. Sums 5, 14, 30, 29; beta 0.5, k 2, alpha 4 (alpha/size = 1):
	// b = a / sqrt(2 + sum).
	g = chain(t, input(4, 1, 1), &ir.Node{Name: "l", Op: ir.OpLRN, Attrs: &ir.LRNAttrs{Size: 4, Alpha: 4, Beta: 0.5, Bias: 2, Lo: 2}})
	expect(t, mustRun(t, g, nil, x, 1), []float64{1 / math.Sqrt(7), 2 / 4.0, 3 / math.Sqrt(32), 4 / math.Sqrt(31)}, 1e-7)

	// Two pixels and two images: each pixel is normalised on its own; image 2 is image 1 times 2.
	// Size 5 covers every channel of 3: b = a / (1 + (0.3/5) * sum)^0.75.
	x = []float32{1, -1, 2, 0, 3, 1, 2, -2, 4, 0, 6, 2}
	g = chain(t, input(3, 1, 2), &ir.Node{Name: "l", Op: ir.OpLRN, Attrs: &ir.LRNAttrs{Size: 5, Alpha: 0.3, Beta: 0.75, Bias: 1, Lo: 2}})
	var want []float64
	for b := range 2 {
		img := x[b*6 : b*6+6]
		for c := range 3 {
			for p := range 2 {
				s := 0.0
				for cc := range 3 {
					s += float64(img[cc*2+p] * img[cc*2+p])
				}
				want = append(want, float64(img[c*2+p])/math.Pow(1+0.06*s, 0.75))
			}
		}
	}
	expect(t, mustRun(t, g, nil, x, 2), want, 1e-7)
}

func TestBatchNorm(t *testing.T) {
	w := mapWeights{
		"bn.weight":       {2, 0.5},
		"bn.bias":         {1, -1},
		"bn.running_mean": {3, -2},
		"bn.running_var":  {4 - 1e-5, 0.25 - 1e-5},
	}
	// std = 2 and 0.5 once eps is added.
	g := chain(t, input(2, 1, 2), &ir.Node{Name: "bn", Op: ir.OpBatchNorm, Attrs: &ir.BatchNormAttrs{Eps: 1e-5}})
	expect(t, mustRun(t, g, w, []float32{3, 5, 0, -2}, 1), []float64{1, 3, 1, -1}, 1e-6)

	// On a [C] vector (BatchNorm1d after a flatten).
	g = chain(t, input(2, 1, 1), &ir.Node{Op: ir.OpFlatten}, &ir.Node{Name: "bn", Op: ir.OpBatchNorm, Attrs: &ir.BatchNormAttrs{Eps: 1e-5}})
	expect(t, mustRun(t, g, w, []float32{7, -1.5, 1, -3}, 2), []float64{5, -0.5, -1, -2}, 1e-6)
}
