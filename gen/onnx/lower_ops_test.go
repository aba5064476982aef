package onnx

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

func TestSiLUAndHardSwishPatterns(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 4, 4)
	c := b.node("Conv", []string{"x", b.init("w", []int64{2, 2, 1, 1}, nil)})
	s := b.node("Sigmoid", []string{c})
	y := b.node("Mul", []string{c, s})
	s2 := b.node("Sigmoid", []string{y})
	y = b.node("Mul", []string{s2, y}) // the other operand order
	h := b.node("HardSigmoid", []string{y}, aFloat("alpha", 1.0/6), aFloat("beta", 0.5))
	y = b.node("Mul", []string{y, h})
	h2 := b.node("HardSigmoid", []string{y}) // ONNX's defaults 0.2, 0.5: not a HardSwish
	b.nodeOut("Mul", []string{y, h2}, []string{"out"})
	g, w := b.output("out").graph(t)
	if got, want := ops(g), "input[2 4 4] conv[2 4 4] silu[2 4 4] silu[2 4 4] hardswish[2 4 4] hardsigmoid[2 4 4] mul[2 4 4]"; got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	if hs := ir.As[*ir.HardSigmoidAttrs](g.Nodes[5]); hs.Alpha != 0.2 || hs.Beta != 0.5 {
		t.Errorf("hardsigmoid %g %g", hs.Alpha, hs.Beta)
	}
	in := ramp(32, 3)
	out := run(t, g, w, in, 1)
	// conv is a 1x1 channel mix; check the chain at one point.
	wt := w["w"].Data
	silu := func(v float64) float64 { return v / (1 + math.Exp(-v)) }
	hsw := func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) }
	hsg := func(v float64) float64 { return math.Max(0, math.Min(1, 0.2*v+0.5)) }
	want := make([]float64, 32)
	for c := 0; c < 2; c++ {
		for p := 0; p < 16; p++ {
			v := float64(wt[2*c])*float64(in[p]) + float64(wt[2*c+1])*float64(in[16+p])
			v = hsw(silu(silu(v)))
			want[16*c+p] = v * hsg(v)
		}
	}
	near(t, out, want, 1e-6)
}

func TestAutoPad(t *testing.T) {
	cases := []struct {
		mode    string
		k, s    int64
		pads    [4]int
		outSize int
	}{
		{"SAME_UPPER", 3, 2, [4]int{1, 1, 1, 1}, 4},
		{"SAME_UPPER", 4, 2, [4]int{1, 1, 2, 2}, 4},
		{"SAME_LOWER", 4, 2, [4]int{2, 2, 1, 1}, 4},
		{"SAME_UPPER", 3, 1, [4]int{1, 1, 1, 1}, 7},
		{"VALID", 4, 2, [4]int{}, 2},
		{"NOTSET", 3, 2, [4]int{}, 3},
	}
	for _, c := range cases {
		for _, op := range []string{"Conv", "MaxPool", "AveragePool"} {
			b := newBuilder(11, "x", -1, 1, 7, 7)
			attrs := []*onnxpb.AttributeProto{aString("auto_pad", c.mode), aInts("strides", c.s, c.s), aInts("kernel_shape", c.k, c.k)}
			ins := []string{"x"}
			if op == "Conv" {
				ins = append(ins, b.init("w", []int64{3, 1, c.k, c.k}, nil))
			}
			b.nodeOut(op, ins, []string{"y"}, attrs...)
			g, _ := b.output("y").graph(t)
			n := g.Nodes[1]
			var pads [4]int
			switch a := n.Attrs.(type) {
			case *ir.ConvAttrs:
				pads = a.Pad
			case *ir.PoolAttrs:
				pads = a.Pad
			case *ir.AvgPoolAttrs:
				pads = a.Pad
			}
			if pads != c.pads || n.Shape[1] != c.outSize || n.Shape[2] != c.outSize {
				t.Errorf("%s %s k%d s%d: pads %v shape %v, want %v and %d", op, c.mode, c.k, c.s, pads, n.Shape, c.pads, c.outSize)
			}
		}
	}
}

