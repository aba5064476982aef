package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// rawFile assembles a safetensors file from a literal JSON header and data,
// so tests can write headers the writer would never produce.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

// rawTensor is a tensor of any dtype, given as its little-endian bytes.
type rawTensor struct {
	name, dtype string
	shape       []int
	data        []byte
}

// buildFile lays out tensors in the given order, the way PyTorch exports do.
func buildFile(tensors []rawTensor, metadata string) []byte {
	var h strings.Builder
	var data []byte
	h.WriteString("{")
	if metadata != "" {
		h.WriteString(`"__metadata__":` + metadata)
	}
	for i, t := range tensors {
		if i > 0 || metadata != "" {
			h.WriteString(",")
		}
		shape := "[]"
		if len(t.shape) > 0 {
			shape = strings.ReplaceAll(fmt.Sprint(t.shape), " ", ",")
		}
		fmt.Fprintf(&h, `%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`,
			t.name, t.dtype, shape, len(data), len(data)+len(t.data))
		data = append(data, t.data...)
	}
	h.WriteString("}")
	return rawFile(h.String(), data)
}

func open(t *testing.T, file []byte) *File {
	t.Helper()
	f, err := OpenSafetensors(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("OpenSafetensors: %v", err)
	}
	return f
}

func f32Bytes(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func u16Bytes(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func f64Bytes(vs ...float64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

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

// shortReader claims more bytes than it has, as a file truncated after Stat
// would.
type shortReader struct{ data []byte }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(r.data).ReadAt(p, off)
}

func TestReaderShorterThanSize(t *testing.T) {
	file := buildFile([]rawTensor{{"w", "F32", []int{4}, f32Bytes(1, 2, 3, 4)}}, "")
	cut := shortReader{file[:len(file)-3]}
	f, err := OpenSafetensors(cut, int64(len(file)))
	if err != nil {
		t.Fatalf("OpenSafetensors: %v", err)
	}
	_, err = f.Float32("w")
	if err == nil || !strings.Contains(err.Error(), `"w"`) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF naming the tensor", err)
	}
	// A header cut short by the reader fails cleanly too.
	if _, err := OpenSafetensors(shortReader{file[:12]}, int64(len(file))); err == nil {
		t.Fatal("OpenSafetensors succeeded on a reader shorter than its header")
	}
}

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

// TestF16 checks known bit patterns, then all 65536 values against an
// independent computation.
func TestF16(t *testing.T) {
	known := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xbc00, -1},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},                 // largest normal
		{0x0400, 6.103515625e-05},       // smallest normal, 2^-14
		{0x0001, 5.960464477539063e-08}, // smallest subnormal, 2^-24
		{0x03ff, 6.097555160522461e-05}, // largest subnormal
		{0x8001, -5.960464477539063e-08},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	var data []uint16
	for _, k := range known {
		data = append(data, k.bits)
	}
	f := open(t, buildFile([]rawTensor{{"h", "F16", []int{len(data)}, u16Bytes(data...)}}, ""))
	got, err := f.Float32("h")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range known {
		if got[i] != k.want {
			t.Errorf("F16 %#04x = %g, want %g", k.bits, got[i], k.want)
		}
	}

	// Negative zero keeps its sign.
	if z := f16ToF32(0x8000); z != 0 || !math.Signbit(float64(z)) {
		t.Errorf("F16 0x8000 = %g, want -0", z)
	}
	for _, bits := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		if v := f16ToF32(bits); !math.IsNaN(float64(v)) {
			t.Errorf("F16 %#04x = %g, want NaN", bits, v)
		}
	}
	for h := range 1 << 16 {
		bits := uint16(h)
		exp := int(bits>>10) & 0x1f
		mant := float64(bits & 0x3ff)
		var want float64
		switch exp {
		case 0x1f:
			continue // covered above
		case 0:
			want = math.Ldexp(mant, -24)
		default:
			want = math.Ldexp(1024+mant, exp-25)
		}
		if bits&0x8000 != 0 {
			want = -want
		}
		if got := f16ToF32(bits); float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16 %#04x = %g, want %g", bits, got, want)
		}
	}
}

