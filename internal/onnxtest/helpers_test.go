package onnxtest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// weights adapts gen/onnx's weights map to interp.Weights.
type weights map[string]onnx.Tensor

func (w weights) Float32(key string) ([]float32, error) {
	t, ok := w[key]
	if !ok {
		return nil, fmt.Errorf("no weight %q", key)
	}
	return t.Data, nil
}

// flat returns the weights as gentest.Run takes them.
func (w weights) flat() map[string][]float32 {
	m := make(map[string][]float32, len(w))
	for k, t := range w {
		m[k] = t.Data
	}
	return m
}

// readTensorProto reads a serialized TensorProto (a test data set's input_N.pb or output_N.pb).
func readTensorProto(path string) (*onnxpb.TensorProto, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &tp, nil
}

// numElems is the product of dims (1 for a scalar).
func numElems(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || d > 1<<31 {
			return 0, fmt.Errorf("bad dims %v", dims)
		}
		n *= d
		if n > 1<<31 {
			return 0, fmt.Errorf("dims %v: too many elements", dims)
		}
	}
	return int(n), nil
}

func dtypeName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

// floats returns a FLOAT or DOUBLE tensor's values as float32, from float_data/double_data or
// raw_data (little-endian). Other types are an error: the imported network computes float32.
func floats(tp *onnxpb.TensorProto) ([]float32, error) {
	n, err := numElems(tp.GetDims())
	if err != nil {
		return nil, err
	}
	dt := tp.GetDataType()
	raw := tp.GetRawData()
	var out []float32
	switch int32(dt) {
	case int32(onnxpb.TensorProto_FLOAT):
		if raw != nil {
			if len(raw) != 4*n {
				return nil, fmt.Errorf("%d raw bytes for %d FLOAT values", len(raw), n)
			}
			out = make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			out = tp.GetFloatData()
		}
	case int32(onnxpb.TensorProto_DOUBLE):
		if raw != nil {
			if len(raw) != 8*n {
				return nil, fmt.Errorf("%d raw bytes for %d DOUBLE values", len(raw), n)
			}
			out = make([]float32, n)
			for i := range out {
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		} else {
			for _, v := range tp.GetDoubleData() {
				out = append(out, float32(v))
			}
		}
	default:
		return nil, fmt.Errorf("data type %s, not FLOAT", dtypeName(dt))
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d values for dims %v", len(out), tp.GetDims())
	}
	return out, nil
}

// withinONNX is ONNX's backend-test rule, per element: |got - want| <= atol + rtol*|want|
// (rtol 1e-3 as ONNX's; atol 1e-5, looser than ONNX's 1e-7 because the references are float32
// while the interpreter computes in float64). NaNs must match NaNs and infinities their sign.
const (
	rtol = 1e-3
	atol = 1e-5
)

// compare checks got against want with withinONNX's rule and returns the largest absolute
// difference.
func compare(got, want []float32) (float64, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		switch {
		case math.IsNaN(w) || math.IsNaN(g):
			if math.IsNaN(w) != math.IsNaN(g) {
				return worst, fmt.Errorf("value %d: got %g, want %g", i, g, w)
			}
			continue
		case math.IsInf(w, 0) || math.IsInf(g, 0):
			if g != w {
				return worst, fmt.Errorf("value %d: got %g, want %g", i, g, w)
			}
			continue
		}
		d := math.Abs(g - w)
		worst = math.Max(worst, d)
		if d > atol+rtol*math.Abs(w) {
			return worst, fmt.Errorf("value %d: got %.7g, want %.7g (|diff| %.3g > %g + %g*|want|)", i, g, w, d, atol, rtol)
		}
	}
	return worst, nil
}

// shortError is the import error as one short line: the first problem's op and reason, and how
// many more there are.
func shortError(err error) string {
	var ie *onnx.Error
	s := err.Error()
	if errors.As(err, &ie) && len(ie.Problems) > 0 {
		p := ie.Problems[0]
		s = p.Why
		if p.Op != "" {
			s = p.Op + ": " + s
		}
		if len(ie.Problems) > 1 {
			s += fmt.Sprintf(" (+%d more)", len(ie.Problems)-1)
		}
	}
	return shorten(s, 110)
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-3] + "..."
	}
	return s
}

// readList reads a list file: one test name per line, optionally followed by whitespace and a
// reason; blank lines and lines starting with # are skipped. It returns name -> reason and the
// names in file order.
func readList(path string) (map[string]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	m := map[string]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, reason := s, ""
		if i := strings.IndexAny(s, " \t"); i >= 0 {
			name, reason = s[:i], s[i+1:]
		}
		if _, dup := m[name]; dup {
			return nil, nil, fmt.Errorf("%s:%d: %s listed twice", path, line, name)
		}
		m[name] = strings.TrimSpace(reason)
		order = append(order, name)
	}
	return m, order, sc.Err()
}

// findUp looks for rel in the working directory and its parents and returns its absolute path,
// or "" (shared/ sits beside the repository's root).
func findUp(rel string) string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var npyShape = regexp.MustCompile(`'shape':\s*\(([0-9,\s]*)\)`)

// readNpy reads a little-endian float32 C-order .npy file (format versions 1 to 3).
func readNpy(path string) ([]float32, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 12 || string(b[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("%s: not a .npy file", path)
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return nil, nil, fmt.Errorf("%s: .npy version %d", path, b[6])
	}
	if start+hlen > len(b) {
		return nil, nil, fmt.Errorf("%s: truncated header", path)
	}
	header := string(b[start : start+hlen])
	if !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") {
		return nil, nil, fmt.Errorf("%s: want little-endian float32 in C order, header %s", path, header)
	}
	m := npyShape.FindStringSubmatch(header)
	if m == nil {
		return nil, nil, fmt.Errorf("%s: no shape in header %s", path, header)
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: shape %q", path, m[1])
		}
		shape = append(shape, d)
		n *= d
	}
	data := b[start+hlen:]
	if len(data) != 4*n {
		return nil, nil, fmt.Errorf("%s: %d data bytes for shape %v", path, len(data), shape)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out, shape, nil
}
