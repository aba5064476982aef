package spec

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/gen/report"
)

func TestExampleFromDocs(t *testing.T) {
	src, err := os.ReadFile("testdata/tinyres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(src, "tinyres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"conv1":                 "[16 32 32]",
		"layer1.1.bn2":          "[16 32 32]",
		"layer2.0.downsample.0": "[32 16 16]",
		"fc":                    "[10]",
	}
	for name, shape := range want {
		n := g.Node(name)
		if n == nil {
			t.Fatalf("no node %q", name)
		}
		if n.Shape.String() != shape {
			t.Errorf("%s: shape %v, want %s", name, n.Shape, shape)
		}
	}
	if g.Node("layer1.0.downsample.0") != nil {
		t.Error("layer1.0 has a downsample although stride 1 and equal channels")
	}
	// conv1 432 + bn1 32; layer1: 2 blocks x (2x2304 + 64); layer2.0: 4608 + 9216 + 128 + 512 + 64;
	// layer2.1: 2x9216 + 128; fc 330.
	if got, want := g.Totals().Params, int64(432+32+2*(2*2304+64)+4608+9216+128+512+64+2*9216+128+330); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
	if g.Output.Name != "fc" {
		t.Errorf("output %q, want fc", g.Output.Name)
	}
}

const base = `name: t
input: [3, 8, 8]
layers:
`

func TestErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"empty", "", "x.yaml:1:1: empty spec"},
		{"blank", "  \n\n", "x.yaml:1:1: empty spec"},
		{"binary", "\x00\x01\x02garbage", "x.yaml:1:1: not a text file"},
		{"syntax", "name: t\ninput: [3, 8\nlayers: []\n", "YAML syntax: did not find expected ',' or ']'"},
		{"not mapping", "- a\n- b\n", "x.yaml:1:1: a spec is a mapping"},
		{"unknown top", "name: t\ninput: [3,8,8]\nlayerz: []\n", `x.yaml:3:1: spec: unknown field "layerz"`},
		{"missing layers", "name: t\ninput: [3,8,8]\n", `missing field "layers"`},
		{"missing input", "name: t\nlayers: [relu]\n", `missing field "input"`},
		{"bad name", "name: T-1\ninput: [3,8,8]\nlayers: [relu]\n", `x.yaml:1:7: name "T-1" must match`},
		{"unknown op", base + "  - convv: {out: 4, kernel: 3}\n", `x.yaml:4:5: unknown op or block "convv"`},
		{"unknown field", base + "  - conv: {name: c, out: 4, kernal: 3}\n", `x.yaml:4:29: conv: unknown field "kernal"`},
		{"wrong type", base + "  - conv: {name: c, out: four, kernel: 3}\n", `x.yaml:4:26: conv: out must be an integer, found a string`},
		{"missing field", base + "  - conv: {name: c, kernel: 3}\n", `x.yaml:4:11: conv: missing field "out"`},
		{"zero size", base + "  - conv: {name: c, out: 0, kernel: 3}\n", `x.yaml:4:5: c: conv needs out in [1, 2147483647] channels, got 0`},
		{"negative int", base + "  - conv: {name: c, out: -1, kernel: 3}\n", `x.yaml:4:26: conv: out must be at least 0, found -1`},
		{"huge int", base + "  - conv: {name: c, out: 3000000000, kernel: 3}\n", `x.yaml:4:26: conv: out too large: 3000000000 > max 2147483647`},
		{"zero kernel", base + "  - maxpool: {kernel: [2, 0]}\n", `x.yaml:4:23: maxpool: kernel values must be at least 1, found 0`},
		{"pad list", base + "  - conv: {name: c, out: 3, kernel: 3, pad: [1, 1, 1]}\n", `x.yaml:4:45: conv: pad must have 1, 2 or 4 values, found 3`},
		{"bool", base + "  - conv: {name: c, out: 3, kernel: 3, bias: 1}\n", `x.yaml:4:46: conv: bias must be true or false, found an integer`},
		{"negative kernel", base + "  - maxpool: {kernel: -2}\n", `x.yaml:4:23: maxpool: kernel values must be at least 1, found -2`},
		{"conv needs name", base + "  - conv: {out: 4, kernel: 3}\n", "x.yaml:4:5: conv needs a name"},
		{"too small", base + "  - conv: {name: c, out: 4, kernel: 9}\n", `x.yaml:4:5: c: output shape`},
		{"groups", base + "  - conv: {name: c, out: 4, kernel: 3, groups: 2}\n", "groups=2 must divide input channels 3"},
		{"add unequal", base + "  - add:\n    - [conv: {name: c, out: 4, kernel: 1}]\n    - []\n", `x.yaml:4:5: add#1: add of unequal shapes: "c" is [4 8 8], "input" is [3 8 8]`},
		{"linear flat", base + "  - linear: {name: fc, out: 3}\n", "linear needs a flat input"},
		{"classes", "name: t\ninput: [3,8,8]\nclasses: 10\nlayers: [flatten, linear: {name: fc, out: 3}]\n", "network output has shape [3], want [10]"},
		{"unknown block", base + "  - seq: {name: s, layers: [foo]}\n", `x.yaml:4:29: unknown op or block "foo"`},
		{"block cycle", "name: t\ninput: [3,8,8]\nblocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers: [a]\n", `block "a" invokes itself`},
		{"missing arg", "name: t\ninput: [3,8,8]\nblocks:\n  a: {params: {n: null}, layers: [relu]}\nlayers:\n  - a: {}\n", `x.yaml:6:8: a: missing field "n"`},
		{"extra arg", "name: t\ninput: [3,8,8]\nblocks:\n  a: {params: {n: 1}, layers: [relu]}\nlayers:\n  - a: {m: 2}\n", `x.yaml:6:9: a: unknown field "m"`},
		{"bad expr", base + "  - conv: {name: c, out: \"${4 +}\", kernel: 1}\n", `x.yaml:4:26: expression "4 +" ends too early`},
		{"unknown var", base + "  - conv: {name: c, out: $width, kernel: 1}\n", `x.yaml:4:26: unknown name "width"`},
		{"duplicate name", base + "  - conv: {name: c, out: 3, kernel: 1}\n  - conv: {name: c, out: 3, kernel: 1}\n", `x.yaml:5:5: conv: name "c" is already used by the layer at x.yaml:4:5`},
		{"duplicate key", base + "  - conv: {name: c, out: 3, out: 4, kernel: 1}\n", `field "out" given twice`},
		{"two keys", base + "  - conv: {name: c, out: 3, kernel: 1}\n    relu: {}\n", "x.yaml:4:5: a layer is a mapping with one key"},
		{"mul branches", base + "  - mul: [[relu], [relu], [relu]]\n", "mul takes exactly 2 branches"},
		{"huge repeat", base + "  - repeat: {count: 1000000000, layers: [relu]}\n", "x.yaml:4:21: repeat: count too large: 1000000000 > max 10000 (the node limit; raise it with -max-nodes)"},
		{"pool pad", base + "  - maxpool: {kernel: 2, pad: 2}\n", "pad 2 must be at most half the kernel"},
		{"mean length", "name: t\ninput: [3,8,8]\npreprocess: {mean: [0.5]}\nlayers: [relu]\n", "x.yaml:3:20: preprocess: mean needs one value per input channel (3)"},
		{"from unknown", base + "  - relu: {from: nope}\n", `x.yaml:4:18: relu: from: no layer named "nope" before this one`},
		{"from later", base + "  - relu: {from: r}\n  - relu: {name: r}\n", `x.yaml:4:18: relu: from: no layer named "r" before this one`},
		{"from in seq", base + "  - seq: {name: s, from: 3, layers: []}\n", `x.yaml:4:26: seq: from: no layer named "3"`},
		{"from aux", base + "  - aux: {name: h, layers: [relu]}\n  - relu: {from: \"h.relu#1\"}\n", `x.yaml:5:18: relu: from: "h.relu#1" is in a training-only aux head`},
		{"inputs unknown", base + "  - add: {inputs: [input, zz]}\n", `x.yaml:4:27: add: inputs: no layer named "zz" before this one`},
		{"inputs not list", base + "  - add: {inputs: input}\n", `x.yaml:4:19: add: inputs must be a list of layer names, found "input"`},
		{"inputs and branches", base + "  - add: {inputs: [input, input], branches: [[]]}\n", `x.yaml:4:35: add: give inputs or branches, not both`},
		{"inputs one", base + "  - concat: {inputs: [input]}\n", `x.yaml:4:22: concat needs at least 2 inputs, found 1`},
		{"mul inputs", base + "  - mul: {inputs: [input, input, input]}\n", `x.yaml:4:19: mul takes exactly 2 inputs, found 3`},
		{"inputs shapes", base + "  - relu: {name: r}\n  - gap\n  - concat: {name: c, inputs: [r, \"gap#1\"]}\n", `x.yaml:6:5: c: concat along channels needs equal spatial sizes`},
		{"keys role", base + "  - conv: {name: c, out: 3, kernel: 1, keys: {wieght: k}}\n", `x.yaml:4:47: conv keys: unknown field "wieght" (want one of weight, bias)`},
		{"keys no bias", base + "  - conv: {name: c, out: 3, kernel: 1, bias: false, keys: {bias: k}}\n", `x.yaml:4:60: conv keys: unknown field "bias" (want one of weight)`},
		{"keys not mapping", base + "  - bn: {name: b, keys: k}\n", `x.yaml:4:25: bn keys: expected a mapping of attributes, found "k"`},
		{"keys empty", base + "  - bn: {name: b, keys: {weight: \"\"}}\n", `x.yaml:4:34: bn keys: the weight key is empty`},
		{"keys on relu", base + "  - relu: {keys: {weight: w}}\n", `x.yaml:4:12: relu: unknown field "keys"`},
		{"keys twice", base + "  - conv: {name: c, out: 3, kernel: 1, keys: {weight: k}}\n  - conv: {name: d, out: 3, kernel: 1, keys: {weight: k}}\n", `x.yaml:5:55: conv: weight key "k" is already used by layer "c" at x.yaml:4:5`},
		{"keys default clash", base + "  - conv: {name: c, out: 3, kernel: 1, keys: {weight: d.weight}}\n  - conv: {name: d, out: 3, kernel: 1}\n", `x.yaml:5:5: conv: weight key "d.weight" is already used by layer "c"`},
		{"keys same tensor", base + "  - bn: {name: b, keys: {weight: k, bias: k}}\n", `x.yaml:4:43: bn: weight key "k" is given to two of the layer's tensors`},
		{"reshape size", base + "  - reshape: {shape: [5]}\n", `x.yaml:4:5: reshape#1: reshape of [3 8 8] (192 values) to [5]`},
		{"reshape -1", base + "  - reshape: {shape: [-1, 5]}\n", `x.yaml:4:22: reshape: cannot fit 192 values (input [3 8 8]) into [-1 5]`},
		{"reshape two -1", base + "  - reshape: {shape: [-1, -1]}\n", `x.yaml:4:22: reshape: shape may have only one -1`},
		{"reshape zero", base + "  - reshape: {shape: [0, 192]}\n", `x.yaml:4:22: reshape: shape dimensions must be positive`},
		{"clip order", base + "  - clip: {min: 1, max: 0}\n", `x.yaml:4:5: clip#1: clip bounds [1, 0] are not an interval`},
		{"clip nan", base + "  - clip: {max: .nan}\n", `x.yaml:4:17: clip: max must be a number (.inf and -.inf allowed), found a number`},
		{"softmax axis", base + "  - softmax: {axis: 3}\n", `x.yaml:4:5: softmax#1: softmax over dims [3, 3) of [3 8 8]`},
		{"logsoftmax axis_end", base + "  - logsoftmax: {axis: 1, axis_end: 1}\n", `x.yaml:4:5: logsoftmax#1: logsoftmax over dims [1, 1)`},
		{"pad missing", base + "  - pad: {value: 1}\n", `x.yaml:4:10: pad: missing field "pads"`},
		{"pad flat", base + "  - flatten\n  - pad: {pads: 1}\n", `x.yaml:5:5: pad#2: pad needs a feature map [C H W]`},
		{"lrn lo", base + "  - lrn: {size: 3, lo: 3}\n", `x.yaml:4:5: lrn#1: lrn window start 3 must be in [0, size)`},
		{"bn eps", base + "  - bn: {name: b, eps: 0}\n", `x.yaml:4:5: b: bn eps must be positive, got 0`},
		{"dropout p", base + "  - dropout: {p: 1.5}\n", `x.yaml:4:5: dropout#1: dropout probability 1.5 is not in [0, 1]`},
		{"pad inf", base + "  - pad: {pads: 1, value: -.inf}\n", `x.yaml:4:5: pad#1: pad value -Inf is not finite`},
		{"hardsigmoid nan", base + "  - hardsigmoid: {alpha: .nan}\n", `x.yaml:4:26: hardsigmoid: alpha must be a number (.inf and -.inf allowed)`},
		{"number", base + "  - hardsigmoid: {beta: [1]}\n", `x.yaml:4:25: hardsigmoid: beta must be a number (.inf and -.inf allowed), found a list`},
		{"affine nan", base + "  - affine: {scale: [1, .nan, 1], shift: 0}\n", `x.yaml:4:21: affine: scale must hold numbers, found a number`},
		{"affine inf", base + "  - affine: {scale: .inf, shift: 0}\n", `x.yaml:4:5: affine#1: affine values must be finite`},
		{"affine missing", base + "  - affine: {scale: 1}\n", `x.yaml:4:13: affine: missing field "shift" (a number or a list of numbers)`},
		{"reshape rank", base + "  - reshape: {shape: [1, 1, 1, 1, 1, 1, 1, 1, -1]}\n", `x.yaml:4:22: reshape: shape has 9 dimensions, at most 8 are supported`},
		{"std inf", "name: t\ninput: [1,8,8]\npreprocess: {std: [.inf]}\nlayers: [relu]\n", "x.yaml:3:19: preprocess: std must hold finite numbers, found .inf"},
		{"gemm inf", base + "  - flatten\n  - linear: {name: fc, out: 2, alpha: .inf}\n", `x.yaml:5:5: fc: gemm alpha and beta must be finite`},
		{"affine length", base + "  - affine: {scale: [1, 2], shift: 0}\n", `x.yaml:4:5: affine#1: affine needs 1 or 3 scale and shift values`},
		{"input empty", "name: t\ninput: []\nlayers: [relu]\n", `x.yaml:2:8: spec: input must have at least 1 value`},
		{"input rank", "name: t\ninput: [1, 1, 1, 1, 1, 1, 1, 1, 1]\nlayers: [relu]\n", `x.yaml:2:8: input has 9 dimensions, at most 8 are supported`},
		{"input zero", "name: t\ninput: [3, 0]\nlayers: [relu]\n", `x.yaml:2:8: spec: input values must be at least 1, found 0`},
		{"input field", "name: t\ninput: {shape: [3], nam: x}\nlayers: [relu]\n", `x.yaml:2:21: input: unknown field "nam"`},
		{"input name", "name: t\ninput: {shape: [3], name: a b}\nlayers: [relu]\n", `x.yaml:2:27: input: name "a b" must match`},
		{"input huge", "name: t\ninput: [65536, 65536]\nlayers: [relu]\n", `x.yaml:2:8: input [65536 65536] too large: 4294967296 values > max 268435456`},
		{"output unknown", base + "  - relu\noutput: relu\n", `x.yaml:5:9: output: no layer named "relu"`},
		{"output input", base + "  - relu\noutput: input\n", `x.yaml:5:9: output: "input" is the network input, not a layer`},
		{"output aux", base + "  - aux: {name: h, layers: [relu]}\n  - relu\noutput: \"h.relu#1\"\n", `x.yaml:6:9: output: "h.relu#1" is in a training-only aux head`},
		{"name hash clash", base + "  - relu\n  - relu: {name: \"relu#1\"}\n", `x.yaml:5:5: relu: name "relu#1" is already used by the layer at x.yaml:4:5`},
		{"flat input conv", "name: t\ninput: [5]\nlayers: [conv: {name: c, out: 1, kernel: 1}]\n", `x.yaml:3:10: c: conv needs a feature map [C H W] as input, got [5]`},
		{"block error context", "name: t\ninput: [3,8,8]\nblocks:\n  a: {layers: [linear: {name: fc, out: 2}]}\nlayers:\n  - a: {name: blk}\n", "x.yaml:4:16: blk.fc: linear needs a flat input; add a flatten before it (input is [3 8 8]) (in block a used at x.yaml:6:5)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src), "x.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
		})
	}
}

