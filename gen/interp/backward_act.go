package interp

import (
	"math"
	"strconv"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/splitmix"
)

// The backward of the elementwise ops: each activation's derivative, and dropout's seeded mask.
//
// Where a function has a kink, the derivative there is torch's (checked by the goldens on inputs
// that hit the kinks exactly): relu 0 at 0 (torch reads its output, > 0); relu6 0 at 0 and 6
// (hardtanh_backward: strictly inside); clip 1 at min and max (clamp_backward: inclusive);
// hardsigmoid alpha strictly inside 0 < alpha*x+beta < 1 (hardsigmoid_backward: -3 < x < 3);
// hardswish 0 below -3, x/3+0.5 on [-3, 3), 1 from 3 on (hardswish_backward's vectorized
// path, which torch takes for all but the last few values of a tensor: its scalar path gives 1.5
// at exactly 3).

// derivatives gives each elementwise op's derivative dy/dx as a function of its input x and its
// output y (whichever is cheaper or is what torch uses).
var derivatives = map[ir.Op]func(a ir.Attrs) func(x, y float64) float64{
	ir.OpReLU: func(ir.Attrs) func(x, y float64) float64 {
		return func(_, y float64) float64 { return step(y > 0) }
	},
	ir.OpReLU6: func(ir.Attrs) func(x, y float64) float64 {
		return func(x, _ float64) float64 { return step(x > 0 && x < 6) }
	},
	ir.OpSigmoid: func(ir.Attrs) func(x, y float64) float64 {
		return func(_, y float64) float64 { return y * (1 - y) }
	},
	ir.OpTanh: func(ir.Attrs) func(x, y float64) float64 {
		return func(_, y float64) float64 { return 1 - y*y }
	},
	ir.OpSiLU: func(ir.Attrs) func(x, y float64) float64 {
		return func(x, _ float64) float64 {
			s := 1 / (1 + math.Exp(-x))
			return s * (1 + x*(1-s))
		}
	},
	ir.OpHardSwish: func(ir.Attrs) func(x, y float64) float64 {
		return func(x, _ float64) float64 {
			switch {
			case x < -3:
				return 0
			case x < 3:
				return x/3 + 0.5
			}
			return 1
		}
	},
	ir.OpHardSigmoid: func(at ir.Attrs) func(x, y float64) float64 {
		a := at.(*ir.HardSigmoidAttrs)
		return func(x, _ float64) float64 {
			z := a.Alpha*x + a.Beta
			return a.Alpha * step(z > 0 && z < 1)
		}
	},
	ir.OpClip: func(at ir.Attrs) func(x, y float64) float64 {
		a := at.(*ir.ClipAttrs)
		return func(x, _ float64) float64 { return step(x >= a.Min && x <= a.Max) }
	},
	ir.OpGELU: func(at ir.Attrs) func(x, y float64) float64 {
		if at.(*ir.GELUAttrs).Approximate == "tanh" {
			// y = x/2 * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x^3).
			k := math.Sqrt(2 / math.Pi)
			return func(x, _ float64) float64 {
				th := math.Tanh(k * (x + 0.044715*x*x*x))
				return 0.5*(1+th) + 0.5*x*(1-th*th)*k*(1+3*0.044715*x*x)
			}
		}
		// y = x * Phi(x): Phi(x) + x * phi(x).
		return func(x, _ float64) float64 {
			return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
		}
	},
	ir.OpErf: func(ir.Attrs) func(x, y float64) float64 {
		return func(x, _ float64) float64 { return 2 / math.Sqrt(math.Pi) * math.Exp(-x*x) }
	},
}

func step(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// derivative returns op's derivative with attributes a, nil for ops without one.
func derivative(op ir.Op, a ir.Attrs) func(x, y float64) float64 {
	d := derivatives[op]
	if d == nil {
		return nil
	}
	return d(a)
}

// unaryBackward is dx += dy * f'(x) for the elementwise ops of derivatives.
func unaryBackward(c *bctx) error {
	f := derivative(c.Op, c.Attrs)
	if f == nil {
		return nodeErr(c.Node, "no backward for %s", c.Op)
	}
	x, dx := c.x(), c.dx()
	for i, g := range c.dy {
		dx[i] += g * f(x[i], c.y[i])
	}
	return nil
}

// DropoutKeep reports whether dropout node name keeps element i of its input at seed: element
// i is the flat index into the batch-major tensor [batch, per-image shape], and it is kept when
// u >= p, u the seeded uniform seedweights.Uniform(name+"@"+decimal seed, i) (tools/README.md's
// weight rule, with that string as the tensor's name). Kept values are multiplied by 1/(1-p),
// dropped ones become 0; p = 1 drops everything. tools/make_grad_goldens.py implements the same
// rule, so torch and the interpreter drop the same values.
func DropoutKeep(name string, seed uint64, p float64, i int) bool {
	return splitmix.Uniform(splitmix.Hash(DropoutKey(name, seed)), i) >= p
}

// DropoutKey is the name the dropout mask of node name at seed is seeded from.
func DropoutKey(name string, seed uint64) string {
	return name + "@" + strconv.FormatUint(seed, 10)
}

func init() {
	// Dropout in training mode: the saved state is each element's factor, 1/(1-p) or 0.
	trainEvals[ir.OpDropout] = func(c *fctx) ([]float64, any, error) {
		if err := checkShape(c.Node, c.in); err != nil {
			return nil, nil, err
		}
		p := ir.As[*ir.DropoutAttrs](c.Node).P
		if !(p >= 0 && p <= 1) {
			return nil, nil, nodeErr(c.Node, "dropout probability %g is not in [0, 1]", p)
		}
		scale := 0.0
		if p < 1 {
			scale = 1 / (1 - p)
		}
		seed := splitmix.Hash(DropoutKey(c.Name, c.t.opts.DropoutSeed))
		x := c.x()
		factor := make([]float64, len(x))
		out := make([]float64, len(x))
		for i, v := range x {
			if splitmix.Uniform(seed, i) >= p {
				factor[i] = scale
				out[i] = v * scale
			}
		}
		return out, factor, nil
	}
	backwards[ir.OpDropout] = func(c *bctx) error {
		factor, dx := c.saved.([]float64), c.dx()
		for i, g := range c.dy {
			dx[i] += g * factor[i]
		}
		return nil
	}
}
