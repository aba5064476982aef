package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The legacy checkpoint format (torch.save before 1.6, or with
// _use_new_zipfile_serialization=False), as torch.serialization._legacy_save writes it:
//
//	pickle: the magic number 0x1950a86a20f9469cfc6c
//	pickle: the format version, 1001
//	pickle: system info, {"protocol_version", "little_endian", "type_sizes"}
//	pickle: the state_dict; storages are persistent ids
//	        ("storage", torch.FloatStorage, KEY, location, element count, view or None)
//	pickle: the list of storage keys
//	then for each key in that order: its element count (int64) and its raw elements.
//
// The pickles carry no lengths: each is read through a window of the file that grows until
// its STOP is inside, up to maxPickleBytes.

// legacyMagic is the magic number's LONG1 operand: little-endian, 10 bytes.
var legacyMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// isLegacyPth reports whether a file starts with the legacy magic pickle: PROTO 2 to 5, an
// optional FRAME (protocol 4 and up), then LONG1 of the magic number. As safetensors, these
// bytes would announce a header larger than any file.
func isLegacyPth(head []byte) bool {
	if len(head) < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5 {
		return false
	}
	rest := head[2:]
	if len(rest) >= 9 && rest[0] == 0x95 {
		rest = rest[9:]
	}
	return bytes.HasPrefix(rest, append([]byte{0x8a, byte(len(legacyMagic))}, legacyMagic...))
}

func openPthLegacy(r io.ReaderAt, size int64) (*File, error) {
	var off int64
	next := func(what string, st *storageTable) (any, error) {
		v, n, err := unpickleAt(r, off, size, st)
		if err != nil {
			return nil, fmt.Errorf("pth: %s (pickle at byte %d): %w", what, off, err)
		}
		off += n
		return v, nil
	}
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(pyLong); !ok || !bytes.Equal(m, legacyMagic) {
		return nil, errors.New("pth: wrong magic number: not a legacy PyTorch checkpoint")
	}
	version, err := next("format version", nil)
	if err != nil {
		return nil, err
	}
	if v, ok := version.(int64); !ok || v != 1001 {
		return nil, fmt.Errorf("pth: legacy format version is %s, want 1001", typeName(version))
	}
	info, err := next("system info", nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pyDict); ok {
		for i, k := range d.keys {
			if k == "little_endian" && d.values[i] != true {
				return nil, errors.New("pth: saved on a big-endian machine: only little-endian checkpoints are supported")
			}
		}
	}
	st := &storageTable{legacy: true}
	top, err := next("state_dict", st)
	if err != nil {
		return nil, err
	}
	keys, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	list, ok := keys.(*pyList)
	if !ok {
		return nil, fmt.Errorf("pth: the storage keys are %s, not a list", typeName(keys))
	}
	// The storages follow in the list's order, each as its element count and its elements.
	bases := make(map[string]int64, len(list.items))
	for _, k := range list.items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("pth: a storage key is %s, not a str", typeName(k))
		}
		s := st.roots[key]
		if s == nil {
			return nil, fmt.Errorf("pth: storage %q is listed but no tensor uses it", key)
		}
		if _, dup := bases[key]; dup {
			return nil, fmt.Errorf("pth: storage %q is listed twice", key)
		}
		var n [8]byte
		if size-off < 8 || readFullAt(r, n[:], off) != nil {
			return nil, fmt.Errorf("pth: storage %q: file ends at %d, before its element count (truncated file?)", key, size)
		}
		if count := int64(binary.LittleEndian.Uint64(n[:])); count != s.numel {
			return nil, fmt.Errorf("pth: storage %q has %d elements in the file, the pickle says %d", key, count, s.numel)
		}
		nbytes, ok := mulNonNeg(s.numel, dtypeSizes[s.dtype])
		if !ok || nbytes > size-off-8 {
			return nil, fmt.Errorf("pth: storage %q: %d elements of %s at byte %d run past the end of the %d-byte file (truncated file?)", key, s.numel, s.dtype, off+8, size)
		}
		bases[key] = off + 8
		off += 8 + nbytes
	}
	return pthFile(r, top, func(s *pyStorage) (int64, error) {
		base, ok := bases[s.key]
		if !ok {
			return 0, fmt.Errorf("pth: storage %q is not in the list of storages: no data", s.key)
		}
		return base, nil
	})
}

// unpickleAt reads the pickle at off through a window of the file that grows until the pickle
// ends inside it, and returns the value and the pickle's length. st resolves persistent ids
// (none may appear when st is nil).
func unpickleAt(r io.ReaderAt, off, size int64, st *storageTable) (any, int64, error) {
	avail := min(size-off, maxPickleBytes)
	for window := min(avail, 64<<10); ; window = min(4*window, avail) {
		buf := make([]byte, window)
		if err := readFullAt(r, buf, off); err != nil {
			return nil, 0, err
		}
		persID := func(pyTuple) (any, error) { return nil, errors.New("persistent id outside the state_dict") }
		if st != nil {
			*st = storageTable{legacy: st.legacy} // a longer window starts again
			persID = st.ref
		}
		v, n, err := newUnpickler(buf, persID).load()
		if err != errPickleShort {
			return v, int64(n), err
		}
		if window == avail {
			if avail < size-off {
				return nil, 0, fmt.Errorf("pickle larger than %d MiB: not a state_dict", maxPickleBytes>>20)
			}
			return nil, 0, err
		}
	}
}
