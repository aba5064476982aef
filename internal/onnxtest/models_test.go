package onnxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/generated/lenet5"
	"github.com/cnngen/cnngen/internal/gentest"
	"github.com/cnngen/cnngen/internal/goldens"
)

// These tests export PyTorch models to ONNX with Debian's torch (/usr/bin/python3), import them
// with gen/onnx and check the logits through the reference interpreter and through generated
// code. Without torch they skip.

const python = "/usr/bin/python3"

var (
	torchOnce sync.Once
	torchErr  error
)

func needTorch(t *testing.T) {
	t.Helper()
	torchOnce.Do(func() { torchErr = exec.Command(python, "-c", "import torch, torchvision, onnx").Run() })
	if torchErr != nil {
		t.Skipf("needs Debian's PyTorch to export models (%s -c 'import torch, torchvision, onnx': %v): apt-get install -y python3-torch python3-torchvision python3-onnx, then rerun go test ./internal/onnxtest/", python, torchErr)
	}
}

var exportMu sync.Mutex

// cacheDir is a folder of os.TempDir() named after what produces its files (the hash of
// keys), so that tests and test runs share exports and a changed script exports afresh.
func cacheDir(t *testing.T, prefix string, keys ...[]byte) string {
	t.Helper()
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:", len(k))
		h.Write(k)
	}
	dir := filepath.Join(os.TempDir(), prefix+hex.EncodeToString(h.Sum(nil))[:16])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runExport runs a Python script with a timeout and returns its combined output.
func runExport(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	start := time.Now()
	if err := export(timeout, args...); err != nil {
		t.Fatal(err)
	}
	t.Logf("exported with %s in %s", filepath.Base(args[0]), time.Since(start).Round(time.Millisecond))
}

// export runs a Python script with a timeout; the error has its output.
func export(timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", python, strings.Join(args, " "), err, out)
	}
	return nil
}

// compareLogits checks logits against want by goldens.Compare (1e-4*max(1, max|want|) and the
// top-5 order of every image) and returns the largest difference.
func compareLogits(got, want []float32, batch int) (float64, error) {
	worst := 0.0
	for i := range min(len(got), len(want)) {
		worst = max(worst, math.Abs(float64(got[i])-float64(want[i])))
	}
	return worst, goldens.Compare(got, want, batch)
}

// check is compareLogits as a test step that logs the difference.
func check(t *testing.T, what string, got, want []float32, batch int) {
	t.Helper()
	worst, err := compareLogits(got, want, batch)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	t.Logf("%s: max |diff| %.3g (tolerance %.3g), top-5 order equal", what, worst, goldens.Tolerance(want))
}

// TestTrainedLeNet5 exports this repository's trained LeNet-5 (generated/lenet5's weights,
// loaded into tools/models.py's LeNet5 by gen/onnx/testdata/export_trained_lenet5.py) to ONNX,
// imports it, and checks that on the sample images of examples/fashion it predicts what
// generated/lenet5 predicts, through the interpreter and through generated code, with the
// logits within goldens.Compare's tolerance.
func TestTrainedLeNet5(t *testing.T) {
	needTorch(t)
	script := findUp(filepath.Join("gen", "onnx", "testdata", "export_trained_lenet5.py"))
	wpath := findUp(filepath.Join("generated", "lenet5", "lenet5.safetensors"))
	samples := findUp(filepath.Join("examples", "fashion", "testdata", "samples"))
	if script == "" || wpath == "" || samples == "" {
		t.Fatalf("repository files not found from %s: script %q, weights %q, samples %q", must(os.Getwd()), script, wpath, samples)
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile(wpath)
	if err != nil {
		t.Fatal(err)
	}
	exportMu.Lock()
	dir := cacheDir(t, "cnngen-onnx-lenet5-", src, wb)
	model := filepath.Join(dir, "lenet5_trained.onnx")
	if _, err := os.Stat(model); err != nil {
		tmp := model + fmt.Sprintf(".%d.tmp", os.Getpid())
		runExport(t, 10*time.Minute, script, tmp, wpath)
		if err := os.Rename(tmp, model); err != nil {
			exportMu.Unlock()
			t.Fatal(err)
		}
	}
	exportMu.Unlock()

	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	g, w, err := m.Graph("lenet5")
	if err != nil {
		t.Fatal(err)
	}

	// The sample images, preprocessed as generated/lenet5 does.
	pngs, err := filepath.Glob(filepath.Join(samples, "*.png"))
	if err != nil || len(pngs) == 0 {
		t.Fatalf("no sample images in %s (%v)", samples, err)
	}
	sort.Strings(pngs)
	size := lenet5.InputChannels * lenet5.InputHeight * lenet5.InputWidth
	if got := g.Input().Shape.Size(); got != size {
		t.Fatalf("imported input %v, generated/lenet5 takes %d values", g.Input().Shape, size)
	}
	in := make([]float32, len(pngs)*size)
	for i, p := range pngs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		pre := lenet5.DefaultPreprocess
		if err := pre.Image(img, in[i*size:(i+1)*size]); err != nil {
			t.Fatal(err)
		}
	}
	batch := len(pngs)

	net, err := lenet5.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, batch*lenet5.NumClasses)
	if err := net.Forward(in, want); err != nil {
		t.Fatal(err)
	}
	got, err := interp.Run(g, weights(w), in, batch)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := gentest.Run(g, weights(w).flat(), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		logits []float32
	}{{"interpreter", got}, {"generated code", gen}} {
		for i := 0; i < batch; i++ {
			a := goldens.Top5(c.logits[i*10 : i*10+10])[0]
			b := goldens.Top5(want[i*10 : i*10+10])[0]
			if a != b {
				t.Errorf("%s: %s: predicts %s, generated/lenet5 %s", c.what, filepath.Base(pngs[i]), lenet5.Labels[a], lenet5.Labels[b])
			}
		}
		check(t, c.what+" of the imported model vs generated/lenet5", c.logits, want, batch)
	}
	t.Logf("%d sample images: the imported trained LeNet-5 predicts what generated/lenet5 predicts", batch)
}

func must[T any](v T, _ error) T { return v }
