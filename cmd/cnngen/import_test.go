package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRoundTrip exports LeNet-5 with Debian's torch, then checks the two ways in: the
// interpreter on the ONNX file itself and on the imported spec + weights give the same logits,
// and the spec generates code.
func TestImportRoundTrip(t *testing.T) {
	script, _ := filepath.Abs("../../../shared/anchors/export_models.py")
	if _, err := os.Stat(script); err != nil {
		t.Skip("../shared/anchors/export_models.py not found beside the repository")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch, torchvision").Run(); err != nil {
		t.Skip("needs Debian's torch to export a model: apt-get install -y python3-torch python3-torchvision python3-onnx")
	}
	dir := t.TempDir()
	if out, err := exec.Command("/usr/bin/python3", script, dir, "lenet5").CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	model := filepath.Join(dir, "lenet5.onnx")
	yaml, w := filepath.Join(dir, "lenet5.yaml"), filepath.Join(dir, "w.safetensors")
	if _, stderr, err := runCLI(t, "import", model, "-o", yaml, "-weights-out", w); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	in := filepath.Join(dir, "in.f32")
	raw := make([]float32, 3*784)
	for i := range raw {
		raw[i] = float32(i%17) / 17
	}
	os.WriteFile(in, f32bytes(raw), 0o644)
	a, b := filepath.Join(dir, "a.f32"), filepath.Join(dir, "b.f32")
	if _, stderr, err := runCLI(t, "run", "-onnx", model, "-input", in, "-output", a); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := runCLI(t, "run", "-arch", yaml, "-weights", w, "-input", in, "-output", b); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) != 3*10*4 || !bytes.Equal(da, db) {
		t.Fatalf("-onnx and the imported spec disagree (%d and %d bytes)", len(da), len(db))
	}
	spec, _ := os.ReadFile(yaml)
	if !strings.HasPrefix(string(spec), "# Written by cnngen import from") {
		t.Errorf("spec header: %.80s", spec)
	}
	// The model between flags, and an -input-shape that agrees with the model's static one.
	yaml2 := filepath.Join(dir, "again.yaml")
	if _, stderr, err := runCLI(t, "import", "-input-shape", "1,28,28", model, "-o", yaml2); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if spec2, _ := os.ReadFile(yaml2); !bytes.Equal(spec2, spec) {
		t.Errorf("the same import with the model between flags wrote another spec")
	}
	out, _, err := runCLI(t, "-onnx", model, "-summary", "-json")
	if err != nil || !strings.Contains(out, `"params": 61706`) {
		t.Errorf("summary of the ONNX model: %v\n%.300s", err, out)
	}
	if _, _, err := runCLI(t, "-arch", yaml, "-o", filepath.Join(dir, "gen", "lenet.go"), "-weights", w); err != nil {
		t.Errorf("generating from the imported spec: %v", err)
	}
}
