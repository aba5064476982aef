package runtime

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func openBytes(b []byte) (*File, error) { return OpenWeights(bytes.NewReader(b)) }

// twoTensors is a small valid state_dict: a [2,3] weight and a [3] bias.
var twoTensors = []fakeTensor{f32Tensor("w", "0", 2, 3), f32Tensor("b", "1", 3)}

// legacyView is a legacy state_dict whose tensor w is elements 1 and 2 of the view (4, 3) of
// storage "0": elements 5 and 6 of it.
func legacyView() []byte {
	p := (&pkl{}).op(0x80, 2, '}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(', '(').
		str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(8).
		op('(').str("v").int(4).int(3).op('t', 't', 'Q').int(1).ints([]int{2}).ints([]int{1}).op(0x89, '}', 't', 'R', 's', '.').b
	return legacyPth(p, []fakeTensor{f32Tensor("w", "0", 8)})
}

func TestPthBuilt(t *testing.T) {
	// Tensors at offsets of a shared storage, one of them a size-1 dimension with any stride.
	shared := []fakeTensor{f32Tensor("a", "0", 2, 3), f32Tensor("b", "0", 1, 2)}
	shared[1].numel, shared[1].offset, shared[1].stride = 6, 3, []int{99, 1}
	// A transpose and a channels_last [1, 2, 2, 3] tensor (strides 12, 1, 6, 2) of storage "0".
	strided := []fakeTensor{f32Tensor("t", "0", 3, 4), f32Tensor("cl", "0", 1, 2, 2, 3)}
	strided[0].shape, strided[0].stride = []int{4, 3}, []int{1, 4}
	strided[1].numel, strided[1].stride = 12, []int{12, 1, 6, 2}
	for _, c := range []struct {
		name string
		file []byte
		want map[string][]float32
	}{
		{"zip", zipPth(t, stateDictPickle(twoTensors, false), twoTensors), map[string][]float32{"w": {0, 1, 2, 3, 4, 5}, "b": {0, 1, 2}}},
		{"legacy", legacyPth(stateDictPickle(twoTensors, true), twoTensors), map[string][]float32{"w": {0, 1, 2, 3, 4, 5}, "b": {0, 1, 2}}},
		{"shared", zipPth(t, stateDictPickle(shared, false), shared), map[string][]float32{"a": {0, 1, 2, 3, 4, 5}, "b": {3, 4}}},
		{"legacy view", legacyView(), map[string][]float32{"w": {5, 6}}},
		{"strided", zipPth(t, stateDictPickle(strided, false), strided), map[string][]float32{
			"t": {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, "cl": {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}}},
		{"strided legacy", legacyPth(stateDictPickle(strided, true), strided), map[string][]float32{
			"t": {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, "cl": {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}}},
	} {
		f, err := openBytes(c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.Names(); len(got) != len(c.want) {
			t.Errorf("%s: names %v", c.name, got)
		}
		for name, want := range c.want {
			if got, err := f.Float32(name); err != nil || !slices.Equal(got, want) {
				t.Errorf("%s: %s = %v, %v; want %v", c.name, name, got, err, want)
			}
		}
	}
}

// TestPthHostile: every way a checkpoint can lie is a clear error, found before any tensor is
// read.
func TestPthHostile(t *testing.T) {
	zipOK := func(p []byte) []byte { return zipPth(t, p, twoTensors) }
	sd := func(ts ...fakeTensor) []byte { return stateDictPickle(ts, false) }
	withGlobal := func(module, name string) []byte {
		return (&pkl{}).op(0x80, 2).global(module, name).op('(').str("echo pwned").op('t', 'R', '.').b
	}
	bigStorage := twoTensors[0]
	bigStorage.numel = 1000 // the pickle claims more than the archive's 24 bytes
	pastStorage := f32Tensor("w", "0", 2, 3)
	pastStorage.shape = []int{3, 3}
	pastStorage.stride = []int{3, 1}
	offset := f32Tensor("w", "0", 2, 3)
	offset.offset = 1
	expanded := f32Tensor("w", "0", 2, 3)
	expanded.shape, expanded.stride = []int{1000, 6}, []int{0, 1}
	farStride := f32Tensor("w", "0", 2, 3)
	farStride.stride = []int{1, 3}
	complexT := f32Tensor("w", "0", 2)
	complexT.class = "ComplexFloatStorage"
	huge := f32Tensor("w", "0", 2, 3)
	huge.shape, huge.stride = []int{1 << 30, 1 << 30, 1 << 30}, []int{1 << 60, 1 << 30, 1}
	dup := sd(twoTensors[0], twoTensors[0])
	deflated := zipOf(t, zipFile{name: "archive/data.pkl", data: sd(twoTensors...), method: zip.Deflate},
		zipFile{name: "archive/data/0", data: make([]byte, 24)}, zipFile{name: "archive/data/1", data: make([]byte, 12)})
	bigEndian := zipOf(t, append(storages("a/", twoTensors), zipFile{name: "a/data.pkl", data: sd(twoTensors...)},
		zipFile{name: "a/byteorder", data: []byte("big")})...)
	twoPkls := zipOf(t, append(storages("a/", twoTensors), zipFile{name: "a/data.pkl", data: sd(twoTensors...)},
		zipFile{name: "b/data.pkl", data: sd(twoTensors...)})...)
	legacyCount := legacyPth(stateDictPickle(twoTensors, true), twoTensors)
	binary.LittleEndian.PutUint64(legacyCount[bytes.LastIndex(legacyCount, []byte{6, 0, 0, 0, 0, 0, 0, 0}):], 7)
	legacyBE := append(legacyHead(false), legacyCount[len(legacyHead(true)):]...)
	view := (&pkl{}).op(0x80, 2, '}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(', '(').
		str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(6).
		op('(').str("v").int(4).int(5).op('t', 't', 'Q').int(0).ints([]int{5}).ints([]int{1}).op(0x89, '}', 't', 'R', 's', '.').b
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"os.system", zipOK(withGlobal("os", "system")), "global os.system is not allowed"},
		{"builtins.eval", zipOK(withGlobal("builtins", "eval")), "global builtins.eval is not allowed"},
		{"torch.load", zipOK(withGlobal("torch", "load")), "global torch.load is not allowed"},
		{"stack global", zipOK((&pkl{}).op(0x80, 4).str("posix").str("system").op(0x93, '.').b), "global posix.system is not allowed"},
		{"complex storage", zipOK(sd(complexT)), "storage type torch.ComplexFloatStorage is not supported"},
		{"oversize storage", zipOK(sd(bigStorage)), `storage "0": 24 bytes in archive/data/0, but the pickle says 1000 elements of F32`},
		{"past its storage", zipOK(sd(pastStorage)), `tensor "w": elements [0, 0+9) run past the 6 of its storage`},
		{"offset past storage", zipOK(sd(offset)), `elements [1, 1+6) run past the 6`},
		{"repeated elements", zipOK(sd(expanded)), `tensor "w": size [1000 6] and stride [0 1] repeat elements`},
		{"stride past storage", zipOK(sd(farStride)), `tensor "w": elements [0, 0+8) run past the 6`},
		{"too many elements", zipOK(sd(huge)), "too many"},
		{"duplicate name", zipOK(dup), `tensor "w" appears twice`},
		{"missing storage", zipPth(t, sd(f32Tensor("w", "9", 2)), nil), `storage "9" has no entry archive/data/9`},
		{"not a dict", zipOK((&pkl{}).op(0x80, 2, ']', '.').b), "holds a list, not a state_dict"},
		{"not a tensor", zipOK((&pkl{}).op(0x80, 2, '}').str("epoch").int(3).op('s', '.').b), `"epoch" is the int 3, not a tensor`},
		{"int key", zipOK((&pkl{}).op(0x80, 2, '}').int(1).int(3).op('s', '.').b), "state_dict key 0 is the int 1"},
		{"list key", zipOK((&pkl{}).op(0x80, 2, '}', ']').int(3).op('s', '.').b), "dict key is a list"},
		{"no STOP", zipOK((&pkl{}).op(0x80, 2, '}').b), "pickle ends early"},
		{"protocol 1", zipOK((&pkl{}).op(0x80, 1, '}', '.').b), "pickle protocol 1"},
		{"text opcode", zipOK((&pkl{}).op(0x80, 2, 'I').b), "opcode 0x49"},
		{"memo unset", zipOK((&pkl{}).op(0x80, 2, 'h', 7, '.').b), "memo 7 read before it is set"},
		{"underflow", zipOK((&pkl{}).op(0x80, 2, 's', '.').b), "stack underflow"},
		{"mark underflow", zipOK((&pkl{}).op(0x80, 2, '}', '(', '0', '.').b), "stack underflow"},
		{"deep marks", zipOK(bytes.Repeat([]byte{'('}, 100)), "MARKs open"},
		{"huge string", zipOK([]byte{0x80, 4, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, 'x'}), "pickle ends early"},
		{"huge frame", zipOK([]byte{0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), "pickle ends early"},
		{"huge long", zipOK([]byte{0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f}), "integer of 2147483647 bytes"},
		{"bad utf8", zipOK((&pkl{}).op(0x80, 2).str("\xff").op('.').b), "not valid UTF-8"},
		{"reduce a str", zipOK((&pkl{}).op(0x80, 2).str("f").op(')', 'R', '.').b), "REDUCE calls a str"},
		{"OrderedDict args", zipOK((&pkl{}).op(0x80, 2).global("collections", "OrderedDict").op('(', ']', 't', 'R', '.').b), "want none"},
		{"storage called", zipOK((&pkl{}).op(0x80, 2).global("torch", "FloatStorage").op(')', 'R', '.').b), "not callable"},
		{"persid not storage", zipOK((&pkl{}).op(0x80, 2).str("x").op(0x85, 'Q', '.').b), "not a storage reference"},
		{"build a list", zipOK((&pkl{}).op(0x80, 2, ']', '}', 'b', '.').b), "BUILD of a list"},
		{"compressed", deflated, "is compressed (method 8)"},
		{"big endian", bigEndian, `byte order "big"`},
		{"two pickles", twoPkls, "this has 2"},
		{"no pickle", zipOf(t, zipFile{name: "x", data: []byte("y")}), "no NAME/data.pkl"},
		{"empty zip", zipOf(t), "no NAME/data.pkl"},
		{"legacy count", legacyCount, `storage "0" has 7 elements in the file, the pickle says 6`},
		{"legacy big endian", legacyBE, "big-endian"},
		{"legacy view out of storage", legacyPth(view, []fakeTensor{f32Tensor("w", "0", 6)}), `view of 5 elements from 4 is not inside its 6 elements`},
		{"legacy unused storage", legacyPth(stateDictPickle(twoTensors[:1], true), twoTensors), `storage "1" is listed but no tensor uses it`},
	} {
		_, err := openBytes(c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestPthCorruptZip: damage to the archive itself.
func TestPthCorruptZip(t *testing.T) {
	good := zipPth(t, stateDictPickle(twoTensors, false), twoTensors)
	eocd := bytes.LastIndex(good, []byte("PK\x05\x06"))
	mutate := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	pklAt := bytes.Index(good, []byte{0x80, 2})
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"crc", mutate(func(b []byte) { b[pklAt+3] ^= 1 }), "fails its CRC check"},
		{"entries", mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[eocd+10:], 200) }), "200 entries cannot fit"},
		{"directory size", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[eocd+12:], 1<<30) }), "more than the 67108864 allowed"},
		{"directory offset", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[eocd+16:], uint32(eocd)) }), "runs past its end record"},
		{"local header", mutate(func(b []byte) { b[bytes.Index(good[4:], []byte("PK\x03\x04"))+4] = 'X' }), "no local header at"},
		{"comment", append(bytes.Clone(good), 'x'), "no end of central directory"},
		{"zip64 locator", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[eocd+16:], 0xffffffff) }), "zip64 end record locator missing"},
	} {
		_, err := openBytes(c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestPthTruncated cuts torch's own checkpoints at every length: each is an error, never a
// panic or a read out of bounds (bytes.Reader would say so).
func TestPthTruncated(t *testing.T) {
	for _, name := range []string{"tiny.pth", "tiny_legacy.pth"} {
		file, err := os.ReadFile(filepath.Join("testdata", "pth", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(file); n++ {
			if _, err := openBytes(file[:n]); err == nil {
				t.Fatalf("%s cut to %d of %d bytes opened", name, n, len(file))
			} else if n > 32 && !strings.HasPrefix(err.Error(), "pth: ") {
				t.Fatalf("%s cut to %d bytes: %v", name, n, err)
			}
		}
	}
}

// TestPthMemoryBound: a pickle that makes values without end (DUP, over and over) stops at the
// memory limit, not when the machine runs out.
func TestPthMemoryBound(t *testing.T) {
	defer func(old int64) { maxPickleMemory = old }(maxPickleMemory)
	maxPickleMemory = 1 << 20
	bomb := append([]byte{0x80, 2, '}'}, bytes.Repeat([]byte{'2'}, 1<<17)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := openBytes(zipPth(t, bomb, nil))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "unpickling needs more than 1 MiB") {
		t.Fatalf("got %v", err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 8<<20 {
		t.Errorf("allocated %d bytes", a)
	}
}

// TestPthHugeClaimsBeforeAllocating: lengths in the file are checked against the file before
// anything of that size is allocated or read.
func TestPthHugeClaimsBeforeAllocating(t *testing.T) {
	// A legacy storage of 2^30 float32s (its count says so too) in a file of a few hundred bytes.
	hugeT := fakeTensor{name: "w", class: "FloatStorage", key: "0", numel: 1 << 30, shape: []int{1 << 30}, stride: []int{1}}
	legacyHuge := append(legacyHead(true), stateDictPickle([]fakeTensor{hugeT}, true)...)
	legacyHuge = append(legacyHuge, (&pkl{}).op(0x80, 2, ']').str("0").op('a', '.').b...)
	legacyHuge = append(binary.LittleEndian.AppendUint64(legacyHuge, 1<<30), make([]byte, 64)...)
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"string", zipPth(t, []byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f}, nil)},
		{"legacy storage", legacyHuge},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := openBytes(c.file)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: opened", c.name)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 4<<20 {
			t.Errorf("%s: allocated %d bytes before failing: %v", c.name, a, err)
		}
	}
}

// pthFuzzSeeds are torch's tiny checkpoints and a built one; fuzzTemplate is tiny.pth's
// archive, into which FuzzOpenPth also puts each input as data.pkl (with its right CRC, which
// a mutated file would otherwise fail before the unpickler sees it).
func pthFuzzSeeds(f *testing.F) (seeds [][]byte, template []zipFile) {
	for _, name := range []string{"tiny.pth", "tiny_legacy.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", "pth", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	z, err := zip.NewReader(bytes.NewReader(seeds[0]), int64(len(seeds[0])))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range z.File {
		r, _ := e.Open()
		data, _ := io.ReadAll(r)
		if strings.HasSuffix(e.Name, "data.pkl") {
			seeds = append(seeds, data)
			continue
		}
		template = append(template, zipFile{name: e.Name, data: data})
	}
	seeds = append(seeds, zipPth(f, stateDictPickle(twoTensors, false), twoTensors), stateDictPickle(twoTensors, true))
	return seeds, template
}

func FuzzOpenPth(f *testing.F) {
	seeds, template := pthFuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	// Built by hand rather than with archive/zip: zipOf's writer is slow for a fuzz loop.
	entries := append([]zipFile{{name: "tiny/data.pkl"}}, template...)
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(file []byte) {
			w, err := OpenWeights(bytes.NewReader(file))
			if err != nil {
				return
			}
			for _, name := range w.Names() {
				info, _ := w.Info(name)
				if info.Begin < 0 || info.Begin > info.End || info.End > int64(len(file)) {
					t.Fatalf("tensor %q has bytes [%d, %d) outside the %d-byte file", name, info.Begin, info.End, len(file))
				}
				v, err := w.Float32(name)
				count := 1
				for _, d := range info.Shape {
					count *= d
				}
				if isFloatDType(info.DType) != (err == nil) || err == nil && len(v) != count {
					t.Fatalf("Float32(%q) of %s %v: %d values, %v", name, info.DType, info.Shape, len(v), err)
				}
			}
		}
		check(data)
		if len(data) <= maxPickleBytes {
			entries[0].data = data
			check(storedZip(entries))
		}
	})
}

// storedZip writes a zip of stored entries (no data descriptors), as fast as a fuzz loop needs.
func storedZip(files []zipFile) []byte {
	var b, dir []byte
	le := binary.LittleEndian
	for _, f := range files {
		off := len(b)
		crc := crc32.ChecksumIEEE(f.data)
		b = le.AppendUint32(b, 0x04034b50)
		b = append(b, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		b = le.AppendUint32(le.AppendUint32(le.AppendUint32(b, crc), uint32(len(f.data))), uint32(len(f.data)))
		b = le.AppendUint16(le.AppendUint16(b, uint16(len(f.name))), 0)
		b = append(append(b, f.name...), f.data...)
		dir = le.AppendUint32(dir, 0x02014b50)
		dir = append(dir, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		dir = le.AppendUint32(le.AppendUint32(le.AppendUint32(dir, crc), uint32(len(f.data))), uint32(len(f.data)))
		dir = le.AppendUint16(dir, uint16(len(f.name)))
		dir = append(dir, make([]byte, 12)...)
		dir = append(le.AppendUint32(dir, uint32(off)), f.name...)
	}
	end := le.AppendUint32(nil, 0x06054b50)
	end = append(end, 0, 0, 0, 0)
	end = le.AppendUint16(le.AppendUint16(end, uint16(len(files))), uint16(len(files)))
	end = le.AppendUint32(le.AppendUint32(end, uint32(len(dir))), uint32(len(b)))
	return append(append(append(b, dir...), end...), 0, 0)
}
