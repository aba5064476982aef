package runtime

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// Builders of checkpoints byte by byte, as torch.save lays them out, so that tests can write
// what torch never would.

// pkl writes pickle opcodes.
type pkl struct{ b []byte }

func (p *pkl) op(ops ...byte) *pkl { p.b = append(p.b, ops...); return p }

// str writes a BINUNICODE string.
func (p *pkl) str(s string) *pkl {
	p.op('X').b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

// int writes a BININT.
func (p *pkl) int(v int) *pkl {
	p.op('J').b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
	return p
}

func (p *pkl) global(module, name string) *pkl {
	p.op('c').b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// ints writes a tuple of ints (a torch.Size or stride).
func (p *pkl) ints(vs []int) *pkl {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// fakeTensor is one state_dict entry: a tensor of storage class class (FloatStorage...), whose
// storage key holds numel elements.
type fakeTensor struct {
	name, class, key string
	numel, offset    int
	shape, stride    []int
}

// f32Tensor is a contiguous float32 tensor filling storage key.
func f32Tensor(name, key string, shape ...int) fakeTensor {
	n, stride := 1, make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		stride[i] = n
		n *= shape[i]
	}
	return fakeTensor{name: name, class: "FloatStorage", key: key, numel: n, shape: shape, stride: stride}
}

// tensor writes _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).
func (p *pkl) tensor(t fakeTensor, legacy bool) *pkl {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", t.class).str(t.key).str("cpu").int(t.numel)
	if legacy {
		p.op('N')
	}
	p.op('t', 'Q').int(t.offset).ints(t.shape).ints(t.stride).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// stateDict writes an OrderedDict of the tensors, as torch.save pickles a state_dict.
func (p *pkl) stateDict(ts []fakeTensor, legacy bool) *pkl {
	p.global("collections", "OrderedDict").op(')', 'R', '(')
	for _, t := range ts {
		p.str(t.name).tensor(t, legacy)
	}
	return p.op('u')
}

// stateDictPickle is a whole pickle of the state_dict of ts.
func stateDictPickle(ts []fakeTensor, legacy bool) []byte {
	return (&pkl{}).op(0x80, 2).stateDict(ts, legacy).op('.').b
}

// float writes a BINFLOAT.
func (p *pkl) float(v float64) *pkl {
	p.op('G').b = binary.BigEndian.AppendUint64(p.b, math.Float64bits(v))
	return p
}

// zipFile is an archive entry; method is zip.Store unless set.
type zipFile struct {
	name   string
	data   []byte
	method uint16
}

func zipOf(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: f.method})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// iota is n float32s 0, 1, 2...: a storage's contents, so that tests see which elements they read.
func iota(n int) []byte {
	b := make([]byte, 0, 4*n)
	for i := range n {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

// storages are the data entries of ts, numel float32s of iota each.
func storages(prefix string, ts []fakeTensor) []zipFile {
	var fs []zipFile
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.key] {
			seen[t.key] = true
			fs = append(fs, zipFile{name: prefix + "data/" + t.key, data: iota(t.numel)})
		}
	}
	return fs
}

// zipPth is a zip checkpoint of ts (float32 storages of iota) with the given pickle.
func zipPth(t testing.TB, pickle []byte, ts []fakeTensor) []byte {
	files := append([]zipFile{{name: "archive/data.pkl", data: pickle}}, storages("archive/", ts)...)
	return zipOf(t, append(files, zipFile{name: "archive/version", data: []byte("3\n")})...)
}

// legacyHead is the legacy format's first three pickles: magic number, version, system info.
func legacyHead(littleEndian bool) []byte {
	p := (&pkl{}).op(0x80, 2, 0x8a, 10).op(legacyMagic...).op('.')
	p.op(0x80, 2, 'M', 0xe9, 0x03, '.') // 1001
	le := byte(0x88)
	if !littleEndian {
		le = 0x89
	}
	return p.op(0x80, 2, '}', '(').str("protocol_version").op('M', 0xe9, 0x03).str("little_endian").op(le, 'u', '.').b
}

// legacyPth is a legacy checkpoint of ts with the given state_dict pickle: the storage keys in
// order of first use, each followed by its count and iota(numel).
func legacyPth(pickle []byte, ts []fakeTensor) []byte {
	b := append(legacyHead(true), pickle...)
	keys := (&pkl{}).op(0x80, 2, ']', '(')
	var data []byte
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.key] {
			seen[t.key] = true
			keys.str(t.key)
			data = binary.LittleEndian.AppendUint64(data, uint64(t.numel))
			data = append(data, iota(t.numel)...)
		}
	}
	return append(append(b, keys.op('e', '.').b...), data...)
}
