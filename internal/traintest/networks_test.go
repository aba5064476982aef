package traintest

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/internal/goldens/grad"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// netTol is the agreement asked of a whole network's float32 training step with torch's in
// float64: losses, norms and sampled values, relative to the larger of the value and its
// tensor's root mean square. Float32 itself is that far from float64 in a deep network whose
// batch norms normalize two images of 2x2 pixels (torch 1.13 in float32 against its float64
// golden, worst relative difference of the same values: ResNet-50 4.2e-3, GoogLeNet 1.8e-3,
// EfficientNet-B0 1.1e-4, ResNet-34 1.8e-5, ResNet-18 5.7e-6, AlexNet 3.5e-6, LeNet-5 9e-7):
// the tolerance is five times torch's own float32 difference, at least 5e-4. Winograd's
// transforms (the 3x3 layers' forward pass and input gradients) lose about 4 bits more than
// torch's direct convolutions, and the batch norms amplify it.
var netTol = map[string]float64{"resnet50": 2.1e-2, "googlenet": 9e-3, "efficientnet_b0": 5.5e-4}

func tolFor(name string) float64 {
	if t, ok := netTol[name]; ok {
		return t
	}
	return 5e-4
}

// heavy are the networks whose step needs gigabytes (VGG's fc6 at 25088 x 4096, AlexNet 2012's)
// or a long build (ResNet-152): run with CNNGEN_TRAIN_HEAVY=1.
var heavy = map[string]bool{"alexnet2012": true, "vgg16": true, "vgg19": true, "resnet152": true, "resnet101": true}

// TestTrainStepGoldens runs one training step of every built-in network through its generated
// training code (two images, the goldens' reduced input sizes), at the best ISA level and with
// two threads, and compares it with torch's: the loss, the input's and every weight's gradient
// (norm and samples), the clipped SGD step's update of every weight, the running statistics, and
// that a step allocates nothing.
func TestTrainStepGoldens(t *testing.T) {
	dir := t.TempDir()
	var cases []*trainCase
	var golds []*grad.TrainStep
	for _, name := range grad.TrainNames() {
		if heavy[name] && os.Getenv("CNNGEN_TRAIN_HEAVY") == "" {
			t.Logf("%s: skipped (CNNGEN_TRAIN_HEAVY=1 runs it)", name)
			continue
		}
		s, err := grad.LoadTrain(name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.Graph()
		if err != nil {
			t.Fatal(err)
		}
		shapes := map[string][]int{}
		for _, p := range g.AllParams() {
			shapes[p.Key] = p.Shape
		}
		c := &trainCase{Name: name, Batch: s.Batch, graph: g, inputGrad: true, Input: s.InputData(),
			LabelSmoothing: s.LabelSmoothing, AuxWeight: s.AuxWeight, BNMomentum: s.BNMomentum, DropoutSeed: s.DropoutSeed,
			Step: true, LR: s.SGD.LR, Momentum: s.SGD.Momentum, Nesterov: s.SGD.Nesterov, Decay: s.SGD.WeightDecay, MaxNorm: s.SGD.MaxNorm,
			Samples: map[string][]int{}, Allocs: true, Threads: 2}
		for _, l := range s.Labels {
			c.Labels = append(c.Labels, int32(l))
		}
		for _, smp := range s.InputGrad.Samples {
			c.Samples["input"] = append(c.Samples["input"], smp.Index())
		}
		for k, p := range s.Params {
			for _, smp := range p.Grad {
				c.Samples[k] = append(c.Samples[k], smp.Index())
			}
		}
		for k, r := range s.Running {
			for _, smp := range r.Samples {
				c.Samples[k] = append(c.Samples[k], smp.Index())
			}
		}
		c.Weights = writeWeights(t, dir, name, g, func(key string) []float32 { return seedweights.Values(key, shapes[key]) })
		cases = append(cases, c)
		golds = append(golds, s)
	}
	results := runCases(t, cases, []string{"avx512"})
	for l, rs := range results {
		for i, c := range cases {
			r, s := rs[i], golds[i]
			t.Run(l+"/"+c.Name, func(t *testing.T) {
				if r.Err != "" {
					t.Fatal(r.Err)
				}
				worst := 0.0
				near := func(what string, got, want, rms float64) {
					t.Helper()
					if d := math.Abs(got-want) / math.Max(math.Abs(want), rms); d > worst {
						worst = d
					}
					if !agree(got, want, rms, tolFor(c.Name)) {
						t.Errorf("%s: %.8g, torch %.8g (rms %.3g)", what, got, want, rms)
					}
				}
				sampled := func(what string, got tensor, norm float64, samples []grad.Sample, n int) {
					t.Helper()
					near(what+" norm", got.Norm, norm, 0)
					rms := norm / math.Sqrt(float64(max(n, 1)))
					for k, smp := range samples {
						near(what+" sample", got.Samples[k], smp[1], rms)
					}
				}
				near("loss", r.Loss, s.Loss, 0)
				sampled("input gradient", r.InputGrad, s.InputGrad.Norm, s.InputGrad.Samples, c.Batch*len(c.Input)/c.Batch)
				keys := make([]string, 0, len(s.Params))
				for k := range s.Params {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					p := s.Params[k]
					got, ok := r.Grads[k]
					if !ok {
						t.Errorf("no gradient of %s", k)
						continue
					}
					size := c.graphSize(k)
					// A gradient that is zero in exact arithmetic (EfficientNet's projection
					// biases, before a batch norm) is rounding noise at the total norm's scale.
					floor := 1e-5 * s.SGD.TotalNorm
					if p.GradNorm < floor {
						if got.Norm > floor {
							t.Errorf("gradient of %s: norm %.3g, torch %.3g (zero in exact arithmetic)", k, got.Norm, p.GradNorm)
						}
						continue
					}
					sampled("gradient of "+k, got, p.GradNorm, p.Grad, size)
					u := r.Updated[k]
					near("update of "+k+" norm", u.Norm, p.UpdateNorm, 0)
					w0 := seedweights.Values(k, c.shape(k))
					for j, smp := range p.Updated {
						// The update is the small part of the new weight: compare the change,
						// up to the float32 weight's resolution (an ulp of the weight).
						before := float64(w0[smp.Index()])
						ulp := math.Abs(before) * 0x1p-23
						got, want := u.Samples[j]-before, smp[1]-before
						if math.Abs(got-want) > 2*ulp {
							near(fmt.Sprintf("update of %s[%d] (weight %g, grad %g, torch %g)", k, smp.Index(), before, got0(r.Grads[k], j), p.Grad[j][1]), got, want, p.UpdateNorm/math.Sqrt(float64(size)))
						}
					}
				}
				for k, want := range s.Running {
					sampled(k, r.Running[k], want.Norm, want.Samples, c.graphSize(k))
				}
				if r.Allocs != 0 {
					t.Errorf("%v allocations per training step", r.Allocs)
				}
				t.Logf("worst relative difference from torch %.2g", worst)
			})
		}
	}
}

func got0(t tensor, j int) float64 {
	if j < len(t.Samples) {
		return t.Samples[j]
	}
	return math.NaN()
}

func (c *trainCase) shape(key string) []int {
	for _, p := range c.graph.AllParams() {
		if p.Key == key {
			return p.Shape
		}
	}
	if strings.HasPrefix(key, "input") {
		return []int{len(c.Input)}
	}
	return nil
}

func (c *trainCase) graphSize(key string) int {
	n := 1
	for _, d := range c.shape(key) {
		n *= d
	}
	return n
}
