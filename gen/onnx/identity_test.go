package onnx

import (
	"strings"
	"testing"
)

// TestLongIdentityChain imports a Gemm behind 100,000 alternating Identity and Dropout nodes.
// Resolving each name through the chain afresh is quadratic: 5·10⁹ steps here, minutes instead
// of the fraction of a second the linear resolution takes.
func TestLongIdentityChain(t *testing.T) {
	const n = 100_000
	b := newBuilder(13, "x", -1, 3)
	x := "x"
	for i := range n {
		if i%2 == 0 {
			x = b.node("Identity", []string{x})
		} else {
			x = b.node("Dropout", []string{x}, aFloat("ratio", 0.5))
		}
	}
	b.nodeOut("Gemm", []string{x, b.init("w", []int64{2, 3}, []float32{1, 2, 3, -1, 0, 1})}, []string{"y"}, aInt("transB", 1))
	g, w := b.output("y").graph(t)
	if got := ops(g); got != "input[3] linear[2]" || g.Nodes[1].Inputs[0] != g.Nodes[0] {
		t.Fatalf("graph %s", got)
	}
	near(t, run(t, g, w, []float32{1, 1, 1, 2, 0, -1}, 2), []float64{6, 0, -1, -3}, 0)
}

func TestResolver(t *testing.T) {
	alias := map[string]string{"b": "a", "c": "b", "d": "c", "x": "y", "y": "z", "z": "x", "e": ""}
	r := resolver(alias)
	for s, want := range map[string]string{"d": "a", "c": "a", "a": "a", "q": "q", "e": ""} {
		if got := r(s); got != want {
			t.Errorf("resolve(%q) = %q, want %q", s, got, want)
		}
	}
	// On a cycle every name resolves to one of the cycle, and again the same.
	for _, s := range []string{"x", "y", "z", "y"} {
		if got := r(s); !strings.Contains("xyz", got) || len(got) != 1 {
			t.Errorf("resolve(%q) = %q, want a name of the cycle", s, got)
		}
	}

	// A cycle of Identities in a model is an undefined value.
	b := newBuilder(13, "x", -1, 3)
	b.nodeOut("Identity", []string{"i2"}, []string{"i1"})
	b.nodeOut("Identity", []string{"i1"}, []string{"i2"})
	b.nodeOut("Add", []string{"x", "i1"}, []string{"y"})
	if err := b.output("y").graphErr(t); !strings.Contains(err.Error(), "is not produced by any node") {
		t.Errorf("identity cycle: %v", err)
	}
}
