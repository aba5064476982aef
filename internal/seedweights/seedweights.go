// Package seedweights generates the deterministic tensors that cnngen's
// correctness tests share with PyTorch: every parameter, buffer and input of a
// built-in network is a pure function of its state_dict key and shape, so that
// only logits need to be committed (internal/goldens).
//
// It is the Go twin of tools/seedweights.py and must stay bit-identical to it;
// the rule is documented in tools/README.md:
//
//	seed(name) = FNV-1a 64 of the UTF-8 name
//	z_i        = splitmix64 finaliser of seed + (i+1)*0x9E3779B97F4A7C15 (mod 2^64)
//	u_i        = (z_i >> 11) * 2^-53, in [0,1)
//	value_i    = float32(role(u_i)), role evaluated in float64
//
// Roles, decided from the key and the shape only:
//
//	input                         2.4*(2u-1)
//	*.num_batches_tracked         not generated (I64 buffer; Values panics)
//	*.running_mean                0.15*(u-0.5)
//	*.running_var                 0.75+0.5*u
//	*.bias                        0.15*(u-0.5)
//	layer<i>.<j>.bn2.weight,
//	layer<i>.<j>.bn3.weight, 1 dim   0.24+0.165*u  (ResNet residual-branch norm scale)
//	*.weight, 1 dim (norm scale)  0.8+0.55*u
//	*.weight, >=2 dims            (2u-1)*sqrt(6/fan_in), fan_in = prod(shape[1:])
package seedweights

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/splitmix"
	"github.com/cnngen/cnngen/runtime"
)

// Role is how a tensor's values are derived from its uniforms.
type Role int

const (
	RoleSkip          Role = iota // num_batches_tracked: not generated
	RoleInput                     // the input batch
	RoleRunningMean               // BatchNorm running_mean
	RoleRunningVar                // BatchNorm running_var
	RoleBias                      // any bias (conv, linear, BatchNorm shift)
	RoleScale                     // 1-dim weight (BatchNorm scale)
	RoleResidualScale             // ResNet residual-branch BatchNorm scale (bn2, bn3 in layerI.J)
	RoleWeight                    // >=2-dim weight (conv, linear)
)

// residualNorm matches the norm scales that end a residual branch of a
// torchvision ResNet block (BasicBlock bn2; Bottleneck bn2 and bn3). They are
// damped so that the residual sum does not grow geometrically over
// ResNet-152's 50 blocks.
var residualNorm = regexp.MustCompile(`^layer[0-9]+\.[0-9]+\.bn[23]\.weight$`)

// RoleOf returns the role of tensor name with the given shape, or an error if
// the rule does not cover it.
func RoleOf(name string, shape []int) (Role, error) {
	switch {
	case name == "input":
		return RoleInput, nil
	case strings.HasSuffix(name, ".num_batches_tracked"):
		return RoleSkip, nil
	case strings.HasSuffix(name, ".running_mean"):
		return RoleRunningMean, nil
	case strings.HasSuffix(name, ".running_var"):
		return RoleRunningVar, nil
	case strings.HasSuffix(name, ".bias"):
		return RoleBias, nil
	case strings.HasSuffix(name, ".weight"):
		if len(shape) >= 2 {
			return RoleWeight, nil
		}
		if len(shape) == 0 {
			return RoleSkip, fmt.Errorf("seedweights: 0-dim weight %q", name)
		}
		if residualNorm.MatchString(name) {
			return RoleResidualScale, nil
		}
		return RoleScale, nil
	}
	return RoleSkip, fmt.Errorf("seedweights: no rule for tensor %q shape %v", name, shape)
}

// Seed is FNV-1a 64 of name.
func Seed(name string) uint64 { return splitmix.Hash(name) }

// Uniform returns u_i in [0,1) for element i (row-major flat index) of tensor
// name.
func Uniform(name string, i int) float64 {
	return splitmix.Uniform(Seed(name), i)
}

// Values returns the seeded float32 values (row-major) of the tensor with
// state_dict key name and the given shape. It panics for names the rule does
// not cover and for num_batches_tracked (not a float tensor).
func Values(name string, shape []int) []float32 {
	role, err := RoleOf(name, shape)
	if err != nil {
		panic(err)
	}
	if role == RoleSkip {
		panic(fmt.Sprintf("seedweights: %s is not generated", name))
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("seedweights: %s: negative dimension in %v", name, shape))
		}
		n *= d
	}
	out := make([]float32, n)
	seed := Seed(name)
	// Explicit float64(...) conversions keep every operation separately rounded
	// (no fused multiply-add), exactly as numpy evaluates it.
	switch role {
	case RoleInput:
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(2.4 * float64(2*u-1))
		}
	case RoleRunningMean, RoleBias:
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(0.15 * float64(u-0.5))
		}
	case RoleRunningVar:
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(0.75 + float64(0.5*u))
		}
	case RoleScale:
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(0.8 + float64(0.55*u))
		}
	case RoleResidualScale:
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(0.24 + float64(0.165*u))
		}
	case RoleWeight:
		fanIn := 1
		for _, d := range shape[1:] {
			fanIn *= d
		}
		s := math.Sqrt(6 / float64(fanIn))
		for i := range out {
			u := splitmix.Uniform(seed, i)
			out[i] = float32(float64(2*u-1) * s)
		}
	}
	return out
}

// Input returns the seeded input batch: the tensor "input" of shape
// [batch]+shape. Image b is the b-th consecutive block, so the first image of
// any batch is the same.
func Input(batch int, shape []int) []float32 {
	return Values("input", append([]int{batch}, shape...))
}

// Tensors are every weight of g by the seeded rule, ready for runtime.WriteSafetensors; salt
// prefixes the names fed to the rule (other values, same roles), "" for the goldens' weights.
func Tensors(g *ir.Graph, salt string) []runtime.Tensor {
	var ts []runtime.Tensor
	for _, p := range g.AllParams() {
		ts = append(ts, runtime.Tensor{Name: p.Key, Shape: p.Shape, Data: Values(salt+p.Key, p.Shape)})
	}
	return ts
}
