package runtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// This file reads and writes the safetensors format
// (https://github.com/huggingface/safetensors):
//
//	[8 bytes: little-endian uint64 N][N bytes: JSON header][tensor data]
//
// The header maps tensor names to {"dtype", "shape", "data_offsets"}, with
// offsets relative to the first byte after the header, plus an optional
// "__metadata__" object of string values. Tensor data is little-endian and
// row-major.

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

// floatDTypes can be converted to float32 by ReadFloat32.
func isFloatDType(dtype string) bool {
	switch dtype {
	case "F32", "F16", "BF16", "F64":
		return true
	}
	return false
}

// TensorInfo describes one tensor of a safetensors file. Begin and End are
// absolute byte offsets in the file (not relative to the data section).
type TensorInfo struct {
	Name, DType string
	Shape       []int
	Begin, End  int64
}

// File is an opened safetensors file whose header has been parsed and
// validated. It reads tensor data lazily from the io.ReaderAt it was opened
// with, so it is safe for concurrent use if that reader is (as *os.File and
// *bytes.Reader are).
type File struct {
	r        io.ReaderAt
	tensors  map[string]tensorEntry
	names    []string // sorted
	metadata map[string]string
}

type tensorEntry struct {
	info  TensorInfo
	count int64 // number of elements
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
	sort.Strings(f.names)
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
// not nil, when the file has none.
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
		return fmt.Errorf("safetensors: no tensor %q in file", name)
	}
	dtype := t.info.DType
	if !isFloatDType(dtype) {
		return fmt.Errorf("safetensors: tensor %q has dtype %s, which cannot be read as float32 (want F32, F16, BF16 or F64)", name, dtype)
	}
	if int64(len(dst)) != t.count {
		return fmt.Errorf("safetensors: tensor %q has %d elements (shape %v), destination has %d", name, t.count, t.info.Shape, len(dst))
	}
	if dtype == "F32" && littleEndianHost && len(dst) > 0 {
		// The file's bytes are already dst's in-memory representation: read them in place,
		// with no staging buffer or per-element decoding (most of Load's time otherwise).
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
		if err := readFullAt(f.r, b, t.info.Begin); err != nil {
			return fmt.Errorf("safetensors: reading tensor %q: %w", name, err)
		}
		return nil
	}
	elem := dtypeSizes[dtype]
	buf := make([]byte, min(ioChunk, t.info.End-t.info.Begin))
	off := t.info.Begin
	for len(dst) > 0 {
		b := buf[:min(int64(len(buf)), int64(len(dst))*elem)]
		if err := readFullAt(f.r, b, off); err != nil {
			return fmt.Errorf("safetensors: reading tensor %q: %w", name, err)
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
		return nil, fmt.Errorf("safetensors: no tensor %q in file", name)
	}
	if !isFloatDType(t.info.DType) {
		// Checked here too so we do not allocate for a tensor we cannot read.
		return nil, fmt.Errorf("safetensors: tensor %q has dtype %s, which cannot be read as float32 (want F32, F16, BF16 or F64)", name, t.info.DType)
	}
	if t.count > math.MaxInt {
		return nil, fmt.Errorf("safetensors: tensor %q has %d elements, too many for this platform", name, t.count)
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

// headerEntry is one tensor as written in the JSON header, before validation.
type headerEntry struct {
	name    string
	dtype   string
	shape   []int64
	offsets []int64
}

// parseHeader decodes the JSON header. It walks tokens instead of using
// json.Unmarshal because Unmarshal silently keeps the last of duplicate keys,
// and a file whose meaning depends on which duplicate wins must be rejected.
func parseHeader(header []byte) ([]headerEntry, map[string]string, error) {
	if !utf8.Valid(header) {
		// encoding/json would silently replace invalid bytes, changing names.
		return nil, nil, errors.New("safetensors: header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	var entries []headerEntry
	metadata := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		key, err := readString(dec)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: header: %w", err)
		}
		if seen[key] {
			if key == metadataKey {
				return nil, nil, fmt.Errorf("safetensors: header has duplicate %q", metadataKey)
			}
			return nil, nil, fmt.Errorf("safetensors: header has duplicate tensor %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			if metadata, err = parseMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseEntry(dec, key)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	// Only whitespace may follow; the reference writer pads with spaces.
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: header: data after the JSON object: %w", err)
		}
		return nil, nil, fmt.Errorf("safetensors: header: data after the JSON object: %v", tok)
	}
	return entries, metadata, nil
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := nextToken(dec)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %q: %w", metadataKey, err)
	}
	metadata := map[string]string{}
	if tok == nil {
		return metadata, nil // the reference implementation accepts null as "no metadata"
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("safetensors: header: %q must be an object of strings, got %s", metadataKey, describeToken(tok))
	}
	for dec.More() {
		key, err := readString(dec)
		if err != nil {
			return nil, fmt.Errorf("safetensors: header: %q: %w", metadataKey, err)
		}
		if _, dup := metadata[key]; dup {
			return nil, fmt.Errorf("safetensors: header: %q has duplicate key %q", metadataKey, key)
		}
		val, err := readString(dec)
		if err != nil {
			return nil, fmt.Errorf("safetensors: header: %q key %q: value must be a string: %w", metadataKey, key, err)
		}
		metadata[key] = val
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("safetensors: header: %q: %w", metadataKey, err)
	}
	return metadata, nil
}

func parseEntry(dec *json.Decoder, name string) (headerEntry, error) {
	e := headerEntry{name: name}
	fail := func(format string, args ...any) (headerEntry, error) {
		return headerEntry{}, fmt.Errorf("safetensors: tensor %q: "+format, append([]any{name}, args...)...)
	}
	if err := expectDelim(dec, '{'); err != nil {
		return fail("entry must be an object with dtype, shape and data_offsets: %v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		field, err := readString(dec)
		if err != nil {
			return fail("%v", err)
		}
		if seen[field] {
			return fail("duplicate field %q", field)
		}
		seen[field] = true
		switch field {
		case "dtype":
			e.dtype, err = readString(dec)
		case "shape":
			e.shape, err = readInts(dec)
		case "data_offsets":
			e.offsets, err = readInts(dec)
		default:
			return fail("unknown field %q", field)
		}
		if err != nil {
			return fail("%s: %v", field, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fail("%v", err)
	}
	for _, field := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[field] {
			return fail("missing field %q", field)
		}
	}
	return e, nil
}

// validate checks the entry against the data section, which starts at file
// offset dataStart and is dataSize bytes long.
func (e headerEntry) validate(dataStart, dataSize int64) (tensorEntry, error) {
	fail := func(format string, args ...any) (tensorEntry, error) {
		return tensorEntry{}, fmt.Errorf("safetensors: tensor %q: "+format, append([]any{e.name}, args...)...)
	}
	elem, ok := dtypeSizes[e.dtype]
	if !ok {
		return fail("unsupported dtype %q", e.dtype)
	}
	shape := make([]int, len(e.shape))
	count := int64(1)
	for i, d := range e.shape {
		if d < 0 {
			return fail("negative dimension %d in shape %v", d, e.shape)
		}
		if d > math.MaxInt {
			return fail("dimension %d in shape %v is too large for this platform", d, e.shape)
		}
		shape[i] = int(d)
		count, ok = mulNonNeg(count, d)
		if !ok {
			return fail("shape %v has too many elements", e.shape)
		}
	}
	nbytes, ok := mulNonNeg(count, elem)
	if !ok {
		return fail("shape %v of %s is too many bytes", e.shape, e.dtype)
	}
	if len(e.offsets) != 2 {
		return fail("data_offsets must be [begin, end], got %v", e.offsets)
	}
	begin, end := e.offsets[0], e.offsets[1]
	if begin < 0 || begin > end {
		return fail("invalid data_offsets [%d, %d]", begin, end)
	}
	if end > dataSize {
		return fail("data_offsets [%d, %d] extend past the %d bytes of data (truncated file?)", begin, end, dataSize)
	}
	if end-begin != nbytes {
		return fail("data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", begin, end, end-begin, e.shape, e.dtype, nbytes)
	}
	return tensorEntry{
		info: TensorInfo{
			Name:  e.name,
			DType: e.dtype,
			Shape: shape,
			Begin: dataStart + begin, // cannot overflow: begin <= dataSize = size - dataStart
			End:   dataStart + end,
		},
		count: count,
	}, nil
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
		if c := compareInt64(a.Begin, b.Begin); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
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

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nextToken is dec.Token for use inside the header object, where running
// out of input means the JSON is truncated; a bare "EOF" would not say so.
func nextToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = errors.New("header JSON ends early")
	}
	return tok, err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := nextToken(dec)
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("expected %v, got %s", want, describeToken(tok))
	}
	return nil
}

func readString(dec *json.Decoder) (string, error) {
	tok, err := nextToken(dec)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %s", describeToken(tok))
	}
	return s, nil
}

// readInts reads a JSON array of integers. Non-integral or out-of-range
// numbers are errors rather than being rounded.
func readInts(dec *json.Decoder) ([]int64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, fmt.Errorf("want an array of integers: %w", err)
	}
	ints := []int64{}
	for dec.More() {
		tok, err := nextToken(dec)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want an array of integers, got %s", describeToken(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer in the int64 range", num)
		}
		ints = append(ints, v)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	return ints, nil
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return string(v)
	case string:
		return strconv.Quote(v)
	default:
		return fmt.Sprint(v)
	}
}