func TestMatMulAddAndGemmForms(t *testing.T) {
	// x @ W + b with W [in, out]: a linear layer with TransW and the Add folded in as its bias.
	b := newBuilder(13, "x", -1, 3)
	m := b.node("MatMul", []string{"x", b.init("W", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})})
	y := b.node("Add", []string{b.init("bias", []int64{2}, []float32{10, 20}), m})
	// Gemm with alpha, beta and transB=0, and a scalar C.
	b.nodeOut("Gemm", []string{y, b.init("G", []int64{2, 2}, []float32{1, 0, 0, 2}), b.init("c", []int64{1}, []float32{3})}, []string{"out"},
		aFloat("alpha", 0.5), aFloat("beta", 2))
	g, w := b.output("out").graph(t)
	if got, want := ops(g), "input[3] linear[2] linear[2]"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	l1, l2 := g.Nodes[1], g.Nodes[2]
	if a := ir.As[*ir.LinearAttrs](l1); *a != (ir.LinearAttrs{Out: 2, Bias: true, Alpha: 1, Beta: 1, TransW: true}) || l1.Params[1].Key != "bias" {
		t.Errorf("matmul+add: %+v %+v", *a, l1.Params)
	}
	if a := ir.As[*ir.LinearAttrs](l2); *a != (ir.LinearAttrs{Out: 2, Bias: true, Alpha: 0.5, Beta: 2, TransW: true}) || !slices.Equal(w["c"].Data, []float32{3, 3}) {
		t.Errorf("gemm: %+v, c %v", *a, w["c"])
	}
	out := run(t, g, w, []float32{1, 1, 1, 1, 0, -1}, 2)
	// image 0: [1 1 1]W = [9 12] + [10 20] = [19 32]; 0.5*[19 64] + 6 = [15.5 38]
	// image 1: [1 0 -1]W = [-4 -4] + b = [6 16]; 0.5*[6 32] + 6 = [9 22]
	near(t, out, []float64{15.5, 38, 9, 22}, 1e-9)
}

