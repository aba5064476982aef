package onnx

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// PyTorch's x.view(x.size(0), -1) and reshapes to other per-image shapes.
func TestFlattenChain(t *testing.T) {
	for _, opset := range []int64{9, 11, 13, 17} {
		for _, static := range []bool{false, true} {
			batch := int64(-1)
			if static {
				batch = 1
			}
			b := newBuilder(opset, "x", batch, 2, 3, 3)
			r := b.node("Relu", []string{"x"})
			shape := b.node("Shape", []string{r})
			dim0 := b.node("Gather", []string{shape, b.constInt(0)}, aInt("axis", 0))
			var u string
			if opset < 13 {
				u = b.node("Unsqueeze", []string{dim0}, aInts("axes", 0))
			} else {
				u = b.node("Unsqueeze", []string{dim0, b.initInts("axes0", 0)})
			}
			target := b.node("Concat", []string{u, b.initInts("minus1", -1)}, aInt("axis", 0))
			flat := b.node("Reshape", []string{r, target})
			// [N, 2, 9] through a computed shape: Concat(Shape[0:2], [9])
			g2 := b.node("Gather", []string{shape, b.initInts("idx01", 0, 1)}, aInt("axis", 0))
			t3 := b.node("Concat", []string{g2, b.initInts("nine", 9)}, aInt("axis", 0))
			r3 := b.node("Reshape", []string{r, t3})
			back := b.node("Reshape", []string{r3, b.initInts("back", 0, 18)})
			b.nodeOut("Add", []string{flat, back}, []string{"y"})
			b.output("y")
			g, _ := b.graph(t)
			if got, want := ops(g), "input[2 3 3] relu[2 3 3] flatten[18] reshape[2 9] flatten[18] add[18]"; got != want {
				t.Errorf("opset %d static %v: %s\nwant %s", opset, static, got, want)
			}
		}
	}
	// With a static batch, a literal batch size in the target shape is the batch.
	b := newBuilder(13, "x", 1, 2, 3, 3)
	b.nodeOut("Reshape", []string{"x", b.initInts("s", 1, -1)}, []string{"y"})
	g, _ := b.output("y").graph(t)
	if got := ops(g); got != "input[2 3 3] flatten[18]" {
		t.Errorf("static reshape: %s", got)
	}
}

func TestSqueezeUnsqueeze(t *testing.T) {
	for _, opset := range []int64{11, 13} {
		axes := func(b *builder, op, x string, v ...int64) string {
			if opset < 13 {
				return b.node(op, []string{x}, aInts("axes", v...))
			}
			return b.node(op, []string{x, b.initInts(fmt.Sprint(op, "axes", len(b.g.Node)), v...)})
		}
		b := newBuilder(opset, "x", -1, 3, 4, 4)
		x := b.node("GlobalMaxPool", []string{"x"})
		x = axes(b, "Squeeze", x, 3, -2) // [N 3]
		x = axes(b, "Unsqueeze", x, 2)   // [N 3 1]
		x = axes(b, "Unsqueeze", x, -1)  // [N 3 1 1]
		b.nodeOut("GlobalAveragePool", []string{x}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got, want := ops(g), "input[3 4 4] global_maxpool[3 1 1] flatten[3] reshape[3 1] reshape[3 1 1] global_avgpool[3 1 1]"; got != want {
			t.Errorf("opset %d: %s\nwant %s", opset, got, want)
		}
	}
	b := newBuilder(13, "x", -1, 3, 1, 1)
	b.nodeOut("Squeeze", []string{"x"}, []string{"y"}) // no axes: every 1 but the batch
	g, _ := b.output("y").graph(t)
	if got := ops(g); got != "input[3 1 1] flatten[3]" {
		t.Errorf("squeeze all: %s", got)
	}
}

// Constants computed from Constant nodes, Cast, ConstantOfShape, Gather and arithmetic.
func TestConstantFolding(t *testing.T) {
	b := newBuilder(13, "x", -1, 4)
	two := b.constInt(2)
	twoF := b.node("Cast", []string{two}, aInt("to", int64(tFloat)))
	ones := b.node("ConstantOfShape", []string{b.initInts("s", 4)}, aTensor("value", floatTensor("", []int64{1}, []float32{1})))
	scale := b.node("Mul", []string{ones, twoF}) // [2 2 2 2]
	vals := b.node("Constant", nil, aTensor("value", floatTensor("", []int64{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})))
	row := b.node("Gather", []string{vals, b.constInt(-1)}, aInt("axis", 0)) // [5 6 7 8]
	shift := b.node("Sub", []string{row, scale})                             // [3 4 5 6]
	x := b.node("Mul", []string{"x", scale})
	b.nodeOut("Add", []string{x, shift}, []string{"y"})
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[4] affine[4]" {
		t.Fatalf("%s", got)
	}
	out := run(t, g, w, []float32{1, 2, 3, 4}, 1)
	near(t, out, []float64{5, 8, 11, 14}, 0)
}

