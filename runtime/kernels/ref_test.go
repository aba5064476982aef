package kernels

// Naive float64 references of every kernel, written for obviousness rather than speed, and the
// guard-band helpers the tests share (after gonum's internal/asm tests).

import (
	"math"
	"math/rand/v2"
	"testing"
)

// allActs are the epilogue activations.
var allActs = []Act{ActNone, ActReLU, ActReLU6, ActSigmoid, ActSiLU, ActTanh, ActHardSigmoid, ActHardSwish, ActGELU, ActGELUTanh}

// refAct is the activation in float64.
func refAct(a Act, x float64) float64 {
	relu6 := func(v float64) float64 { return math.Min(math.Max(v, 0), 6) }
	switch a {
	case ActNone:
		return x
	case ActReLU:
		return math.Max(x, 0)
	case ActReLU6:
		return relu6(x)
	case ActSigmoid:
		return 1 / (1 + math.Exp(-x))
	case ActSiLU:
		return x / (1 + math.Exp(-x))
	case ActTanh:
		return math.Tanh(x)
	case ActHardSigmoid:
		return relu6(x+3) / 6
	case ActHardSwish:
		return x * relu6(x+3) / 6
	case ActGELU:
		return refGELU(x)
	case ActGELUTanh:
		return refGELUTanh(x)
	}
	panic("bad act")
}

// refGELU is x*Phi(x) = 0.5*x*(1 + erf(x/sqrt2)) in float64, as 0.5*x*erfc(-x/sqrt2): the
// same value, without the cancellation of 1 + erf in the negative tail (where float64's own
// 1 + math.Erf is noise below x = -8).
func refGELU(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// refGELUTanh is 0.5*x*(1 + tanh(u)), u = sqrt(2/pi)*(x + 0.044715x^3), in float64, as
// x/(1 + exp(-2u)): the same value without the cancellation in the negative tail.
func refGELUTanh(x float64) float64 {
	u := math.Sqrt(2/math.Pi) * (x + 0.044715*x*x*x)
	if math.IsInf(x, -1) {
		return math.NaN() // -Inf * 0, as torch
	}
	return x / (1 + math.Exp(-2*u))
}

// refConv returns the convolution (before and after the activation is applied by the caller) and,
// per output, the sum of the magnitudes of its terms (for the error bound).
func refConv(c *Conv, in, w, bias, residual []float32) (out, mag []float64) {
	cg, og := c.InC/c.Groups, c.OutC/c.Groups
	out = make([]float64, c.OutC*c.OutH*c.OutW)
	mag = make([]float64, len(out))
	for o := range c.OutC {
		g := o / og
		for yo := range c.OutH {
			for xo := range c.OutW {
				idx := (o*c.OutH+yo)*c.OutW + xo
				var s, m float64
				if bias != nil {
					s, m = float64(bias[o]), math.Abs(float64(bias[o]))
				}
				for ci := range cg {
					for i := range c.KH {
						for j := range c.KW {
							yi := yo*c.StrideH - c.PadT + i*c.DilH
							xi := xo*c.StrideW - c.PadL + j*c.DilW
							if yi < 0 || yi >= c.InH || xi < 0 || xi >= c.InW {
								continue
							}
							t := float64(w[((o*cg+ci)*c.KH+i)*c.KW+j]) * float64(in[((g*cg+ci)*c.InH+yi)*c.InW+xi])
							s += t
							m += math.Abs(t)
						}
					}
				}
				if residual != nil {
					s += float64(residual[idx])
					m += math.Abs(float64(residual[idx]))
				}
				out[idx], mag[idx] = refAct(c.Act, s), m
			}
		}
	}
	return out, mag
}

func refGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (out, mag []float64) {
	out = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := range m {
		for j := range n {
			s := float64(c[i*ldc+j])
			mg := math.Abs(s)
			for p := range k {
				t := float64(a[i*lda+p]) * float64(b[p*ldb+j])
				s += t
				mg += math.Abs(t)
			}
			out[i*n+j], mag[i*n+j] = s, mg
		}
	}
	return out, mag
}

func refLinear(l *Linear, in, w, bias []float32) (out, mag []float64) {
	out = make([]float64, l.Out)
	mag = make([]float64, l.Out)
	for o := range l.Out {
		var s, m float64
		if bias != nil {
			s, m = float64(bias[o]), math.Abs(float64(bias[o]))
		}
		for i := range l.In {
			t := float64(w[o*l.In+i]) * float64(in[i])
			s += t
			m += math.Abs(t)
		}
		out[o], mag[o] = refAct(l.Act, s), m
	}
	return out, mag
}

// refPool computes max or average pooling by enumerating every kernel position.
func refPool(p *Pool, in []float32, isMax bool) []float64 {
	out := make([]float64, p.C*p.OutH*p.OutW)
	for c := range p.C {
		for yo := range p.OutH {
			for xo := range p.OutW {
				best, sum := math.Inf(-1), 0.0
				n, nPad := 0, 0
				for i := range p.KH {
					for j := range p.KW {
						yi, xi := yo*p.StrideH-p.PadT+i, xo*p.StrideW-p.PadL+j
						if yi < p.InH+p.PadB && xi < p.InW+p.PadR {
							nPad++ // inside the padded input (yi, xi >= -pad always)
						}
						if yi < 0 || yi >= p.InH || xi < 0 || xi >= p.InW {
							continue
						}
						v := float64(in[(c*p.InH+yi)*p.InW+xi])
						if v > best || math.IsNaN(v) {
							best = v
						}
						sum += v
						n++
					}
				}
				idx := (c*p.OutH+yo)*p.OutW + xo
				switch {
				case isMax:
					out[idx] = best
				case p.CountIncludePad:
					out[idx] = sum / float64(nPad)
				default:
					out[idx] = sum / float64(n)
				}
			}
		}
	}
	return out
}

func refAdaptive(c, inH, inW, outH, outW int, in []float32) []float64 {
	out := make([]float64, c*outH*outW)
	for ch := range c {
		for yo := range outH {
			y0 := int(math.Floor(float64(yo*inH) / float64(outH)))
			y1 := int(math.Ceil(float64((yo+1)*inH) / float64(outH)))
			for xo := range outW {
				x0 := int(math.Floor(float64(xo*inW) / float64(outW)))
				x1 := int(math.Ceil(float64((xo+1)*inW) / float64(outW)))
				s := 0.0
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						s += float64(in[(ch*inH+y)*inW+x])
					}
				}
				out[(ch*outH+yo)*outW+xo] = s / float64((y1-y0)*(x1-x0))
			}
		}
	}
	return out
}

