package spec

import (
	"os"
	"strings"
	"testing"
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
		{"zero size", base + "  - conv: {name: c, out: 0, kernel: 3}\n", `x.yaml:4:26: conv: out must be at least 1, found 0`},
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
		{"huge repeat", base + "  - repeat: {count: 1000000000, layers: [relu]}\n", "repeat: count 1000000000 is too large"},
		{"pool pad", base + "  - maxpool: {kernel: 2, pad: 2}\n", "pad 2 must be at most half the kernel"},
		{"mean length", "name: t\ninput: [3,8,8]\npreprocess: {mean: [0.5]}\nlayers: [relu]\n", "x.yaml:3:20: preprocess: mean needs one value per input channel (3)"},
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

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/tinyres.yaml")
	f.Add(seed)
	f.Add([]byte(base + "  - relu\n"))
	f.Add([]byte("name: t\ninput: [3,8,8]\nblocks:\n  a: {params: {n: 1}, layers: [relu]}\nlayers: [a, {repeat: {count: 2, layers: [gap]}}]\n"))
	f.Add([]byte(base + "  - concat: [[maxpool: {kernel: 3, stride: 1, pad: 1, ceil_mode: true}], []]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Parse(src, "fuzz.yaml")
		if err == nil && (g == nil || g.Output == nil) {
			t.Fatal("no error and no graph")
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
