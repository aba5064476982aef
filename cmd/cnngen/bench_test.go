package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// tinySpec is LeNet-5 sized: two convolutions, two pools, two linear layers.
const tinySpec = `name: tiny_lenet
input: [1, 28, 28]
classes: 10
layers:
  - conv: {name: conv1, out: 6, kernel: 5, pad: 2}
  - relu
  - maxpool: {kernel: 2}
  - conv: {name: conv2, out: 16, kernel: 5}
  - relu
  - maxpool: {kernel: 2}
  - flatten
  - linear: {name: fc1, out: 120}
  - relu
  - linear: {name: fc2, out: 10}
`

// benchKeys are the keys of `cnngen bench -json` (with -layers), whichever way it ran.
var benchKeys = []string{"arch", "isa", "threads", "callers", "batch", "ms_median", "images_per_s", "gflops", "peak_gflops", "cpu_ms_per_image",
	"fraction_of_peak", "runs", "load_ms", "peak_rss_mb", "layers"}

// needGo skips tests that build a benchmark program when there is no go command or -short.
func needGo(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a benchmark program")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
}

// tinyONNX writes an ONNX model (Conv, Relu, MaxPool, Flatten, Gemm) with its own weights, the
// conv's named as torch.onnx names a folded tensor (no seeding rule knows such names).
func tinyONNX(t *testing.T, dir string) string {
	t.Helper()
	tensor := func(name string, dims ...int64) *onnxpb.TensorProto {
		shape := make([]int, len(dims))
		for i, d := range dims {
			shape[i] = int(d)
		}
		vals := seedweights.Values(strings.Replace(name, "onnx::Conv_7", "conv.weight", 1), shape)
		raw := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
	}
	info := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		shape := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
	}
	ints := func(name string, v ...int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
	}
	node := func(op string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Name: proto.String(out), OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs}
	}
	g := &onnxpb.GraphProto{Name: proto.String("tiny"),
		Input:       []*onnxpb.ValueInfoProto{info("input", 1, 1, 28, 28)},
		Output:      []*onnxpb.ValueInfoProto{info("logits", 1, 10)},
		Initializer: []*onnxpb.TensorProto{tensor("onnx::Conv_7", 4, 1, 3, 3), tensor("conv.bias", 4), tensor("fc.weight", 10, 4*14*14), tensor("fc.bias", 10)},
		Node: []*onnxpb.NodeProto{
			node("Conv", []string{"input", "onnx::Conv_7", "conv.bias"}, "conv", ints("pads", 1, 1, 1, 1)),
			node("Relu", []string{"conv"}, "relu"),
			node("MaxPool", []string{"relu"}, "pool", ints("kernel_shape", 2, 2), ints("strides", 2, 2)),
			node("Flatten", []string{"pool"}, "flat"),
			node("Gemm", []string{"flat", "fc.weight", "fc.bias"}, "logits",
				&onnxpb.AttributeProto{Name: proto.String("transB"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}),
		}}
	data, err := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(7), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkBenchJSON checks that out is one result of arch with every key and positive numbers.
func checkBenchJSON(t *testing.T, out, arch string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(benchKeys))
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if m["arch"] != arch {
		t.Errorf("arch %v, want %s", m["arch"], arch)
	}
	for _, k := range []string{"ms_median", "images_per_s", "gflops", "runs", "load_ms", "threads", "batch", "callers"} {
		if v, _ := m[k].(float64); !(v > 0) {
			t.Errorf("%s = %v, want > 0", k, m[k])
		}
	}
	if runs, _ := m["runs"].(float64); runs < 5 {
		t.Errorf("%v runs, want at least 5", runs)
	}
	layers, _ := m["layers"].([]any)
	if len(layers) == 0 {
		t.Fatalf("no layers")
	}
	for _, l := range layers {
		if ms, _ := l.(map[string]any)["ms_per_image"].(float64); !(ms >= 0) {
			t.Errorf("layer %v", l)
		}
	}
}

