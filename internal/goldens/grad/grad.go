// Package grad serves the gradient goldens of cnngen's training reference (gen/interp.Train):
// torch autograd's gradients in float64, made by tools/make_grad_goldens.py. As for the logit
// goldens, weights and inputs are never committed: both sides regenerate them from seeds (the
// weight rule of internal/seedweights), so only gradients, losses and small summaries are.
//
//   - data/ops.json, data/ops.f64: per-op cases, tiny networks given as a spec, with every
//     gradient in full (raw little-endian float64, referred to by offset and count);
//   - data/optim.json: SGD and clip_grad_norm_ over three steps of two small tensors;
//   - data/train/NAME.json: one training step of a built-in network at batch 2 (and, where an
//     adaptive or global pool allows, a reduced input size): the loss, each weight's gradient
//     norm and a few gradient values, the SGD step's update, the running statistics.
//
// Tests never run torch.
package grad

import (
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/spec"
	"github.com/cnngen/cnngen/internal/seedweights"
)

//go:embed data/ops.json data/ops.f64 data/optim.json data/train/*.json
var data embed.FS

// OpCase is one per-op case: a tiny network (Spec, in the spec language), seeded weights, input
// and upstream gradient, and what torch computed from them.
type OpCase struct {
	Name  string `json:"name"`
	Spec  string `json:"spec"`
	Batch int    `json:"batch"`
	Input []int  `json:"input"` // per-image input shape
	// The input rule: InputScale*(2u-1), u = seedweights.Uniform(Name+"/input", i), rounded to a
	// multiple of InputQuantum (half to even) when it is positive.
	InputScale   float64 `json:"input_scale"`
	InputQuantum float64 `json:"input_quantum"`
	// LossMode: the loss is the cross-entropy of the output (and aux heads) over Labels; else it
	// is sum(output * Upstream).
	LossMode       bool    `json:"loss_mode"`
	LabelSmoothing float64 `json:"label_smoothing"`
	AuxWeight      float64 `json:"aux_weight"`
	BNMomentum     float64 `json:"bn_momentum"` // 0: torch's 0.1
	DropoutSeed    uint64  `json:"dropout_seed"`
	Loss           float64 `json:"loss"`

	Refs map[string][2]int `json:"tensors"`
	// Tensors are torch's results: "output" (the output, or the main head's logits),
	// "input_grad", "grad/KEY" for each trainable weight and "running/KEY" for each running
	// statistic after the step.
	Tensors map[string][]float64 `json:"-"`
}

// OpCases returns every per-op case, in the order of tools/grad_cases.py.
func OpCases() ([]OpCase, error) {
	var doc struct {
		Cases []OpCase `json:"cases"`
	}
	if err := readJSON("data/ops.json", &doc); err != nil {
		return nil, err
	}
	b, err := data.ReadFile("data/ops.f64")
	if err != nil {
		return nil, fmt.Errorf("grad goldens: %w", err)
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("grad goldens: ops.f64 has %d bytes, not a whole number of float64", len(b))
	}
	vals := make([]float64, len(b)/8)
	for i := range vals {
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	for i := range doc.Cases {
		c := &doc.Cases[i]
		c.Tensors = map[string][]float64{}
		for name, r := range c.Refs {
			if r[0] < 0 || r[1] < 0 || r[0]+r[1] > len(vals) {
				return nil, fmt.Errorf("grad goldens: %s: tensor %s at [%d, +%d) is outside ops.f64's %d values", c.Name, name, r[0], r[1], len(vals))
			}
			c.Tensors[name] = vals[r[0] : r[0]+r[1]]
		}
	}
	return doc.Cases, nil
}

// Graph parses the case's spec.
func (c *OpCase) Graph() (*ir.Graph, error) {
	return spec.Parse([]byte(c.Spec), c.Name+".yaml")
}

// InputData is the seeded input, [Batch, Input...].
func (c *OpCase) InputData() []float64 {
	n := c.Batch
	for _, d := range c.Input {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = c.InputScale * (2*seedweights.Uniform(c.Name+"/input", i) - 1)
		if c.InputQuantum > 0 {
			v[i] = math.RoundToEven(v[i]/c.InputQuantum) * c.InputQuantum
		}
	}
	return v
}

// Upstream is the seeded upstream gradient of n values: 2u-1, u = Uniform(Name+"/upstream", i).
func (c *OpCase) Upstream(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*seedweights.Uniform(c.Name+"/upstream", i) - 1
	}
	return v
}

// Labels are the case's seeded labels.
func (c *OpCase) Labels(classes int) []int { return Labels(c.Name+"/labels", c.Batch, classes) }

// Labels is the label rule: image b's class is floor(u_b * classes), u_b = Uniform(name, b).
func Labels(name string, batch, classes int) []int {
	l := make([]int, batch)
	for b := range l {
		l[b] = int(math.Floor(seedweights.Uniform(name, b) * float64(classes)))
	}
	return l
}

// Weights are a case's seeded weights: the weight rule applied to Name+"/"+key. Float32 gives
// the tensor of key of its graph.
type Weights struct {
	prefix string
	shapes map[string]ir.Shape
}

// Weights returns the seeded weights of g, the case's graph.
func (c *OpCase) Weights(g *ir.Graph) Weights {
	w := Weights{prefix: c.Name + "/", shapes: map[string]ir.Shape{}}
	for _, p := range g.AllParams() {
		w.shapes[p.Key] = p.Shape
	}
	return w
}