// Expect names a tensor the network needs and the shape it must have.
// Optional tensors (training-only heads such as GoogLeNet's aux1.*) may be
// absent from the file, but if present their shape is still checked.
type Expect struct {
	Name     string
	Shape    []int
	Optional bool
}

// ShapeMismatch is a tensor whose shape in the file differs from the one the
// network needs.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// DTypeMismatch is an expected tensor stored with a dtype that cannot be read
// as float32 weights.
type DTypeMismatch struct {
	Name, DType string
}

// MismatchError reports every way a file differs from what the network
// needs, so a user fixing an export sees all problems at once. Each list is
// sorted by name.
type MismatchError struct {
	Missing    []string        // needed but not in the file
	Unexpected []string        // in the file but not needed
	Shapes     []ShapeMismatch // present with the wrong shape
	DTypes     []DTypeMismatch // present with a non-float dtype
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	n := len(e.Missing) + len(e.Unexpected) + len(e.Shapes) + len(e.DTypes)
	fmt.Fprintf(&b, "safetensors: weights do not match the network (%d problems):", n)
	for _, name := range e.Missing {
		fmt.Fprintf(&b, "\n%s: missing from file", name)
	}
	for _, name := range e.Unexpected {
		fmt.Fprintf(&b, "\n%s: in file but not used by the network", name)
	}
	for _, s := range e.Shapes {
		fmt.Fprintf(&b, "\n%s: shape %v in file, want %v", s.Name, s.Got, s.Want)
	}
	for _, d := range e.DTypes {
		fmt.Fprintf(&b, "\n%s: dtype %s in file, want F32, F16, BF16 or F64", d.Name, d.DType)
	}
	return b.String()
}

