package runtime

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// PyTorch checkpoints (.pth, .pt): what torch.save(model.state_dict(), path) writes and what
// torchvision downloads. Since torch 1.6 that is a zip archive:
//
//	NAME/data.pkl     the state_dict, pickled; each tensor's storage is a persistent id
//	                  ("storage", torch.FloatStorage, KEY, location, element count)
//	NAME/data/KEY     each storage's raw little-endian elements, stored uncompressed
//	NAME/version, NAME/byteorder (torch >= 2.1), ...
//
// Before, it was the legacy format (pth_legacy.go): pickles one after another, then the
// storages' elements. Either way the tensors' bytes are ranges of the file, so opening one
// gives the same *File as a safetensors file: every tensor's dtype, shape and extent is checked
// before any tensor is read, and tensors are then read in place by ReadAt.
//
// The pickle is read by a restricted unpickler (pth_pickle.go) that knows only the globals a
// state_dict names; nothing in a checkpoint is ever run.

// maxTensorDims caps a checkpoint tensor's rank (torch allows 64).
const maxTensorDims = 64

// OpenPth parses and validates the PyTorch checkpoint held by r, which must be size bytes
// long: a zip (torch.save since 1.6) or the legacy format. It reads the pickled state_dict and
// the archive's directory but no tensor data. Tensors read as weights must be float32, float16,
// bfloat16 or float64 (integer buffers such as num_batches_tracked are listed, and refused if
// read); they may have any strides (channels_last, a transpose) that do not make a tensor hold
// more elements than it spans in its storage.
func OpenPth(r io.ReaderAt, size int64) (*File, error) {
	head := make([]byte, min(size, 32))
	if err := readFullAt(r, head, 0); err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	switch {
	case isZip(head):
		return openPthZip(r, size)
	case isLegacyPth(head):
		return openPthLegacy(r, size)
	}
	return nil, errors.New("pth: neither a zip (torch.save since torch 1.6) nor a legacy PyTorch checkpoint")
}

// isZip reports whether a file starts like a zip: an entry's local header, or the end record of
// an empty archive. As safetensors, these bytes would announce a 67 MB header not starting
// with '{'.
func isZip(head []byte) bool {
	s := string(head[:min(len(head), 4)])
	return s == "PK\x03\x04" || s == "PK\x05\x06"
}

func openPthZip(r io.ReaderAt, size int64) (*File, error) {
	z, err := openZip(r, size)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	// torch names the entries after the archive ("archive/data.pkl", "resnet18/data.pkl").
	var pkls []string
	for name := range z.entries {
		if dir, base, ok := strings.Cut(name, "/"); ok && dir != "" && base == "data.pkl" {
			pkls = append(pkls, name)
		}
	}
	switch len(pkls) {
	case 0:
		return nil, errors.New("pth: no NAME/data.pkl in the zip: not a PyTorch checkpoint")
	case 1:
	default:
		slices.Sort(pkls)
		return nil, fmt.Errorf("pth: a checkpoint zip has one NAME/data.pkl, this has %d: %q", len(pkls), pkls)
	}
	prefix := strings.TrimSuffix(pkls[0], "data.pkl")
	if e := z.entries[prefix+"byteorder"]; e != nil {
		b, err := z.read(e, 16)
		if err != nil {
			return nil, fmt.Errorf("pth: %w", err)
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("pth: byte order %q: only little-endian checkpoints are supported", b)
		}
	}
	data, err := z.read(z.entries[pkls[0]], maxPickleBytes)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	st := &storageTable{}
	top, _, err := newUnpickler(data, st.ref).load()
	if err != nil {
		return nil, fmt.Errorf("pth: %s: %w", pkls[0], err)
	}
	return pthFile(r, top, func(s *pyStorage) (int64, error) {
		name := prefix + "data/" + s.key
		e := z.entries[name]
		if e == nil {
			return 0, fmt.Errorf("pth: storage %q has no entry %s", s.key, name)
		}
		at, err := z.dataAt(e)
		if err != nil {
			return 0, fmt.Errorf("pth: %w", err)
		}
		if n, ok := mulNonNeg(s.numel, dtypeSizes[s.dtype]); !ok || uint64(n) != e.usize {
			return 0, fmt.Errorf("pth: storage %q: %d bytes in %s, but the pickle says %d elements of %s", s.key, e.usize, name, s.numel, s.dtype)
		}
		return at, nil
	})
}

// storageTable resolves the persistent ids of a pickle to storages, one per key.
type storageTable struct {
	legacy bool                  // ids have a sixth element, a view or None
	roots  map[string]*pyStorage // by key
	views  map[string]*pyStorage // legacy views, by view key
}