func refLRN(c, hw, size, lo int, alpha, beta, k float64, in []float32) []float64 {
	out := make([]float64, c*hw)
	for ch := range c {
		for i := range hw {
			s := 0.0
			for cc := ch - lo; cc < ch-lo+size; cc++ {
				if cc >= 0 && cc < c {
					v := float64(in[cc*hw+i])
					s += v * v
				}
			}
			out[ch*hw+i] = float64(in[ch*hw+i]) / math.Pow(k+alpha/float64(size)*s, beta)
		}
	}
	return out
}

// Guard bands: every output slice is the middle of a longer one whose ends hold a sentinel NaN;
// after the kernel ran, the ends must be untouched.

const guardLen = 37

var sentinel = math.Float32frombits(0x7fc0dead)

// guarded returns a buffer of n values framed by guards, and the n values (filled with fill, or
// the sentinel if fill is nil).
func guarded(n int, fill func(i int) float32) (buf, v []float32) {
	buf = make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = sentinel
	}
	v = buf[guardLen : guardLen+n : guardLen+n]
	if fill != nil {
		for i := range v {
			v[i] = fill(i)
		}
	}
	return buf, v
}

func checkGuards(t *testing.T, name string, buf []float32) {
	t.Helper()
	n := len(buf) - 2*guardLen
	for i, v := range buf {
		if i >= guardLen && i < guardLen+n {
			continue
		}
		if math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Errorf("%s: guard violated at %d (value %v)", name, i-guardLen, v)
			return
		}
	}
}

// randSlice returns n values uniform in [-1, 1).
func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// randGuarded is guarded(n) filled with values uniform in [-1, 1).
func randGuarded(rng *rand.Rand, n int) (buf, v []float32) {
	return guarded(n, func(int) float32 { return rng.Float32()*2 - 1 })
}

// close reports whether got is within the error bound of want: relative 1e-5*sqrt(terms) of the
// magnitude of the terms summed (at least 1e-6 absolute).
func close(got float32, want, mag float64, terms int) bool {
	if math.IsNaN(want) {
		return got != got
	}
	tol := 1e-5*math.Sqrt(float64(max(terms, 1)))*math.Max(mag, math.Abs(want)) + 1e-6
	return math.Abs(float64(got)-want) <= tol
}

// checkClose compares got with want elementwise; mag may be nil (then |want| is the magnitude).
func checkClose(t *testing.T, name string, got []float32, want, mag []float64, terms int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range want {
		m := math.Abs(want[i])
		if mag != nil {
			m = mag[i]
		}
		if !close(got[i], want[i], m, terms) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v, want %v (magnitude %v)", name, i, got[i], want[i], m)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d values wrong in all", name, bad)
	}
}
