package grad_test

import (
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"sort"
	"testing"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/goldens/grad"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// trainTol is the agreement asked of a whole network's training step with torch's, both in
// float64: losses, norms and sampled values within trainTol relative (a sampled value relative to
// the larger of itself and its tensor's root mean square). A deep network sums in another order
// than torch at every layer; measured differences are 7e-15 (LeNet-5) to 9e-12 (GoogLeNet).
//
// Weight gradients may also differ by zeroTol times the total gradient norm: a gradient that is 0
// in exact arithmetic is rounding noise (1e-15) on both sides. EfficientNet's projection norms'
// biases have one: every reader of their output is a 1x1 conv followed by a batch norm, whose
// batch mean cancels any constant shift. The smallest real gradient norm of any golden is 6e-5
// times the total (GoogLeNet's), so the floor loosens it by 2e-10 relative at most.
const (
	trainTol = 1e-10
	zeroTol  = 1e-14
)

// seeded is the weight rule as interp.Weights, for a graph's tensors.
type seeded map[string]ir.Shape

func (s seeded) Float32(key string) ([]float32, error) {
	shape, ok := s[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return seedweights.Values(key, shape), nil
}

var builtins = []string{
	"alexnet", "alexnet2012", "efficientnet_b0", "googlenet", "lenet5",
	"resnet101", "resnet152", "resnet18", "resnet34", "resnet50", "vgg16", "vgg19",
}

func TestTrainNames(t *testing.T) {
	if got := grad.TrainNames(); !reflect.DeepEqual(got, builtins) {
		t.Fatalf("training goldens for %v, want every built-in network %v", got, builtins)
	}
}

// TestTrainStep runs one training step of every built-in network through the reference
// (interp.Train, interp.ClipGradNorm, interp.SGD) and compares it with torch's.
func TestTrainStep(t *testing.T) {
	// VGG's weights, their gradients and the step's copies are gigabytes of garbage in turn:
	// collect it sooner than the default doubling of the live heap would.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	for _, name := range grad.TrainNames() {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && heavy[name] {
				t.Skip("-short: a network of 60M parameters or more")
			}
			worst = 0
			defer func() { t.Logf("worst relative difference from torch %.2g", worst) }()
			s, err := grad.LoadTrain(name)
			if err != nil {
				t.Fatal(err)
			}
			g, err := s.Graph()
			if err != nil {
				t.Fatal(err)
			}
			w := seeded{}
			for _, p := range g.AllParams() {
				w[p.Key] = p.Shape
			}
			checkSetup(t, s, g)
			// interp.Train in two steps, to keep the float64 weights for the optimizer step.
			p, err := interp.LoadParams(g, w)
			if err != nil {
				t.Fatal(err)
			}
			in := make([]float64, len(s.InputData()))
			for i, v := range s.InputData() {
				in[i] = float64(v)
			}
			opts := interp.TrainOptions{LabelSmoothing: s.LabelSmoothing, AuxWeight: s.AuxWeight, BNMomentum: s.BNMomentum, DropoutSeed: s.DropoutSeed}
			res, err := interp.TrainParams(g, p, in, s.Labels, opts)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "loss", res.Loss, s.Loss, 0)
			for head, want := range s.HeadLoss {
				if head == "main" {
					head = res.Head
				}
				near(t, "loss of "+head, res.HeadLoss[head], want, 0)
			}
			if len(res.HeadLoss) != len(s.HeadLoss) {
				t.Errorf("%d loss heads, torch %d", len(res.HeadLoss), len(s.HeadLoss))
			}
			sampled(t, "input gradient", res.InputGrad, s.InputGrad.Norm, s.InputGrad.Samples, 0)

			if got, want := keys(res.Grads), keys(s.Params); !reflect.DeepEqual(got, want) {
				t.Fatalf("gradients of %d tensors, torch's of %d:\n%v\n%v", len(got), len(want), got, want)
			}
			for k, want := range s.Params {
				sampled(t, "gradient of "+k, res.Grads[k], want.GradNorm, want.Grad, zeroTol*s.SGD.TotalNorm)
			}
			// The optimizer step: clip the gradients by their global norm, then SGD, one tensor at a
			// time (VGG's weights take 1.1 GB), each freed once checked.
			var all [][]float64
			for _, k := range keys(res.Grads) {
				all = append(all, res.Grads[k])
			}
			near(t, "total gradient norm", interp.ClipGradNorm(all, s.SGD.MaxNorm), s.SGD.TotalNorm, 0)
			o := interp.SGD{LR: s.SGD.LR, Momentum: s.SGD.Momentum, Nesterov: s.SGD.Nesterov, WeightDecay: s.SGD.WeightDecay}
			updated := map[int]float64{}
			for k, want := range s.Params {
				// Step is elementwise (a first step's momentum buffer is the step's direction), so
				// a tensor can step in chunks: VGG's fc6 needs no 1.6 GB of copy and buffer.
				w0, g, ss := p[k], res.Grads[k], 0.0
				clear(updated)
				for c0 := 0; c0 < len(w0); c0 += 1 << 20 {
					w1 := append([]float64(nil), w0[c0:min(c0+1<<20, len(w0))]...)
					o.Step(w1, g[c0:c0+len(w1)], nil)
					for i, v := range w1 {
						ss += (v - w0[c0+i]) * (v - w0[c0+i])
					}
					for _, smp := range want.Updated {
						if i := smp.Index() - c0; i >= 0 && i < len(w1) {
							updated[smp.Index()] = w1[i]
						}
					}
				}
				near(t, "update norm of "+k, math.Sqrt(ss), want.UpdateNorm, 0)
				for _, smp := range want.Updated {
					i := smp.Index()
					// The update is the small part of the new weight: hold it to trainTol.
					if d := math.Abs(updated[i] - smp[1]); d > trainTol*want.UpdateNorm+1e-15*math.Abs(smp[1]) {
						t.Errorf("%s[%d] after the step: %.17g, torch %.17g (update norm %.3g)", k, i, updated[i], smp[1], want.UpdateNorm)
					}
				}
				p[k], res.Grads[k] = nil, nil
			}
			if got, want := keys(res.Running), keys(s.Running); !reflect.DeepEqual(got, want) {
				t.Fatalf("running statistics %v, torch %v", got, want)
			}
			for k, want := range s.Running {
				sampled(t, k, res.Running[k], want.Norm, want.Samples, 0)
			}
		})
	}
}

