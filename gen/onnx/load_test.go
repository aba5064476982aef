package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// parseInit parses a model holding one initializer and returns it decoded, or the error.
func parseInit(t *testing.T, tp *onnxpb.TensorProto, dir string) (*tensor, error) {
	t.Helper()
	b := newBuilder(13, "x", -1, 1)
	b.g.Initializer = append(b.g.Initializer, tp)
	m, err := Parse(b.bytes(t), dir)
	if err != nil {
		return nil, err
	}
	return m.inits[tp.GetName()], nil
}

func TestTensorEncodings(t *testing.T) {
	tp := func(dt int32, dims ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(dt), Dims: dims}
	}
	raw := func(p *onnxpb.TensorProto, b ...byte) *onnxpb.TensorProto { p.RawData = b; return p }
	f16 := func(p *onnxpb.TensorProto) *onnxpb.TensorProto {
		p.Int32Data = []int32{0x3c00, 0xc000, 0x0001, 0x7c00}
		return p
	}
	cases := []struct {
		name string
		tp   *onnxpb.TensorProto
		f    []float32
		i    []int64
	}{
		{"float_data", func() *onnxpb.TensorProto { p := tp(tFloat, 2); p.FloatData = []float32{1.5, -2}; return p }(), []float32{1.5, -2}, nil},
		{"float raw", raw(tp(tFloat, 1), 0, 0, 0xc0, 0x3f), []float32{1.5}, nil},
		{"double_data", func() *onnxpb.TensorProto { p := tp(tDouble, 2); p.DoubleData = []float64{0.25, 3}; return p }(), []float32{0.25, 3}, nil},
		{"double raw", raw(tp(tDouble, 1), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f), []float32{1}, nil},
		{"float16 int32_data", f16(tp(tFloat16, 4)), []float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}, nil},
		{"float16 raw", raw(tp(tFloat16, 2), 0x00, 0x3c, 0x00, 0x38), []float32{1, 0.5}, nil},
		{"bfloat16 raw", raw(tp(tBfloat16, 1), 0xc0, 0x3f), []float32{1.5}, nil},
		{"int64_data", func() *onnxpb.TensorProto { p := tp(tInt64, 2); p.Int64Data = []int64{-1, 1 << 40}; return p }(), nil, []int64{-1, 1 << 40}},
		{"int64 raw", raw(tp(tInt64, 1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), nil, []int64{-1}},
		{"int32_data", func() *onnxpb.TensorProto { p := tp(tInt32, 2); p.Int32Data = []int32{-5, 7}; return p }(), nil, []int64{-5, 7}},
		{"int32 raw", raw(tp(tInt32, 1), 0xfb, 0xff, 0xff, 0xff), nil, []int64{-5}},
		{"int8 int32_data", func() *onnxpb.TensorProto { p := tp(tInt8, 2); p.Int32Data = []int32{-3, 0xff}; return p }(), nil, []int64{-3, -1}},
		{"int8 raw", raw(tp(tInt8, 2), 0xfd, 0x7f), nil, []int64{-3, 127}},
		{"uint8 raw", raw(tp(tUint8, 2), 0xfd, 0x7f), nil, []int64{253, 127}},
		{"uint8 int32_data", func() *onnxpb.TensorProto { p := tp(tUint8, 1); p.Int32Data = []int32{200}; return p }(), nil, []int64{200}},
		{"bool raw", raw(tp(tBool, 3), 0, 1, 2), nil, []int64{0, 1, 1}},
		{"bool int32_data", func() *onnxpb.TensorProto { p := tp(tBool, 2); p.Int32Data = []int32{1, 0}; return p }(), nil, []int64{1, 0}},
		{"scalar", func() *onnxpb.TensorProto { p := tp(tFloat); p.FloatData = []float32{4}; return p }(), []float32{4}, nil},
		{"empty", tp(tFloat, 0, 3), []float32{}, nil},
	}
	for _, c := range cases {
		got, err := parseInit(t, c.tp, "")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(got.f, c.f) || !slices.Equal(got.i, c.i) || got.isFloat() != (c.i == nil) {
			t.Errorf("%s: got f=%v i=%v, want f=%v i=%v", c.name, got.f, got.i, c.f, c.i)
		}
	}
}

func TestHalfConversions(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat(tFloat16, uint16(h))
		if f != f {
			continue
		}
		if back := floatToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
	}
	if got := roundHalf(tFloat16, 1+1.0/4096); got != 1 { // halfway rounds to even
		t.Errorf("roundHalf = %v", got)
	}
	if got := roundHalf(tBfloat16, 1+1.0/512); got != 1+1.0/128 && got != 1 {
		t.Errorf("bfloat16 round = %v", got)
	}
}

