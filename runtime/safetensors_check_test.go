package runtime

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// stateDict mimics torch's state_dict export of a tiny ResNet-like model:
// BatchNorm counters as I64 scalars, mixed float dtypes, header padded.
func stateDict() []byte {
	i64 := func(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
	return buildFile([]rawTensor{
		{"conv1.weight", "F32", []int{2, 1, 3, 3}, f32Bytes(make([]float32, 18)...)},
		{"bn1.weight", "F32", []int{2}, f32Bytes(1, 1)},
		{"bn1.bias", "F32", []int{2}, f32Bytes(0, 0)},
		{"bn1.running_mean", "F32", []int{2}, f32Bytes(0.5, -0.5)},
		{"bn1.running_var", "F32", []int{2}, f32Bytes(1, 2)},
		{"bn1.num_batches_tracked", "I64", nil, i64(1234)},
		{"layer1.0.conv1.weight", "F32", []int{2, 2, 1, 1}, f32Bytes(1, 2, 3, 4)},
		{"layer1.0.bn1.num_batches_tracked", "I64", []int{}, i64(1234)},
		{"fc.weight", "F16", []int{3, 2}, u16Bytes(0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600)},
		{"fc.bias", "BF16", []int{3}, u16Bytes(0x3f80, 0x0000, 0xbf80)},
	}, `{"format":"pt"}`)
}

func stateDictExpect() []Expect {
	return []Expect{
		{Name: "conv1.weight", Shape: []int{2, 1, 3, 3}},
		{Name: "bn1.weight", Shape: []int{2}},
		{Name: "bn1.bias", Shape: []int{2}},
		{Name: "bn1.running_mean", Shape: []int{2}},
		{Name: "bn1.running_var", Shape: []int{2}},
		{Name: "layer1.0.conv1.weight", Shape: []int{2, 2, 1, 1}},
		{Name: "fc.weight", Shape: []int{3, 2}},
		{Name: "fc.bias", Shape: []int{3}},
		{Name: "aux1.fc.weight", Shape: []int{3, 2}, Optional: true},
	}
}

func TestStateDict(t *testing.T) {
	f := open(t, stateDict())
	if err := f.Check(stateDictExpect()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got, err := f.Float32("fc.weight"); err != nil || !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("fc.weight = %v, %v", got, err)
	}
	if got, err := f.Float32("fc.bias"); err != nil || !slices.Equal(got, []float32{1, 0, -1}) {
		t.Errorf("fc.bias = %v, %v", got, err)
	}
	info, ok := f.Info("bn1.num_batches_tracked")
	if !ok || info.DType != "I64" || len(info.Shape) != 0 || info.End-info.Begin != 8 {
		t.Errorf("num_batches_tracked info = %+v, %v", info, ok)
	}
	_, err := f.Float32("bn1.num_batches_tracked")
	if err == nil || !strings.Contains(err.Error(), "bn1.num_batches_tracked") || !strings.Contains(err.Error(), "I64") {
		t.Errorf("Float32(num_batches_tracked) err = %v, want error naming tensor and I64", err)
	}
	if f.Metadata()["format"] != "pt" {
		t.Errorf("Metadata = %v", f.Metadata())
	}
}

func TestCheckMismatches(t *testing.T) {
	f := open(t, buildFile([]rawTensor{
		{"layer1.0.conv1.weight", "F32", []int{64, 3, 3, 3}, make([]byte, 4*64*27)},
		{"fc.weight", "F32", []int{10, 4}, make([]byte, 160)},
		{"head.extra", "F32", []int{1}, make([]byte, 4)},
		{"a.extra", "F32", []int{1}, make([]byte, 4)},
		{"idx", "I64", []int{2}, make([]byte, 16)},
		{"aux2.fc.weight", "F32", []int{5}, make([]byte, 20)},
		{"bn.num_batches_tracked", "I64", nil, make([]byte, 8)},
	}, ""))
	err := f.Check([]Expect{
		{Name: "layer1.0.conv1.weight", Shape: []int{64, 64, 3, 3}},
		{Name: "fc.weight", Shape: []int{10, 4}},
		{Name: "idx", Shape: []int{2}},
		{Name: "z.missing", Shape: []int{1}},
		{Name: "b.missing", Shape: []int{1}},
		{Name: "aux1.fc.weight", Shape: []int{3}, Optional: true},
		{Name: "aux2.fc.weight", Shape: []int{6}, Optional: true},
	})
	var m *MismatchError
	if !errors.As(err, &m) {
		t.Fatalf("Check = %v, want *MismatchError", err)
	}
	if !slices.Equal(m.Missing, []string{"b.missing", "z.missing"}) {
		t.Errorf("Missing = %q", m.Missing)
	}
	if !slices.Equal(m.Unexpected, []string{"a.extra", "head.extra"}) {
		t.Errorf("Unexpected = %q", m.Unexpected)
	}
	wantShapes := []ShapeMismatch{
		{Name: "aux2.fc.weight", Want: []int{6}, Got: []int{5}},
		{Name: "layer1.0.conv1.weight", Want: []int{64, 64, 3, 3}, Got: []int{64, 3, 3, 3}},
	}
	if !slices.EqualFunc(m.Shapes, wantShapes, func(a, b ShapeMismatch) bool {
		return a.Name == b.Name && slices.Equal(a.Want, b.Want) && slices.Equal(a.Got, b.Got)
	}) {
		t.Errorf("Shapes = %+v", m.Shapes)
	}
	if !slices.Equal(m.DTypes, []DTypeMismatch{{Name: "idx", DType: "I64"}}) {
		t.Errorf("DTypes = %+v", m.DTypes)
	}
	lines := strings.Split(err.Error(), "\n")
	wantLines := []string{
		"safetensors: weights do not match the network (7 problems):",
		"b.missing: missing from file",
		"z.missing: missing from file",
		"a.extra: in file but not used by the network",
		"head.extra: in file but not used by the network",
		"aux2.fc.weight: shape [5] in file, want [6]",
		"layer1.0.conv1.weight: shape [64 3 3 3] in file, want [64 64 3 3]",
		"idx: dtype I64 in file, want F32, F16, BF16 or F64",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("Error() =\n%s\nwant\n%s", err, strings.Join(wantLines, "\n"))
	}

	// An expected num_batches_tracked is checked like any other tensor.
	err = f.Check([]Expect{{Name: "bn.num_batches_tracked", Shape: []int{}}})
	if !errors.As(err, &m) || len(m.DTypes) != 1 || !strings.Contains(err.Error(), "bn.num_batches_tracked: dtype I64") {
		t.Errorf("Check(num_batches_tracked) = %v", err)
	}

	if err := f.Check([]Expect{{Name: "x"}, {Name: "x"}}); err == nil || !strings.Contains(err.Error(), `"x" expected twice`) {
		t.Errorf("Check with duplicate expectation = %v", err)
	}
}

// TestCheckStripsWrapperPrefix loads state_dicts saved from wrapped models (DataParallel's
// "module.", torch.compile's "_orig_mod.", nested wrappers) as the model's own, and keeps reporting files where a prefix is not
// all that differs, by the names the file has.
func TestCheckStripsWrapperPrefix(t *testing.T) {
	i64 := func(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
	// wrapped is stateDict's tensors behind p, fc.weight of shape fc (the network's: [3 2]).
	wrapped := func(p string, fc []int, extra ...rawTensor) []byte {
		ts := []rawTensor{
			{p + "conv1.weight", "F32", []int{2, 1, 3, 3}, f32Bytes(make([]float32, 18)...)},
			{p + "bn1.weight", "F32", []int{2}, f32Bytes(1, 1)},
			{p + "bn1.bias", "F32", []int{2}, f32Bytes(0, 0)},
			{p + "bn1.running_mean", "F32", []int{2}, f32Bytes(0.5, -0.5)},
			{p + "bn1.running_var", "F32", []int{2}, f32Bytes(1, 2)},
			{p + "bn1.num_batches_tracked", "I64", nil, i64(1)},
			{p + "layer1.0.conv1.weight", "F32", []int{2, 2, 1, 1}, f32Bytes(1, 2, 3, 4)},
			{p + "fc.weight", "F32", fc, f32Bytes(1, 2, 3, 4, 5, 6)},
			{p + "fc.bias", "F32", []int{3}, f32Bytes(1, 0, -1)},
		}
		return buildFile(append(ts, extra...), "")
	}
	for _, p := range []string{"module.", "model.module.", "model.", "_orig_mod.", "module._orig_mod."} {
		f := open(t, wrapped(p, []int{3, 2}))
		if err := f.Check(stateDictExpect()); err != nil {
			t.Fatalf("%q: Check: %v", p, err)
		}
		if got, err := f.Float32("fc.bias"); err != nil || !slices.Equal(got, []float32{1, 0, -1}) {
			t.Errorf("%q: fc.bias = %v, %v", p, got, err)
		}
		if names := f.Names(); names[0] != "bn1.bias" {
			t.Errorf("%q: names %v, want them without the prefix", p, names)
		}
	}
	for _, tc := range []struct {
		name string
		file []byte
		ok   func(m *MismatchError) bool
	}{
		{"extra tensor", wrapped("module.", []int{3, 2}, rawTensor{"module.head.weight", "F32", []int{1}, f32Bytes(1)}),
			func(m *MismatchError) bool {
				return slices.Equal(m.Unexpected, []string{"head.weight"}) && len(m.Missing) == 0
			}},
		{"wrong shape", wrapped("module.", []int{2, 3}),
			func(m *MismatchError) bool {
				return len(m.Shapes) == 1 && m.Shapes[0].Name == "fc.weight" && len(m.Missing) == 0
			}},
		{"missing tensors", buildFile([]rawTensor{{"module.fc.bias", "F32", []int{3}, f32Bytes(1, 0, -1)}}, ""),
			func(m *MismatchError) bool {
				return len(m.Missing) == 8 && slices.Equal(m.Unexpected, []string{"module.fc.bias"})
			}},
	} {
		var m *MismatchError
		if err := open(t, tc.file).Check(stateDictExpect()); !errors.As(err, &m) || !tc.ok(m) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
