// Package weights connects a graph to a weights file (safetensors, or a PyTorch checkpoint as
// torch.save writes it): which tensors the graph needs, and opening a file checked against that
// list before any tensor is read.
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

// Open opens path, a safetensors file or a PyTorch checkpoint (.pth, told apart by its first
// bytes: runtime.OpenWeights), and checks it holds exactly the tensors g needs, with the right
// shapes and float dtypes (F32, F16, BF16 or F64, read as float32).
func Open(path string, g *ir.Graph) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf, err := runtime.OpenWeights(f)
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
