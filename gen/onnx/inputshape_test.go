package onnx

import (
	"slices"
	"strings"
	"testing"
)

// TestInputShape gives a model exported with a dynamic height and width (and one with static
// dimensions) an image shape: it sizes the dynamic dimensions, must agree with the static ones
// and have their rank, and without it a dynamic dimension is an error that says how to give one.
func TestInputShape(t *testing.T) {
	model := func(dims ...int64) *builder {
		b := newBuilder(13, "x", dims...)
		b.output(b.node("GlobalAveragePool", []string{b.node("Relu", []string{"x"})}))
		return b
	}
	lower := func(b *builder, shape []int) ([]int, error) {
		m := b.model(t)
		m.InputShape = shape
		g, _, err := m.Graph("test")
		if err != nil {
			return nil, err
		}
		return g.Input().Shape, nil
	}
	for _, c := range []struct {
		name  string
		dims  []int64
		shape []int
		want  []int  // the input's shape, or
		err   string // the error
	}{
		{"dynamic, no shape", []int64{-1, 3, -1, -1}, nil, nil, `dimension 2 is dynamic ("N"): give one image's size (cnngen -input-shape C,H,W)`},
		{"dynamic, shaped", []int64{-1, 3, -1, -1}, []int{3, 10, 12}, []int{3, 10, 12}, ""},
		{"static, same", []int64{1, 3, 10, 12}, []int{3, 10, 12}, []int{3, 10, 12}, ""},
		{"static, no shape", []int64{1, 3, 10, 12}, nil, []int{3, 10, 12}, ""},
		{"static, other", []int64{-1, 3, 10, 12}, []int{3, 10, 14}, nil, "dimension 3 is 12 in the model; the input shape given says 14"},
		{"other rank", []int64{-1, 3, -1, -1}, []int{3, 10}, nil, "3 dimensions after the batch; the input shape given has 2"},
		{"zero", []int64{-1, 3, -1, -1}, []int{3, 0, 10}, nil, "dimension 2 is 0, not a positive size"},
	} {
		got, err := lower(model(c.dims...), c.shape)
		switch {
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("%s: input %v, %v; want %v", c.name, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
		}
	}
}
