package train

import "testing"

// BenchmarkStep times one optimizer step over ResNet-18's 11.7M parameters, the part of a
// training step this package owns (the forward and backward passes are far longer).
func BenchmarkStep(b *testing.B) {
	ps := resnet18Params(NewRNG(1))
	for _, p := range ps.Params {
		for i := range p.Grad {
			p.Grad[i] = 1e-3 * float32(i%13-6)
		}
	}
	for _, c := range []struct {
		name string
		opt  func() (Optimizer, error)
	}{
		{"SGDNesterov", func() (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true})
		}},
		{"AdamW", func() (Optimizer, error) { return NewAdamW(ps, AdamWDefaults()) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			opt, err := c.opt()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				opt.Step()
			}
		})
	}
	b.Run("ClipGradNorm", func(b *testing.B) {
		for b.Loop() {
			ClipGradNorm(ps, 1e9, 2)
		}
	})
}
