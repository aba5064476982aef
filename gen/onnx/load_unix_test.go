//go:build unix

package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadFIFO checks that a FIFO given as the model or as external data is refused at once:
// opening one blocks until a writer comes, so the check must come before the open.
func TestLoadFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		return p
	}
	model := fifo("model.onnx")
	fifo("w.bin")
	// Through a symlink too: the check follows it.
	if err := os.Symlink("w.bin", filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 3)
	go func() { _, err := Load(model); done <- err }()
	for _, loc := range []string{"w.bin", "link.bin"} {
		b := newBuilder(13, "x", -1, 1)
		b.g.Initializer = append(b.g.Initializer, externalTensor(loc, 0, -1, 1))
		data := b.bytes(t)
		go func() { _, err := Parse(data, dir); done <- err }()
	}
	for range 3 {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("error %v, want a refusal of a non-regular file", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Load or Parse blocked on a FIFO")
		}
	}
}
