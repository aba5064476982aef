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