// TestBenchSpecFile times a spec file through a temporary module, and removes the module.
func TestBenchSpecFile(t *testing.T) {
	needGo(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the module goes: it must be gone afterwards
	spec := filepath.Join(t.TempDir(), "tiny.yaml")
	os.WriteFile(spec, []byte(tinySpec), 0o644)
	out, stderr, err := runCLI(t, "bench", "-arch", spec, "-seconds", "0.1", "-json", "-layers")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	checkBenchJSON(t, out, "tiny_lenet")
	if left, _ := filepath.Glob(filepath.Join(tmp, "cnngen-bench-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// The table, as in-process bench prints it.
	out, stderr, err = runCLI(t, "bench", "-arch", spec, "-seconds", "0.1", "-batch", "2", "-threads", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.HasPrefix(out, "tiny_lenet  isa ") || !strings.Contains(out, "threads 2  callers 1  batch 2\n  median ") {
		t.Errorf("table:\n%s", out)
	}
}

// TestBenchONNXKeep times an ONNX model on its own weights, keeps the module, and checks that
// the kept module builds and runs on its own, as the printed hint says.
func TestBenchONNXKeep(t *testing.T) {
	needGo(t)
	model := tinyONNX(t, t.TempDir())
	keep := filepath.Join(t.TempDir(), "kept")
	out, stderr, err := runCLI(t, "bench", "-onnx", model, "-seconds", "0.1", "-json", "-layers", "-keep", keep)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	checkBenchJSON(t, out, "tiny")
	if !strings.Contains(stderr, "kept the benchmark module in "+keep) {
		t.Errorf("stderr: %s", stderr)
	}
	for _, f := range []string{"go.mod", "go.sum", "main.go", "model/model.go", "weights.safetensors"} {
		if _, err := os.Stat(filepath.Join(keep, f)); err != nil {
			t.Error(err)
		}
	}
	// Built and run as a user would, with the go command's defaults (-mod=readonly): go.mod
	// must be complete.
	cmd := exec.Command("go", "run", ".", "-weights", "weights.safetensors", "-seconds", "0.05", "-json")
	cmd.Dir = keep
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run in the kept module: %v\n%s", err, errOutput(err))
	}
	if !strings.Contains(string(got), `"arch":"tiny"`) {
		t.Errorf("kept program: %s", got)
	}
	// A second -keep into the same folder replaces the module; another folder is refused.
	if _, stderr, err := runCLI(t, "bench", "-onnx", model, "-seconds", "0", "-keep", keep); err != nil {
		t.Errorf("again into the kept folder: %v\n%s", err, stderr)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if _, _, err := runCLI(t, "bench", "-onnx", model, "-keep", other); err == nil || !strings.Contains(err.Error(), "neither empty nor a benchmark module") {
		t.Errorf("-keep into a folder of other files: %v", err)
	}
}

func errOutput(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestBenchBuiltinInProcess: a built-in name is timed in this process (no build), with the same
// JSON keys as the module path.
func TestBenchBuiltinInProcess(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no go command: nothing may be built
	out, stderr, err := runCLI(t, "bench", "-arch", "lenet5", "-seconds", "0.1", "-json", "-layers")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	checkBenchJSON(t, out, "lenet5")
}

func TestBenchErrors(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.yaml")
	os.WriteFile(spec, []byte(tinySpec), 0o644)
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	_, _, genErr := runCLI(t, "-onnx", bad, "-summary")
	if genErr == nil {
		t.Fatal("the generator accepts a bad model")
	}
	cases := []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"bench"}, "bench needs -arch", true},
		{[]string{"bench", "-arch", "lenet5", "-batch", "0"}, "must be at least 1", true},
		{[]string{"bench", "-arch", "lenet5", "-isa", "sse9"}, "-isa", true},
		{[]string{"bench", "-arch", "lenet5", "-seconds", "-1"}, "-seconds -1", true},
		{[]string{"bench", "-arch", "lenet5", "-onnx", bad}, "not both", true},
		{[]string{"bench", "-onnx", bad}, genErr.Error(), false},
		{[]string{"bench", "-arch", "nosuchnet"}, `no built-in architecture "nosuchnet"`, false},
		{[]string{"bench", "-arch", spec, "-weights", filepath.Join(dir, "none.safetensors")}, "none.safetensors", false},
	}
	for _, c := range cases {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
			continue
		}
		if _, isUsage := err.(usageError); isUsage != c.usage {
			t.Errorf("%v: usage error %v, want %v", c.args, isUsage, c.usage)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, _, err := runCLI(t, "bench", "-arch", spec); err == nil || !strings.Contains(err.Error(), "go command, which is not on PATH") {
		t.Errorf("without a go command: %v", err)
	}
}

// TestBenchBuildFailure: a program that does not compile is an error showing the compiler's
// output.
func TestBenchBuildFailure(t *testing.T) {
	needGo(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	goTool, _ := exec.LookPath("go")
	_, err := buildBench(t.Context(), goTool, dir, "broken", os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "building the benchmark program for broken failed") || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Errorf("error %v", err)
	}
}

// TestLocateSource: which cnngen a benchmark module builds against.
func TestLocateSource(t *testing.T) {
	root, _ := filepath.Abs("../..")
	if got := moduleRoot(filepath.Join(root, "cmd", "cnngen", "bench.go")); got != root {
		t.Errorf("moduleRoot = %q, want %q", got, root)
	}
	for _, file := range []string{"github.com/cnngen/cnngen/cmd/cnngen/bench.go", filepath.Join(root, "examples", "classify", "main.go"), "/nonexistent/cmd/cnngen/bench.go"} {
		if got := moduleRoot(file); got != "" {
			t.Errorf("moduleRoot(%s) = %q, want none", file, got)
		}
	}
	src, err := locateSource(t.Context(), "go", root, "v1.2.3")
	if err != nil || src.replace != root || src.require != "v0.0.0" || !strings.HasPrefix(src.goLine, "go 1.") || len(src.goSum) == 0 {
		t.Errorf("a source tree: %+v, %v", src, err)
	}
	if _, err := locateSource(t.Context(), "go", "", "(devel)"); err == nil || !strings.Contains(err.Error(), "cannot find the cnngen source") {
		t.Errorf("no tree, no version: %v", err)
	}
	for v, want := range map[string]bool{"v1.2.3": true, "v0.0.0-20260101000000-abcdef123456": true, "(devel)": false, "": false, "v0.0.0-20260101000000-abcdef123456+dirty": false} {
		if isRelease(v) != want {
			t.Errorf("isRelease(%q) = %v", v, !want)
		}
	}
}
