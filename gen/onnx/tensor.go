package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// Tensor is a float32 weight tensor in row-major order, shaped as the graph's Param needs it.
type Tensor struct {
	Shape []int
	Data  []float32
}

// ONNX data types this package reads.
const (
	tFloat    = int32(onnxpb.TensorProto_FLOAT)
	tUint8    = int32(onnxpb.TensorProto_UINT8)
	tInt8     = int32(onnxpb.TensorProto_INT8)
	tInt32    = int32(onnxpb.TensorProto_INT32)
	tInt64    = int32(onnxpb.TensorProto_INT64)
	tBool     = int32(onnxpb.TensorProto_BOOL)
	tFloat16  = int32(onnxpb.TensorProto_FLOAT16)
	tDouble   = int32(onnxpb.TensorProto_DOUBLE)
	tBfloat16 = int32(onnxpb.TensorProto_BFLOAT16)
)

// elemSize is the size in raw_data of one element of a supported type, 0 if unsupported.
func elemSize(dt int32) int {
	switch dt {
	case tUint8, tInt8, tBool:
		return 1
	case tFloat16, tBfloat16:
		return 2
	case tFloat, tInt32:
		return 4
	case tInt64, tDouble:
		return 8
	}
	return 0
}

func isFloatType(dt int32) bool {
	return dt == tFloat || dt == tFloat16 || dt == tDouble || dt == tBfloat16
}

func typeName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

// tensor is a constant: an initializer, a Constant node's value or a folded result. Float types
// are held as float32 in f, integer and bool types as int64 in i. batch marks int elements that
// stand for the (symbolic) batch size, as Shape of the network's tensors produces.
type tensor struct {
	name  string // the ONNX value it is bound to; the weight key when it is a parameter
	dtype int32
	dims  []int
	f     []float32
	i     []int64
	batch []bool // nil when no element is the batch size
}

func (t *tensor) size() int { return len(t.f) + len(t.i) }

func (t *tensor) isFloat() bool { return isFloatType(t.dtype) }

func (t *tensor) hasBatch() bool {
	for _, b := range t.batch {
		if b {
			return true
		}
	}
	return false
}

// float returns element k as a float64.
func (t *tensor) float(k int) float64 {
	if t.f != nil || t.isFloat() {
		return float64(t.f[k])
	}
	return float64(t.i[k])
}

// numElems multiplies dims, refusing negative dims and products above maxElems.
func numElems(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		if d > 0 && n > maxElems/d {
			return 0, fmt.Errorf("dims %v hold more than %d elements", dims, int64(maxElems))
		}
		n *= d
	}
	if n > maxElems {
		return 0, fmt.Errorf("dims %v hold more than %d elements", dims, int64(maxElems))
	}
	return int(n), nil
}

// decodeTensor reads a TensorProto. Lengths are checked against the dims before anything is
// allocated, so the allocation never exceeds what the data present can fill.
func decodeTensor(tp *onnxpb.TensorProto, ext *externalFiles) (*tensor, error) {
	dt := tp.GetDataType()
	es := elemSize(dt)
	if es == 0 {
		return nil, fmt.Errorf("data type %s is not supported (want FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT8, UINT8 or BOOL)", typeName(dt))
	}
	if tp.GetSegment() != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	n, err := numElems(tp.GetDims())
	if err != nil {
		return nil, err
	}
	t := &tensor{name: tp.GetName(), dtype: dt, dims: make([]int, len(tp.GetDims()))}
	for k, d := range tp.GetDims() {
		t.dims[k] = int(d)
	}
	raw := tp.GetRawData()
	hasRaw := tp.RawData != nil
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if raw, err = externalData(tp, ext, int64(n)*int64(es)); err != nil {
			return nil, err
		}
		hasRaw = true
	}
	if hasRaw {
		if int64(len(raw)) != int64(n)*int64(es) {
			return nil, fmt.Errorf("raw data has %d bytes, the dims %v of %s need %d", len(raw), t.dims, typeName(dt), int64(n)*int64(es))
		}
		t.fromRaw(raw, n)
		return t, nil
	}
	// Typed fields: FLOAT in float_data; DOUBLE in double_data; INT64 in int64_data; the
	// narrower types (including FLOAT16's and BFLOAT16's bits) in int32_data.
	var have int
	switch dt {
	case tFloat:
		have = len(tp.GetFloatData())
	case tDouble:
		have = len(tp.GetDoubleData())
	case tInt64:
		have = len(tp.GetInt64Data())
	default:
		have = len(tp.GetInt32Data())
	}
	if have != n {
		return nil, fmt.Errorf("%d values of %s present, the dims %v need %d", have, typeName(dt), t.dims, n)
	}
	switch dt {
	case tFloat:
		t.f = append([]float32(nil), tp.GetFloatData()...)
	case tDouble:
		t.f = make([]float32, n)
		for k, v := range tp.GetDoubleData() {
			t.f[k] = float32(v)
		}
	case tFloat16, tBfloat16:
		t.f = make([]float32, n)
		for k, v := range tp.GetInt32Data() {
			t.f[k] = halfToFloat(dt, uint16(v))
		}
	case tInt64:
		t.i = append([]int64(nil), tp.GetInt64Data()...)
	default:
		t.i = make([]int64, n)
		for k, v := range tp.GetInt32Data() {
			switch dt {
			case tInt8:
				v = int32(int8(v))
			case tUint8:
				v = int32(uint8(v))
			case tBool:
				if v != 0 {
					v = 1
				}
			}
			t.i[k] = int64(v)
		}
	}
	t.fixEmpty()
	return t, nil
}

// fixEmpty gives an empty tensor a non-nil slice of its kind, so isFloat and the slices agree.
func (t *tensor) fixEmpty() {
	if t.isFloat() && t.f == nil {
		t.f = []float32{}
	}
	if !t.isFloat() && t.i == nil {
		t.i = []int64{}
	}
}

// fromRaw decodes n little-endian elements.
func (t *tensor) fromRaw(raw []byte, n int) {
	le := binary.LittleEndian
	switch t.dtype {
	case tFloat:
		t.f = make([]float32, n)
		for k := range t.f {
			t.f[k] = math.Float32frombits(le.Uint32(raw[4*k:]))
		}
	case tDouble:
		t.f = make([]float32, n)
		for k := range t.f {
			t.f[k] = float32(math.Float64frombits(le.Uint64(raw[8*k:])))
		}
	case tFloat16, tBfloat16:
		t.f = make([]float32, n)
		for k := range t.f {
			t.f[k] = halfToFloat(t.dtype, le.Uint16(raw[2*k:]))
		}
	case tInt64:
		t.i = make([]int64, n)
		for k := range t.i {
			t.i[k] = int64(le.Uint64(raw[8*k:]))
		}
	case tInt32:
		t.i = make([]int64, n)
		for k := range t.i {
			t.i[k] = int64(int32(le.Uint32(raw[4*k:])))
		}
	case tInt8:
		t.i = make([]int64, n)
		for k := range t.i {
			t.i[k] = int64(int8(raw[k]))
		}
	case tUint8, tBool:
		t.i = make([]int64, n)
		for k := range t.i {
			t.i[k] = int64(raw[k])
			if t.dtype == tBool && raw[k] != 0 {
				t.i[k] = 1
			}
		}
	}
	t.fixEmpty()
}

// halfToFloat converts IEEE half (FLOAT16) or bfloat16 bits.
func halfToFloat(dt int32, h uint16) float32 {
	if dt == tBfloat16 {
		return math.Float32frombits(uint32(h) << 16)
	}
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: normalize
	e := uint32(113)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}
