package kernels

import (
	"fmt"
	"math"
)

// The activations' derivatives, for training: dx = dy * f'(v), v the activation's input or its
// output, whichever determines the derivative (the output where it does, so that a fused
// activation's pre-activation value need not be kept). Where f has a kink the derivative there
// is torch's: relu 0 at 0, relu6 0 at 0 and 6, clip 1 at its bounds (inclusive), hardsigmoid
// alpha strictly inside (0, 1), hardswish 0 below -3, x/3+0.5 on [-3, 3), 1 from 3 on.

// ActGradFromOutput reports whether ActGrad reads the activation's output (true) or its input.
func ActGradFromOutput(a Act) bool {
	switch a {
	case ActReLU, ActReLU6, ActSigmoid, ActTanh, ActHardSigmoid:
		return true
	}
	return false
}

// ActGrad sets dx[i] = dy[i] * f'(v[i]) for the activation a with Eltwise's parameters alpha and
// beta (ActClip, ActHardSigmoid), or adds it to dx when acc; v is the activation's output or
// input as ActGradFromOutput says. dx may be dy. It does not allocate.
func ActGrad(a Act, alpha, beta float32, dx, dy, v []float32, acc bool) {
	n := len(dx)
	if len(dy) < n || len(v) < n {
		panic(fmt.Sprintf("kernels: ActGrad: slice too short: dx %d dy %d v %d", n, len(dy), len(v)))
	}
	dy, v = dy[:n], v[:n]
	set := func(i int, g float32) {
		if acc {
			dx[i] += g
		} else {
			dx[i] = g
		}
	}
	switch a {
	case ActNone:
		for i, g := range dy {
			set(i, g)
		}
	case ActReLU:
		if !acc {
			reluGrad(dx, dy, v)
			return
		}
		for i, y := range v {
			if y > 0 {
				dx[i] += dy[i]
			}
		}
	case ActReLU6:
		for i, y := range v {
			if y > 0 && y < 6 {
				set(i, dy[i])
			} else {
				set(i, 0)
			}
		}
	case ActSigmoid:
		for i, y := range v {
			set(i, dy[i]*(y*(1-y)))
		}
	case ActTanh:
		for i, y := range v {
			set(i, dy[i]*(1-y*y))
		}
	case ActHardSigmoid:
		if alpha == 0 && beta == 0 {
			alpha = 1.0 / 6 // the epilogue's form, relu6(x+3)/6
		}
		for i, y := range v {
			if y > 0 && y < 1 {
				set(i, dy[i]*alpha)
			} else {
				set(i, 0)
			}
		}
	case ActClip:
		for i, x := range v {
			if x >= alpha && x <= beta {
				set(i, dy[i])
			} else {
				set(i, 0)
			}
		}
	case ActSiLU:
		for i, x := range v {
			s := float32(1 / (1 + math.Exp(-float64(x))))
			set(i, dy[i]*(s*(1+x*(1-s))))
		}
	case ActHardSwish:
		for i, x := range v {
			var d float32
			switch {
			case x < -3:
			case x < 3:
				d = x/3 + 0.5
			default:
				d = 1
			}
			set(i, dy[i]*d)
		}
	case ActGELU:
		for i, x := range v {
			xf := float64(x)
			d := 0.5*(1+math.Erf(xf/math.Sqrt2)) + xf*math.Exp(-xf*xf/2)/math.Sqrt(2*math.Pi)
			set(i, dy[i]*float32(d))
		}
	case ActGELUTanh:
		k := math.Sqrt(2 / math.Pi)
		for i, x := range v {
			xf := float64(x)
			th := math.Tanh(k * (xf + 0.044715*xf*xf*xf))
			d := 0.5*(1+th) + 0.5*xf*(1-th*th)*k*(1+3*0.044715*xf*xf)
			set(i, dy[i]*float32(d))
		}
	default:
		panic("kernels: ActGrad: unknown activation " + a.String())
	}
}

// reluGrad sets dx[i] = dy[i] where y[i] > 0, else 0: the mask a ReLU's output keeps, with
// the level's vectors. In Go (the twin) the mask is a conditional move of bits, not a branch:
// half of a ReLU's outputs are zero in no predictable order, and a mispredicted branch per
// value made this loop cost as much as the layer's GEMM in LeNet-5's training step.
func reluGrad(dx, dy, y []float32) {
	kern().reluGrad(dx, dy[:len(dx)], y[:len(dx)])
}

// f32ReLUGradGo is reluGrad's loop, the vector kernels' twin.
func f32ReLUGradGo(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, v := range y {
		var m uint32
		if v > 0 {
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
	}
}
