package gentest

import (
	"os"
	"testing"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/spec"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// blockedSpecs cover every op that runs blocked, at channel counts that are and are not
// multiples of a block, with the reorders where blocked and plain ops meet (g2's groups of 29
// channels stay NCHW; g29's of 2 and g4's of 16 run blocked; b2, after a concatenation, is not
// folded and applies the ReLU after it).
var blockedSpecs = map[string]string{
	"branches": `name: branches
input: [3, 15, 13]
layers:
  - conv: {name: stem, out: 20, kernel: 3, stride: 2, pad: 1}
  - relu
  - conv: {name: c1, out: 24, kernel: 3, pad: 1, bias: false}
  - bn: {name: b1}
  - relu6
  - lrn: {size: 5}
  - maxpool: {kernel: 3, stride: 2, pad: 1, ceil_mode: true}
  - concat:
      - [conv: {name: a, out: 32, kernel: 1}, relu]
      - [conv: {name: b, out: 16, kernel: 5, pad: 2, dilation: 1}]
      - [avgpool: {kernel: 3, stride: 1, pad: 1, count_include_pad: false}, conv: {name: d, out: 10, kernel: 1}]
  - bn: {name: b2}
  - relu
  - conv: {name: dw, out: 58, kernel: 3, pad: 1, groups: 58}
  - silu
  - seq:
      name: se
      layers:
        - mul:
            - []
            - [gap, conv: {name: r, out: 8, kernel: 1}, relu, conv: {name: e, out: 58, kernel: 1}, sigmoid]
  - pad: {pads: [1, 0, 2, 1], value: 0.5}
  - conv: {name: g29, out: 58, kernel: 3, pad: 1, groups: 29}
  - relu
  - conv: {name: g2, out: 58, kernel: 3, groups: 2}
  - conv: {name: p, out: 64, kernel: 1}
  - conv: {name: g4, out: 64, kernel: 3, pad: 1, groups: 4}
  - adaptive_avgpool: {out: [2, 3]}
  - flatten
  - linear: {name: fc, out: 7}
`,
}

// flattenConcats rewrites concat(concat(a, b), c) as concat(a, b, c), the inner one still read by
// its other readers: DenseNet as ONNX exports it.
func flattenConcats(g *ir.Graph) {
	for _, n := range g.Nodes {
		if n.Op == ir.OpConcat && n.Inputs[0].Op == ir.OpConcat {
			n.Inputs = append(append([]*ir.Node(nil), n.Inputs[0].Inputs...), n.Inputs[1:]...)
		}
	}
}

// TestLayouts runs networks generated with NCHW16c and with NCHW feature maps against the
// interpreter.
func TestLayouts(t *testing.T) {
	specs := map[string][]byte{}
	for name, src := range blockedSpecs {
		specs[name] = []byte(src)
	}
	tiny, err := os.ReadFile("../../gen/spec/testdata/tinyres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	specs["tinyres"] = tiny
	dense, err := os.ReadFile("../../gen/plan/testdata/dense.yaml")
	if err != nil {
		t.Fatal(err)
	}
	specs["dense"] = dense
	for _, arch := range []string{"googlenet", "resnet18", "efficientnet_b0", "alexnet2012"} {
		src, _, err := archspecs.Source(arch)
		if err != nil {
			t.Fatal(err)
		}
		specs[arch] = src
	}
	for name, src := range specs {
		g, err := spec.Parse(src, name+".yaml")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "dense" {
			flattenConcats(g)
		}
		w := mapWeights{}
		for _, p := range g.AllParams() {
			w[p.Key] = seedweights.Values(p.Key, p.Shape)
		}
		batch := 2
		if len(src) > 2000 { // the built-in networks: one image is enough, and the interpreter is slow
			batch = 1
		}
		in := seedweights.Input(batch, g.Input().Shape)
		want, err := interp.Run(g, w, in, batch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, l := range []ir.Layout{ir.NCHW16c, ir.NCHW} {
			got, err := RunLayout(g, w, in, l)
			if err != nil {
				t.Fatalf("%s %v: %v", name, l, err)
			}
			if err := goldens.Compare(got, want, batch); err != nil {
				t.Errorf("%s %v: %v", name, l, err)
			}
		}
	}
}
