package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// TestLimits checks Model.Limits: the node count stops lowering early, activation bytes are
// checked on the shaped graph, and both come back as *ir.LimitError.
func TestLimits(t *testing.T) {
	b := newBuilder(13, "x", -1, 4, 8, 8)
	x := "x"
	for range 6 {
		x = b.node("Relu", []string{x})
	}
	b.output(x)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, b.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Graph("t"); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	big := int64(1 << 40)
	for _, c := range []struct {
		lim  ir.Limits
		want string
	}{
		{ir.Limits{MaxNodes: 4, MaxActivationBytes: big, MaxWeightBytes: big}, "5 nodes > max 4"},
		{ir.Limits{MaxNodes: 100, MaxActivationBytes: 1000, MaxWeightBytes: big}, "activation bytes per image"},
	} {
		m.Limits = &c.lim
		_, _, err := m.Graph("t")
		var le *ir.LimitError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("limits %+v: error %v, want an *ir.LimitError with %q", c.lim, err, c.want)
		}
	}
}
