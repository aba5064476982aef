package train

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Param is one trainable tensor: a weight or bias in PyTorch's layout (OIHW for a
// convolution, [out, in] for a linear layer) under its state_dict name.
type Param struct {
	Name  string
	Shape []int
	Value []float32
	// Grad has Value's length. The backward pass writes (or accumulates into) it; the
	// optimizer reads it. A frozen parameter's Grad is never read.
	Grad []float32

	// Frozen parameters are left alone by optimizers, clipping and zeroing, as torch leaves
	// a parameter with requires_grad=False (its grad stays None).
	Frozen bool
	// NoDecay exempts the tensor from weight decay. torch applies weight_decay to every
	// parameter of a param group, so the zero value is torch's default; recipes that
	// exempt biases and norms put them in a group with weight_decay=0, which is this flag.
	NoDecay bool

	layer int // index into Params.layers
}

// Buffer is a float tensor of the state_dict that is not trained by gradients: a
// BatchNorm's running_mean and running_var.
type Buffer struct {
	Name  string
	Shape []int
	Value []float32
}

// Counter is an integer scalar of the state_dict: a BatchNorm's num_batches_tracked,
// saved as a 0-dimensional I64 tensor as torch saves it.
type Counter struct {
	Name  string
	Value int64
}

// Params is a network's state: its parameters in network order (the order of
// model.parameters(), which is also the order of layers by depth), its buffers and its
// counters. A generated Trainer builds it once; nothing in a training step allocates.
type Params struct {
	Params   []*Param
	Buffers  []*Buffer
	Counters []*Counter

	layers []string // distinct layer names, in order of first parameter
	names  map[string]bool

	// The split of the clipping and optimizer steps (parallel.go).
	runner Runner
	chunks []chunk
	ends   []int
	sq     sqTask
	scale  scaleTask
	norms  []float64 // per parameter: the sums of squares of ClipGradNorm
}

// Add registers a parameter and allocates its value and gradient (zero). The name is the
// state_dict key; Add panics on a duplicate name or a negative dimension, which are bugs in
// the caller rather than conditions to handle.
func (ps *Params) Add(name string, shape ...int) *Param {
	n := ps.claim(name, shape)
	return ps.add(&Param{Name: name, Shape: append([]int(nil), shape...), Value: make([]float32, n), Grad: make([]float32, n)})
}

// AddSlices registers a parameter whose value and gradient live where the caller keeps
// them (a Trainer's own arena); grad may be nil for a parameter that stays frozen. It
// panics when a slice's length does not match the shape.
func (ps *Params) AddSlices(name string, value, grad []float32, shape ...int) *Param {
	n := ps.claim(name, shape)
	if len(value) != n || grad != nil && len(grad) != n {
		panic(fmt.Sprintf("train: %s: shape %v has %d elements, value %d, grad %d", name, shape, n, len(value), len(grad)))
	}
	return ps.add(&Param{Name: name, Shape: append([]int(nil), shape...), Value: value, Grad: grad, Frozen: grad == nil})
}

func (ps *Params) add(p *Param) *Param {
	layer := LayerOf(p.Name)
	p.layer = len(ps.layers)
	for i, l := range ps.layers {
		if l == layer {
			p.layer = i
			break
		}
	}
	if p.layer == len(ps.layers) {
		ps.layers = append(ps.layers, layer)
	}
	ps.Params = append(ps.Params, p)
	return p
}

// AddBuffer registers a buffer filled with fill (0 for running_mean, 1 for running_var).
func (ps *Params) AddBuffer(name string, fill float32, shape ...int) *Buffer {
	n := ps.claim(name, shape)
	b := &Buffer{Name: name, Shape: append([]int(nil), shape...), Value: make([]float32, n)}
	for i := range b.Value {
		b.Value[i] = fill
	}
	ps.Buffers = append(ps.Buffers, b)
	return b
}

// AddCounter registers an integer counter starting at 0.
func (ps *Params) AddCounter(name string) *Counter {
	ps.claim(name, nil)
	c := &Counter{Name: name}
	ps.Counters = append(ps.Counters, c)
	return c
}

// AddBatchNorm registers a BatchNorm's state as torch.nn.BatchNorm2d(c) creates it:
// weight 1 and bias 0 (parameters, which decay like any other unless NoDecay is set, as in
// torch), running_mean 0, running_var 1 and num_batches_tracked 0, under prefix + ".weight",
// ".bias", ".running_mean", ".running_var" and ".num_batches_tracked".
func (ps *Params) AddBatchNorm(prefix string, c int) (weight, bias *Param, mean, variance *Buffer, count *Counter) {
	weight = ps.Add(prefix+".weight", c)
	for i := range weight.Value {
		weight.Value[i] = 1
	}
	bias = ps.Add(prefix+".bias", c)
	mean = ps.AddBuffer(prefix+".running_mean", 0, c)
	variance = ps.AddBuffer(prefix+".running_var", 1, c)
	count = ps.AddCounter(prefix + ".num_batches_tracked")
	return
}

