package onnxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
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

// defaultModels run always (lenet5 only with -short); allModels add the big ones with
// CNNGEN_ONNX_ALL=1.
var (
	defaultModels = []string{"lenet5", "resnet18", "googlenet", "efficientnet_b0"}
	allModels     = []string{"alexnet", "vgg16", "vgg19", "resnet34", "resnet50", "resnet152"}
)

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
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, python, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", python, strings.Join(args, " "), err, out)
	}
	t.Logf("exported with %s in %s", filepath.Base(args[0]), time.Since(start).Round(time.Millisecond))
}

// anchorModels exports the named models with shared/anchors/export_models.py (beside the
// repository) into a cache folder keyed by the script's hash, exporting only what the cache
// lacks, and returns the folder: NAME.onnx, NAME.input.npy, NAME.output.npy.
func anchorModels(t *testing.T, names ...string) string {
	t.Helper()
	needTorch(t)
	script := findUp(filepath.Join("shared", "anchors", "export_models.py"))
	if script == "" {
		t.Skip("shared/anchors/export_models.py not found beside the repository (../shared from its root)")
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	exportMu.Lock()
	defer exportMu.Unlock()
	dir := cacheDir(t, "cnngen-onnx-anchors-", src)
	files := func(name string) []string {
		// output.npy last: its presence marks a complete export
		return []string{name + ".onnx", name + ".input.npy", name + ".output.npy"}
	}
	var missing []string
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name+".output.npy")); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return dir
	}
	tmp, err := os.MkdirTemp(dir, "export-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	runExport(t, 30*time.Minute, append([]string{script, tmp}, missing...)...)
	for _, name := range missing {
		for _, f := range files(name) {
			if err := os.Rename(filepath.Join(tmp, f), filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// check compares logits with want (goldens.Compare: 1e-4*max(1, max|want|) and the top-5
// order of every image) and logs the largest difference.
func check(t *testing.T, what string, got, want []float32, batch int) {
	t.Helper()
	if err := goldens.Compare(got, want, batch); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	worst := 0.0
	for i := range want {
		if d := float64(got[i]) - float64(want[i]); d > worst {
			worst = d
		} else if -d > worst {
			worst = -d
		}
	}
	t.Logf("%s: max |diff| %.3g (tolerance %.3g), top-5 order equal", what, worst, goldens.Tolerance(want))
}

// TestModels imports torchvision's classic CNNs (and LeNet-5) as shared/anchors/export_models.py
// exports them (opset 13, dynamic batch, seeded weights) and checks the logits of the
// interpreter and of generated code against PyTorch's. CNNGEN_ONNX_ALL=1 adds alexnet, vgg16,
// vgg19, resnet34, resnet50 and resnet152; -short keeps lenet5 only.
func TestModels(t *testing.T) {
	names := defaultModels
	if testing.Short() {
		names = names[:1]
	}
	if os.Getenv("CNNGEN_ONNX_ALL") == "1" {
		names = append(append([]string(nil), names...), allModels...)
	}
	dir := anchorModels(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, name)
			start := time.Now()
			m, err := onnx.Load(base + ".onnx")
			if err != nil {
				t.Fatal(err)
			}
			g, w, err := m.Graph(name)
			if err != nil {
				t.Fatal(err)
			}
			tImport := time.Since(start)
			in, inShape, err := readNpy(base + ".input.npy")
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := readNpy(base + ".output.npy")
			if err != nil {
				t.Fatal(err)
			}
			batch := inShape[0]
			if fmt.Sprint(g.Input().Shape) != fmt.Sprint(inShape[1:]) {
				t.Fatalf("imported input %v, torch's input is %v", g.Input().Shape, inShape)
			}
			start = time.Now()
			got, err := interp.Run(g, weights(w), in, batch)
			if err != nil {
				t.Fatal(err)
			}
			tInterp := time.Since(start)
			check(t, "interpreter vs torch", got, want, batch)
			start = time.Now()
			gen, err := gentest.Run(g, weights(w).flat(), in)
			if err != nil {
				t.Fatal(err)
			}
			tGen := time.Since(start)
			check(t, "generated code vs torch", gen, want, batch)
			t.Logf("%d IR nodes, %d weight tensors; import %s, interpreter %s, generate+build+run %s",
				len(g.Nodes), len(w), tImport.Round(time.Millisecond), tInterp.Round(time.Millisecond), tGen.Round(time.Millisecond))
		})
	}
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