func TestBF16AndF64(t *testing.T) {
	bf := []uint16{0x3f80, 0xc000, 0x4049, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x8000}
	f64 := []float64{1.5, -2.25, 1e300, 1e-300, math.Inf(-1)}
	f := open(t, buildFile([]rawTensor{
		{"bf", "BF16", []int{2, 4}, u16Bytes(bf...)},
		{"d", "F64", []int{5}, f64Bytes(f64...)},
	}, ""))

	got, err := f.Float32("bf")
	if err != nil {
		t.Fatal(err)
	}
	wantBF := []float32{1, -2, 3.140625, math.Float32frombits(0x00010000), float32(math.Inf(1)), float32(math.Inf(-1))}
	for i, w := range wantBF {
		if got[i] != w {
			t.Errorf("BF16 %#04x = %g, want %g", bf[i], got[i], w)
		}
	}
	if !math.IsNaN(float64(got[6])) {
		t.Errorf("BF16 0x7fc0 = %g, want NaN", got[6])
	}
	if got[7] != 0 || !math.Signbit(float64(got[7])) {
		t.Errorf("BF16 0x8000 = %g, want -0", got[7])
	}

	got, err = f.Float32("d")
	if err != nil {
		t.Fatal(err)
	}
	wantD := []float32{1.5, -2.25, float32(math.Inf(1)), 0, float32(math.Inf(-1))}
	if !slices.Equal(got, wantD) {
		t.Errorf("F64 = %v, want %v", got, wantD)
	}
}

func TestReadFloat32Errors(t *testing.T) {
	f := open(t, buildFile([]rawTensor{
		{"w", "F32", []int{2, 2}, f32Bytes(1, 2, 3, 4)},
		{"idx", "I32", []int{1}, []byte{1, 0, 0, 0}},
		{"mask", "BOOL", []int{2}, []byte{1, 0}},
	}, ""))
	check := func(err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one mentioning %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
	check(f.ReadFloat32("w", make([]float32, 3)), `"w"`, "4 elements", "[2 2]", "destination has 3")
	check(f.ReadFloat32("w", make([]float32, 5)), `"w"`, "destination has 5")
	check(f.ReadFloat32("nope", make([]float32, 1)), `"nope"`)
	check(f.ReadFloat32("idx", make([]float32, 1)), `"idx"`, "I32")
	_, err := f.Float32("mask")
	check(err, `"mask"`, "BOOL")
	_, err = f.Float32("nope")
	check(err, `"nope"`)

	dst := make([]float32, 4)
	if err := f.ReadFloat32("w", dst); err != nil || !slices.Equal(dst, []float32{1, 2, 3, 4}) {
		t.Errorf("ReadFloat32 = %v, %v", dst, err)
	}
}

func TestZeroSizeTensor(t *testing.T) {
	// Zero-size tensors may share an offset with each other and with the
	// start or end of a real tensor.
	f := open(t, rawFile(`{`+
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
		`"e1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},`+
		`"e2":{"dtype":"F16","shape":[3,0,2],"data_offsets":[4,4]},`+
		`"e3":{"dtype":"I64","shape":[0],"data_offsets":[8,8]}}`, f32Bytes(5, 6)))
	for _, name := range []string{"e1", "e2"} {
		got, err := f.Float32(name)
		if err != nil || len(got) != 0 {
			t.Errorf("Float32(%q) = %v, %v; want empty", name, got, err)
		}
		if err := f.ReadFloat32(name, nil); err != nil {
			t.Errorf("ReadFloat32(%q, nil): %v", name, err)
		}
	}
	info, _ := f.Info("e2")
	if !slices.Equal(info.Shape, []int{3, 0, 2}) || info.Begin != info.End {
		t.Errorf("Info(e2) = %+v", info)
	}
	if got, err := f.Float32("a"); err != nil || !slices.Equal(got, []float32{5, 6}) {
		t.Errorf("Float32(a) = %v, %v", got, err)
	}
}

func TestMetadata(t *testing.T) {
	f := open(t, rawFile(`{"__metadata__":{"format":"pt","note":"a \"quoted\" \u00e9"}}`, nil))
	m := f.Metadata()
	if len(m) != 2 || m["format"] != "pt" || m["note"] != `a "quoted" é` {
		t.Errorf("Metadata = %q", m)
	}
	m["format"] = "changed"
	if f.Metadata()["format"] != "pt" {
		t.Error("Metadata returned the File's own map")
	}

	// The reference implementation writes null for "no metadata".
	f = open(t, rawFile(`{"__metadata__":null}`, nil))
	if m := f.Metadata(); m == nil || len(m) != 0 {
		t.Errorf("Metadata = %v, want empty map", m)
	}
}

func TestInfoIsACopy(t *testing.T) {
	f := open(t, buildFile([]rawTensor{{"w", "F32", []int{2}, f32Bytes(1, 2)}}, ""))
	info, _ := f.Info("w")
	info.Shape[0] = 99
	f.Names()[0] = "x"
	if info, _ := f.Info("w"); info.Shape[0] != 2 {
		t.Error("Info shares its Shape with the File")
	}
	if f.Names()[0] != "w" {
		t.Error("Names shares its slice with the File")
	}
	if _, ok := f.Info("x"); ok {
		t.Error("Info found a tensor that does not exist")
	}
}

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

// fuzzSeeds are valid and broken files for the fuzzer to start from.
func fuzzSeeds() [][]byte {
	var written bytes.Buffer
	WriteSafetensors(&written, []Tensor{
		{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "s", Data: []float32{5}},
	}, map[string]string{"format": "pt"})
	valid := written.Bytes()
	return [][]byte{
		valid,
		valid[:len(valid)-1],
		valid[:20],
		stateDict(),
		rawFile(`{}`, nil),
		rawFile(`{"__metadata__":null}`, nil),
		rawFile(`{"e":{"dtype":"F16","shape":[0,3],"data_offsets":[0,0]}}`, nil),
		rawFile(`{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`, make([]byte, 12)),
		rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		rawFile(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)),
		rawFile(`[`, nil),
		{},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{'},
	}
}

func FuzzOpenSafetensors(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := OpenSafetensors(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var floats []Tensor
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			if !ok {
				t.Fatalf("Names lists %q but Info does not know it", name)
			}
			if info.Begin < 8 || info.Begin > info.End || info.End > int64(len(data)) {
				t.Fatalf("tensor %q has offsets [%d, %d] outside the %d-byte file", name, info.Begin, info.End, len(data))
			}
			got, err := file.Float32(name)
			if !isFloatDType(info.DType) {
				if err == nil {
					t.Fatalf("Float32(%q) of dtype %s succeeded", name, info.DType)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Float32(%q): %v", name, err)
			}
			floats = append(floats, Tensor{Name: name, Shape: info.Shape, Data: got})
		}

		// Whatever we could read must survive a write and a re-read bit for bit.
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, floats, file.Metadata()); err != nil {
			// Only names and metadata the writer refuses by design may fail.
			if !strings.Contains(err.Error(), "empty name") {
				t.Fatalf("WriteSafetensors of a valid file's tensors: %v", err)
			}
			return
		}
		again, err := OpenSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("re-opening written file: %v", err)
		}
		if !maps.Equal(again.Metadata(), file.Metadata()) {
			t.Fatalf("metadata changed: %q -> %q", file.Metadata(), again.Metadata())
		}
		for _, want := range floats {
			got, err := again.Float32(want.Name)
			if err != nil {
				t.Fatalf("re-reading %q: %v", want.Name, err)
			}
			if !slices.EqualFunc(got, want.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Fatalf("%q changed in round trip", want.Name)
			}
		}
	})
}

