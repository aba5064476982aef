package onnx

import (
	"math"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

func TestReduce(t *testing.T) {
	cases := []struct {
		op    string
		axes  []int64
		keep  int64
		want  string
		attrs ir.ReduceAttrs
	}{
		// Mean and max over H and W are global poolings (flattened without keepdims).
		{"ReduceMean", []int64{2, 3}, 0, "input[2 3 4] global_avgpool[2 1 1] flatten[2]", ir.ReduceAttrs{}},
		{"ReduceMax", []int64{-1, -2}, 1, "input[2 3 4] global_maxpool[2 1 1]", ir.ReduceAttrs{}},
		{"ReduceSum", []int64{2, 3}, 1, "input[2 3 4] reduce_sum[2 1 1]", ir.ReduceAttrs{Axis: 1, AxisEnd: 3, KeepDims: true}},
		{"ReduceMean", []int64{1}, 1, "input[2 3 4] reduce_mean[1 3 4]", ir.ReduceAttrs{Axis: 0, AxisEnd: 1, KeepDims: true}},
		{"ReduceL2", []int64{1, 2}, 0, "input[2 3 4] reduce_l2[4]", ir.ReduceAttrs{Axis: 0, AxisEnd: 2}},
		{"ReduceMax", []int64{-1}, 0, "input[2 3 4] reduce_max[2 3]", ir.ReduceAttrs{Axis: 2, AxisEnd: 3}},
	}
	for _, c := range cases {
		b := newBuilder(13, "x", -1, 2, 3, 4)
		ins := []string{"x"}
		attrs := []*onnxpb.AttributeProto{aInt("keepdims", c.keep)}
		if c.op == "ReduceSum" {
			ins = append(ins, b.initInts("axes", c.axes...))
		} else {
			attrs = append(attrs, aInts("axes", c.axes...))
		}
		b.nodeOut(c.op, ins, []string{"y"}, attrs...)
		g, w := b.output("y").graph(t)
		if got := ops(g); got != c.want {
			t.Errorf("%s %v keepdims %d: %s\nwant %s", c.op, c.axes, c.keep, got, c.want)
			continue
		}
		if a, ok := g.Output.Attrs.(*ir.ReduceAttrs); ok && *a != c.attrs {
			t.Errorf("%s %v: attributes %+v, want %+v", c.op, c.axes, *a, c.attrs)
		}
		// Against a direct computation over the ONNX axes.
		in := ramp(2*24, 1)
		out := run(t, g, w, in, 2)
		want := reduceRef(c.op, in, []int{2, 2, 3, 4}, c.axes)
		near(t, out, want, 1e-6)
	}
}

// reduceRef reduces x of dims over axes (negative from the end), the kept dims in order.
func reduceRef(op string, x []float32, dims []int, axes []int64) []float64 {
	red := make([]bool, len(dims))
	for _, a := range axes {
		if a < 0 {
			a += int64(len(dims))
		}
		red[a] = true
	}
	strides := make([]int, len(dims))
	s := 1
	for k := len(dims) - 1; k >= 0; k-- {
		strides[k] = s
		s *= dims[k]
	}
	acc := map[int][]float64{}
	var keys []int
	for i, v := range x {
		key := 0
		for k := range dims {
			if !red[k] {
				key = key*dims[k] + i/strides[k]%dims[k]
			}
		}
		if _, ok := acc[key]; !ok {
			keys = append(keys, key)
		}
		acc[key] = append(acc[key], float64(v))
	}
	out := make([]float64, len(keys))
	for _, key := range keys {
		vs := acc[key]
		r := 0.0
		switch op {
		case "ReduceMax":
			r = math.Inf(-1)
			for _, v := range vs {
				r = math.Max(r, v)
			}
		case "ReduceL2":
			for _, v := range vs {
				r += v * v
			}
			r = math.Sqrt(r)
		default:
			for _, v := range vs {
				r += v
			}
			if op == "ReduceMean" {
				r /= float64(len(vs))
			}
		}
		out[key] = r
	}
	return out
}

func TestReduceErrors(t *testing.T) {
	for _, c := range []struct {
		axes []int64
		want string
	}{
		{[]int64{0, 1}, "reduce over the batch"},
		{[]int64{1, 3}, "not contiguous"},
		{[]int64{2, -2}, "axis -2 given twice"},
		{[]int64{4}, "axis 4 is out of range"},
	} {
		b := newBuilder(13, "x", -1, 2, 3, 4)
		b.nodeOut("ReduceMean", []string{"x"}, []string{"y"}, aInts("axes", c.axes...))
		if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), c.want) {
			t.Errorf("axes %v: %v, want %q", c.axes, err, c.want)
		}
	}
	// No axes: every dimension, the batch too, unless noop_with_empty_axes.
	b := newBuilder(13, "x", -1, 2, 3, 4)
	b.nodeOut("ReduceSum", []string{"x"}, []string{"y"})
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "the batch too") {
		t.Errorf("no axes: %v", err)
	}
}
