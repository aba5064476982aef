//go:build !cnngen_nozoo

package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/internal/zoo"
	rt "github.com/cnngen/cnngen/runtime"
)

// PyTorch checkpoints (.pth) are read wherever safetensors files are: `cnngen -weights`,
// `cnngen run -weights` and a generated package's Load, New and LoadEmbedded.

const pthTestdata = "../../runtime/testdata/pth"

// logits runs a built-in network's generated package on weights and returns its logits for in.
func logits(t *testing.T, arch, weights string, in []float32) []float32 {
	t.Helper()
	e, err := zoo.Get(arch)
	if err != nil {
		t.Fatal(err)
	}
	net, err := e.Load(weights, rt.WithThreads(2))
	if err != nil {
		t.Fatalf("%s.Load(%s): %v", arch, weights, err)
	}
	out := make([]float32, len(in)/e.InputSize*e.NumClasses)
	if err := net.Forward(in, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out { // bit-equal garbage would prove nothing
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v == out[(i+1)%len(out)] {
			t.Fatalf("%s on %s: logit %d is %g", arch, weights, i, v)
		}
	}
	return out
}

// runLogits is `cnngen run -arch arch -weights weights` on in.
func runLogits(t *testing.T, arch, weights string, in []float32) []byte {
	t.Helper()
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	os.WriteFile(inPath, f32bytes(in), 0o644)
	if _, stderr, err := runCLI(t, "run", "-arch", arch, "-weights", weights, "-input", inPath, "-output", outPath); err != nil {
		t.Fatalf("run -weights %s: %v\n%s", weights, err, stderr)
	}
	out, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPthLeNet5 runs the trained LeNet-5 from torch's checkpoints of it (float32, float16 and
// bfloat16; zip and legacy format) through the interpreter and the generated package: float32
// matches the safetensors file bit for bit, and each format matches the other.
func TestPthLeNet5(t *testing.T) {
	in := seedweights.Input(3, []int{1, 28, 28})
	st := "../../generated/lenet5/lenet5.safetensors"
	wantGen, wantRun := f32bytes(logits(t, "lenet5", st, in)), runLogits(t, "lenet5", st, in)
	for _, dtype := range []string{"f32", "f16", "bf16"} {
		var gen, run [][]byte
		for _, format := range []string{"", "_legacy"} {
			pth := filepath.Join(pthTestdata, "lenet5_"+dtype+format+".pth")
			gen = append(gen, f32bytes(logits(t, "lenet5", pth, in)))
			run = append(run, runLogits(t, "lenet5", pth, in))
			if _, stderr, err := runCLI(t, "-arch", "lenet5", "-weights", pth, "-o", filepath.Join(t.TempDir(), "l", "l.go")); err != nil {
				t.Fatalf("-weights %s: %v\n%s", pth, err, stderr)
			}
		}
		if !bytes.Equal(gen[0], gen[1]) || !bytes.Equal(run[0], run[1]) {
			t.Errorf("%s: the zip and legacy checkpoints give different logits", dtype)
		}
		if dtype == "f32" && (!bytes.Equal(gen[0], wantGen) || !bytes.Equal(run[0], wantRun)) {
			t.Errorf("float32 checkpoint and safetensors give different logits")
		}
	}
}

// TestPthEmbedded generates LeNet-5 with a float16 checkpoint embedded, and compiles and runs
// it: LoadEmbedded gives the logits of the built-in package loading the same file.
func TestPthEmbedded(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir, err := os.MkdirTemp(".", "tmppth") // inside the module, to import the runtime
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pth := filepath.Join(pthTestdata, "lenet5_f16.pth")
	out := filepath.Join(dir, "halfnet", "halfnet.go")
	if _, stderr, err := runCLI(t, "-arch", "lenet5", "-weights", pth, "-embed", "-pkg", "halfnet", "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if code, _ := os.ReadFile(out); !bytes.Contains(code, []byte("//go:embed lenet5_f16.pth")) {
		t.Fatal("the checkpoint is not embedded")
	}
	in := seedweights.Input(1, []int{1, 28, 28})
	main := `package main

import (
	"fmt"
	"math"

	"github.com/cnngen/cnngen/cmd/cnngen/` + filepath.ToSlash(filepath.Join(filepath.Base(dir), "halfnet")) + `"
)

func main() {
	net, err := halfnet.LoadEmbedded()
	if err != nil {
		panic(err)
	}
	in := make([]float32, halfnet.InputChannels*halfnet.InputHeight*halfnet.InputWidth)
	for i := range in {
		in[i] = math.Float32frombits(` + fmt.Sprintf("%#v", bitsOf(in)) + `[i])
	}
	out := make([]float32, halfnet.NumClasses)
	if err := net.Forward(in, out); err != nil {
		panic(err)
	}
	for _, v := range out {
		fmt.Printf("%08x\n", math.Float32bits(v))
	}
}
`
	os.MkdirAll(filepath.Join(dir, "prog"), 0o755)
	os.WriteFile(filepath.Join(dir, "prog", "main.go"), []byte(main), 0o644)
	got, err := exec.Command("go", "run", "./"+filepath.ToSlash(filepath.Join(dir, "prog"))).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var want strings.Builder
	for _, v := range logits(t, "lenet5", pth, in) {
		fmt.Fprintf(&want, "%08x\n", math.Float32bits(v))
	}
	if string(got) != want.String() {
		t.Errorf("LoadEmbedded logits\n%s\nwant\n%s", got, want.String())
	}
}

func bitsOf(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}

// TestPthResNet18 saves a seeded torchvision ResNet-18's state_dict with Debian's torch (float32
// zip, legacy and channels_last, float16 zip) and the same weights as safetensors, then checks that
// `cnngen -arch resnet18 -weights X.pth` accepts each checkpoint and that the generated package
// and `cnngen run` give the same logits from both files, bit for bit.
func TestPthResNet18(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch, torchvision").Run(); err != nil {
		t.Skipf("needs Debian's torch to save a checkpoint (%s -c 'import torch, torchvision': %v): apt-get install -y python3-torch python3-torchvision", python, err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(python, "../../tools/make_pth_testdata.py", "--resnet18", dir).CombinedOutput(); err != nil {
		t.Fatalf("tools/make_pth_testdata.py: %v\n%s", err, out)
	}
	in := seedweights.Input(2, []int{3, 224, 224})
	for _, c := range []struct{ pth, st string }{
		{"resnet18.pth", "resnet18.safetensors"},
		{"resnet18_legacy.pth", "resnet18.safetensors"},
		{"resnet18_channels_last.pth", "resnet18.safetensors"}, // strided weights
		{"resnet18_f16.pth", "resnet18_f16.safetensors"},       // the float16 weights widened by torch
	} {
		pth, st := filepath.Join(dir, c.pth), filepath.Join(dir, c.st)
		if _, stderr, err := runCLI(t, "-arch", "resnet18", "-weights", pth, "-o", filepath.Join(dir, "gen", "r.go")); err != nil {
			t.Fatalf("-weights %s: %v\n%s", c.pth, err, stderr)
		}
		got, want := logits(t, "resnet18", pth, in), logits(t, "resnet18", st, in)
		if !bytes.Equal(f32bytes(got), f32bytes(want)) {
			t.Errorf("resnet18.Load(%s) and Load(%s) give different logits", c.pth, c.st)
		}
		if c.pth == "resnet18.pth" && !bytes.Equal(runLogits(t, "resnet18", pth, in[:len(in)/2]), runLogits(t, "resnet18", st, in[:len(in)/2])) {
			t.Errorf("cnngen run gives different logits for %s and %s", c.pth, c.st)
		}
	}
}

// TestPthHostileEverywhere: the hostile checkpoints the reader refuses (an unknown global, a
// storage shorter than its tensors, a truncated archive; runtime/pth_hostile_test.go has the
// rest) are clear errors naming the file and the reason at every way in: `cnngen -weights`
// (which then writes nothing), `cnngen run -weights` and a generated package's Load.
func TestPthHostileEverywhere(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(pthTestdata, "lenet5_f32.pth"))
	if err != nil {
		t.Fatal(err)
	}
	// rewrite is lenet5_f32.pth with the entries named in repl replaced, stored uncompressed as
	// torch.save stores them.
	rewrite := func(repl map[string][]byte) []byte {
		zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range zr.File {
			data, ok := repl[f.Name]
			if !ok {
				r, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				data, _ = io.ReadAll(r)
			}
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		zw.Close()
		return buf.Bytes()
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"global.pth", rewrite(map[string][]byte{"lenet5_f32/data.pkl": []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.")}), "global os.system is not allowed"},
		{"short_storage.pth", rewrite(map[string][]byte{"lenet5_f32/data/4": make([]byte, 1000)}), `storage "4": 1000 bytes in lenet5_f32/data/4, but the pickle says 48000 elements`},
		{"truncated.pth", good[:len(good)*2/3], "no end of central directory record (truncated, or not a zip)"},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "gen", "l.go")
		_, _, err := runCLI(t, "-arch", "lenet5", "-weights", path, "-o", out)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-weights %s: %v, want an error naming the file and %q", c.name, err, c.want)
		} else {
			t.Logf("-weights %s: %v", c.name, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("-weights %s: wrote %s", c.name, out)
		}
		in := filepath.Join(dir, "in.f32")
		os.WriteFile(in, f32bytes(seedweights.Input(1, []int{1, 28, 28})), 0o644)
		if _, _, err := runCLI(t, "run", "-arch", "lenet5", "-weights", path, "-input", in, "-output", filepath.Join(dir, "o.f32")); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run -weights %s: %v, want an error with %q", c.name, err, c.want)
		}
		e, err := zoo.Get("lenet5")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lenet5.Load(%s): %v, want an error with %q", c.name, err, c.want)
		}
	}
}
