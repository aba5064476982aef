package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/spec"
)

// The finite-difference oracle: for every op and variant the backward supports, the analytic
// gradient of L = sum(output * upstream) (or the cross-entropy loss) with respect to every input
// value and every weight is compared with the central difference (L(v+h) - L(v-h)) / 2h, in
// float64 on tiny shapes. It shares nothing with torch, so it checks the goldens' oracle too.

type fdCase struct {
	name   string
	input  string // the spec's input shape
	layers string // the spec's layers, one YAML item per line
	batch  int
	opts   TrainOptions
	loss   bool // cross-entropy loss (labels) instead of an upstream gradient
}

var fdCases = []fdCase{
	{name: "conv", input: "[3, 5, 5]", layers: "- conv: {name: c, out: 4, kernel: 3, pad: 1}"},
	{name: "conv_stride_asympad", input: "[3, 6, 5]", layers: "- conv: {name: c, out: 3, kernel: 3, stride: 2, pad: [1, 0, 2, 1]}"},
	{name: "conv_dilation", input: "[2, 7, 6]", layers: "- conv: {name: c, out: 3, kernel: 3, dilation: 2, pad: 2, bias: false}"},
	{name: "conv_groups", input: "[4, 5, 5]", layers: "- conv: {name: c, out: 6, kernel: 3, pad: 1, groups: 2}"},
	{name: "conv_depthwise", input: "[4, 6, 6]", layers: "- conv: {name: c, out: 4, kernel: 3, stride: 2, pad: 1, groups: 4, bias: false}"},
	{name: "conv_depthwise_mult", input: "[3, 5, 5]", layers: "- conv: {name: c, out: 6, kernel: 5, pad: 2, groups: 3}"},
	{name: "conv_rect", input: "[2, 7, 5]", layers: "- conv: {name: c, out: 3, kernel: [3, 2], stride: [2, 1], pad: [1, 0]}"},
	{name: "conv_1x1_stride", input: "[3, 5, 5]", layers: "- conv: {name: c, out: 2, kernel: 1, stride: 2, bias: false}"},
	{name: "linear", input: "[6]", layers: "- linear: {name: fc, out: 4}"},
	{name: "linear_gemm", input: "[5]", layers: "- linear: {name: fc, out: 3, alpha: 0.7, beta: -1.3, transposed: true}"},
	{name: "flatten_linear_nobias", input: "[2, 3, 3]", layers: "- flatten\n- linear: {name: fc, out: 4, bias: false}"},
	{name: "bn2d", input: "[3, 3, 4]", layers: "- bn: {name: bn}"},
	{name: "bn2d_eps", input: "[2, 2, 3]", layers: "- bn: {name: bn, eps: 0.001}", batch: 3},
	{name: "bn1d", input: "[5]", layers: "- linear: {name: fc, out: 4}\n- bn: {name: bn}", batch: 4},
	{name: "relu", input: "[2, 3, 4]", layers: "- relu"},
	{name: "relu6", input: "[2, 3, 4]", layers: "- affine: {scale: 3, shift: 2}\n- relu6"},
	{name: "sigmoid", input: "[2, 3, 4]", layers: "- sigmoid"},
	{name: "silu", input: "[2, 3, 4]", layers: "- silu"},
	{name: "tanh", input: "[2, 3, 4]", layers: "- tanh"},
	{name: "hardswish", input: "[2, 3, 4]", layers: "- affine: {scale: 2, shift: 0}\n- hardswish"},
	{name: "hardsigmoid", input: "[2, 3, 4]", layers: "- affine: {scale: 2, shift: 0}\n- hardsigmoid"},
	{name: "hardsigmoid_custom", input: "[2, 3, 4]", layers: "- hardsigmoid: {alpha: 0.2, beta: 0.4}"},
	{name: "gelu", input: "[2, 3, 4]", layers: "- gelu"},
	{name: "gelu_tanh", input: "[2, 3, 4]", layers: "- gelu: {approximate: tanh}"},
	{name: "clip", input: "[2, 3, 4]", layers: "- clip: {min: -1, max: 1.5}"},
	{name: "erf", input: "[2, 3, 4]", layers: "- erf"},
	{name: "maxpool", input: "[2, 7, 7]", layers: "- maxpool: {kernel: 3, stride: 2, pad: 1}"},
	{name: "maxpool_ceil", input: "[2, 8, 8]", layers: "- maxpool: {kernel: 3, stride: 2, ceil_mode: true}"},
	{name: "maxpool_s1_ceil", input: "[2, 4, 5]", layers: "- maxpool: {kernel: 3, stride: 1, pad: 1, ceil_mode: true}"},
	{name: "avgpool_incl", input: "[2, 7, 6]", layers: "- avgpool: {kernel: 3, stride: 2, pad: 1, ceil_mode: true}"},
	{name: "avgpool_excl", input: "[2, 7, 6]", layers: "- avgpool: {kernel: 3, stride: 2, pad: 1, ceil_mode: true, count_include_pad: false}"},
	{name: "adaptive_down", input: "[2, 7, 5]", layers: "- adaptive_avgpool: {out: 3}"},
	{name: "adaptive_up", input: "[2, 2, 3]", layers: "- adaptive_avgpool: {out: [5, 4]}"},
	{name: "gap", input: "[3, 3, 4]", layers: "- gap"},
	{name: "gmp", input: "[3, 3, 4]", layers: "- global_maxpool"},
	{name: "lrn", input: "[7, 2, 3]", layers: "- lrn: {size: 5, alpha: 0.5, beta: 0.75, k: 2}"},
	{name: "lrn_even_onnx", input: "[6, 2, 2]", layers: "- lrn: {size: 4, alpha: 0.3, beta: 0.6, k: 1.5, lo: 1}"},
	{name: "dropout", input: "[3, 4, 4]", layers: "- dropout: {name: d, p: 0.4}", opts: TrainOptions{DropoutSeed: 7}},
	{name: "add", input: "[2, 3, 3]", layers: "- add: [[tanh], [], [], [sigmoid]]"},
	{name: "mul_equal", input: "[2, 3, 3]", layers: "- mul: [[tanh], [sigmoid]]"},
	{name: "mul_square", input: "[2, 3, 3]", layers: "- mul: [[], []]"},
	{name: "mul_channel", input: "[3, 3, 3]", layers: "- mul: [[], [gap, sigmoid]]"},
	{name: "concat", input: "[2, 4, 4]", layers: "- concat: [[relu], [maxpool: {kernel: 3, stride: 1, pad: 1}], [conv: {name: c, out: 3, kernel: 1}]]"},
	{name: "reshape_softmax", input: "[2, 3, 4]", layers: "- reshape: {shape: [6, 4]}\n- softmax: {axis: 1}\n- logsoftmax: {axis: 0, axis_end: 1}"},
	{name: "affine", input: "[3, 2, 3]", layers: "- affine: {scale: [0.5, -1.5, 2], shift: [0.1, 0.2, -0.3]}"},
	{name: "pad", input: "[2, 3, 3]", layers: "- pad: {pads: [1, 2, 0, 1], value: 0.5}\n- tanh"},
	{name: "loss", input: "[5]", layers: "- linear: {name: fc, out: 6}", batch: 4, loss: true},
	{name: "loss_smooth", input: "[5]", layers: "- linear: {name: fc, out: 6}", batch: 3, loss: true, opts: TrainOptions{LabelSmoothing: 0.2}},
	{name: "loss_softmax_output", input: "[5]", layers: "- linear: {name: fc, out: 6}\n- softmax", batch: 2, loss: true},
	{name: "aux", input: "[2, 5, 5]", batch: 3, loss: true, opts: TrainOptions{AuxWeight: 0.3, LabelSmoothing: 0.1, DropoutSeed: 3}, layers: `- conv: {name: c, out: 3, kernel: 3}
- bn: {name: bn}
- relu
- aux: {name: a, layers: [gap, flatten, dropout: {name: d, p: 0.5}, linear: {name: fc, out: 4}]}
- maxpool: {kernel: 2}
- flatten
- linear: {name: fc, out: 4}`},
}

