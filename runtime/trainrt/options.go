package trainrt

import (
	"fmt"
	"math"
	"strings"

	"github.com/cnngen/cnngen/runtime/train"
)

// Config is a Trainer's settings, set by Options (a generated package's Option is Option).
type Config struct {
	Threads int // goroutines a step uses (default 1)
	// Optimizer is "sgd" (default), "adam" or "adamw", with SGD's or Adam's settings.
	Optimizer string
	SGD       train.SGDConfig
	Adam      train.AdamConfig
	// Schedule makes the learning-rate schedule stepped after every optimizer step (nil: a
	// constant learning rate).
	Schedule func(train.Optimizer) (train.Scheduler, error)
	// ClipNorm clips the gradients to this global L2 norm before each step (0: no clipping);
	// ClipValue clamps each to [-ClipValue, ClipValue] (0: none).
	ClipNorm, ClipValue float64
	// LabelSmoothing is nn.CrossEntropyLoss's label_smoothing.
	LabelSmoothing float64
	// AuxWeight weighs the auxiliary heads' losses (GoogLeNet's); 0 leaves the heads out.
	AuxWeight float64
	// BNMomentum is the batch norms' running-statistics momentum (0: torch's 0.1).
	BNMomentum float64
	// DropoutSeed is the dropout seed of the first step; step k draws its masks from
	// DropoutSeed + k.
	DropoutSeed uint64
	// Init is the weights' initialization: "default" (torch's reset_parameters), "kaiming"
	// (normal, fan out, ReLU gain, zero biases: torchvision's ResNets) or "xavier" (uniform,
	// zero biases).
	Init string
	// NoDecayNorms exempts biases and batch norms' weights from weight decay.
	NoDecayNorms bool
}

// Option sets one of a Trainer's settings.
type Option func(*Config)

// WithThreads sets the goroutines a step uses.
func WithThreads(n int) Option { return func(c *Config) { c.Threads = n } }

// WithSGD trains with torch.optim.SGD.
func WithSGD(s train.SGDConfig) Option {
	return func(c *Config) { c.Optimizer, c.SGD = "sgd", s }
}

// WithAdam trains with torch.optim.Adam.
func WithAdam(a train.AdamConfig) Option {
	return func(c *Config) { c.Optimizer, c.Adam = "adam", a }
}

// WithAdamW trains with torch.optim.AdamW.
func WithAdamW(a train.AdamConfig) Option {
	return func(c *Config) { c.Optimizer, c.Adam = "adamw", a }
}

// WithSchedule sets the learning-rate schedule, made from the optimizer.
func WithSchedule(f func(train.Optimizer) (train.Scheduler, error)) Option {
	return func(c *Config) { c.Schedule = f }
}

// WithClipNorm clips the gradients to a global L2 norm (torch.nn.utils.clip_grad_norm_).
func WithClipNorm(max float64) Option { return func(c *Config) { c.ClipNorm = max } }

// WithClipValue clamps every gradient to [-v, v] (torch.nn.utils.clip_grad_value_).
func WithClipValue(v float64) Option { return func(c *Config) { c.ClipValue = v } }

// WithLabelSmoothing sets the loss's label smoothing.
func WithLabelSmoothing(eps float64) Option { return func(c *Config) { c.LabelSmoothing = eps } }

// WithAuxWeight weighs the auxiliary heads' losses (0 leaves them out).
func WithAuxWeight(w float64) Option { return func(c *Config) { c.AuxWeight = w } }

// WithBNMomentum sets the batch norms' momentum.
func WithBNMomentum(m float64) Option { return func(c *Config) { c.BNMomentum = m } }

// WithDropoutSeed sets the first step's dropout seed.
func WithDropoutSeed(s uint64) Option { return func(c *Config) { c.DropoutSeed = s } }

// WithInit sets the initialization Init applies: "default", "kaiming" or "xavier".
func WithInit(scheme string) Option { return func(c *Config) { c.Init = scheme } }

// WithNoDecayNorms exempts biases and batch norms' weights from weight decay.
func WithNoDecayNorms() Option { return func(c *Config) { c.NoDecayNorms = true } }