func (ps *Params) claim(name string, shape []int) int {
	if ps.names == nil {
		ps.names = map[string]bool{}
	}
	if name == "" || ps.names[name] {
		panic(fmt.Sprintf("train: tensor name %q empty or registered twice", name))
	}
	ps.names[name] = true
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("train: tensor %q: negative dimension in %v", name, shape))
		}
		n *= d
	}
	return n
}

// Lookup returns the parameter named name, or nil.
func (ps *Params) Lookup(name string) *Param {
	for _, p := range ps.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// LayerOf is the layer a tensor belongs to: its name without the last dotted part
// ("layer1.0.conv1.weight" is in "layer1.0.conv1"), as torch's module tree names it.
func LayerOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return name
}

// ParsePrefixes splits a comma-separated list of name prefixes ("layer1,layer2"), as a
// -freeze flag gives them, dropping blanks and surrounding spaces.
func ParsePrefixes(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// HasPrefix reports whether the tensor name is prefix itself or lies under it in the
// module tree: "layer1" covers "layer1.0.conv1.weight" but not "layer10.weight".
func HasPrefix(name, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, ".")
	return name == prefix || strings.HasPrefix(name, prefix+".")
}

// Freeze marks every parameter under one of the prefixes frozen and returns how many it
// froze. A prefix that names no parameter is an error (a typo would otherwise silently
// train everything). Buffers are unaffected: a frozen BatchNorm still updates its running
// statistics in training mode, as torch's does.
func (ps *Params) Freeze(prefixes ...string) (int, error) {
	n := 0
	var unknown []string
	for _, pre := range prefixes {
		hit := false
		for _, p := range ps.Params {
			if HasPrefix(p.Name, pre) {
				if !p.Frozen {
					n++
				}
				p.Frozen, hit = true, true
			}
		}
		if !hit {
			unknown = append(unknown, pre)
		}
	}
	if len(unknown) > 0 {
		return n, fmt.Errorf("train: freeze: no parameter under %s", strings.Join(unknown, ", "))
	}
	return n, nil
}

// ZeroGrad sets every trainable gradient to zero (torch's zero_grad(set_to_none=False);
// set_to_none would only change memory, not the arithmetic, as the backward pass here
// writes into buffers that exist anyway).
func (ps *Params) ZeroGrad() {
	for _, p := range ps.Params {
		if !p.Frozen {
			clear(p.Grad)
		}
	}
}

// Count returns the number of parameter elements, all and trainable.
func (ps *Params) Count() (all, trainable int) {
	for _, p := range ps.Params {
		all += len(p.Value)
		if !p.Frozen {
			trainable += len(p.Value)
		}
	}
	return
}

// Check reports tensors whose Value or Grad length does not match the shape: a Trainer that
// assigns its own slices can call it once after building.
func (ps *Params) Check() error {
	var errs []error
	for _, p := range ps.Params {
		n := elems(p.Shape)
		if len(p.Value) != n || (!p.Frozen && len(p.Grad) != n) {
			errs = append(errs, fmt.Errorf("train: %s: shape %v has %d elements, value %d, grad %d", p.Name, p.Shape, n, len(p.Value), len(p.Grad)))
		}
	}
	for _, b := range ps.Buffers {
		if n := elems(b.Shape); len(b.Value) != n {
			errs = append(errs, fmt.Errorf("train: %s: shape %v has %d elements, value %d", b.Name, b.Shape, n, len(b.Value)))
		}
	}
	return errors.Join(errs...)
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// LayerNorm is one layer's gradient and weight L2 norms over all its trainable tensors.
type LayerNorm struct {
	Layer      string
	Depth      int // the layer's index in network order, counting frozen layers too
	Grad       float64
	Weight     float64
	Parameters int
}

// Layers returns the distinct layer names in network order (LayerOf each parameter).
func (ps *Params) Layers() []string { return ps.layers }

// LayerNorms fills dst with the norms of every layer that has a trainable parameter and
// returns it; with cap(dst) >= len(ps.Layers()) it does not allocate. Sums are in float64,
// so the norms are exact to float64 rounding rather than torch's float32 reductions.
func (ps *Params) LayerNorms(dst []LayerNorm) []LayerNorm {
	dst = dst[:0]
	for li, name := range ps.layers {
		var g, w float64
		n := 0
		for _, p := range ps.Params {
			if p.layer != li || p.Frozen {
				continue
			}
			g += sumSquares(p.Grad)
			w += sumSquares(p.Value)
			n += len(p.Value)
		}
		if n > 0 {
			dst = append(dst, LayerNorm{Layer: name, Depth: li, Grad: math.Sqrt(g), Weight: math.Sqrt(w), Parameters: n})
		}
	}
	return dst
}
