package runtime

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// The safetensors format (https://github.com/huggingface/safetensors):
//
//	[8 bytes: little-endian uint64 N][N bytes: JSON header][tensor data]
//
// The header maps tensor names to {"dtype", "shape", "data_offsets"}, with
// offsets relative to the first byte after the header, plus an optional
// "__metadata__" object of string values. Tensor data is little-endian and
// row-major.
//
// The header parser lives apart, in safetensors_header.go, because it is the
// code that meets untrusted bytes (FuzzOpenSafetensors aims at it); checking
// a file against a network and writing files are in safetensors_check.go and
// safetensors_write.go.

// maxHeaderSize caps the JSON header. The length prefix comes from the file,
// so without a cap a hostile 8-byte prefix could make us allocate gigabytes.
// The reference implementation uses a similar limit (100 MB).
const maxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding free-form string metadata.
const metadataKey = "__metadata__"

// ioChunk is how many bytes of tensor data are converted per ReadAt/Write, so
// reading or writing a large tensor does not need a second full-size buffer.
// It is a multiple of every dtype size.
const ioChunk = 64 << 10

// dtypeSizes lists the dtypes we accept, with their size in bytes. The
// reference implementation also has sub-byte types (F4, F6_*); they cannot be
// described by a per-element byte size and no CNN export we target uses them,
// so they are rejected as unsupported.
var dtypeSizes = map[string]int64{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
}

// floatDTypes names the dtypes weights may have, for errors: all are widened
// (or, F64, narrowed) to float32 as they are read.
const floatDTypes = "F32, F16, BF16 or F64"

// isFloatDType reports whether ReadFloat32 can convert dtype to float32.
func isFloatDType(dtype string) bool {
	switch dtype {
	case "F32", "F16", "BF16", "F64":
		return true
	}
	return false
}

// TensorInfo describes one tensor of a weights file. DType is a safetensors
// dtype name (a checkpoint's torch.HalfStorage is F16). Begin and End are
// absolute byte offsets in the file (not relative to the data section).
type TensorInfo struct {
	Name, DType string
	Shape       []int
	Begin, End  int64
}

// File is an opened weights file, safetensors (OpenSafetensors) or a PyTorch
// checkpoint (OpenPth), whose tensor index has been parsed and validated. It
// reads tensor data lazily from the io.ReaderAt it was opened with, so it is
// safe for concurrent use if that reader is (as *os.File and *bytes.Reader are).
type File struct {
	r        io.ReaderAt
	format   string // "safetensors" or "pth": errors say which file they are about
	tensors  map[string]tensorEntry
	names    []string // sorted
	metadata map[string]string
}

type tensorEntry struct {
	info  TensorInfo
	count int64 // number of elements
	// stride is a checkpoint tensor's element strides when they are not row-major (a
	// channels_last or transposed tensor); it then reads the span elements from info.Begin.
	stride []int64
	span   int64
}

// OpenSafetensors parses and validates the header of the safetensors file
// held by r, which must be size bytes long. No tensor data is read, but every
// tensor's extent is checked against size, so later reads stay in bounds.
func OpenSafetensors(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", size)
	}
	var prefix [8]byte
	if err := readFullAt(r, prefix[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > maxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, maxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes after the length prefix (truncated file?)", n, size-8)
	}
	header := make([]byte, n)
	if err := readFullAt(r, header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	entries, metadata, err := parseHeader(header)
	if err != nil {
		return nil, err
	}

	dataStart := 8 + int64(n)
	dataSize := size - dataStart
	f := &File{
		r:        r,
		format:   "safetensors",
		tensors:  make(map[string]tensorEntry, len(entries)),
		names:    make([]string, 0, len(entries)),
		metadata: metadata,
	}
	for _, e := range entries {
		t, err := e.validate(dataStart, dataSize)
		if err != nil {
			return nil, err
		}
		f.tensors[e.name] = t
		f.names = append(f.names, e.name)
	}
	slices.Sort(f.names)
	if err := checkOverlaps(f.tensors); err != nil {
		return nil, err
	}
	return f, nil
}

// Names returns the names of all tensors in the file, sorted.
func (f *File) Names() []string {
	return slices.Clone(f.names)
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	info := t.info
	info.Shape = slices.Clone(info.Shape) // callers must not be able to change our copy
	return info, true
}

// Metadata returns a copy of the header's "__metadata__" map; it is empty,
// not nil, when the file has none (and for a checkpoint).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// ReadFloat32 reads the named tensor into dst, converting F16, BF16 and F64
// to float32. len(dst) must equal the tensor's element count. Integer and
// boolean tensors are an error rather than converted, because loading them
// as weights means the network and the file disagree.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.tensors[name]
	if !ok {
		return fmt.Errorf("%s: no tensor %q in file", f.format, name)
	}
	dtype := t.info.DType
	if !isFloatDType(dtype) {
		return fmt.Errorf("%s: tensor %q has dtype %s, which cannot be read as float32 (want %s)", f.format, name, dtype, floatDTypes)
	}
	if int64(len(dst)) != t.count {
		return fmt.Errorf("%s: tensor %q has %d elements (shape %v), destination has %d", f.format, name, t.count, t.info.Shape, len(dst))
	}
	if t.stride != nil {
		return f.readStrided(name, t, dst)
	}
	return f.readElems(name, t.info.Begin, dtype, dst)
}