// ref resolves ("storage", storage class, key, location, element count[, view]).
func (t *storageTable) ref(pid pyTuple) (any, error) {
	want := 5
	if t.legacy {
		want = 6
	}
	if len(pid) != want || pid[0] != "storage" {
		return nil, fmt.Errorf("persistent id is not a storage reference of %d elements", want)
	}
	g, ok := pid[1].(pyGlobal)
	key, ok2 := pid[2].(string)
	_, ok3 := pid[3].(string)
	numel, ok4 := pid[4].(int64)
	if !ok || g.dtype == "" || !ok2 || !ok3 || !ok4 || numel < 0 {
		return nil, fmt.Errorf("storage reference (%s, %s, %s, %s): want a storage class, a key, a location and a count", typeName(pid[1]), typeName(pid[2]), typeName(pid[3]), typeName(pid[4]))
	}
	if t.roots == nil {
		t.roots, t.views = map[string]*pyStorage{}, map[string]*pyStorage{}
	}
	s := t.roots[key]
	if s == nil {
		s = &pyStorage{key: key, dtype: g.dtype, numel: numel, count: numel}
		t.roots[key] = s
	} else if s.dtype != g.dtype || s.numel != numel {
		return nil, fmt.Errorf("storage %q is %d elements of %s, and elsewhere %d of %s", key, numel, g.dtype, s.numel, s.dtype)
	}
	if !t.legacy || pid[5] == nil {
		return s, nil
	}
	// A legacy view: (view key, offset, count) in elements of the storage named key.
	v, ok := pid[5].(pyTuple)
	if !ok || len(v) != 3 {
		return nil, fmt.Errorf("storage %q: view is %s, not (key, offset, size)", key, typeName(pid[5]))
	}
	vkey, ok1 := v[0].(string)
	off, ok2 := v[1].(int64)
	n, ok3 := v[2].(int64)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("storage %q: view (%s, %s, %s): want (key, offset, size)", key, typeName(v[0]), typeName(v[1]), typeName(v[2]))
	}
	if off < 0 || n < 0 || off > numel || n > numel-off {
		return nil, fmt.Errorf("storage %q: view of %d elements from %d is not inside its %d elements", key, n, off, numel)
	}
	if old := t.views[vkey]; old != nil {
		if old.key != key || old.offset != off || old.count != n {
			return nil, fmt.Errorf("storage view %q is defined twice", vkey)
		}
		return old, nil
	}
	view := &pyStorage{key: key, dtype: g.dtype, numel: numel, offset: off, count: n}
	t.views[vkey] = view
	return view, nil
}

// pthFile indexes an unpickled state_dict. locate gives the file offset of a storage's first
// element (once per key), having checked that all its elements lie in the file.
func pthFile(r io.ReaderAt, top any, locate func(*pyStorage) (int64, error)) (*File, error) {
	d, ok := top.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("pth: the checkpoint holds %s, not a state_dict (a dict of tensors)", typeName(top))
	}
	d, err := stateDictIn(d)
	if err != nil {
		return nil, err
	}
	f := &File{r: r, format: "pth", tensors: make(map[string]tensorEntry, len(d.keys)), metadata: map[string]string{}}
	bases := map[string]int64{}
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("pth: state_dict key %d is %s, not a name", i, typeName(k))
		}
		t, ok := d.values[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("pth: %q is %s, not a tensor: save model.state_dict() itself", name, typeName(d.values[i]))
		}
		if _, dup := f.tensors[name]; dup {
			return nil, fmt.Errorf("pth: tensor %q appears twice", name)
		}
		base, ok := bases[t.storage.key]
		if !ok {
			var err error
			if base, err = locate(t.storage); err != nil {
				return nil, err
			}
			bases[t.storage.key] = base
		}
		e, err := t.entry(name, base)
		if err != nil {
			return nil, err
		}
		f.tensors[name] = e
		f.names = append(f.names, name)
	}
	slices.Sort(f.names)
	// Tensors may share a storage (tied weights, views): unlike in safetensors, overlapping
	// tensors are allowed, as nothing is ever written through them.
	return f, nil
}

// stateDictKeys are the keys under which training code saves a model's state_dict beside other
// things (epoch, optimizer state): torchvision's reference scripts' "model", PyTorch Lightning's
// "state_dict", the PyTorch tutorials' "model_state_dict"; in this order when several hold one
// (the model, then an EMA copy's "model_ema").
var stateDictKeys = []string{"model", "state_dict", "model_state_dict", "net", "network"}

// stateDictIn returns the state_dict d holds: d itself, when it maps names to tensors, or else
// the one entry of d (a training checkpoint) that does; of several, the first of
// stateDictKeys.
func stateDictIn(d *pyDict) (*pyDict, error) {
	if isStateDict(d) || len(d.keys) == 0 {
		return d, nil
	}
	var found []string
	sub := map[string]*pyDict{}
	for i, k := range d.keys {
		name, ok := k.(string)
		v, isDict := d.values[i].(*pyDict)
		if ok && isDict && isStateDict(v) && len(v.keys) > 0 && sub[name] == nil {
			found = append(found, name)
			sub[name] = v
		}
	}
	switch {
	case len(found) == 1:
		return sub[found[0]], nil
	case len(found) > 1:
		for _, k := range stateDictKeys {
			if sub[k] != nil {
				return sub[k], nil
			}
		}
		return nil, fmt.Errorf("pth: the checkpoint holds several state_dicts (%q): save the one to load with torch.save(model.state_dict(), path)", found)
	}
	return d, nil // not a checkpoint of a state_dict: pthFile names the first value that is no tensor
}