func TestArithmeticToAffine(t *testing.T) {
	b := newBuilder(13, "x", -1, 2, 1, 2)
	x := b.node("Sub", []string{"x", b.init("mean", []int64{1, 2, 1, 1}, []float32{1, 2})})
	x = b.node("Div", []string{x, b.init("std", []int64{2, 1, 1}, []float32{2, 4})})
	x = b.node("Mul", []string{x, b.init("k", nil, []float32{3})})
	x = b.node("Add", []string{x, b.init("zero", []int64{1}, []float32{0})})
	x = b.node("Relu", []string{x})
	x = b.node("Sub", []string{b.init("one", []int64{1}, []float32{1}), x})
	b.nodeOut("Mul", []string{x, b.init("unit", []int64{1, 1, 1, 1}, []float32{1})}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got, want := ops(g), "input[2 1 2] affine[2 1 2] relu[2 1 2] affine[2 1 2]"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	in := []float32{3, 5, 6, 10}
	out := run(t, g, w, in, 1)
	want := make([]float64, 4)
	for i, v := range in {
		c := i / 2
		mean, std := []float64{1, 2}[c], []float64{2, 4}[c]
		want[i] = 1 - math.Max(0, (float64(v)-mean)/std*3)
	}
	near(t, out, want, 1e-12)
}

func TestConvBiasFromAdd(t *testing.T) {
	b := newBuilder(13, "x", -1, 1, 3, 3)
	c := b.node("Conv", []string{"x", b.init("w", []int64{2, 1, 1, 1}, []float32{1, 2})})
	b.nodeOut("Add", []string{c, b.init("b", []int64{1, 2, 1, 1}, []float32{5, 7})}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[1 3 3] conv[2 3 3]" {
		t.Fatalf("%s", got)
	}
	if n := g.Nodes[1]; !ir.As[*ir.ConvAttrs](n).Bias || n.Params[1].Key != "b" || !slices.Equal(w["b"].Shape, []int{2}) {
		t.Errorf("conv %+v params %+v weight %v", n.Attrs, n.Params, w["b"])
	}
	// A conv output read twice keeps its Add separate.
	b = newBuilder(13, "x", -1, 1, 3, 3)
	c = b.node("Conv", []string{"x", b.init("w", []int64{2, 1, 1, 1}, nil)})
	a := b.node("Add", []string{c, b.init("b", []int64{2, 1, 1}, nil)})
	b.nodeOut("Add", []string{a, c}, []string{"y"})
	g, _ = b.output("y").graph(t)
	if got := ops(g); got != "input[1 3 3] conv[2 3 3] affine[2 3 3] add[2 3 3]" {
		t.Fatalf("%s", got)
	}
}

func TestPadFoldsIntoConv(t *testing.T) {
	for _, opset := range []int64{10, 11} {
		pad := func(b *builder, x string, value float32) string {
			if opset < 11 {
				return b.node("Pad", []string{x}, aInts("pads", 0, 0, 1, 2, 0, 0, 3, 4), aFloat("value", value), aString("mode", "constant"))
			}
			return b.node("Pad", []string{x, b.initInts("p", 0, 0, 1, 2, 0, 0, 3, 4), b.init("v", nil, []float32{value})})
		}
		b := newBuilder(opset, "x", -1, 1, 5, 5)
		p := pad(b, "x", 0)
		b.nodeOut("Conv", []string{p, b.init("w", []int64{2, 1, 3, 3}, nil)}, []string{"y"}, aInts("pads", 1, 1, 1, 1))
		g, _ := b.output("y").graph(t)
		if got, pad := ops(g), ir.As[*ir.ConvAttrs](g.Nodes[1]).Pad; got != "input[1 5 5] conv[2 9 11]" || pad != [4]int{2, 3, 4, 5} {
			t.Errorf("opset %d: %s pads %v", opset, got, pad)
		}
		b = newBuilder(opset, "x", -1, 1, 5, 5)
		p = pad(b, "x", 1.5)
		b.nodeOut("Conv", []string{p, b.init("w", []int64{2, 1, 3, 3}, nil)}, []string{"y"})
		g, _ = b.output("y").graph(t)
		if got := ops(g); got != "input[1 5 5] pad[1 9 11] conv[2 7 9]" || *ir.As[*ir.PadAttrs](g.Nodes[1]) != (ir.PadAttrs{Pads: [4]int{1, 2, 3, 4}, Value: 1.5}) {
			t.Errorf("opset %d: %s", opset, got)
		}
	}
}

func TestClip(t *testing.T) {
	cases := []struct {
		opset    int64
		min, max *float32
		op       ir.Op
	}{
		{10, f32(0), f32(6), ir.OpReLU6},
		{11, f32(0), f32(6), ir.OpReLU6},
		{13, f32(0), nil, ir.OpReLU},
		{13, f32(-1), f32(1), ir.OpClip},
		{10, nil, f32(2), ir.OpClip},
	}
	for _, c := range cases {
		b := newBuilder(c.opset, "x", -1, 4)
		if c.opset < 11 {
			var attrs []*onnxpb.AttributeProto
			if c.min != nil {
				attrs = append(attrs, aFloat("min", *c.min))
			}
			if c.max != nil {
				attrs = append(attrs, aFloat("max", *c.max))
			}
			b.nodeOut("Clip", []string{"x"}, []string{"y"}, attrs...)
		} else {
			ins := []string{"x", "", ""}
			if c.min != nil {
				ins[1] = b.init("min", nil, []float32{*c.min})
			}
			if c.max != nil {
				ins[2] = b.init("max", nil, []float32{*c.max})
			}
			b.nodeOut("Clip", ins, []string{"y"})
		}
		g, _ := b.output("y").graph(t)
		n := g.Nodes[1]
		if n.Op != c.op {
			t.Errorf("opset %d clip %v..%v: %s", c.opset, c.min, c.max, n.Op)
		}
		if n.Op == ir.OpClip {
			lo, hi := math.Inf(-1), math.Inf(1)
			if c.min != nil {
				lo = float64(*c.min)
			}
			if c.max != nil {
				hi = float64(*c.max)
			}
			if a := ir.As[*ir.ClipAttrs](n); a.Min != lo || a.Max != hi {
				t.Errorf("clip bounds %g %g, want %g %g", a.Min, a.Max, lo, hi)
			}
		}
	}
}

func f32(v float32) *float32 { return &v }

func TestSoftmaxAxes(t *testing.T) {
	cases := []struct {
		opset      int64
		axis       *int64
		op         string
		axis0, end int
	}{
		{11, nil, "Softmax", 0, 3},       // default 1, coerced: all per-image dims
		{11, i64(2), "LogSoftmax", 1, 3}, // coerced from axis 2 to the end
		{13, nil, "Softmax", 2, 3},       // default -1: the last axis only
		{13, i64(1), "LogSoftmax", 0, 1}, // channels only
		{17, i64(-2), "Softmax", 1, 2},
	}
	for _, c := range cases {
		b := newBuilder(c.opset, "x", -1, 2, 3, 4)
		var attrs []*onnxpb.AttributeProto
		if c.axis != nil {
			attrs = append(attrs, aInt("axis", *c.axis))
		}
		b.nodeOut(c.op, []string{"x"}, []string{"y"}, attrs...)
		g, _ := b.output("y").graph(t)
		n := g.Nodes[1]
		if a := ir.As[*ir.SoftmaxAttrs](n); a.Axis != c.axis0 || a.AxisEnd != c.end || (n.Op == ir.OpLogSoftmax) != (c.op == "LogSoftmax") {
			t.Errorf("opset %d %s axis %v: %s [%d, %d), want [%d, %d)", c.opset, c.op, c.axis, n.Op, a.Axis, a.AxisEnd, c.axis0, c.end)
		}
	}
	b := newBuilder(13, "x", -1, 3)
	b.nodeOut("Softmax", []string{"x"}, []string{"y"}, aInt("axis", 0))
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "across the batch") {
		t.Errorf("axis 0: %v", err)
	}
}