// readElems reads len(dst) consecutive elements of dtype from file offset begin.
func (f *File) readElems(name string, begin int64, dtype string, dst []float32) error {
	if dtype == "F32" && littleEndianHost && len(dst) > 0 {
		// The file's bytes are already dst's in-memory representation: read them in place,
		// with no staging buffer or per-element decoding (most of Load's time otherwise).
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
		if err := readFullAt(f.r, b, begin); err != nil {
			return fmt.Errorf("%s: reading tensor %q: %w", f.format, name, err)
		}
		return nil
	}
	elem := dtypeSizes[dtype]
	buf := make([]byte, min(ioChunk, int64(len(dst))*elem))
	off := begin
	for len(dst) > 0 {
		b := buf[:min(int64(len(buf)), int64(len(dst))*elem)]
		if err := readFullAt(f.r, b, off); err != nil {
			return fmt.Errorf("%s: reading tensor %q: %w", f.format, name, err)
		}
		k := decodeFloats(dst, b, dtype)
		dst = dst[k:]
		off += int64(len(b))
	}
	return nil
}

// Float32 allocates a slice of the right length and reads the named tensor
// into it, as ReadFloat32 does.
func (f *File) Float32(name string) ([]float32, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q in file", f.format, name)
	}
	if !isFloatDType(t.info.DType) {
		// Checked here too so we do not allocate for a tensor we cannot read.
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, which cannot be read as float32 (want %s)", f.format, name, t.info.DType, floatDTypes)
	}
	if t.count > math.MaxInt {
		return nil, fmt.Errorf("%s: tensor %q has %d elements, too many for this platform", f.format, name, t.count)
	}
	dst := make([]float32, t.count)
	if err := f.ReadFloat32(name, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// littleEndianHost reports whether float32s are stored little-endian in memory, as in the file.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decodeFloats converts the little-endian elements in src into dst and
// returns how many it converted. src holds whole elements of dtype.
func decodeFloats(dst []float32, src []byte, dtype string) int {
	switch dtype {
	case "F32":
		n := len(src) / 4
		for i := range n {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
		return n
	case "F16":
		n := len(src) / 2
		for i := range n {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
		return n
	case "BF16":
		n := len(src) / 2
		for i := range n {
			// BF16 is the top half of an IEEE float32.
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
		return n
	case "F64":
		n := len(src) / 8
		for i := range n {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
		return n
	}
	return 0 // unreachable: callers check isFloatDType
}

// f16ToF32 converts an IEEE 754 half-precision value to float32. Every half
// value, subnormals included, is exactly representable in float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // Inf or NaN; shifting keeps the NaN payload and its quiet bit.
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // Zero or subnormal: mant * 2^-24, which float32 holds exactly.
		f := float32(mant) / (1 << 24)
		return math.Float32frombits(sign | math.Float32bits(f))
	default: // Normal: rebias the exponent from 15 to 127.
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// readFullAt fills b from r at off. io.ReaderAt may return io.EOF together
// with a full read at the end of the input; that is success.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// mulNonNeg returns a*b for non-negative a and b, and false on int64 overflow.
func mulNonNeg(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > math.MaxInt64/b {
		return 0, false
	}
	return a * b, true
}

// checkOverlaps rejects files in which two tensors share bytes, since writing
// through one would silently change the other. Zero-size tensors occupy no
// bytes and may sit anywhere.
func checkOverlaps(tensors map[string]tensorEntry) error {
	var spans []TensorInfo
	for _, t := range tensors {
		if t.info.End > t.info.Begin {
			spans = append(spans, t.info)
		}
	}
	// Sorting by name too makes the reported pair deterministic.
	slices.SortFunc(spans, func(a, b TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), strings.Compare(a.Name, b.Name))
	})
	// With spans sorted by start, any overlap shows up between neighbours.
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		if cur.Begin < prev.End {
			return fmt.Errorf("safetensors: tensors %q (file bytes %d-%d) and %q (file bytes %d-%d) overlap",
				prev.Name, prev.Begin, prev.End, cur.Name, cur.Begin, cur.End)
		}
	}
	return nil
}