// parseCase builds a case's graph from its spec.
func parseCase(t *testing.T, name, input, layers string) *ir.Graph {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ninput: %s\nlayers:\n", strings.ToLower(name), input)
	for _, l := range strings.Split(layers, "\n") {
		b.WriteString("  " + l + "\n")
	}
	g, err := spec.Parse([]byte(b.String()), name+".yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return g
}

// randParams gives every weight of g random values: running variances positive, the rest about
// the size of trained weights.
func randParams(g *ir.Graph, r *rand.Rand) Params {
	p := Params{}
	for _, pr := range g.AllParams() {
		v := make([]float64, pr.Shape.Size())
		for i := range v {
			v[i] = r.NormFloat64() * 0.8
			if strings.HasSuffix(pr.Key, "running_var") {
				v[i] = 0.5 + r.Float64()
			}
		}
		p[pr.Key] = v
	}
	return p
}

// convPaths runs f with the convolutions on each of their two paths, the tap loops and im2col
// (colsMin), so that every case checks both.
func convPaths(t *testing.T, f func(t *testing.T)) {
	defer func(m int) { colsMin = m }(colsMin)
	for _, p := range []struct {
		name string
		min  int
	}{{"taps", math.MaxInt}, {"im2col", 1}} {
		colsMin = p.min
		t.Run(p.name, f)
	}
}

func TestBackwardFiniteDifferences(t *testing.T) {
	convPaths(t, testFiniteDifferences)
}

func testFiniteDifferences(t *testing.T) {
	for _, c := range fdCases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			g := parseCase(t, c.name, c.input, c.layers)
			batch := max(c.batch, 2)
			p := randParams(g, r)
			in := make([]float64, batch*g.Input().Shape.Size())
			for i := range in {
				in[i] = 2 * r.NormFloat64()
			}
			var labels []int
			var up []float64
			if c.loss {
				for range batch {
					labels = append(labels, r.IntN(g.Output.Shape.Size()))
				}
			} else {
				up = make([]float64, batch*g.Output.Shape.Size())
				for i := range up {
					up[i] = r.NormFloat64()
				}
			}
			eval := func() (*TrainResult, error) {
				if c.loss {
					return TrainParams(g, p, in, labels, c.opts)
				}
				return Backward(g, p, in, batch, up, c.opts)
			}
			res, err := eval()
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				r, err := eval()
				if err != nil {
					t.Fatal(err)
				}
				return r.Loss
			}
			checkFD(t, "input", in, res.InputGrad, loss)
			for _, pr := range g.AllParams() {
				if pr.Buffer {
					continue
				}
				got, ok := res.Grads[pr.Key]
				if !ok {
					t.Fatalf("no gradient for %s", pr.Key)
				}
				checkFD(t, pr.Key, p[pr.Key], got, loss)
			}
		})
	}
}

// checkFD compares grad with central differences of loss over every value of v.
func checkFD(t *testing.T, what string, v, grad []float64, loss func() float64) {
	t.Helper()
	if len(grad) != len(v) {
		t.Fatalf("%s: %d gradient values for %d values", what, len(grad), len(v))
	}
	scale := 0.0
	for _, g := range grad {
		scale = max(scale, math.Abs(g))
	}
	bad := 0
	for i := range v {
		old := v[i]
		h := 1e-6 * max(1, math.Abs(old))
		v[i] = old + h
		up := loss()
		v[i] = old - h
		down := loss()
		v[i] = old
		fd := (up - down) / (2 * h)
		if d := math.Abs(fd - grad[i]); d > 1e-7*(1+scale) || math.IsNaN(d) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d]: backward %.12g, finite difference %.12g (|diff| %.3g, scale %.3g)", what, i, grad[i], fd, d, scale)
			}
		}
	}
}
