package spec

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/ir"
)

// roundTrip writes g, parses the result and checks it is the same graph, and that writing the
// parsed graph gives the same text.
func roundTrip(t *testing.T, g *ir.Graph) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, g); err != nil {
		t.Fatalf("Write: %v", err)
	}
	g2, err := Parse(buf.Bytes(), "written.yaml")
	if err != nil {
		t.Fatalf("Parse of the written spec: %v\n%s", err, numbered(buf.String()))
	}
	if err := Diff(g, g2); err != nil {
		t.Fatalf("round trip: %v\n%s", err, numbered(buf.String()))
	}
	g2.Source = g.Source
	var again bytes.Buffer
	if err := Write(&again, g2); err != nil {
		t.Fatalf("Write of the parsed graph: %v", err)
	}
	if again.String() != buf.String() {
		t.Fatalf("writing the parsed graph gives another text:\n%s\nfirst:\n%s", again.String(), buf.String())
	}
	return buf.String()
}

func numbered(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = fmt.Sprintf("%4d  %s", i+1, lines[i])
	}
	return strings.Join(lines, "\n")
}

func TestWriteArchspecs(t *testing.T) {
	for _, name := range archspecs.Names() {
		t.Run(name, func(t *testing.T) {
			src, path, err := archspecs.Source(name)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse(src, path)
			if err != nil {
				t.Fatal(err)
			}
			g.Source = path
			out := roundTrip(t, g)
			if testing.Verbose() && name == "googlenet" {
				t.Log(out)
			}
		})
	}
}

