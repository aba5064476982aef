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
	"strconv"
	"strings"
	"unicode/utf8"
)

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
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
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