// isStateDict reports whether d maps names to tensors.
func isStateDict(d *pyDict) bool {
	for i, k := range d.keys {
		if _, ok := k.(string); !ok {
			return false
		}
		if _, ok := d.values[i].(*pyTensor); !ok {
			return false
		}
	}
	return true
}

// entry checks a tensor against its storage, whose first element is at file offset base.
func (t *pyTensor) entry(name string, base int64) (tensorEntry, error) {
	fail := func(format string, args ...any) (tensorEntry, error) {
		return tensorEntry{}, fmt.Errorf("pth: tensor %q: "+format, append([]any{name}, args...)...)
	}
	s := t.storage
	switch {
	case len(t.shape) != len(t.stride):
		return fail("size %v and stride %v differ in length", t.shape, t.stride)
	case len(t.shape) > maxTensorDims:
		return fail("%d dimensions, more than %d", len(t.shape), maxTensorDims)
	case t.offset < 0:
		return fail("negative storage offset %d", t.offset)
	}
	shape := make([]int, len(t.shape))
	count := int64(1)
	for i, d := range t.shape {
		if d < 0 || t.stride[i] < 0 {
			return fail("negative size or stride (size %v, stride %v)", t.shape, t.stride)
		}
		if d > math.MaxInt {
			return fail("dimension %d in size %v is too large for this platform", d, t.shape)
		}
		shape[i] = int(d)
		var ok bool
		if count, ok = mulNonNeg(count, d); !ok {
			return fail("size %v has too many elements", t.shape)
		}
	}
	elem := dtypeSizes[s.dtype]
	e := tensorEntry{count: count}
	begin, span := base, int64(0)
	if count > 0 {
		// Row-major strides (any stride for a dimension of 1, as torch's is_contiguous) read
		// count elements in place; others (channels_last, a transpose) read the span from the
		// first element to the last and gather.
		rowMajor, want := true, int64(1)
		span = 1
		for i := len(shape) - 1; i >= 0; i-- {
			if t.shape[i] != 1 && t.stride[i] != want {
				rowMajor = false
			}
			want *= t.shape[i]
			step, ok := mulNonNeg(t.shape[i]-1, t.stride[i])
			if span, ok = addNonNeg(span, step, ok); !ok {
				return fail("size %v and stride %v reach too far", t.shape, t.stride)
			}
		}
		if rowMajor {
			span = count
		} else if count > span {
			// Then elements repeat: strides of 0 (an expanded tensor) would let a few bytes of
			// file claim any size. Refusing these bounds every tensor by its storage's bytes.
			return fail("size %v and stride %v repeat elements: save it made .contiguous()", t.shape, t.stride)
		} else {
			e.stride, e.span = t.stride, span
		}
		if t.offset > s.count || span > s.count-t.offset {
			return fail("elements [%d, %d+%d) run past the %d of its storage %q", t.offset, t.offset, span, s.count, s.key)
		}
		// No overflow: locate checked that the storage's numel*elem bytes from base are in the file.
		begin = base + (s.offset+t.offset)*elem
	}
	e.info = TensorInfo{Name: name, DType: s.dtype, Shape: shape, Begin: begin, End: begin + span*elem}
	return e, nil
}

// addNonNeg returns a+b for non-negative a and b, and false on overflow or when ok is false.
func addNonNeg(a, b int64, ok bool) (int64, bool) {
	if !ok || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// readStrided reads a tensor with strides that are not row-major: its span of elements, then
// each element where its strides put it.
func (f *File) readStrided(name string, t tensorEntry, dst []float32) error {
	if t.span > math.MaxInt {
		return fmt.Errorf("%s: tensor %q spans %d elements, too many for this platform", f.format, name, t.span)
	}
	src := make([]float32, t.span)
	if err := f.readElems(name, t.info.Begin, t.info.DType, src); err != nil {
		return err
	}
	shape := t.info.Shape
	idx := make([]int, len(shape))
	at := int64(0) // src index of the element at idx
	for i := range dst {
		dst[i] = src[at]
		for d := len(shape) - 1; d >= 0; d-- { // idx++ in row-major order
			if idx[d]++; idx[d] < shape[d] {
				at += t.stride[d]
				break
			}
			at -= t.stride[d] * int64(shape[d]-1)
			idx[d] = 0
		}
	}
	return nil
}
