package runtime

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The checkpoints in testdata/pth were saved by Debian's torch 1.13 (tools/make_pth_testdata.py).

func openPath(t *testing.T, path string) *File {
	t.Helper()
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	f, err := OpenWeights(fd)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func readAll(t *testing.T, f *File) map[string][]float32 {
	t.Helper()
	m := map[string][]float32{}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if !isFloatDType(info.DType) {
			continue
		}
		v, err := f.Float32(name)
		if err != nil {
			t.Fatalf("Float32(%q): %v", name, err)
		}
		m[name] = v
	}
	return m
}

// nearestHalf reports whether h (a value read from a float16 or bfloat16 tensor) is x rounded
// to the nearest value of that type, ties to even, as torch's .half() and .bfloat16() round:
// no neighbour of h is nearer to x.
func nearestHalf(x, h float32, dtype string) bool {
	var bits uint32
	var widen func(uint32) float32
	if dtype == "F16" {
		bits = uint32(halfBits(h))
		widen = func(b uint32) float32 { return f16ToF32(uint16(b)) }
	} else {
		bits = math.Float32bits(h) >> 16
		widen = func(b uint32) float32 { return math.Float32frombits(b << 16) }
	}
	d := math.Abs(float64(x) - float64(h))
	for _, n := range []uint32{bits - 1, bits + 1} {
		dn := math.Abs(float64(x) - float64(widen(n)))
		if dn < d || dn == d && n%2 == 0 {
			return false
		}
	}
	return true
}

