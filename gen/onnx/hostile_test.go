package onnx

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/cnngen/cnngen/gen/ir"
)

// TestHostileTinyModels: models of a few kilobytes that describe enormous networks are refused
// by the limits, quickly and without allocating what they describe.
func TestHostileTinyModels(t *testing.T) {
	// A 2 KB convolution whose padding makes its output [4, 22998, 22998]: just under the 2^31
	// elements of a tensor, but 8.5 GB of activations (run -onnx allocated 16.9 GB).
	conv := newBuilder(13, "x", 1, 1, 8, 8)
	conv.output(conv.node("Conv", []string{"x", conv.init("w", []int64{4, 1, 3, 3}, nil)}, aInts("pads", 11496, 11496, 11496, 11496)))
	// 300,000 Relus: accepted before, though specs stopped at 10,000 layers.
	relus := newBuilder(13, "x", 1, 1, 2, 2)
	x := "x"
	for range 300000 {
		x = relus.node("Relu", []string{x})
	}
	relus.output(x)
	for name, tc := range map[string]struct {
		data []byte
		what string
	}{
		"padded conv": {conv.bytes(t), "activation bytes per image"},
		"300k relus":  {relus.bytes(t), "nodes"},
	} {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		m, err := Parse(tc.data, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, _, err = m.Graph("hostile")
		var le *ir.LimitError
		if !errors.As(err, &le) || le.What != tc.what {
			t.Errorf("%s: %v, want a limit error on %s", name, err, tc.what)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
			t.Errorf("%s: %d bytes allocated to refuse it", name, alloc)
		}
		t.Logf("%s: refused in %v", name, time.Since(start))
	}
}
