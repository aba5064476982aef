package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

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