func i64(v int64) *int64 { return &v }

func TestLRNWindow(t *testing.T) {
	for _, size := range []int64{4, 5} {
		b := newBuilder(13, "x", -1, 6, 2, 2)
		b.nodeOut("LRN", []string{"x"}, []string{"y"}, aInt("size", size), aFloat("alpha", 2e-4), aFloat("beta", 0.75), aFloat("bias", 2))
		g, _ := b.output("y").graph(t)
		a := ir.As[*ir.LRNAttrs](g.Nodes[1])
		if a.Lo != int(size-1)/2 || a.Size != int(size) || a.Alpha != 2e-4 || a.Bias != 2 || a.Beta != 0.75 {
			t.Errorf("size %d: %+v", size, *a)
		}
	}
}

// Exporters for opsets before 10 emulate ceil_mode with end pads over half the kernel.
func TestPoolEndPadsAsCeilMode(t *testing.T) {
	b := newBuilder(9, "x", -1, 1, 8, 8)
	b.nodeOut("MaxPool", []string{"x"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 0, 0, 2, 2))
	g, _ := b.output("y").graph(t)
	if p := ir.As[*ir.PoolAttrs](g.Nodes[1]); p.Pad != [4]int{0, 0, 1, 1} || !p.CeilMode || !g.Nodes[1].Shape.Equal(ir.Shape{1, 4, 4}) {
		t.Errorf("pool %+v shape %v", *p, g.Nodes[1].Shape)
	}
	// Average pooling that counts the padding cannot be rewritten: it keeps its pads, as a
	// dilated_avgpool, whose divisor counts the window up to the end of the padding.
	b = newBuilder(9, "x", -1, 1, 8, 8)
	b.nodeOut("AveragePool", []string{"x"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 0, 0, 2, 2), aInt("count_include_pad", 1))
	g, w := b.output("y").graph(t)
	if got, want := ops(g), "input[1 8 8] dilated_avgpool[1 4 4]"; got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	in := ramp(64, 9)
	out := run(t, g, w, in, 1)
	want := make([]float64, 16)
	for oy := range 4 {
		for ox := range 4 {
			for i := range 3 {
				for j := range 3 {
					if y, x := 2*oy+i, 2*ox+j; y < 8 && x < 8 {
						want[oy*4+ox] += float64(in[y*8+x]) / 9 // every window ends within the padding
					}
				}
			}
		}
	}
	near(t, out, want, 1e-6)
}

// Dilated pooling and pads over half the kernel make dilated pools; the windows PyTorch has
// stay maxpool and avgpool.
func TestDilatedPool(t *testing.T) {
	for _, c := range []struct {
		attrs []*onnxpb.AttributeProto
		want  string
	}{
		{[]*onnxpb.AttributeProto{aInts("kernel_shape", 2, 2), aInts("dilations", 2, 2), aInts("strides", 1, 1)}, "input[1 5 5] dilated_maxpool[1 3 3]"},
		{[]*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("pads", 2, 2, 2, 2), aInts("strides", 1, 1)}, "input[1 5 5] dilated_maxpool[1 7 7]"},
		{[]*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("dilations", 1, 1)}, "input[1 5 5] maxpool[1 5 5]"},
	} {
		b := newBuilder(12, "x", -1, 1, 5, 5)
		b.nodeOut("MaxPool", []string{"x"}, []string{"y"}, c.attrs...)
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != c.want {
			t.Errorf("%s, want %s", got, c.want)
		}
	}
	b := newBuilder(19, "x", -1, 1, 5, 5)
	b.nodeOut("AveragePool", []string{"x"}, []string{"y"}, aInts("kernel_shape", 2, 2), aInts("dilations", 3, 3), aInts("pads", 4, 4, 0, 0))
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "reads no input value") {
		t.Errorf("a window in the padding: %v", err)
	}
}
