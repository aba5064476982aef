package files

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "named pipe", "/dev/zero": "character device", dir: "directory"} {
		if _, err := Read(path, 1<<20); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Read(%s): %v, want an error naming a %s", path, err, want)
		}
	}
}

func TestReadBoundsTheSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	var tl *TooLargeError
	if _, err := Read(path, 99); !errors.As(err, &tl) || tl.Size != 100 || tl.Max != 99 {
		t.Errorf("a 100-byte file under a 99-byte limit: %v", err)
	}
	if data, err := Read(path, 100); err != nil || len(data) != 100 {
		t.Errorf("a 100-byte file under a 100-byte limit: %d bytes, %v", len(data), err)
	}
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.go")
	if err := Write(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("file holds %q", b)
	}
	// A reader that fails leaves the old file and no temporary behind.
	if err := WriteFrom(path, failingReader{}); err == nil {
		t.Error("a failed write reported success")
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in the folder: %v", entries)
	}
	if err := Write(dir, []byte("x")); err == nil {
		t.Error("writing over a directory succeeded")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestSame(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, nil, 0o644)
	if !Same(a, filepath.Join(dir, ".", "a")) || !Same(filepath.Join(dir, "new"), filepath.Join(dir, "x", "..", "new")) {
		t.Error("the same file is not recognised")
	}
	if Same(a, filepath.Join(dir, "b")) {
		t.Error("two files are the same")
	}
}