// halfBits encodes a float32 that is exactly a normal or subnormal float16 value.
func halfBits(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	if v == 0 {
		return sign
	}
	if exp <= 0 { // subnormal: v = mant * 2^-24
		return sign | uint16(math.Abs(float64(v))*(1<<24))
	}
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// TestPthLeNet5 reads the trained LeNet-5 from torch's checkpoints of each dtype and format:
// float32 is the safetensors file bit for bit, float16 and bfloat16 are its values correctly
// rounded, and the zip and legacy formats agree.
func TestPthLeNet5(t *testing.T) {
	want := openPath(t, filepath.Join("..", "generated", "lenet5", "lenet5.safetensors"))
	ref := readAll(t, want)
	for _, dtype := range []string{"f32", "f16", "bf16"} {
		zipF := openPath(t, filepath.Join("testdata", "pth", "lenet5_"+dtype+".pth"))
		legacyF := openPath(t, filepath.Join("testdata", "pth", "lenet5_"+dtype+"_legacy.pth"))
		if !slices.Equal(zipF.Names(), want.Names()) || !slices.Equal(legacyF.Names(), want.Names()) {
			t.Fatalf("%s: names %v and %v, want %v", dtype, zipF.Names(), legacyF.Names(), want.Names())
		}
		zipV, legacyV := readAll(t, zipF), readAll(t, legacyF)
		for _, name := range want.Names() {
			info, _ := zipF.Info(name)
			winfo, _ := want.Info(name)
			if info.DType != strings.ToUpper(dtype) || !slices.Equal(info.Shape, winfo.Shape) {
				t.Errorf("%s %s: %s %v, want %s %v", dtype, name, info.DType, info.Shape, strings.ToUpper(dtype), winfo.Shape)
			}
			for i, v := range zipV[name] {
				if math.Float32bits(v) != math.Float32bits(legacyV[name][i]) {
					t.Fatalf("%s %s[%d]: zip %g, legacy %g", dtype, name, i, v, legacyV[name][i])
				}
				x := ref[name][i]
				if dtype == "f32" && math.Float32bits(v) != math.Float32bits(x) || dtype != "f32" && !nearestHalf(x, v, info.DType) {
					t.Fatalf("%s %s[%d] = %g, want %g rounded to %s", dtype, name, i, v, x, info.DType)
				}
			}
		}
	}
}

// TestPthTiny reads odd tensors (float64, a scalar, an empty tensor, two views of one storage,
// a transpose, a channels_last tensor, an int64 buffer, float16/bfloat16 edge values) and
// compares them with torch's .float() of each (contiguous), bit for bit.
func TestPthTiny(t *testing.T) {
	ref := openPath(t, filepath.Join("testdata", "pth", "tiny.safetensors"))
	want := readAll(t, ref)
	for _, file := range []string{"tiny.pth", "tiny_legacy.pth"} {
		f := openPath(t, filepath.Join("testdata", "pth", file))
		got := readAll(t, f)
		if len(got) != len(want) {
			t.Errorf("%s: %d float tensors, want %d", file, len(got), len(want))
		}
		for name, w := range want {
			for i := range w {
				if math.Float32bits(got[name][i]) != math.Float32bits(w[i]) {
					t.Errorf("%s: %s[%d] = %g, torch says %g", file, name, i, got[name][i], w[i])
				}
			}
		}
		for name, want := range map[string]string{"f64": "F64 [2 3]", "scalar": "F32 []", "empty": "F32 [0 4]",
			"shared.a": "F32 [2 3]", "half": "F16 [13]", "bfloat": "BF16 [15]", "bn.num_batches_tracked": "I64 []",
			"transposed": "F32 [4 3]", "channels_last": "F32 [2 3 2 2]"} {
			info, ok := f.Info(name)
			if got := fmt.Sprint(info.DType, " ", info.Shape); !ok || got != want {
				t.Errorf("%s: %s is %q, want %q", file, name, got, want)
			}
		}
		_, err := f.Float32("bn.num_batches_tracked")
		if err == nil || !strings.Contains(err.Error(), "pth: tensor \"bn.num_batches_tracked\" has dtype I64, which cannot be read as float32 (want F32, F16, BF16 or F64)") {
			t.Errorf("%s: reading the int64 buffer: %v", file, err)
		}
		// Check ignores num_batches_tracked and names the format and the dtypes it takes.
		err = f.Check([]Expect{{Name: "bn.weight", Shape: []int{3}}, {Name: "f64", Shape: []int{2, 3}}, {Name: "bn.num_batches_tracked"}})
		var m *MismatchError
		if !errors.As(err, &m) || !strings.HasPrefix(err.Error(), "pth: weights do not match the network") ||
			!strings.Contains(err.Error(), "bn.num_batches_tracked: dtype I64 in file, want F32, F16, BF16 or F64") {
			t.Errorf("%s: Check: %v", file, err)
		}
	}
}

// TestPthTrainingCheckpoint reads the model's state_dict out of training checkpoints torch
// saved: torchvision's reference layout ("model" beside "model_ema", optimizer and scheduler
// state, ints and floats) in both formats, and PyTorch Lightning's ("state_dict", its names
// behind "model.", which Check strips).
func TestPthTrainingCheckpoint(t *testing.T) {
	want := openPath(t, filepath.Join("testdata", "pth", "checkpoint.safetensors"))
	ref := readAll(t, want)
	var expect []Expect
	for _, name := range want.Names() {
		info, _ := want.Info(name)
		expect = append(expect, Expect{Name: name, Shape: info.Shape})
	}
	for _, file := range []string{"checkpoint.pth", "checkpoint_legacy.pth", "lightning.pth"} {
		f := openPath(t, filepath.Join("testdata", "pth", file))
		if err := f.Check(expect); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		got := readAll(t, f)
		for name, w := range ref {
			if !slices.Equal(got[name], w) {
				t.Errorf("%s: %s = %v, want %v (the model's, not the EMA's)", file, name, got[name], w)
			}
		}
		if !slices.Contains(f.Names(), "bn.num_batches_tracked") {
			t.Errorf("%s: names %v lack the model's other tensors", file, f.Names())
		}
	}
}

// TestPthCheckpointChoice builds checkpoints holding state_dicts beside other values: the only
// one is taken, of several the first of the known keys, and several unknown ones are an error
// naming them.
func TestPthCheckpointChoice(t *testing.T) {
	a, b := []fakeTensor{f32Tensor("w", "0", 2)}, []fakeTensor{f32Tensor("w", "1", 3)}
	pick := func(k1, k2 string) []byte {
		p := (&pkl{}).op(0x80, 2, '}', '(').str("epoch").int(3).str("lr").float(0.1)
		p.str(k1).stateDict(a, false).str(k2).stateDict(b, false)
		return zipPth(t, p.op('u', '.').b, append(a, b...))
	}
	only := (&pkl{}).op(0x80, 2, '}', '(').str("epoch").int(3).str("weights").stateDict(b, false).str("loss").float(1e-3)
	for _, c := range []struct {
		name string
		file []byte
		want int // elements of w: 2 from a, 3 from b
	}{
		{"model, not model_ema", pick("model_ema", "model"), 3},
		{"model first", pick("model", "model_ema"), 2},
		{"state_dict", pick("teacher", "state_dict"), 3},
		{"the only one", zipPth(t, only.op('u', '.').b, b), 3},
	} {
		f, err := openBytes(c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if info, _ := f.Info("w"); len(info.Shape) != 1 || info.Shape[0] != c.want {
			t.Errorf("%s: w has shape %v, want [%d]", c.name, info.Shape, c.want)
		}
	}
	if _, err := openBytes(pick("teacher", "student")); err == nil || !strings.Contains(err.Error(), `several state_dicts (["teacher" "student"])`) {
		t.Errorf("two unknown state_dicts: err = %v", err)
	}
}