func TestBadTensors(t *testing.T) {
	cases := []struct {
		name string
		tp   *onnxpb.TensorProto
		want string
	}{
		{"raw too short", floatTensorDims([]int64{3}, 2), "raw data has 8 bytes"},
		{"raw too long", floatTensorDims([]int64{1}, 2), "raw data has 8 bytes"},
		{"typed count", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{3}, FloatData: []float32{1}}, "1 values of FLOAT present"},
		{"negative dim", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{-1}}, "negative dimension"},
		{"hostile dims", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{1 << 20, 1 << 20}, RawData: []byte{1, 2, 3, 4}}, "more than"},
		{"hostile dims below the cap", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{1 << 15, 1 << 15}, RawData: []byte{1, 2, 3, 4}}, "need 4294967296"},
		{"overflowing dims", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{1 << 62, 1 << 62, 0}}, "more than"},
		{"string type", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(8), Dims: []int64{1}}, "STRING is not supported"},
		{"segment", &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(tFloat), Segment: &onnxpb.TensorProto_Segment{}}, "segmented"},
		{"external without folder", externalTensor("w.bin", 0, -1, 1), "folder is unknown"},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := parseInit(t, c.tp, "")
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Errorf("%s: allocated %d bytes", c.name, grown)
		}
	}
	// No initializer name, and a name used twice.
	b := newBuilder(13, "x", -1, 1)
	b.g.Initializer = append(b.g.Initializer, floatTensorDims([]int64{1}, 1), floatTensorDims([]int64{1}, 1), floatTensor("", []int64{1}, []float32{1}))
	_, err := Parse(b.bytes(t), "")
	if err == nil || !strings.Contains(err.Error(), "defined twice") || !strings.Contains(err.Error(), "#2 has no name") {
		t.Errorf("names: %v", err)
	}
}

func floatTensorDims(dims []int64, n int) *onnxpb.TensorProto {
	return floatTensor("t", dims, make([]float32, n))
}

func externalTensor(loc string, offset, length int64, n int64) *onnxpb.TensorProto {
	kv := func(k, v string) *onnxpb.StringStringEntryProto {
		return &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)}
	}
	ext := []*onnxpb.StringStringEntryProto{kv("location", loc), kv("offset", itoa(offset))}
	if length >= 0 {
		ext = append(ext, kv("length", itoa(length)))
	}
	return &onnxpb.TensorProto{
		Name: proto.String("t"), DataType: proto.Int32(tFloat), Dims: []int64{n},
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(), ExternalData: ext,
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := os.MkdirAll(filepath.Join(model, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 16)
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(i+1)))
	}
	for _, p := range []string{filepath.Join(model, "w.bin"), filepath.Join(model, "sub", "w.bin"), filepath.Join(dir, "outside.bin")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "outside.bin"), filepath.Join(model, "escape.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("w.bin", filepath.Join(model, "inside.bin")); err != nil {
		t.Fatal(err)
	}
	good := []struct {
		tp   *onnxpb.TensorProto
		want []float32
	}{
		{externalTensor("w.bin", 4, 8, 2), []float32{2, 3}},
		{externalTensor("w.bin", 0, -1, 4), []float32{1, 2, 3, 4}},
		{externalTensor("sub/w.bin", 12, -1, 1), []float32{4}},
		{externalTensor("./inside.bin", 8, 8, 2), []float32{3, 4}},
	}
	for _, c := range good {
		got, err := parseInit(t, c.tp, model)
		if err != nil {
			t.Errorf("%v: %v", c.tp.GetExternalData(), err)
			continue
		}
		if !slices.Equal(got.f, c.want) {
			t.Errorf("%v: %v, want %v", c.tp.GetExternalData(), got.f, c.want)
		}
	}
	bad := []struct {
		tp   *onnxpb.TensorProto
		want string
	}{
		{externalTensor("../outside.bin", 0, -1, 1), "leaves the model's folder"},
		{externalTensor("sub/../../outside.bin", 0, -1, 1), "leaves the model's folder"},
		{externalTensor(filepath.Join(dir, "outside.bin"), 0, -1, 1), "absolute"},
		{externalTensor("escape.bin", 0, -1, 1), "external data"},
		{externalTensor("missing.bin", 0, -1, 1), "external data"},
		{externalTensor("w.bin", 12, -1, 2), "8 bytes at offset 12, but the file has 16"},
		{externalTensor("w.bin", 1<<62, -1, 1), "offset"},
		{externalTensor("w.bin", 0, 4, 2), "length 4, but the dims need 8"},
		{externalTensor("sub", 0, -1, 1), "not a regular file"},
		{externalTensor("", 0, -1, 1), "no location"},
	}
	for _, c := range bad {
		_, err := parseInit(t, c.tp, model)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.tp.GetExternalData(), err, c.want)
		}
	}

	// Load reads external data from the model file's folder.
	b := newBuilder(13, "x", -1, 4)
	w := externalTensor("w.bin", 0, 16, 4)
	w.Name = proto.String("scale")
	b.g.Initializer = append(b.g.Initializer, w)
	b.nodeOut("Mul", []string{"x", "scale"}, []string{"y"})
	b.output("y")
	path := filepath.Join(model, "m.onnx")
	if err := os.WriteFile(path, b.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != path || m.Opset != 13 || m.Producer != "cnngen-test" || m.IRVersion != 7 {
		t.Errorf("model %+v", m)
	}
	g, ws, err := m.Graph("ext")
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, g, ws, []float32{1, 1, 1, 1}, 1)
	near(t, out, []float64{1, 2, 3, 4}, 0)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope.onnx")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder: %v", err)
	}
	b := newBuilder(13, "x", -1, 4)
	b.nodeOut("Relu", []string{"x"}, []string{"y"})
	data := b.output("y").bytes(t)
	for n := 0; n < len(data); n++ {
		m, err := Parse(data[:n], "")
		if err == nil {
			if _, _, err = m.Graph("t"); err == nil {
				t.Fatalf("truncated to %d of %d bytes: accepted", n, len(data))
			}
		}
	}
	if _, err := Parse([]byte("not a model at all, just text"), ""); err == nil {
		t.Error("text parsed")
	}
	if _, err := Parse(nil, ""); err == nil || !strings.Contains(err.Error(), "no graph") {
		t.Errorf("empty: %v", err)
	}
}
