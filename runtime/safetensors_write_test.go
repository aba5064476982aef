package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{Name: "z.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, float32(math.Copysign(0, -1))}},
		{Name: "a.bias", Shape: []int{3}, Data: []float32{0.1, 0.2, 0.3}},
		{Name: "scalar", Shape: nil, Data: []float32{42}},
		{Name: "empty", Shape: []int{0, 5}, Data: nil},
		{Name: `we"ird\name<&>`, Shape: []int{1}, Data: []float32{7}},
		{Name: "big", Shape: []int{ioChunk/4 + 3}, Data: make([]float32, ioChunk/4+3)}, // spans two chunks
	}
	for i := range tensors[5].Data {
		tensors[5].Data[i] = float32(i) * 0.5
	}
	meta := map[string]string{"format": "pt", "source": "cnngen test"}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, meta); err != nil {
		t.Fatalf("WriteSafetensors: %v", err)
	}
	file := buf.Bytes()
	hlen := binary.LittleEndian.Uint64(file)
	if hlen%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", hlen)
	}
	if !bytes.Contains(file[:8+hlen], []byte(`"we\"ird\\name<&>"`)) {
		t.Errorf("name not escaped plainly in header %s", file[8:8+hlen])
	}

	f := open(t, file)
	wantNames := []string{"a.bias", "big", "empty", "scalar", "we\"ird\\name<&>", "z.weight"}
	if got := f.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("Names = %q, want %q", got, wantNames)
	}
	if got := f.Metadata(); len(got) != 2 || got["format"] != "pt" || got["source"] != "cnngen test" {
		t.Errorf("Metadata = %v", got)
	}
	for _, want := range tensors {
		info, ok := f.Info(want.Name)
		if !ok {
			t.Fatalf("Info(%q) missing", want.Name)
		}
		if info.DType != "F32" || !slices.Equal(info.Shape, want.Shape) || info.Name != want.Name {
			t.Errorf("Info(%q) = %+v", want.Name, info)
		}
		if info.End-info.Begin != 4*int64(len(want.Data)) || info.Begin < 8+int64(hlen) || info.End > int64(len(file)) {
			t.Errorf("Info(%q) offsets [%d, %d] wrong", want.Name, info.Begin, info.End)
		}
		got, err := f.Float32(want.Name)
		if err != nil {
			t.Fatalf("Float32(%q): %v", want.Name, err)
		}
		if !slices.EqualFunc(got, want.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("Float32(%q) = %v, want %v", want.Name, got, want.Data)
		}
	}

	// Data starts right after the header: tensors are contiguous and in name order.
	if info, _ := f.Info("a.bias"); info.Begin != 8+int64(hlen) {
		t.Errorf("first tensor begins at %d, want %d", info.Begin, 8+hlen)
	}

	// Writing is deterministic, whatever the input order.
	var again bytes.Buffer
	slices.Reverse(tensors)
	if err := WriteSafetensors(&again, tensors, meta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, again.Bytes()) {
		t.Error("second write differs")
	}
}

func TestWriteEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := rawFile("{}      ", nil)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got %q, want %q", buf.Bytes(), want)
	}
	f := open(t, buf.Bytes())
	if len(f.Names()) != 0 || len(f.Metadata()) != 0 {
		t.Errorf("names %v metadata %v, want none", f.Names(), f.Metadata())
	}
}

// TestWriteLayout pins the exact bytes so other tools (the Python reference)
// can rely on them.
func TestWriteLayout(t *testing.T) {
	var buf bytes.Buffer
	err := WriteSafetensors(&buf, []Tensor{{Name: "b", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{}, Data: []float32{2}}}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	want := rawFile(header, f32Bytes(2, 1))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    []string
	}{
		{"duplicate", []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}, {Name: "w", Shape: []int{1}, Data: []float32{1}}}, nil, []string{`duplicate tensor "w"`}},
		{"too few values", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}, nil, []string{`"w"`, "[2 2] has 4 elements, data has 3"}},
		{"too many values", []Tensor{{Name: "w", Shape: nil, Data: []float32{1, 2}}}, nil, []string{`"w"`, "has 1 elements, data has 2"}},
		{"negative dim", []Tensor{{Name: "w", Shape: []int{-1, -1}, Data: []float32{1}}}, nil, []string{`"w"`, "negative"}},
		{"overflow", []Tensor{{Name: "w", Shape: []int{1 << 30, 1 << 30, 1 << 30, 1 << 30}, Data: nil}}, nil, []string{`"w"`, "too many"}},
		{"empty name", []Tensor{{Name: "", Data: []float32{1}}}, nil, []string{"empty name"}},
		{"reserved name", []Tensor{{Name: "__metadata__", Data: []float32{1}}}, nil, []string{"reserved"}},
		{"bad utf8 name", []Tensor{{Name: "w\xff", Data: []float32{1}}}, nil, []string{"UTF-8"}},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, []string{`"k"`, "UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteSafetensors(&buf, tc.tensors, tc.meta)
			if err == nil {
				t.Fatal("WriteSafetensors succeeded, want error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing validation", buf.Len())
			}
		})
	}

	tensors := []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}}
	for n := range 3 {
		if err := WriteSafetensors(&failWriter{n}, tensors, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("writer failing after %d writes: err = %v", n, err)
		}
	}
}
