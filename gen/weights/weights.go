// Package weights connects a graph to a safetensors file: which tensors the graph needs, and
// opening a file checked against that list before any tensor is read.
package weights

import (
	"fmt"
	"os"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime"
)

// Expect lists the tensors g reads. Training-only heads' tensors are optional: a state_dict of a
// model with auxiliary classifiers loads, and so does one without them.
func Expect(g *ir.Graph) []runtime.Expect {
	var out []runtime.Expect
	for _, p := range g.AllParams() {
		out = append(out, runtime.Expect{Name: p.Key, Shape: []int(p.Shape), Optional: p.Node.TrainingOnly})
	}
	return out
}

// File is an open weights file checked against a graph.
type File struct {
	*runtime.File
	f *os.File
}

// Close releases the file.
func (w *File) Close() error { return w.f.Close() }

// Open opens path and checks it holds exactly the tensors g needs, with the right shapes.
func Open(path string, g *ir.Graph) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sf, err := runtime.OpenSafetensors(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := sf.Check(Expect(g)); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s does not fit %s: %w", path, g.Name, err)
	}
	return &File{File: sf, f: f}, nil
}
