package train

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RNG draws initial weights from a seed. Its draws have torch's distributions (uniform on
// [lo, hi), normal with the given mean and std) but are not torch's numbers: torch's
// generator is a Mersenne Twister feeding its own float conversions, this is Go's PCG with
// math/rand/v2's, so the same seed gives different (equally distributed) weights. A seed
// always gives the same weights here.
type RNG struct{ r *rand.Rand }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	return &RNG{rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Uniform fills dst with values uniform on [lo, hi) (torch.nn.init.uniform_).
func (g *RNG) Uniform(dst []float32, lo, hi float64) {
	for i := range dst {
		// 24 random bits, as torch draws a float32 uniform: every value is exact.
		u := float64(g.r.Uint32()>>8) / (1 << 24)
		dst[i] = float32(lo + u*(hi-lo))
	}
}

// Normal fills dst with normal values (torch.nn.init.normal_).
func (g *RNG) Normal(dst []float32, mean, std float64) {
	for i := range dst {
		dst[i] = float32(mean + std*g.r.NormFloat64())
	}
}

// Fans returns torch's fan_in and fan_out of a weight shape (_calculate_fan_in_and_fan_out):
// shape[1] and shape[0] times the receptive field (the product of the dimensions after the
// first two). A conv weight [64, 3, 7, 7] has fan_in 147 and fan_out 3136.
func Fans(shape []int) (fanIn, fanOut int, err error) {
	if len(shape) < 2 {
		return 0, 0, fmt.Errorf("train: fan in and fan out can not be computed for a tensor of shape %v (fewer than 2 dimensions)", shape)
	}
	rf := 1
	for _, d := range shape[2:] {
		rf *= d
	}
	return shape[1] * rf, shape[0] * rf, nil
}

// FanMode chooses which fan Kaiming initialisation preserves the variance of.
type FanMode int

const (
	FanIn  FanMode = iota // the forward pass's variance (torch's default)
	FanOut                // the backward pass's variance
)

// Gain is torch.nn.init.calculate_gain: 1 for linear, conv and sigmoid, 5/3 for tanh,
// sqrt(2) for relu, sqrt(2/(1+slope^2)) for leaky_relu (slope param, default 0.01), 3/4 for
// selu.
func Gain(nonlinearity string, param ...float64) (float64, error) {
	switch nonlinearity {
	case "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid":
		return 1, nil
	case "tanh":
		return 5.0 / 3, nil
	case "relu":
		return math.Sqrt(2.0), nil
	case "leaky_relu":
		slope := 0.01
		if len(param) > 0 {
			slope = param[0]
		}
		return math.Sqrt(2.0 / (1 + slope*slope)), nil
	case "selu":
		return 3.0 / 4, nil
	}
	return 0, fmt.Errorf("train: unsupported nonlinearity %q", nonlinearity)
}

// KaimingStd is the standard deviation of Kaiming (He) initialisation,
// gain(nonlinearity, a) / sqrt(fan); a uniform draw has bound sqrt(3) times it.
func KaimingStd(shape []int, a float64, mode FanMode, nonlinearity string) (float64, error) {
	fanIn, fanOut, err := Fans(shape)
	if err != nil {
		return 0, err
	}
	fan := fanIn
	if mode == FanOut {
		fan = fanOut
	}
	gain, err := Gain(nonlinearity, a)
	if err != nil {
		return 0, err
	}
	return gain / math.Sqrt(float64(fan)), nil
}

// KaimingUniform is torch.nn.init.kaiming_uniform_(w, a, mode, nonlinearity): uniform on
// [-bound, bound) with bound = sqrt(3) * KaimingStd. torch's defaults are a = 0, FanIn,
// "leaky_relu".
func (g *RNG) KaimingUniform(w []float32, shape []int, a float64, mode FanMode, nonlinearity string) error {
	std, err := g.check(w, shape, func() (float64, error) { return KaimingStd(shape, a, mode, nonlinearity) })
	if err == nil {
		bound := math.Sqrt(3.0) * std
		g.Uniform(w, -bound, bound)
	}
	return err
}

// KaimingNormal is torch.nn.init.kaiming_normal_: normal with mean 0 and KaimingStd.
func (g *RNG) KaimingNormal(w []float32, shape []int, a float64, mode FanMode, nonlinearity string) error {
	std, err := g.check(w, shape, func() (float64, error) { return KaimingStd(shape, a, mode, nonlinearity) })
	if err == nil {
		g.Normal(w, 0, std)
	}
	return err
}

// XavierStd is the standard deviation of Xavier (Glorot) initialisation,
// gain * sqrt(2 / (fan_in + fan_out)).
func XavierStd(shape []int, gain float64) (float64, error) {
	fanIn, fanOut, err := Fans(shape)
	if err != nil {
		return 0, err
	}
	return gain * math.Sqrt(2.0/float64(fanIn+fanOut)), nil
}

// XavierUniform is torch.nn.init.xavier_uniform_: uniform on [-bound, bound) with bound =
// sqrt(3) * XavierStd.
func (g *RNG) XavierUniform(w []float32, shape []int, gain float64) error {
	std, err := g.check(w, shape, func() (float64, error) { return XavierStd(shape, gain) })
	if err == nil {
		bound := math.Sqrt(3.0) * std
		g.Uniform(w, -bound, bound)
	}
	return err
}

// XavierNormal is torch.nn.init.xavier_normal_.
func (g *RNG) XavierNormal(w []float32, shape []int, gain float64) error {
	std, err := g.check(w, shape, func() (float64, error) { return XavierStd(shape, gain) })
	if err == nil {
		g.Normal(w, 0, std)
	}
	return err
}

// Default initialises a Conv2d's or Linear's weight and bias as their reset_parameters does:
// kaiming_uniform_ with a = sqrt(5) for the weight (bound 1/sqrt(fan_in)) and a bias uniform
// on [-1/sqrt(fan_in), 1/sqrt(fan_in)). bias may be nil (bias=False).
func (g *RNG) Default(weight, bias []float32, shape []int) error {
	if err := g.KaimingUniform(weight, shape, math.Sqrt(5), FanIn, "leaky_relu"); err != nil {
		return err
	}
	fanIn, _, _ := Fans(shape)
	if bias != nil && fanIn != 0 {
		bound := 1 / math.Sqrt(float64(fanIn))
		g.Uniform(bias, -bound, bound)
	}
	return nil
}

func (g *RNG) check(w []float32, shape []int, std func() (float64, error)) (float64, error) {
	if n := elems(shape); len(w) != n {
		return 0, fmt.Errorf("train: init: shape %v has %d elements, the tensor %d", shape, n, len(w))
	}
	return std()
}