// Folding of Transpose, Slice (negative steps, clamped ends), Flatten, Squeeze, Cast and
// Reshape on constants, checked through the scale of the affine they end in.
func TestFoldConstantShapes(t *testing.T) {
	for _, opset := range []int64{9, 13} {
		b := newBuilder(opset, "x", -1, 3, 2, 2)
		slice := func(x string, start, end, axis, step int64) string {
			if opset < 10 {
				if step != 1 {
					// opset 9 has no steps: reverse with Gather instead
					return b.node("Gather", []string{x, b.initInts(fmt.Sprint("g", len(b.g.Node)), 2, 1, 0)}, aInt("axis", axis))
				}
				return b.node("Slice", []string{x}, aInts("starts", start), aInts("ends", end), aInts("axes", axis))
			}
			n := fmt.Sprint(len(b.g.Node))
			return b.node("Slice", []string{x, b.initInts("s"+n, start), b.initInts("e"+n, end), b.initInts("a"+n, axis), b.initInts("st"+n, step)})
		}
		k := b.init("K", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6.9})
		tr := b.node("Transpose", []string{k})               // [[1 4] [2 5] [3 6.9]]
		s := slice(tr, -1, math.MinInt64+1, 0, -1)           // [[3 6.9] [2 5] [1 4]]
		f := b.node("Flatten", []string{s}, aInt("axis", 0)) // [[3 6.9 2 5 1 4]]
		var q string
		if opset < 13 {
			q = b.node("Squeeze", []string{f}, aInts("axes", 0))
		} else {
			q = b.node("Squeeze", []string{f, b.initInts("sq", 0)})
		}
		u := slice(q, 1, 100, 0, 1) // [6.9 2 5 1 4]
		if opset >= 10 {
			u = slice(u, 0, 100, 0, 2) // [6.9 5 4]
		} else {
			u = b.node("Gather", []string{u, b.initInts("pick", 0, 2, 4)}, aInt("axis", 0))
		}
		ci := b.node("Cast", []string{u}, aInt("to", int64(tInt32))) // [6 5 4]
		cf := b.node("Cast", []string{ci}, aInt("to", int64(tFloat)))
		r := b.node("Reshape", []string{cf, b.initInts("shape", 1, -1, 1, 1)})
		b.nodeOut("Mul", []string{"x", r}, []string{"y"})
		g, _ := b.output("y").graph(t)
		if got := ops(g); got != "input[3 2 2] affine[3 2 2]" {
			t.Fatalf("opset %d: %s", opset, got)
		}
		if sc := ir.As[*ir.AffineAttrs](g.Nodes[1]).Scale; !slices.Equal(sc, []float64{6, 5, 4}) {
			t.Errorf("opset %d: scale %v, want [6 5 4]", opset, sc)
		}
	}
}

// PyTorch's F.pad at opset 11+ computes the ONNX pads from its own list with ConstantOfShape,
// Concat, Reshape, Slice (step -1), Transpose, Reshape and Cast.
func TestTorchPadChain(t *testing.T) {
	b := newBuilder(13, "x", -1, 1, 5, 5)
	zeros := b.node("ConstantOfShape", []string{b.initInts("four", 4)}, aTensor("value", intTensor("", 0)))
	cat := b.node("Concat", []string{b.initInts("torchpads", 1, 2, 1, 0), zeros}, aInt("axis", 0))
	r := b.node("Reshape", []string{cat, b.initInts("pairs", -1, 2)})
	rev := b.node("Slice", []string{r, b.initInts("st", -1), b.initInts("en", math.MinInt64+1), b.initInts("ax", 0), b.initInts("step", -1)})
	tr := b.node("Transpose", []string{rev}, aInts("perm", 1, 0))
	flat := b.node("Reshape", []string{tr, b.initInts("m1", -1)})
	pads := b.node("Cast", []string{flat}, aInt("to", int64(tInt64)))
	p := b.node("Pad", []string{"x", pads, ""}, aString("mode", "constant"))
	b.nodeOut("Conv", []string{p, b.init("w", []int64{1, 1, 3, 3}, nil)}, []string{"y"})
	g, _ := b.output("y").graph(t)
	// F.pad(x, (1, 2, 1, 0)): left 1, right 2, top 1, bottom 0.
	if got, pad := ops(g), ir.As[*ir.ConvAttrs](g.Nodes[1]).Pad; got != "input[1 5 5] conv[1 4 6]" || pad != [4]int{1, 1, 0, 2} {
		t.Errorf("%s pads %v", got, pad)
	}
}

func TestCastValues(t *testing.T) {
	for _, c := range []struct {
		to   int32
		v    float64
		want int64
	}{
		{tInt32, 6.9, 6}, {tInt32, -6.9, -6}, {tInt8, 200, -56}, {tUint8, -1, 255}, {tBool, 0.5, 1}, {tBool, 0, 0},
		{tInt64, math.NaN(), 0}, {tInt64, 1e300, math.MaxInt64}, {tInt64, -1e300, math.MinInt64},
	} {
		if got := castInt(c.to, c.v); got != c.want {
			t.Errorf("cast %g to %s = %d, want %d", c.v, typeName(c.to), got, c.want)
		}
	}
}