// Check compares the file with the tensors the network needs and returns a
// *MismatchError listing all differences, or nil if there are none. Tensors
// named "...num_batches_tracked" (a BatchNorm training counter that PyTorch
// exports) are ignored when found in the file but not expected.
func (f *File) Check(expected []Expect) error {
	var m MismatchError
	want := make(map[string]bool, len(expected))
	for _, exp := range expected {
		if want[exp.Name] {
			// A bug in the caller, not in the file.
			return fmt.Errorf("safetensors: Check: tensor %q expected twice", exp.Name)
		}
		want[exp.Name] = true
		t, ok := f.tensors[exp.Name]
		if !ok {
			if !exp.Optional {
				m.Missing = append(m.Missing, exp.Name)
			}
			continue
		}
		if !slices.Equal(t.info.Shape, exp.Shape) {
			m.Shapes = append(m.Shapes, ShapeMismatch{
				Name: exp.Name,
				Want: slices.Clone(exp.Shape),
				Got:  slices.Clone(t.info.Shape),
			})
		}
		if !isFloatDType(t.info.DType) {
			m.DTypes = append(m.DTypes, DTypeMismatch{Name: exp.Name, DType: t.info.DType})
		}
	}
	for _, name := range f.names {
		if !want[name] && !strings.HasSuffix(name, "num_batches_tracked") {
			m.Unexpected = append(m.Unexpected, name)
		}
	}
	if len(m.Missing)+len(m.Unexpected)+len(m.Shapes)+len(m.DTypes) == 0 {
		return nil
	}
	sort.Strings(m.Missing)
	slices.SortFunc(m.Shapes, func(a, b ShapeMismatch) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(m.DTypes, func(a, b DTypeMismatch) int { return strings.Compare(a.Name, b.Name) })
	return &m
}

// Tensor is a named float32 tensor to write with WriteSafetensors.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteSafetensors writes tensors as F32 in the safetensors format. The
// output is deterministic: tensors and metadata keys are sorted by name and,
// like the reference implementation, the header is padded with spaces to a
// multiple of 8 bytes so the data section stays 8-byte aligned.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range sorted {
		if err := checkWriteTensor(t); err != nil {
			return err
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("safetensors: duplicate tensor %q", t.Name)
		}
	}

	header, err := encodeHeader(sorted, metadata)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	buf := make([]byte, 0, ioChunk)
	for _, t := range sorted {
		data := t.Data
		for len(data) > 0 {
			k := min(len(data), ioChunk/4)
			buf = buf[:4*k]
			for i, v := range data[:k] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("safetensors: writing tensor %q: %w", t.Name, err)
			}
			data = data[k:]
		}
	}
	return nil
}

func checkWriteTensor(t Tensor) error {
	switch {
	case t.Name == "":
		return errors.New("safetensors: tensor with empty name")
	case t.Name == metadataKey:
		return fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
	case !utf8.ValidString(t.Name):
		return fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
	}
	count := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		var ok bool
		if count, ok = mulNonNeg(count, int64(d)); !ok {
			return fmt.Errorf("safetensors: tensor %q: shape %v has too many elements", t.Name, t.Shape)
		}
	}
	if count != int64(len(t.Data)) {
		return fmt.Errorf("safetensors: tensor %q: shape %v has %d elements, data has %d", t.Name, t.Shape, count, len(t.Data))
	}
	return nil
}

// encodeHeader builds the JSON header, already padded. Field order follows
// the reference implementation: metadata first, then dtype, shape,
// data_offsets per tensor.
func encodeHeader(sorted []Tensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		for i, k := range keys {
			v := metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, v)
		}
		b.WriteByte('}')
	}
	var offset int64
	for i, t := range sorted {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + 4*int64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string. It does not use json.Marshal,
// which escapes <, > and & for HTML; names like "a<b" should stay readable.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
