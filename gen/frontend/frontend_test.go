package frontend

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"github.com/cnngen/cnngen/gen/spec"
)

// TestHostileSpecFiles: a spec file that is not a regular file, or too large, is refused before
// it is read, with an error that says why.
func TestHostileSpecFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(9 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	cases := map[string]string{
		dir:                              dir + " is a directory, not a regular file",
		big:                              big + ": too large: 9437184 bytes > max 8388608 bytes",
		filepath.Join(dir, "no.yaml"):    "no such file or directory",
		filepath.Join(dir, "no", "x"):    "no such file or directory",
		filepath.Join(big, "x.yaml"):     "not a directory",
		"/dev/zero":                      "/dev/zero is a character device, not a regular file",
		"/dev/null":                      "/dev/null is a character device, not a regular file",
		strings.Repeat("n", 100):         `no built-in architecture "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"... (a name of 100 bytes`,
		"nosuchnet":                      `no built-in architecture "nosuchnet"`,
		"":                               "no architecture given",
		strings.Repeat("d/", 5000) + "x": "file name too long",
	}
	for path, want := range cases {
		if strings.HasPrefix(path, "/dev/") {
			if _, err := os.Stat(path); err != nil {
				continue
			}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Load(path)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%.40q): error %v, want %q", path, err, want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("Load(%.40q) allocated %d bytes", path, alloc)
		}
	}
}

// TestLoadLimits: the limits apply to built-in architectures and spec files alike, and the error
// says which flag raises them.
func TestLoadLimits(t *testing.T) {
	small := ir.Limits{MaxNodes: 100, MaxActivationBytes: 1 << 30, MaxWeightBytes: 1 << 30}
	var le *ir.LimitError
	if _, err := LoadLimits("resnet152", small); !errors.As(err, &le) || le.Flag != "max-nodes" ||
		!strings.Contains(err.Error(), "too large: 101 nodes > max 100 (raise it with -max-nodes, in nodes)") {
		t.Errorf("resnet152 under 100 nodes: %v", err)
	}
	if _, err := LoadLimits("resnet152", ir.DefaultLimits); err != nil {
		t.Errorf("resnet152: %v", err)
	}
	dir := t.TempDir()
	pads := filepath.Join(dir, "pads.yaml") // 2 KB asking for 347 GB of activations
	src := "name: t\ninput: [1, 1, 1]\nlayers:\n  - pad: {pads: 23000}\n  - seq: {name: s, layers: [repeat: {count: 40, layers: [conv: {out: 1, kernel: 1}]}]}\n"
	if err := os.WriteFile(pads, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(pads); !errors.As(err, &le) || le.Flag != "max-activation-mb" ||
		!strings.Contains(err.Error(), "too large: 347039088168 activation bytes per image > max 2147483648") {
		t.Errorf("pads: %v", err)
	}
	two := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(two, []byte("name: t\ninput: [3]\nlayers: [relu]\n---\nname: u\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(two); err == nil || !strings.Contains(err.Error(), two+":4:1: a second YAML document starts here") {
		t.Errorf("two documents: %v", err)
	}
	// A raised node limit raises the size cap with it.
	if got := spec.MaxBytes(ir.Limits{MaxNodes: 100000}); got != 100000*512 {
		t.Errorf("MaxBytes for 100000 nodes: %d", got)
	}
}

// TestONNXLimits: an ONNX model is held to the same limits as a spec.
func TestONNXLimits(t *testing.T) {
	dims := &onnxpb.TensorShapeProto{}
	for _, d := range []int64{1, 1, 4, 4} {
		dims.Dim = append(dims.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	g := &onnxpb.GraphProto{
		Name: proto.String("relus"),
		Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: dims}}}}},
	}
	prev := "x"
	for i := range 5 {
		out := "r" + string(rune('0'+i))
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(out), OpType: proto.String("Relu"), Input: []string{prev}, Output: []string{out}})
		prev = out
	}
	g.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(prev)}}
	data, err := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(7), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "relus.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ONNX(path); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	var le *ir.LimitError
	_, _, err = ONNXLimits(path, ir.Limits{MaxNodes: 3, MaxActivationBytes: 1 << 30, MaxWeightBytes: 1 << 30})
	if !errors.As(err, &le) || le.Flag != "max-nodes" {
		t.Errorf("5 relus under 3 nodes: %v", err)
	}
	_, _, err = ONNXLimits(path, ir.Limits{MaxNodes: 100, MaxActivationBytes: 32, MaxWeightBytes: 1 << 30})
	if !errors.As(err, &le) || le.Flag != "max-activation-mb" {
		t.Errorf("5 relus under 32 activation bytes: %v", err)
	}
}