// onnxLike builds, by hand, a graph like the ONNX importer's: every new op, keys that are not
// NAME.role, a custom input name, a DAG.
func onnxLike(t testing.TB) *ir.Graph {
	t.Helper()
	g := &ir.Graph{Name: "onnx_like", Description: "Imported from ONNX m.onnx (producer pytorch, opset 17); cost: $5 ${x}.", Source: "m.onnx"}
	node := func(name string, op ir.Op, attrs ir.Attrs, ins ...*ir.Node) *ir.Node {
		n := ir.NewNode(op, name, ins...)
		if attrs != nil {
			n.Attrs = attrs
		}
		g.Nodes = append(g.Nodes, n)
		return n
	}
	keys := func(n *ir.Node, ks ...string) {
		n.SetParamKeys(n.Name)
		for i, k := range ks {
			n.Params[i].Key = k
		}
	}
	inf := math.Inf(1)
	x := node("x", ir.OpInput, nil)
	x.Shape = ir.Shape{3, 8, 8}
	a := node("Mul_0", ir.OpAffine, &ir.AffineAttrs{Scale: []float64{0.5}, Shift: []float64{-1.0 / 3}}, x)
	c := node("features.0.Conv", ir.OpConv, &ir.ConvAttrs{Out: 4, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true}, a)
	keys(c, "onnx::Conv_193", "onnx::Conv_194")
	bn := node("features.1.BatchNormalization", ir.OpBatchNorm, &ir.BatchNormAttrs{Eps: 1e-3}, c)
	keys(bn, "features.1.weight", "features.1.bias", "features.1.running_mean", "features.1.running_var")
	clip := node("Clip_2", ir.OpClip, &ir.ClipAttrs{Min: -inf, Max: 6.5}, bn)
	// Conv_3 reads the affine, not bn: a DAG.
	c2 := node("Conv_3", ir.OpConv, &ir.ConvAttrs{Out: 4, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}, a)
	keys(c2, "Conv_3.weight")
	clip2 := node("Clip_4", ir.OpClip, &ir.ClipAttrs{Min: 0, Max: inf}, c2)
	sum := node("Add_5", ir.OpAdd, nil, clip2, clip, clip2)
	node("Clip_dead", ir.OpClip, &ir.ClipAttrs{Min: inf, Max: inf}, sum) // nothing reads it
	pad := node("Pad_6", ir.OpPad, &ir.PadAttrs{Pads: [4]int{1, 0, 0, 2}, Value: -0.25}, sum)
	lrn := node("LRN_7", ir.OpLRN, &ir.LRNAttrs{Size: 4, Alpha: 2e-4, Beta: 0.75, Bias: 1, Lo: 1}, pad)
	pool := node("AveragePool_8", ir.OpAvgPool, &ir.AvgPoolAttrs{PoolAttrs: ir.PoolAttrs{Kernel: [2]int{3, 2}, Stride: [2]int{2, 1}, Pad: [4]int{1, 0, 0, 1}, CeilMode: true}}, lrn)
	sm := node("LogSoftmax_9", ir.OpLogSoftmax, &ir.SoftmaxAttrs{Axis: 1, AxisEnd: 3}, pool)
	rs := node("Reshape_10", ir.OpReshape, &ir.ReshapeAttrs{Shape: ir.Shape{4, 50}}, sm)
	sm2 := node("Softmax_11", ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 1}, rs)
	fl := node("Flatten_12", ir.OpFlatten, nil, sm2)
	fc := node("Gemm_13", ir.OpLinear, &ir.LinearAttrs{Out: 10, Bias: true, Alpha: 0.5, Beta: 1e-7, TransW: true}, fl)
	keys(fc, "fc.weight", "fc.bias")
	mm := node("MatMul_14", ir.OpLinear, &ir.LinearAttrs{Out: 10, Alpha: 1, Beta: 1, TransW: true}, fl)
	keys(mm, "onnx::MatMul_300")
	hs := node("HardSigmoid_15", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}, mm)
	mul := node("Mul_16", ir.OpMul, nil, fc, hs)
	cat := node("Concat_17", ir.OpConcat, nil, mul, fc)
	d := node("Dropout_18", ir.OpDropout, &ir.DropoutAttrs{P: 0.1}, cat)
	for i, op := range []ir.Op{ir.OpReLU6, ir.OpSiLU, ir.OpTanh, ir.OpSigmoid, ir.OpHardSwish, ir.OpReLU} {
		d = node(fmt.Sprintf("act_%d", i), op, nil, d)
	}
	node("output", ir.OpReshape, &ir.ReshapeAttrs{Shape: ir.Shape{20}}, d)
	g.Classes = 20
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestWriteNewOps(t *testing.T) {
	g := onnxLike(t)
	out := roundTrip(t, g)
	for _, want := range []string{
		"# Written by cnngen import from m.onnx.\n",
		`description: "Imported from ONNX m.onnx (producer pytorch, opset 17); cost: $$5 $${x}."`,
		"input: {name: x, shape: [3, 8, 8]}\n",
		"  - affine: {name: Mul_0, scale: 0.5, shift: -0.3333333333333333}\n",
		`  - conv: {name: features.0.Conv, out: 4, kernel: 3, pad: 1, keys: {weight: "onnx::Conv_193", bias: "onnx::Conv_194"}}`,
		"  - bn: {name: features.1.BatchNormalization, eps: 0.001, keys: {weight: features.1.weight, bias: features.1.bias, running_mean: features.1.running_mean, running_var: features.1.running_var}}\n",
		"  - clip: {name: Clip_2, max: 6.5}\n",
		"  - clip: {name: Clip_dead, min: .inf}\n",
		"  - conv: {name: Conv_3, from: Mul_0, out: 4, kernel: 1, bias: false}\n",
		"  - clip: {name: Clip_4, min: 0}\n",
		"  - add: {name: Add_5, inputs: [Clip_4, Clip_2, Clip_4]}\n",
		"  - pad: {name: Pad_6, from: Add_5, pads: [1, 0, 0, 2], value: -0.25}\n",
		"  - lrn: {name: LRN_7, size: 4, alpha: 0.0002, lo: 1}\n",
		"  - avgpool: {name: AveragePool_8, kernel: [3, 2], stride: [2, 1], pad: [1, 0, 0, 1], ceil_mode: true, count_include_pad: false}\n",
		"  - logsoftmax: {name: LogSoftmax_9, axis: 1, axis_end: 3}\n",
		"  - reshape: {name: Reshape_10, shape: [4, 50]}\n",
		"  - linear: {name: Gemm_13, out: 10, alpha: 0.5, beta: 1e-07, transposed: true, keys: {weight: fc.weight, bias: fc.bias}}\n",
		`  - linear: {name: MatMul_14, from: Flatten_12, out: 10, bias: false, transposed: true, keys: {weight: "onnx::MatMul_300"}}`,
		"  - hardsigmoid: {name: HardSigmoid_15, alpha: 0.2}\n",
		"  - mul: {name: Mul_16, inputs: [Gemm_13, HardSigmoid_15]}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("written spec lacks %q:\n%s", want, out)
		}
	}
	if bn := g.Node("features.1.BatchNormalization"); !bn.Params[2].Buffer || bn.Params[1].Buffer {
		t.Errorf("bn buffers: %+v", bn.Params)
	}
}

