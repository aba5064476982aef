package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestOpenErrors(t *testing.T) {
	f32x4 := make([]byte, 16)
	entry := func(name, body string) string { return fmt.Sprintf(`{%q:%s}`, name, body) }
	tests := []struct {
		name string
		file []byte
		want []string // substrings of the error
	}{
		{"empty file", nil, []string{"0 bytes", "shorter than"}},
		{"short file", []byte{1, 2, 3, 4, 5, 6, 7}, []string{"7 bytes"}},
		{"header longer than file", rawFile(`{}`, nil)[:9], []string{"header length 2", "exceeds the 1 bytes"}},
		{"empty header", rawFile("", nil), []string{"not a JSON object"}},
		{"header not json", rawFile("hello", nil), []string{"not a JSON object"}},
		{"header is array", rawFile("[]", nil), []string{"not a JSON object"}},
		{"header truncated json", rawFile(`{"a":{"dtype":"F32"`, nil), []string{`"a"`}},
		{"invalid utf8", rawFile("{\"\xff\":1}", nil), []string{"UTF-8"}},
		{"trailing data", rawFile(`{}{}`, nil), []string{"after the JSON object"}},
		{"trailing garbage", rawFile(`{} x`, nil), []string{"after the JSON object"}},
		{"nul padding", rawFile("{}\x00\x00", nil), []string{"after the JSON object"}},
		{
			"duplicate tensor",
			rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			[]string{`duplicate tensor "w"`},
		},
		{
			"duplicate tensor via escape",
			rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			[]string{`duplicate tensor "w"`},
		},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{`duplicate "__metadata__"`}},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, nil), []string{`duplicate key "k"`}},
		{"metadata value number", rawFile(`{"__metadata__":{"k":1}}`, nil), []string{`"k"`, "must be a string"}},
		{"metadata value object", rawFile(`{"__metadata__":{"k":{}}}`, nil), []string{`"k"`, "must be a string"}},
		{"metadata not object", rawFile(`{"__metadata__":"x"}`, nil), []string{"__metadata__", "object of strings"}},
		{"entry not object", rawFile(`{"w":3}`, nil), []string{`"w"`, "must be an object"}},
		{"entry null", rawFile(`{"w":null}`, nil), []string{`"w"`, "must be an object"}},
		{"duplicate field", rawFile(entry("w", `{"dtype":"F32","dtype":"F16","shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, `duplicate field "dtype"`}},
		{"unknown field", rawFile(entry("w", `{"dtype":"F32","shape":[4],"data_offsets":[0,16],"stride":[1]}`), f32x4), []string{`"w"`, `unknown field "stride"`}},
		{"missing dtype", rawFile(entry("w", `{"shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, `missing field "dtype"`}},
		{"missing shape", rawFile(entry("w", `{"dtype":"F32","data_offsets":[0,16]}`), f32x4), []string{`"w"`, `missing field "shape"`}},
		{"missing offsets", rawFile(entry("w", `{"dtype":"F32","shape":[4]}`), f32x4), []string{`"w"`, `missing field "data_offsets"`}},
		{"dtype not string", rawFile(entry("w", `{"dtype":4,"shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "dtype"}},
		{"unknown dtype", rawFile(entry("w", `{"dtype":"F4","shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, `unsupported dtype "F4"`}},
		{"lowercase dtype", rawFile(entry("w", `{"dtype":"f32","shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, `"f32"`}},
		{"shape not array", rawFile(entry("w", `{"dtype":"F32","shape":4,"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "shape"}},
		{"nested shape", rawFile(entry("w", `{"dtype":"F32","shape":[[4]],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "shape"}},
		{"fractional dim", rawFile(entry("w", `{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "4.0 is not an integer"}},
		{"huge dim", rawFile(entry("w", `{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "not an integer in the int64 range"}},
		{"negative dim", rawFile(entry("w", `{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "negative dimension -4"}},
		{"negative dims cancel", rawFile(entry("w", `{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "negative dimension"}},
		{"element count overflow", rawFile(entry("w", `{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "too many elements"}},
		{"byte count overflow", rawFile(entry("w", `{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "too many bytes"}},
		{"one offset", rawFile(entry("w", `{"dtype":"F32","shape":[4],"data_offsets":[16]}`), f32x4), []string{`"w"`, "[begin, end]"}},
		{"three offsets", rawFile(entry("w", `{"dtype":"F32","shape":[4],"data_offsets":[0,16,16]}`), f32x4), []string{`"w"`, "[begin, end]"}},
		{"negative begin", rawFile(entry("w", `{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}`), f32x4), []string{`"w"`, "invalid data_offsets [-16, 0]"}},
		{"begin after end", rawFile(entry("w", `{"dtype":"F32","shape":[0],"data_offsets":[16,0]}`), f32x4), []string{`"w"`, "invalid data_offsets [16, 0]"}},
		{"truncated data", rawFile(entry("w", `{"dtype":"F32","shape":[4],"data_offsets":[0,16]}`), f32x4[:15]), []string{`"w"`, "past the 15 bytes"}},
		{"zero-size past end", rawFile(entry("w", `{"dtype":"F32","shape":[0],"data_offsets":[17,17]}`), f32x4), []string{`"w"`, "past the 16 bytes"}},
		{"size mismatch", rawFile(entry("w", `{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}`), f32x4), []string{`"w"`, "hold 8 bytes", "[2 2] of F32 needs 16"}},
		{"dtype size mismatch", rawFile(entry("w", `{"dtype":"F16","shape":[4],"data_offsets":[0,16]}`), f32x4), []string{`"w"`, "needs 8"}},
		{
			"overlap",
			rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32x4),
			[]string{`"a"`, `"b"`, "overlap"},
		},
		{
			"same bytes twice",
			rawFile(`{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32x4),
			[]string{`"a"`, `"b"`, "overlap"},
		},
		{
			"contained",
			rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32x4),
			[]string{`"a"`, `"b"`, "overlap"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenSafetensors(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil {
				t.Fatalf("OpenSafetensors succeeded with names %v, want error", f.Names())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// hugeReader pretends to be a huge file but only answers for its prefix; a
// read past that fails the test, proving we rejected the file early.
type hugeReader struct {
	t      *testing.T
	prefix []byte
}

func (r hugeReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(r.prefix)) {
		r.t.Fatalf("ReadAt(%d bytes at %d) beyond the prefix", len(p), off)
	}
	return copy(p, r.prefix[off:]), nil
}

func TestOpenRejectsHugeHeaderBeforeAllocating(t *testing.T) {
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], 200<<20)
	_, err := OpenSafetensors(hugeReader{t, prefix[:]}, 1<<40)
	if err == nil || !strings.Contains(err.Error(), "exceeds the 104857600-byte limit") {
		t.Fatalf("err = %v, want header limit error", err)
	}
	binary.LittleEndian.PutUint64(prefix[:], math.MaxUint64)
	if _, err := OpenSafetensors(hugeReader{t, prefix[:]}, 1<<40); err == nil {
		t.Fatal("accepted header length 2^64-1")
	}
}

// TestOpenWeightsNamesOtherFormats gives OpenWeights files of neither format, whose first bytes
// would read as an absurd safetensors header length, and a safetensors file whose JSON header
// starts after whitespace, which is valid.
func TestOpenWeightsNamesOtherFormats(t *testing.T) {
	for name, file := range map[string][]byte{
		"onnx":  append([]byte{0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h'}, make([]byte, 64)...),
		"png":   append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...),
		"text":  []byte("this is a text file, not weights\n"),
		"array": rawFile(`[{"w":1}]`, nil),
	} {
		_, err := OpenWeights(bytes.NewReader(file))
		if err == nil || !strings.Contains(err.Error(), "neither safetensors") || !strings.Contains(err.Error(), "PyTorch checkpoint") {
			t.Errorf("%s: err = %v, want it to name both formats", name, err)
		}
	}
	f, err := OpenWeights(bytes.NewReader(rawFile(" \n{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", make([]byte, 4))))
	if err != nil {
		t.Fatalf("leading whitespace: %v", err)
	}
	if names := f.Names(); len(names) != 1 || names[0] != "w" {
		t.Fatalf("names %v, want [w]", names)
	}
}