// TestChunkBoundaries reads tensors larger than one read chunk in every float
// dtype, so an element split across chunks would show up.
func TestChunkBoundaries(t *testing.T) {
	n := ioChunk/2 + 3 // more than one chunk even for 2-byte dtypes
	var f16, bf16 []uint16
	var f32 []float32
	var f64 []float64
	for i := range n {
		v := float32(i % 2048) // every integer below 2048 is exact in F16
		f16 = append(f16, f32ToF16Exact(v))
		bf16 = append(bf16, uint16(math.Float32bits(float32(i%256))>>16))
		f32 = append(f32, float32(i))
		f64 = append(f64, float64(i)/4)
	}
	f := open(t, buildFile([]rawTensor{
		{"h", "F16", []int{n}, u16Bytes(f16...)},
		{"b", "BF16", []int{n}, u16Bytes(bf16...)},
		{"s", "F32", []int{n}, f32Bytes(f32...)},
		{"d", "F64", []int{n}, f64Bytes(f64...)},
	}, ""))
	for _, name := range []string{"h", "b", "s", "d"} {
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			var want float32
			switch name {
			case "h":
				want = float32(i % 2048)
			case "b":
				want = float32(i % 256)
			case "s":
				want = float32(i)
			case "d":
				want = float32(i) / 4
			}
			if v != want {
				t.Fatalf("%s[%d] = %g, want %g", name, i, v, want)
			}
		}
	}
}

// f32ToF16Exact encodes a non-negative integer below 2048 as F16, which
// holds all of them exactly.
func f32ToF16Exact(v float32) uint16 {
	if v == 0 {
		return 0
	}
	bits := math.Float32bits(v)
	exp := bits>>23&0xff - 127 + 15
	return uint16(exp<<10 | bits>>13&0x3ff)
}
