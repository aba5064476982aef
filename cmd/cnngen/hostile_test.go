package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHostileCLI gives the command line what a hostile or careless user would: every case is a
// clear error, exit status 2 for a bad command line, and nothing written.
func TestHostileCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tiny := write("tiny.yaml", "name: tiny\ninput: [1, 4, 4]\nlayers:\n  - conv: {name: c, out: 2, kernel: 3, pad: 1}\n  - gap\n  - flatten\n  - linear: {name: fc, out: 3}\n")
	padded := write("padded.yaml", "name: padded\ninput: [1, 8, 8]\nlayers:\n  - pad: {pads: 20000}\n  - gap\n")
	in := write("in.f32", string(make([]byte, 4*16)))
	idx := filepath.Join(dir, "idx")
	os.Mkdir(idx, 0o755)
	os.WriteFile(filepath.Join(idx, "t10k-images-idx3-ubyte"), []byte{0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2}, 0o644)
	os.WriteFile(filepath.Join(idx, "t10k-labels-idx1-ubyte"), []byte{0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5}, 0o644)

	for _, tc := range []struct {
		name  string
		args  []string
		usage bool   // a command-line error (exit 2)
		want  string // in the error
	}{
		{"input from a device", []string{"run", "-arch", tiny, "-weights", in, "-input", "/dev/zero", "-output", filepath.Join(dir, "o")}, false, "character device"},
		{"input from a FIFO", []string{"run", "-arch", tiny, "-weights", in, "-input", fifo, "-output", filepath.Join(dir, "o")}, false, "named pipe"},
		{"output over the input", []string{"run", "-arch", tiny, "-weights", in, "-input", in, "-output", in}, true, "one of the inputs"},
		{"spec from a device", []string{"-arch", "/dev/zero", "-summary"}, false, "character device"},
		{"labels from a device", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-labels", "/dev/zero"}, false, "character device"},
		{"labels from a FIFO", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-labels", fifo}, false, "named pipe"},
		{"hidden output file", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", ".go")}, true, ".go file"},
		{"ignored output file", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "_x.go")}, true, "ignores"},
		{"test output file", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "x_test.go")}, true, "_test.go"},
		{"package _", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-pkg", "_"}, true, "cannot be imported"},
		{"package main", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-pkg", "main"}, true, "cannot be imported"},
		{"package init", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-pkg", "init"}, true, "cannot be imported"},
		{"package keyword", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-pkg", "func"}, true, "keyword"},
		{"weights that do not fit", []string{"-arch", tiny, "-o", filepath.Join(dir, "p", "p.go"), "-weights", in}, false, ""},
		{"huge padding", []string{"-arch", padded, "-summary"}, false, "max-activation-mb"},
		{"huge padding, run", []string{"run", "-arch", padded, "-weights", in, "-input", in, "-output", filepath.Join(dir, "o")}, false, "max-activation-mb"},
		{"zero limit", []string{"-arch", tiny, "-summary", "-max-nodes", "0"}, true, "at least 1"},
		{"negative eval limit", []string{"eval", "-arch", "lenet5", "-data", idx, "-limit", "-5"}, true, "-limit"},
		{"truncated IDX", []string{"eval", "-arch", "lenet5", "-data", idx}, false, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			var u usageError
			if errors.As(err, &u) != tc.usage {
				t.Errorf("usage error %v, want %v: %v", !tc.usage, tc.usage, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "p")); err == nil {
				t.Errorf("a failed generation left %s behind", filepath.Join(dir, "p"))
			}
			if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
				t.Errorf("a failed run wrote its output")
			}
		})
	}
}

// TestRaisedLimits: the limits that refuse a network can be raised from the command line.
func TestRaisedLimits(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "wide.yaml")
	os.WriteFile(spec, []byte("name: wide\ninput: [1, 8, 8]\nlayers:\n  - pad: {pads: 300}\n  - gap\n"), 0o644)
	if _, _, err := runCLI(t, "-arch", spec, "-summary", "-max-activation-mb", "1"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("a 2.9 MB network under a 1 MiB limit: %v", err)
	}
	if _, _, err := runCLI(t, "-arch", spec, "-summary", "-max-activation-mb", "4"); err != nil {
		t.Fatalf("the same network under a raised limit: %v", err)
	}
}

// TestClassesNeedLabels: a new head whose class count differs from the spec's label set needs
// its own labels, instead of silently keeping labels for other classes.
func TestClassesNeedLabels(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p", "p.go")
	if _, _, err := runCLI(t, "-arch", "lenet5", "-classes", "5", "-o", out); err == nil || !strings.Contains(err.Error(), "-labels") {
		t.Errorf("-classes 5 with fashion-mnist's 10 labels: %v", err)
	}
	if _, _, err := runCLI(t, "-arch", "lenet5", "-classes", "10", "-o", out); err != nil {
		t.Errorf("-classes 10 keeps fashion-mnist's labels: %v", err)
	}
}
