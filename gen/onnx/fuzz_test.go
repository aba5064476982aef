package onnx

import (
	"testing"
)

// seedModels are small models covering the folding and lowering paths, for the fuzz corpus.
func seedModels(t testing.TB) [][]byte {
	var out [][]byte

	b := newBuilder(13, "input", -1, 1, 8, 8)
	x := b.node("Conv", []string{"input", b.init("w", []int64{4, 1, 3, 3}, nil), b.init("b", []int64{4}, nil)}, aInts("pads", 1, 1, 1, 1), aString("auto_pad", "NOTSET"))
	p := b.init("p", []int64{4}, nil)
	x = b.node("BatchNormalization", []string{x, p, p, p, b.init("v", []int64{4}, []float32{1, 1, 1, 1})})
	x = b.node("Relu", []string{x})
	x = b.node("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1))
	x = b.node("Flatten", []string{x})
	b.nodeOut("Gemm", []string{x, b.init("fc", []int64{10, 64}, nil), b.init("fcb", []int64{10}, nil)}, []string{"y"}, aInt("transB", 1))
	out = append(out, b.output("y").bytes(t))

	b = newBuilder(11, "x", -1, 2, 3, 3)
	s := b.node("Shape", []string{"x"})
	d := b.node("Gather", []string{s, b.constInt(0)})
	u := b.node("Unsqueeze", []string{d}, aInts("axes", 0))
	c := b.node("Concat", []string{u, b.initInts("m1", -1)}, aInt("axis", 0))
	r := b.node("Reshape", []string{"x", c})
	r = b.node("Clip", []string{r, b.init("lo", nil, []float32{0}), b.init("hi", nil, []float32{6})})
	b.nodeOut("Softmax", []string{r}, []string{"y"}, aInt("axis", 1))
	out = append(out, b.output("y").bytes(t))

	b = newBuilder(13, "x", -1, 2, 4, 4)
	bias := b.init("bias", []int64{2}, nil)
	b.nodeOut("Identity", []string{bias}, []string{"bias2"})
	x = b.node("Pad", []string{"x", b.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)})
	x = b.node("Conv", []string{x, b.init("w", []int64{2, 2, 3, 3}, nil), "bias2"}, aString("auto_pad", "SAME_UPPER"))
	sg := b.node("Sigmoid", []string{x})
	x = b.node("Mul", []string{x, sg})
	g := b.node("GlobalAveragePool", []string{x})
	x = b.node("Mul", []string{x, b.node("HardSigmoid", []string{g})})
	x = b.node("Sub", []string{x, b.init("mean", []int64{1, 2, 1, 1}, nil)})
	x = b.node("LRN", []string{x}, aInt("size", 2))
	x = b.node("Concat", []string{x, x}, aInt("axis", 1))
	x = b.node("AveragePool", []string{x}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInt("count_include_pad", 1))
	x = b.node("Squeeze", []string{b.node("GlobalMaxPool", []string{x}), b.initInts("axes", 2, 3)})
	x = b.node("MatMul", []string{x, b.init("mm", []int64{4, 3}, nil)})
	b.nodeOut("Add", []string{x, b.init("mmb", []int64{3}, nil)}, []string{"y"})
	out = append(out, b.output("y").bytes(t))

	b = newBuilder(14, "x", 1, 3, 2, 2)
	x = b.node("Dropout", []string{"x"})
	x = b.node("Tanh", []string{x})
	x = b.node("Add", []string{x, b.node("HardSwish", []string{x})})
	b.nodeOut("LogSoftmax", []string{x}, []string{"y"})
	out = append(out, b.output("y").bytes(t))
	return out
}

func TestSeedModelsLower(t *testing.T) {
	for i, data := range seedModels(t) {
		m, err := Parse(data, "")
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if _, _, err := m.Graph("seed"); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}

// FuzzParse feeds arbitrary bytes to Parse and Graph: errors are fine, panics and huge
// allocations are not.
func FuzzParse(f *testing.F) {
	for _, s := range seedModels(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "")
		if err != nil {
			return
		}
		g, w, err := m.Graph("fuzz")
		if err != nil {
			return
		}
		for _, p := range g.AllParams() {
			if len(w[p.Key].Data) != p.Shape.Size() {
				t.Fatalf("%s: %d values for shape %v", p.Key, len(w[p.Key].Data), p.Shape)
			}
		}
	})
}
