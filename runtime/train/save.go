package train

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	rt "github.com/cnngen/cnngen/runtime"
)

// Save writes the state_dict (parameters, buffers and counters) as safetensors under the
// names given, which are the ones the inference package's loader expects (torchvision's),
// so the file loads unchanged with the generated package's Load, runtime.OpenWeights,
// cnngen -weights and torch (tools/st.py).
//
// Floats are F32; counters (num_batches_tracked) are 0-dimensional I64, as torch's
// state_dict holds them. runtime.WriteSafetensors writes only F32, so a file without
// counters is written by it, byte for byte; with counters the same layout (names sorted,
// metadata first, header padded with spaces to 8 bytes) is written here, with the I64
// tensors in their sorted places: the bytes tools/st.py writes for the same state_dict.
func (ps *Params) Save(w io.Writer, metadata map[string]string) error {
	tensors := make([]rt.Tensor, 0, len(ps.Params)+len(ps.Buffers))
	for _, p := range ps.Params {
		tensors = append(tensors, rt.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	for _, b := range ps.Buffers {
		tensors = append(tensors, rt.Tensor{Name: b.Name, Shape: b.Shape, Data: b.Value})
	}
	if len(ps.Counters) == 0 {
		return rt.WriteSafetensors(w, tensors, metadata)
	}
	return writeWithCounters(w, tensors, ps.Counters, metadata)
}

// SaveFile writes Save's output to path through a temporary file in the same directory,
// renamed into place once complete, so a crash mid-save never leaves a truncated
// checkpoint where a good one was.
func (ps *Params) SaveFile(path string, metadata map[string]string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = ps.Save(bw, metadata); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type entry struct {
	name    string
	shape   []int
	f32     []float32
	i64     int64
	isCount bool
}

func (e entry) size() int64 {
	if e.isCount {
		return 8
	}
	return 4 * int64(len(e.f32))
}

func writeWithCounters(w io.Writer, tensors []rt.Tensor, counters []*Counter, metadata map[string]string) error {
	var all []entry
	for _, t := range tensors {
		if elems(t.Shape) != len(t.Data) {
			return fmt.Errorf("train: save: tensor %q: shape %v has %d elements, data has %d", t.Name, t.Shape, elems(t.Shape), len(t.Data))
		}
		all = append(all, entry{name: t.Name, shape: t.Shape, f32: t.Data})
	}
	for _, c := range counters {
		all = append(all, entry{name: c.Name, i64: c.Value, isCount: true})
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(all); i++ {
		if all[i].name == all[i-1].name {
			return fmt.Errorf("train: save: duplicate tensor %q", all[i].name)
		}
	}

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		h.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	var off int64
	for i, e := range all {
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, e.name)
		dtype := "F32"
		if e.isCount {
			dtype = "I64"
		}
		fmt.Fprintf(&h, `:{"dtype":%q,"shape":[`, dtype)
		for j, d := range e.shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, off+e.size())
		off += e.size()
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(h.Len()))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(prefix[:])
	bw.Write(h.Bytes())
	var b [8]byte
	for _, e := range all {
		if e.isCount {
			binary.LittleEndian.PutUint64(b[:], uint64(e.i64))
			bw.Write(b[:])
			continue
		}
		for _, v := range e.f32 {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			bw.Write(b[:4])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	return nil
}

// writeJSONString writes s as JSON the way runtime.WriteSafetensors does: only quotes,
// backslashes and control characters escaped (json.Marshal would also escape <, > and &).
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

// Load reads weights into ps from r, a safetensors file or a PyTorch checkpoint (whatever
// runtime.OpenWeights reads), to fine-tune from pretrained weights or resume. Every
// parameter, buffer and counter must be in the file with its shape, except those under one
// of the except prefixes (a new head: "fc"), which keep their values. Tensors of the file
// that ps does not have are an error, so a misnamed file cannot half-load.
func (ps *Params) Load(r io.ReaderAt, except ...string) error {
	f, err := rt.OpenWeights(r)
	if err != nil {
		return err
	}
	skip := func(name string) bool {
		for _, pre := range except {
			if HasPrefix(name, pre) {
				return true
			}
		}
		return false
	}
	var errs []error
	used := map[string]bool{}
	read := func(name string, shape []int, dst []float32) {
		used[name] = true
		if skip(name) {
			return
		}
		info, ok := f.Info(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: missing from the file", name))
		case !slices.Equal(info.Shape, shape):
			errs = append(errs, fmt.Errorf("%s: shape %v in the file, want %v", name, info.Shape, shape))
		default:
			if err := f.ReadFloat32(name, dst); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, p := range ps.Params {
		read(p.Name, p.Shape, p.Value)
	}
	for _, b := range ps.Buffers {
		read(b.Name, b.Shape, b.Value)
	}
	for _, c := range ps.Counters {
		used[c.Name] = true
		if skip(c.Name) {
			continue
		}
		v, err := readCounter(r, f, c.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Value = v
	}
	for _, name := range f.Names() {
		if !used[name] && !skip(name) {
			errs = append(errs, fmt.Errorf("%s: in the file but not in the network", name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: load: %w", errors.Join(errs...))
	}
	return nil
}

// readCounter reads an I64 (or I32) scalar. runtime.File reads only floats, but its
// TensorInfo gives the absolute offsets of a tensor's bytes in r, which are contiguous for a
// scalar in both formats.
func readCounter(r io.ReaderAt, f *rt.File, name string) (int64, error) {
	info, ok := f.Info(name)
	if !ok {
		return 0, fmt.Errorf("%s: missing from the file", name)
	}
	if elems(info.Shape) != 1 {
		return 0, fmt.Errorf("%s: shape %v in the file, want a scalar", name, info.Shape)
	}
	var b [8]byte
	n := map[string]int{"I64": 8, "I32": 4}[info.DType]
	if n == 0 {
		return 0, fmt.Errorf("%s: dtype %s in the file, want I64", name, info.DType)
	}
	// A ReaderAt may report io.EOF along with a full read that ends the file.
	if k, err := r.ReadAt(b[:n], info.Begin); k < n {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if n == 4 {
		return int64(int32(binary.LittleEndian.Uint32(b[:4]))), nil
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}