// heavy are the networks whose step takes more than a few seconds or a gigabyte, left out by -short.
var heavy = map[string]bool{"alexnet2012": true, "vgg16": true, "vgg19": true, "resnet152": true}

// checkSetup checks what the golden assumed of the graph: the labels' rule and that its dropout
// masks are the graph's dropout nodes (a renamed node would silently get another mask).
func checkSetup(t *testing.T, s *grad.TrainStep, g *ir.Graph) {
	t.Helper()
	if got := grad.Labels("labels", s.Batch, g.Output.Shape.Size()); !reflect.DeepEqual(got, s.Labels) {
		t.Fatalf("labels %v, the golden's %v", got, s.Labels)
	}
	var drops, want []string
	for _, n := range g.Nodes {
		if n.Op == ir.OpDropout && (!n.TrainingOnly || s.AuxWeight != 0) {
			drops = append(drops, n.Name)
		}
	}
	for n := range s.DropoutNodes {
		want = append(want, n)
	}
	sort.Strings(drops)
	sort.Strings(want)
	if !reflect.DeepEqual(drops, want) && (len(drops) > 0 || len(want) > 0) {
		t.Fatalf("the graph's dropout nodes %v, the golden's %v", drops, want)
	}
}

// worst is the largest relative difference near and sampled saw in the current network (the
// subtests run one after the other), logged with -v.
var worst float64

// near checks got within trainTol of want, relative, or within floor.
func near(t *testing.T, what string, got, want, floor float64) {
	t.Helper()
	d := math.Abs(got - want)
	if floor == 0 || d > floor {
		worst = max(worst, d/math.Abs(want))
	}
	if !(d <= trainTol*math.Abs(want)+floor) {
		t.Errorf("%s: %.17g, torch %.17g (relative %.3g)", what, got, want, d/math.Abs(want))
	}
}

// sampled compares a tensor's norm and sampled values with torch's (see near).
func sampled(t *testing.T, what string, got []float64, norm float64, samples []grad.Sample, floor float64) {
	t.Helper()
	near(t, what+" norm", interp.Norm(got), norm, floor)
	rms := norm / math.Sqrt(float64(len(got)))
	for _, s := range samples {
		i := s.Index()
		if i >= len(got) {
			t.Errorf("%s: sample %d of %d values", what, i, len(got))
			continue
		}
		d := math.Abs(got[i] - s[1])
		if floor == 0 || d > floor {
			worst = max(worst, d/max(math.Abs(s[1]), rms))
		}
		if !(d <= trainTol*max(math.Abs(s[1]), rms)+floor) {
			t.Errorf("%s[%d]: %.17g, torch %.17g (|diff| %.3g, rms %.3g)", what, i, got[i], s[1], d, rms)
		}
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