func TestExpressions(t *testing.T) {
	sc := &scope{vars: map[string]any{"a": int64(7), "b": int64(2), "f": 0.5, "t": true}}
	cases := map[string]any{
		"a / b": int64(3), "-a / b": int64(-4), "a % b": int64(1), "a * b + 1": int64(15),
		"(a + 1) * b": int64(16), "a / f": 14.0, "a > b && t": true, "!t || a == 7": true,
		"a == 7 ? 1 : 2": int64(1), "b == 7 ? 1 : a > 3 ? 5 : 6": int64(5), "max(1, a / 4)": int64(1),
		"min(a, b, 9)": int64(2), "1e-3": 0.001, "a != b": true,
	}
	for src, want := range cases {
		got, err := evalExpr(src, sc)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got != want {
			t.Errorf("%s = %v (%T), want %v (%T)", src, got, got, want, want)
		}
	}
	for _, bad := range []string{"a +", "1 / 0", "t + 1", "(a", "a ? 1 : 2", "max(a", "a $ b", "zz"} {
		if _, err := evalExpr(bad, sc); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestSeqNumberingSkipsDisabledItems(t *testing.T) {
	src := base + `  - seq:
      name: f
      layers:
        - conv: {out: 4, kernel: 1, if: false}
        - conv: {out: 4, kernel: 1}
        - relu
        - repeat: {count: 2, layers: [conv: {out: 4, kernel: 1}]}
`
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"f.0", "f.1", "f.2", "f.3"} {
		if g.Node(name) == nil {
			t.Errorf("no node %s", name)
		}
	}
	if g.Node("f.0").Op != "conv" || g.Node("f.1").Op != "relu" {
		t.Errorf("f.0 is %s, f.1 is %s", g.Node("f.0").Op, g.Node("f.1").Op)
	}
}

func TestAuxIsTrainingOnly(t *testing.T) {
	src := base + `  - aux: {name: aux1, layers: [flatten, linear: {name: fc, out: 5}]}
  - gap
  - flatten
  - linear: {name: fc, out: 2}
`
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := g.Node("aux1.fc"); n == nil || !n.TrainingOnly {
		t.Fatalf("aux1.fc missing or not training-only: %+v", n)
	}
	tot := g.Totals()
	if tot.Params != 8 || tot.TrainParams != 8+192*5+5 {
		t.Errorf("params %d / %d, want 8 / %d", tot.Params, tot.TrainParams, 8+192*5+5)
	}
	if g.Node("gap#2").Inputs[0].Name != "input" {
		t.Errorf("main path does not continue from the aux head's input")
	}
}

// fuzzLimits are small, so that short inputs reach the limits and go past them.
var fuzzLimits = ir.Limits{MaxNodes: 64, MaxActivationBytes: 1 << 20, MaxWeightBytes: 1 << 20}

// FuzzParse takes spec text through what the CLI does with it: ParseLimits, Graph.Check,
// report.Summarize and pipeline.Plan, under fuzzLimits. A panic, an internal error, a graph or a
// plan over the limits, or a graph that does not round-trip through Write is a failure. For a
// longer run than test.sh's: go test ./gen/spec -run '^$' -fuzz '^FuzzParse$' -fuzztime 2000000x
func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/tinyres.yaml")
	f.Add(seed)
	f.Add([]byte(base + "  - relu\n"))
	f.Add([]byte("name: t\ninput: [3,8,8]\nblocks:\n  a: {params: {n: 1}, layers: [relu]}\nlayers: [a, {repeat: {count: 2, layers: [gap]}}]\n"))
	f.Add([]byte(base + "  - concat: [[maxpool: {kernel: 3, stride: 1, pad: 1, ceil_mode: true}], []]\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("name: t\ninput: {name: x, shape: [2, 4, 4]}\nlayers:\n  - conv: {name: c, out: 2, kernel: 1, keys: {weight: \"a$$b\"}}\n" +
		"  - relu: {from: x}\n  - add: {inputs: [c, \"relu#1\"]}\n  - pad: {pads: [1, 0, 0, 1], value: -1}\n  - reshape: {shape: [-1]}\n" +
		"  - clip: {min: -.inf, max: 6}\n  - logsoftmax: {axis: 0}\noutput: \"relu#1\"\n"))
	f.Add([]byte("name: t\ninput: [1, 8, 8]\nclasses: 10\nlabels: fashion-mnist\nlayers:\n  - pad: {pads: 100}\n  - seq: {name: s, layers: [repeat: {count: 3, layers: [conv: {out: 2, kernel: 3, stride: 2}]}]}\n  - relu\n  - sigmoid: {from: input}\n  - gap\n  - flatten\n  - linear: {name: fc, out: 10}\n"))
	f.Add([]byte(base + "  - add: [[relu], [sigmoid], [tanh], [conv: {name: c, out: 3, kernel: 1}]]\n  - repeat: {count: \"${2 * 3 > 5 ? 4 : -(1)}\", layers: [{seq: {name: \"s${i}\", layers: [bn]}}]}\n"))
	var written bytes.Buffer
	if err := Write(&written, onnxLike(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(written.Bytes())
	f.Fuzz(func(t *testing.T, src []byte) {
		l := fuzzLimits
		g, err := ParseLimits(src, "fuzz.yaml", l)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		if g == nil || g.Output == nil {
			t.Fatal("no error and no graph")
		}
		if err := g.Check(l); err != nil {
			t.Fatalf("ParseLimits returned a graph over its limits: %v", err)
		}
		// Whatever parses must be written, parse back and be the same graph.
		var buf bytes.Buffer
		if err := Write(&buf, g); err != nil {
			t.Fatalf("a parsed graph cannot be written: %v", err)
		}
		g2, err := ParseLimits(buf.Bytes(), "written.yaml", l)
		if err != nil {
			t.Fatalf("the written spec does not parse: %v\n%s", err, buf.String())
		}
		if err := Diff(g, g2); err != nil {
			t.Fatalf("the written spec is another graph: %v\n%s", err, buf.String())
		}
		// Past parsing: what -summary and generation do with the graph.
		s := report.Summarize(g)
		if s.ActivationBytes > l.MaxActivationBytes || len(s.Layers) > l.MaxNodes {
			t.Fatalf("summary over the limits: %d activation bytes, %d layers", s.ActivationBytes, len(s.Layers))
		}
		p, err := pipeline.Plan(g)
		if err != nil {
			t.Fatalf("a checked graph does not plan: %v\n%s", err, src)
		}
		if arena := 4 * int64(p.Plan.Arena); arena > l.MaxActivationBytes {
			t.Fatalf("the plan's arena is %d bytes, over the activation limit %d that the graph passed\n%s", arena, l.MaxActivationBytes, src)
		}
		if err := Diff(g, g2); err != nil {
			t.Fatalf("planning changed the parsed graph: %v", err)
		}
	})
}

func TestHostileExpansionFailsFast(t *testing.T) {
	for _, src := range []string{
		base + "  - repeat: {count: 100000, layers: [repeat: {count: 100000, layers: []}]}\n",
		base + "  - repeat: {count: 100000, layers: [repeat: {count: 100000, layers: [relu]}]}\n",
		"name: t\ninput: [3,8,8]\nx: &a [1, 2]\nlayers: [relu]\n",
		base + "  - conv: &c {name: c, out: 3, kernel: 1}\n  - conv: *c\n",
	} {
		if _, err := Parse([]byte(src), "x.yaml"); err == nil {
			t.Errorf("no error for\n%s", src)
		}
	}
}

func TestExplicitInputs(t *testing.T) {
	src := `name: t
input: {name: x.1, shape: [3, 8, 8]}
layers:
  - conv: {name: a, out: 4, kernel: 1}
  - relu
  - conv: {name: b, from: x.1, out: 4, kernel: 1}
  - add: {name: s, inputs: [a, b, "relu#1"]}
  - seq:
      name: p
      from: a
      layers: [relu, {concat: {inputs: [p.0, s]}}]
  - aux: {name: h, from: b, layers: [gap, {mul: {name: m, inputs: [b, h.gap#2]}}]}
  - concat: {from: s, branches: [[], [conv: {name: c, from: p.1, out: 2, kernel: 1}]]}
output: s
`
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"x.1":      "",
		"a":        "x.1",
		"relu#1":   "a",
		"b":        "x.1",
		"s":        "a b relu#1",
		"p.0":      "a",
		"p.1":      "p.0 s",
		"h.gap#2":  "b",
		"h.m":      "b h.gap#2",
		"c":        "p.1",
		"concat#3": "s c",
	}
	for _, n := range g.Nodes {
		w, ok := want[n.Name]
		if !ok {
			t.Errorf("unexpected node %s", n.Name)
			continue
		}
		if got := strings.Join(inputNames(n), " "); got != w {
			t.Errorf("%s reads %q, want %q", n.Name, got, w)
		}
	}
	if len(g.Nodes) != len(want) {
		t.Errorf("%d nodes, want %d", len(g.Nodes), len(want))
	}
	if g.Output.Name != "s" || g.Input().Name != "x.1" {
		t.Errorf("output %s, input %s", g.Output.Name, g.Input().Name)
	}
	if !g.Node("h.m").TrainingOnly || g.Node("c").TrainingOnly {
		t.Error("training-only marks wrong")
	}
}

func TestKeys(t *testing.T) {
	src := base + `  - conv: {name: "0.Conv", out: 4, kernel: 1, keys: {weight: "onnx::Conv_193", bias: "features.0.${'bias'}"}}
  - bn: {name: bn, keys: {running_var: "onnx::$$v"}}
  - seq: {name: s, layers: [flatten, linear: {out: 2, bias: false, keys: {weight: W}}]}
`
	src = strings.Replace(src, "${'bias'}", "bias", 1)
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range g.AllParams() {
		keys = append(keys, fmt.Sprintf("%s%v/%v", p.Key, p.Shape, p.Buffer))
	}
	want := "onnx::Conv_193[4 3 1 1]/false features.0.bias[4]/false bn.weight[4]/false bn.bias[4]/false bn.running_mean[4]/true onnx::$v[4]/true W[2 256]/false"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("keys\n  %s\nwant\n  %s", got, want)
	}
	if g.Node("s.1") == nil {
		t.Error("no node s.1")
	}
}

func TestNewOps(t *testing.T) {
	src := `name: t
input: [2, 4, 4]
layers:
  - affine: {scale: 2, shift: [-1]}
  - clip: {name: c, min: -.inf, max: 6}
  - clip: {name: c2, min: -1.5}
  - pad: {name: p, pads: [1, 0, 2, 3], value: -0.5}
  - lrn: {name: l, size: 4, lo: 1}
  - lrn: {name: l2, size: 4}
  - logsoftmax: {name: ls, axis: 1, axis_end: 2}
  - softmax: {name: sm, axis: 2}
  - reshape: {name: r, shape: [-1, 7]}
  - flatten
  - linear: {name: g, out: 3, alpha: 0.5, beta: 2, transposed: true}
  - linear: {name: g2, out: 3, alpha: 1, beta: 1, transposed: false}
  - softmax
`
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := func(name string) *ir.Node {
		t.Helper()
		x := g.Node(name)
		if x == nil {
			t.Fatalf("no node %s", name)
		}
		return x
	}
	if a := ir.As[*ir.AffineAttrs](n("affine#1")); len(a.Scale) != 1 || a.Scale[0] != 2 || len(a.Shift) != 1 || a.Shift[0] != -1 {
		t.Errorf("affine %v %v", a.Scale, a.Shift)
	}
	if c := ir.As[*ir.ClipAttrs](n("c")); !math.IsInf(c.Min, -1) || c.Max != 6 {
		t.Errorf("clip [%g, %g]", c.Min, c.Max)
	}
	if c := ir.As[*ir.ClipAttrs](n("c2")); c.Min != -1.5 || !math.IsInf(c.Max, 1) {
		t.Errorf("clip default max: [%g, %g]", c.Min, c.Max)
	}
	if p := n("p"); *ir.As[*ir.PadAttrs](p) != (ir.PadAttrs{Pads: [4]int{1, 0, 2, 3}, Value: -0.5}) || p.Shape.String() != "[2 7 7]" {
		t.Errorf("pad %+v %v", p.Attrs, p.Shape)
	}
	if l, l2 := ir.As[*ir.LRNAttrs](n("l")), ir.As[*ir.LRNAttrs](n("l2")); l.Lo != 1 || l2.Lo != 2 {
		t.Errorf("lrn lo %d %d", l.Lo, l2.Lo)
	}
	if l := n("ls"); l.Op != ir.OpLogSoftmax || *ir.As[*ir.SoftmaxAttrs](l) != (ir.SoftmaxAttrs{Axis: 1, AxisEnd: 2}) {
		t.Errorf("logsoftmax %s %+v", l.Op, l.Attrs)
	}
	if s := ir.As[*ir.SoftmaxAttrs](n("sm")); s.Axis != 2 || s.AxisEnd != 0 {
		t.Errorf("softmax [%d, %d)", s.Axis, s.AxisEnd)
	}
	if r := n("r"); ir.As[*ir.ReshapeAttrs](r).Shape.String() != "[14 7]" || r.Shape.String() != "[14 7]" {
		t.Errorf("reshape %+v", r.Attrs)
	}
	if l := n("g"); *ir.As[*ir.LinearAttrs](l) != (ir.LinearAttrs{Out: 3, Bias: true, Alpha: 0.5, Beta: 2, TransW: true}) || l.Params[0].Shape.String() != "[98 3]" {
		t.Errorf("gemm %+v, weight %v", l.Attrs, l.Params[0].Shape)
	}
	if l := n("g2"); *ir.As[*ir.LinearAttrs](l) != (ir.LinearAttrs{Out: 3, Bias: true, Alpha: 1, Beta: 1}) {
		t.Errorf("default gemm: %+v", l.Attrs)
	}
}

func TestInputShapes(t *testing.T) {
	for src, want := range map[string]string{
		"input: [5]":          "input [5] -> [5]",
		"input: 7":            "input [7] -> [7]",
		"input: [3, 4]":       "input [3 4] -> [3 4]",
		"input: [2, 3, 4, 5]": "input [2 3 4 5] -> [2 3 4 5]",
		"input: {name: data_0, shape: [3, 2, 2]}": "data_0 [3 2 2] -> [3 2 2]",
	} {
		g, err := Parse([]byte("name: t\n"+src+"\nlayers: [relu]\n"), "x.yaml")
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := fmt.Sprintf("%s %v -> %v", g.Input().Name, g.Input().Shape, g.Output.Shape); got != want {
			t.Errorf("%s: %s, want %s", src, got, want)
		}
	}
	// cin, hin, win describe whatever rank the input has (1 when missing).
	g, err := Parse([]byte("name: t\ninput: [6, 5]\nlayers: [reshape: {shape: [\"${cin * hin * win}\"]}]\n"), "x.yaml")
	if err != nil || g.Output.Shape.String() != "[30]" {
		t.Errorf("rank-2 scope: %v", err)
	}
}

func TestDollarEscape(t *testing.T) {
	g, err := Parse([]byte("name: t\ndescription: \"costs $$5, ${1+1} and $${x}\"\ninput: [3,8,8]\nlayers: [relu]\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if g.Description != "costs $5, 2 and ${x}" {
		t.Errorf("description %q", g.Description)
	}
}