// Float32 implements interp.Weights.
func (w Weights) Float32(key string) ([]float32, error) {
	s, ok := w.shapes[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return seedweights.Values(w.prefix+key, s), nil
}

// OptimCase is SGD with clip_grad_norm_ over Steps steps of tensors of Sizes values: weights
// start at OptimWeights, step s's gradients are OptimGrad, each step clips to MaxNorm then steps.
type OptimCase struct {
	Name string `json:"name"`
	SGD  struct {
		LR          float64 `json:"lr"`
		Momentum    float64 `json:"momentum"`
		Dampening   float64 `json:"dampening"`
		WeightDecay float64 `json:"weight_decay"`
		Nesterov    bool    `json:"nesterov"`
	} `json:"sgd"`
	MaxNorm float64 `json:"max_norm"`
	Sizes   []int   `json:"sizes"`
	Steps   []struct {
		TotalNorm float64     `json:"total_norm"` // clip_grad_norm_'s result
		Weights   [][]float64 `json:"weights"`    // after the step, per tensor
	} `json:"steps"`
}

// OptimCases returns the optimizer cases.
func OptimCases() ([]OptimCase, error) {
	var doc struct {
		Cases []OptimCase `json:"cases"`
	}
	return doc.Cases, readJSON("data/optim.json", &doc)
}

// OptimWeights are tensor t's initial weights: 2u-1, u = Uniform(NAME/w<t>, i).
func (c *OptimCase) OptimWeights(t int) []float64 {
	v := make([]float64, c.Sizes[t])
	for i := range v {
		v[i] = 2*seedweights.Uniform(fmt.Sprintf("%s/w%d", c.Name, t), i) - 1
	}
	return v
}

// OptimGrad is tensor t's gradient at step s: 3*(2u-1), u = Uniform(NAME/g<t>@<s>, i).
func (c *OptimCase) OptimGrad(t, s int) []float64 {
	v := make([]float64, c.Sizes[t])
	for i := range v {
		v[i] = 3 * (2*seedweights.Uniform(fmt.Sprintf("%s/g%d@%d", c.Name, t, s), i) - 1)
	}
	return v
}

// Sample is one element of a tensor: its flat index and value.
type Sample [2]float64

// Index is the sample's flat index.
func (s Sample) Index() int { return int(s[0]) }

// ParamStep is what one training step did to one trainable weight tensor.
type ParamStep struct {
	GradNorm   float64  `json:"grad_norm"`   // of the gradient, before clipping
	Grad       []Sample `json:"grad"`        // gradient values (the first, the last, one seeded)
	UpdateNorm float64  `json:"update_norm"` // of the weights' change by the clipped SGD step
	Updated    []Sample `json:"updated"`     // the weights after the step, at Grad's indices
}

// TrainStep is one training step of a built-in network, as torch computed it.
type TrainStep struct {
	Name           string            `json:"name"`
	Input          []int             `json:"input"` // per-image input shape the step ran at
	Batch          int               `json:"batch"`
	Labels         []int             `json:"labels"` // Labels("labels", Batch, classes)
	LabelSmoothing float64           `json:"label_smoothing"`
	AuxWeight      float64           `json:"aux_weight"`
	BNMomentum     float64           `json:"bn_momentum"`
	DropoutSeed    uint64            `json:"dropout_seed"`
	DropoutNodes   map[string]string `json:"dropout_nodes"` // IR dropout node -> the torch module applying its mask
	SGD            struct {
		LR          float64 `json:"lr"`
		Momentum    float64 `json:"momentum"`
		Nesterov    bool    `json:"nesterov"`
		WeightDecay float64 `json:"weight_decay"`
		MaxNorm     float64 `json:"max_norm"`
		TotalNorm   float64 `json:"total_norm"` // clip_grad_norm_'s result
	} `json:"sgd"`
	Loss      float64            `json:"loss"`
	HeadLoss  map[string]float64 `json:"head_loss"` // "main" and the aux heads' output nodes
	InputGrad struct {
		Norm    float64  `json:"norm"`
		Samples []Sample `json:"samples"`
	} `json:"input_grad"`
	Params  map[string]ParamStep `json:"params"` // by state_dict key, every trainable weight
	Running map[string]struct {
		Norm    float64  `json:"norm"`
		Samples []Sample `json:"samples"`
	} `json:"running"` // running_mean and running_var after the step
}

// TrainNames lists the networks with a training-step golden, sorted.
func TrainNames() []string {
	entries, _ := fs.Glob(data, "data/train/*.json")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e), ".json"))
	}
	sort.Strings(names)
	return names
}

// LoadTrain returns network name's training-step golden.
func LoadTrain(name string) (*TrainStep, error) {
	var s TrainStep
	if err := readJSON("data/train/"+name+".json", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Graph is the built-in network at the golden's input size: its spec parsed, the input reshaped
// and shapes inferred again.
func (s *TrainStep) Graph() (*ir.Graph, error) {
	src, file, err := archspecs.Source(s.Name)
	if err != nil {
		return nil, err
	}
	g, err := spec.Parse(src, file)
	if err != nil {
		return nil, err
	}
	g.Nodes[0].Shape = append(ir.Shape(nil), s.Input...)
	if err := g.Infer(); err != nil {
		return nil, fmt.Errorf("grad goldens: %s at input %v: %w", s.Name, s.Input, err)
	}
	return g, nil
}

// InputData is the seeded input batch at the golden's size (seedweights.Input).
func (s *TrainStep) InputData() []float32 { return seedweights.Input(s.Batch, s.Input) }

func readJSON(name string, v any) error {
	b, err := data.ReadFile(name)
	if err != nil {
		return fmt.Errorf("grad goldens: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("grad goldens: %s: %w", name, err)
	}
	return nil
}
