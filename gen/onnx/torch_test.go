package onnx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests export models with Debian's PyTorch and compare the imported graph, run by the
// reference interpreter, with torch's own output. Without torch they are skipped.

const python = "/usr/bin/python3"

func needTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import torch, torchvision").Run(); err != nil {
		t.Skip("needs Debian's PyTorch to export models: apt-get install -y python3-torch python3-torchvision python3-onnx, then rerun go test ./gen/onnx/")
	}
}

// export runs a Python export script writing into a fresh folder and returns the folder.
func export(t *testing.T, script string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, append([]string{script, dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return dir
}

// findUp looks for rel in the working directory and its parents (shared/ sits beside the
// repository).
func findUp(rel string) string {
	dir, _ := os.Getwd()
	for {
		if p := filepath.Join(dir, rel); fileExists(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

var npyShape = regexp.MustCompile(`'shape':\s*\(([0-9,\s]*)\)`)

// readNpy reads a little-endian float32 C-order .npy file (format versions 1 to 3).
func readNpy(t *testing.T, path string) ([]float32, []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		t.Fatalf("%s: not a .npy file", path)
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			t.Fatalf("%s: truncated", path)
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		t.Fatalf("%s: .npy version %d", path, b[6])
	}
	if start+hlen > len(b) {
		t.Fatalf("%s: truncated header", path)
	}
	header := string(b[start : start+hlen])
	if !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") {
		t.Fatalf("%s: want little-endian float32 in C order, header %s", path, header)
	}
	m := npyShape.FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("%s: no shape in header %s", path, header)
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: shape %q", path, m[1])
		}
		shape = append(shape, d)
		n *= d
	}
	data := b[start+hlen:]
	if len(data) != 4*n {
		t.Fatalf("%s: %d data bytes for shape %v", path, len(data), shape)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out, shape
}

// checkAgainstTorch imports dir/name.onnx, runs it on name.input.npy and compares with
// name.output.npy within 1e-4 * max(1, max |output|).
func checkAgainstTorch(t *testing.T, dir, name string) {
	t.Helper()
	base := filepath.Join(dir, name)
	m, err := Load(base + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	g, w, err := m.Graph(name)
	if err != nil {
		t.Fatal(err)
	}
	in, inShape := readNpy(t, base+".input.npy")
	want, _ := readNpy(t, base+".output.npy")
	batch := inShape[0]
	if got := g.Input().Shape; fmt.Sprint([]int(got)) != fmt.Sprint(inShape[1:]) {
		t.Fatalf("input shape %v, torch's input is %v", got, inShape)
	}
	got := run(t, g, w, in, batch)
	if len(got) != len(want) {
		t.Fatalf("%d outputs, torch has %d", len(got), len(want))
	}
	scale, worst := 1.0, 0.0
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(want[i])))
	}
	if worst > 1e-4*scale {
		t.Errorf("max |difference| from torch %g > 1e-4 * %g", worst, scale)
	}
	t.Logf("%s: %d nodes, max |difference| %.3g (scale %.3g)", name, len(g.Nodes), worst, scale)
}

// LeNet-5 as the shared anchor script defines it, exported at opset 13 with a dynamic batch.
func TestTorchLeNet5(t *testing.T) {
	needTorch(t)
	script := findUp(filepath.Join("shared", "anchors", "export_models.py"))
	if script == "" {
		t.Skip("shared/anchors/export_models.py not found beside the repository")
	}
	names := []string{"lenet5"}
	if !testing.Short() {
		names = append(names, "resnet18")
	}
	dir := export(t, script, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { checkAgainstTorch(t, dir, name) })
	}
}

// Small models over the supported ops at several opsets (testdata/export_ops.py).
func TestTorchOps(t *testing.T) {
	dir, names := exportAll(t, "export_ops.py", 10)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { checkAgainstTorch(t, dir, name) })
	}
}

// exportAll runs testdata/script (not in -short mode: exporting takes seconds), which writes
// NAME.onnx files, and returns its folder and the names, at least atLeast of them.
func exportAll(t *testing.T, script string, atLeast int) (string, []string) {
	needTorch(t)
	if testing.Short() {
		t.Skip("exports models with PyTorch; skipped in -short mode")
	}
	dir := export(t, filepath.Join("testdata", script))
	models, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if err != nil || len(models) < atLeast {
		t.Fatalf("%s wrote %d models (%v)", script, len(models), err)
	}
	names := make([]string, len(models))
	for i, p := range models {
		names[i] = strings.TrimSuffix(filepath.Base(p), ".onnx")
	}
	return dir, names
}

// TestTorchTransformersRefused: vision transformers (tiny ViT, Swin and MaxViT built from
// torchvision's classes, testdata/export_transformers.py) are out of scope: they compute on
// token sequences (attention multiplies two computed tensors; class tokens, position
// embeddings, shifted and partitioned windows) that the IR's per-image feature-map ops do not
// express. Importing them fails with an *Error whose every problem names its node and
// operator, and says what is unsupported rather than something incidental (Swin's Dropout with
// ratio 0 in training mode is the identity, not "random").
func TestTorchTransformersRefused(t *testing.T) {
	dir, names := exportAll(t, "export_transformers.py", 4)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = m.Graph(name)
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("imported, or not an *Error: %v", err)
			}
			scope := false
			for _, pr := range e.Problems {
				if pr.Node == "" || pr.Op == "" || pr.Why == "" {
					t.Errorf("problem without its node, op or reason: %+v", pr)
				}
				if strings.Contains(pr.Why, "dropout would be random") {
					t.Errorf("%s (%s): %s", pr.Node, pr.Op, pr.Why)
				}
				scope = scope || pr.Why == "operator not supported" || strings.Contains(pr.Why, "transposed tensor")
			}
			if !scope {
				t.Errorf("no problem says which operator or layout is unsupported: %v", err)
			}
			t.Logf("%d problems; first: %s (%s): %s", len(e.Problems), e.Problems[0].Node, e.Problems[0].Op, e.Problems[0].Why)
		})
	}
}