// TestWriteOddities covers a non-default preprocess, an output that is not the last layer and
// weight keys that need quoting and escaping.
func TestWriteOddities(t *testing.T) {
	g := &ir.Graph{Name: "odd", Labels: "fashion-mnist", Preprocess: ir.Preprocess{Resize: 30, Crop: 28, Interpolation: "nearest", Mean: []float64{0.5}, Std: []float64{0.25}}}
	in := &ir.Node{Name: "input", Op: ir.OpInput, Shape: ir.Shape{1, 4, 4}}
	fl := ir.NewNode(ir.OpFlatten, "0", in)
	fc := ir.NewNode(ir.OpLinear, "true", fl)
	ir.As[*ir.LinearAttrs](fc).Out = 10 // fashion-mnist's
	fc.SetParamKeys("true")
	weird := []string{"a$b ${x} $y", "ключ \"q\"\n\t\x01\u2028 #x: [y]"}
	fc.Params[0].Key, fc.Params[1].Key = weird[0], weird[1]
	bn := ir.NewNode(ir.OpBatchNorm, "bn", fc)
	bn.SetParamKeys("bn")
	bn.Params[0].Key = "-.inf"
	sm := ir.NewNode(ir.OpSoftmax, "sm", fc)
	g.Nodes = []*ir.Node{in, fl, fc, bn, sm}
	g.Output = bn
	if err := g.Infer(); err != nil {
		t.Fatal(err)
	}
	out := roundTrip(t, g)
	for _, want := range []string{
		"preprocess: {resize: 30, crop: 28, interpolation: nearest, mean: [0.5], std: [0.25], grayscale: false}\n",
		"output: bn\n",
		`  - linear: {name: "true", out: 10, keys: {weight: "a$$b $${x} $$y", bias: "ключ \"q\"\n\t\x01\u2028 #x: [y]"}}` + "\n",
		`  - bn: {name: bn, keys: {weight: "-.inf", bias: bn.bias, running_mean: bn.running_mean, running_var: bn.running_var}}` + "\n",
		"  - softmax: {name: sm, from: \"true\"}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("written spec lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	base := func() *ir.Graph {
		in := &ir.Node{Name: "input", Op: ir.OpInput, Shape: ir.Shape{4}}
		r := ir.NewNode(ir.OpReLU, "r", in)
		c := ir.NewNode(ir.OpClip, "c", r)
		ir.As[*ir.ClipAttrs](c).Max = 1
		g := &ir.Graph{Name: "t", Nodes: []*ir.Node{in, r, c}}
		if err := g.Infer(); err != nil {
			t.Fatal(err)
		}
		return g
	}
	cases := []struct {
		name string
		edit func(g *ir.Graph)
		want string
	}{
		{"graph name", func(g *ir.Graph) { g.Name = "T" }, `name "T" must match`},
		{"node name", func(g *ir.Graph) { g.Nodes[1].Name = "a b" }, `node "a b": the name must match`},
		{"duplicate", func(g *ir.Graph) { g.Nodes[2].Name = "r" }, `node "r": the name is used twice`},
		{"fused", func(g *ir.Graph) { g.Nodes[1].Fused = &ir.Fusion{} }, `node "r": fused by the inference passes`},
		{"nan", func(g *ir.Graph) { ir.As[*ir.ClipAttrs](g.Nodes[2]).Max = math.NaN() }, `node "c": max: NaN has no spec form`},
		{"forward", func(g *ir.Graph) { g.Nodes[1].Inputs[0] = g.Nodes[2] }, `input "c" is not an earlier node`},
		{"training-only output", func(g *ir.Graph) { g.Nodes[2].TrainingOnly = true; g.Output = g.Nodes[2] }, "the output must be a layer of the main path"},
		{"unknown op", func(g *ir.Graph) { g.Nodes[2].Op = "no_such_op" }, `op "no_such_op" has no spec form`},
		{"input op", func(g *ir.Graph) { g.Nodes[2].Op = ir.OpInput }, `node "c": a second input`},
		{"attribute type", func(g *ir.Graph) { g.Nodes[2].Op = ir.OpDropout }, `node "c": attributes of type *ir.ClipAttrs`},
		{"negative int", func(g *ir.Graph) {
			g.Nodes[2].Op, g.Nodes[2].Attrs = ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: -1}
		}, `node "c": axis: -1 is outside [0, 2147483647]`},
		{"zero size", func(g *ir.Graph) {
			n := ir.NewNode(ir.OpAdaptiveAvgPool, "p", g.Nodes[2])
			g.Nodes = append(g.Nodes, n)
		}, `node "p": out: 0 is outside [1, 2147483647]`},
		{"empty shape", func(g *ir.Graph) {
			n := ir.NewNode(ir.OpReshape, "p", g.Nodes[2])
			g.Nodes = append(g.Nodes, n)
		}, `node "p": shape: [] has 0 dimensions, want 1 to 8`},
		{"bad utf-8 key", func(g *ir.Graph) {
			n := ir.NewNode(ir.OpLinear, "fc", g.Nodes[2])
			n.Attrs = &ir.LinearAttrs{Out: 2, Alpha: 1, Beta: 1}
			n.Params = []ir.Param{{Key: "\xff"}}
			g.Nodes = append(g.Nodes, n)
			g.Output = n
		}, `node "fc": key "\xff": not valid UTF-8`},
		{"unknown labels", func(g *ir.Graph) { g.Labels = "klingon" }, `labels: unknown label set "klingon" (known: fashion-mnist, imagenet)`},
		{"labels size", func(g *ir.Graph) { g.Labels = "imagenet" }, `labels: label set imagenet has 1000 labels, but the network has 4 classes`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := base()
			c.edit(g)
			var buf bytes.Buffer
			err := Write(&buf, g)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}