// Resolve applies opts over the defaults (SGD with learning rate 0.01 and momentum 0.9, one
// thread, torch's initialization, the auxiliary heads at weight auxDefault) and checks them.
func Resolve(opts []Option, auxDefault float64) (Config, error) {
	c := Config{Threads: 1, Optimizer: "sgd", SGD: train.SGDConfig{LR: 0.01, Momentum: 0.9}, AuxWeight: auxDefault, Init: "default"}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Threads < 1:
		return c, fmt.Errorf("threads must be at least 1, got %d", c.Threads)
	case c.Optimizer != "sgd" && c.Optimizer != "adam" && c.Optimizer != "adamw":
		return c, fmt.Errorf("unknown optimizer %q", c.Optimizer)
	case !(c.ClipNorm >= 0) || !(c.ClipValue >= 0) || !finite(c.ClipNorm) || !finite(c.ClipValue):
		return c, fmt.Errorf("gradient clipping needs finite non-negative bounds, got norm %v value %v", c.ClipNorm, c.ClipValue)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing <= 1):
		return c, fmt.Errorf("label smoothing %v is not in [0, 1]", c.LabelSmoothing)
	case !finite(c.AuxWeight):
		return c, fmt.Errorf("aux weight %v is not finite", c.AuxWeight)
	case !(c.BNMomentum >= 0 && c.BNMomentum <= 1):
		return c, fmt.Errorf("batch norm momentum %v is not in [0, 1]", c.BNMomentum)
	}
	switch strings.ToLower(c.Init) {
	case "", "default", "kaiming", "xavier":
	default:
		return c, fmt.Errorf("unknown initialization %q (want default, kaiming or xavier)", c.Init)
	}
	return c, nil
}

// NewOptimizer makes the configured optimizer over ps.
func (c *Config) NewOptimizer(ps *train.Params) (train.Optimizer, error) {
	switch c.Optimizer {
	case "adam":
		return train.NewAdam(ps, c.Adam)
	case "adamw":
		return train.NewAdamW(ps, c.Adam)
	}
	return train.NewSGD(ps, c.SGD)
}

// Weighted is a layer with parameters.
type Weighted interface {
	// Init initializes the layer's parameters with scheme (Config.Init) from r.
	Init(r *train.RNG, scheme string) error
	// ZeroGrad clears its trainable parameters' gradients (a step that does not reach it).
	ZeroGrad()
	// NoDecay marks the tensors Config.NoDecayNorms exempts.
	NoDecay()
}

func initWeight(r *train.RNG, scheme string, w, b *train.Param) error {
	switch strings.ToLower(scheme) {
	case "kaiming":
		if b != nil {
			clear(b.Value)
		}
		return r.KaimingNormal(w.Value, w.Shape, 0, train.FanOut, "relu")
	case "xavier":
		if b != nil {
			clear(b.Value)
		}
		return r.XavierUniform(w.Value, w.Shape, 1)
	}
	var bias []float32
	if b != nil {
		bias = b.Value
	}
	return r.Default(w.Value, bias, w.Shape)
}

func zero(ps ...*train.Param) {
	for _, p := range ps {
		if p != nil && !p.Frozen {
			clear(p.Grad)
		}
	}
}

// Init implements Weighted.
func (l *Conv) Init(r *train.RNG, scheme string) error { return initWeight(r, scheme, l.W, l.B) }

// ZeroGrad implements Weighted.
func (l *Conv) ZeroGrad() { zero(l.W, l.B) }

// NoDecay implements Weighted: the bias.
func (l *Conv) NoDecay() {
	if l.B != nil {
		l.B.NoDecay = true
	}
}

// Init implements Weighted.
func (l *Linear) Init(r *train.RNG, scheme string) error { return initWeight(r, scheme, l.W, l.B) }

// ZeroGrad implements Weighted.
func (l *Linear) ZeroGrad() { zero(l.W, l.B) }

// NoDecay implements Weighted: the bias.
func (l *Linear) NoDecay() {
	if l.B != nil {
		l.B.NoDecay = true
	}
}

// Init implements Weighted: torch's BatchNorm2d at construction.
func (l *BatchNorm) Init(*train.RNG, string) error {
	for i := range l.Weight.Value {
		l.Weight.Value[i] = 1
	}
	clear(l.Bias.Value)
	clear(l.Mean.Value)
	for i := range l.Var.Value {
		l.Var.Value[i] = 1
	}
	if l.Count != nil {
		l.Count.Value = 0
	}
	return nil
}

// ZeroGrad implements Weighted.
func (l *BatchNorm) ZeroGrad() { zero(l.Weight, l.Bias) }

// NoDecay implements Weighted: the weight and the bias.
func (l *BatchNorm) NoDecay() { l.Weight.NoDecay, l.Bias.NoDecay = true, true }
