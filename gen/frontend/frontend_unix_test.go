//go:build unix

package frontend

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: a named pipe is refused without being opened, which would block until a writer came.
func TestFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "spec.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for name, load := range map[string]func() error{
		"Load": func() error { _, err := Load(fifo); return err },
		"ONNX": func() error { _, _, err := ONNX(fifo); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- load() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s of a FIFO: %v, want an error saying it is not a regular file", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s of a FIFO blocks", name)
		}
	}
}
