package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func write(t testing.TB, dir, name string, data []byte, gz bool) string {
	p := filepath.Join(dir, name)
	if gz {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		data = b.Bytes()
		p += ".gz"
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadIDX(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 3*2*4)
	for i := range pix {
		pix[i] = byte(i)
	}
	write(t, dir, "t10k-images-idx3-ubyte", idxBytes(0x803, []uint32{3, 2, 4}, pix), true)
	write(t, dir, "t10k-labels-idx1-ubyte", idxBytes(0x801, []uint32{3}, []byte{7, 1, 9}), false)
	d, err := FashionMNISTTest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Rows != 2 || d.Cols != 4 || d.Labels[2] != 9 {
		t.Fatalf("read %d images of %dx%d, labels %v", d.Len(), d.Rows, d.Cols, d.Labels)
	}
	if img := d.Image(1); img.Bounds().Dx() != 4 || img.GrayAt(3, 1).Y != 8+7 {
		t.Errorf("image 1: %v, pixel (3,1) = %d", img.Bounds(), img.GrayAt(3, 1).Y)
	}
}

func TestReadIDXRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	labels := write(t, dir, "l", idxBytes(0x801, []uint32{2}, []byte{1, 2}), false)
	cases := map[string][]byte{
		"magic":     idxBytes(0x801, []uint32{2, 2, 2}, make([]byte, 8)),
		"truncated": idxBytes(0x803, []uint32{2, 2, 2}, make([]byte, 7)),
		"zero dim":  idxBytes(0x803, []uint32{2, 0, 2}, nil),
		"huge":      idxBytes(0x803, []uint32{1 << 24, 1 << 24, 1 << 24}, nil),
		"empty":     nil,
		"count":     idxBytes(0x803, []uint32{3, 1, 1}, make([]byte, 3)),
	}
	for name, data := range cases {
		p := write(t, dir, name, data, false)
		if _, err := ReadIDX(p, labels); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(0x803, []uint32{1, 2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes(0x803, []uint32{1 << 20, 1 << 20, 1}, nil))
	dir := f.TempDir()
	labels := write(f, dir, "l", idxBytes(0x801, []uint32{1}, []byte{0}), false)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "i")
		os.WriteFile(p, data, 0o644)
		if d, err := ReadIDX(p, labels); err == nil && len(d.Pixels) != d.Len()*d.Rows*d.Cols {
			t.Fatalf("%d pixels for %d images of %dx%d", len(d.Pixels), d.Len(), d.Rows, d.Cols)
		}
	})
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Glob("../../examples/fashion/testdata/samples/*.png")
	if len(src) < 2 {
		t.Fatal("no sample images")
	}
	for i, class := range []string{"b_class", "a_class"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		data, _ := os.ReadFile(src[i])
		os.WriteFile(filepath.Join(dir, class, "x.png"), data, 0o644)
		os.WriteFile(filepath.Join(dir, class, "notes.txt"), []byte("not an image"), 0o644)
	}
	classes, items, err := Folder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(classes, ",") != "a_class,b_class" || len(items) != 2 || items[0].Label != 0 || !strings.Contains(items[0].Path, "a_class") {
		t.Fatalf("classes %v items %+v", classes, items)
	}
	f, _ := os.Open(items[0].Path)
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Folder(t.TempDir()); err == nil {
		t.Error("an empty folder is not a dataset")
	}
}
