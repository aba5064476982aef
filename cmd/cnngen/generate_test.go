package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/passes"
	"github.com/cnngen/cnngen/runtime"
)

// TestGenerateFineTunedHead adapts ResNet-50 to 12 classes with their own labels and embedded
// weights, as a user with a fine-tuned model would, and compiles and runs the result.
func TestGenerateFineTunedHead(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	// The package must sit inside this module to import the runtime; a scratch folder under the test's package.
	dir, err := os.MkdirTemp(".", "tmpgen")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	labels := filepath.Join(t.TempDir(), "labels.txt")
	var names []string
	for i := 0; i < 12; i++ {
		names = append(names, "class "+string(rune('A'+i)))
	}
	os.WriteFile(labels, []byte(strings.Join(names, "\n")+"\n"), 0o644)

	g, err := frontend.Load("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.SetClasses(g, 12); err != nil {
		t.Fatal(err)
	}
	var ts []runtime.Tensor
	for _, p := range g.AllParams() {
		ts = append(ts, runtime.Tensor{Name: p.Key, Shape: p.Shape, Data: make([]float32, p.Shape.Size())})
	}
	var w bytes.Buffer
	runtime.WriteSafetensors(&w, ts, nil)
	wpath := filepath.Join(t.TempDir(), "tuned.safetensors")
	os.WriteFile(wpath, w.Bytes(), 0o644)

	out := filepath.Join(dir, "tuned", "tuned.go")
	if _, stderr, err := runCLI(t, "-arch", "resnet18", "-classes", "12", "-labels", labels, "-weights", wpath, "-embed", "-pkg", "tuned", "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	code, _ := os.ReadFile(out)
	for _, want := range []string{"NumClasses = 12", "//go:embed labels.txt", "//go:embed tuned.safetensors", `{Name: "fc.weight", Shape: []int{12, 512}}`, "func LoadEmbedded("} {
		if !bytes.Contains(code, []byte(want)) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	main := `package main

import (
	"fmt"
	"image"

	"github.com/cnngen/cnngen/cmd/cnngen/` + filepath.ToSlash(filepath.Join(filepath.Base(dir), "tuned")) + `"
)

func main() {
	net, err := tuned.LoadEmbedded(tuned.WithThreads(1))
	if err != nil {
		panic(err)
	}
	preds, err := net.Classify(image.NewGray(image.Rect(0, 0, 300, 200)), 3)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(tuned.Labels), tuned.NumClasses, preds[0].Label)
}
`
	os.MkdirAll(filepath.Join(dir, "prog"), 0o755)
	os.WriteFile(filepath.Join(dir, "prog", "main.go"), []byte(main), 0o644)
	cmd := exec.Command("go", "run", "./"+filepath.ToSlash(filepath.Join(dir, "prog")))
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	// All-zero weights give equal logits: the first class wins the tie.
	if strings.TrimSpace(string(got)) != "12 12 class A" {
		t.Errorf("program printed %q", got)
	}

	// A label file that does not match the class count is an error.
	if _, _, err := runCLI(t, "-arch", "resnet18", "-labels", labels, "-o", out); err == nil || !strings.Contains(err.Error(), "12 labels, the network has 1000 classes") {
		t.Errorf("mismatched labels: %v", err)
	}
	// Weights that do not fit are caught at generation time.
	if _, _, err := runCLI(t, "-arch", "resnet18", "-weights", wpath, "-o", out); err == nil || !strings.Contains(err.Error(), "fc.weight") {
		t.Errorf("misfit weights: %v", err)
	}
}

func TestEvalFolderAndIDX(t *testing.T) {
	// An ImageNet-style folder: class subfolders in sorted order, images inside.
	dir := t.TempDir()
	samples, _ := filepath.Glob("../../examples/fashion/testdata/samples/*.png")
	if len(samples) == 0 {
		t.Fatal("no sample images")
	}
	for _, s := range samples[:4] {
		class := "0_tshirt"
		if strings.Contains(s, "trouser") {
			class = "1_trouser"
		}
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		data, _ := os.ReadFile(s)
		os.WriteFile(filepath.Join(dir, class, filepath.Base(s)), data, 0o644)
	}
	out, _, err := runCLI(t, "eval", "-arch", "lenet5", "-data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "images 4  top-1") {
		t.Errorf("eval output: %s", out)
	}
	const idx = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(idx); err != nil {
		t.Skipf("%s not installed (apt-get install dataset-fashion-mnist)", idx)
	}
	out, _, err = runCLI(t, "eval", "-arch", "lenet5", "-data", idx, "-limit", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "images 1000  top-1") || !strings.Contains(out, "Ankle boot") {
		t.Errorf("eval output: %s", out)
	}
	if _, _, err := runCLI(t, "eval", "-arch", "resnet18", "-data", dir); err == nil || !strings.Contains(err.Error(), "give -weights") {
		t.Errorf("resnet18 without weights: %v", err)
	}
}
