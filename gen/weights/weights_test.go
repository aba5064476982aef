package weights

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
)

func lenet5(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := frontend.Load("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestOpenFormats opens LeNet-5's weights as safetensors and as the PyTorch checkpoints torch
// saved of them (runtime/testdata/pth): every format and dtype fits the graph, and float32 ones
// hold the same values.
func TestOpenFormats(t *testing.T) {
	g := lenet5(t)
	ref, err := Open(filepath.Join("..", "..", "generated", "lenet5", "lenet5.safetensors"), g)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	for _, name := range []string{"lenet5_f32.pth", "lenet5_f32_legacy.pth", "lenet5_f16.pth", "lenet5_bf16_legacy.pth"} {
		w, err := Open(filepath.Join("..", "..", "runtime", "testdata", "pth", name), g)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, key := range ref.Names() {
			got, err := w.Float32(key)
			want, _ := ref.Float32(key)
			if err != nil || len(got) != len(want) {
				t.Fatalf("%s: %s: %d values, %v", name, key, len(got), err)
			}
			if strings.HasPrefix(name, "lenet5_f32") && !slices.Equal(got, want) {
				t.Errorf("%s: %s differs from the safetensors file", name, key)
			}
		}
		w.Close()
	}
}

// TestOpenErrors: a checkpoint that is not one, or does not fit, says which file and why.
func TestOpenErrors(t *testing.T) {
	g := lenet5(t)
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("..", "..", "runtime", "testdata", "pth", "lenet5_f16.pth"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.pth")
	os.WriteFile(truncated, good[:len(good)/2], 0o644)
	tiny := filepath.Join("..", "..", "runtime", "testdata", "pth", "tiny.pth")
	for path, want := range map[string]string{
		truncated: truncated + ": pth: zip: no end of central directory record (truncated, or not a zip)",
		tiny:      tiny + " does not fit lenet5: pth: weights do not match the network",
	} {
		w, err := Open(path, g)
		if err == nil {
			w.Close()
		}
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Open(%s): %v, want %q", path, err, want)
		}
	}
}
