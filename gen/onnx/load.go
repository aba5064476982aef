// Package onnx is cnngen's ONNX front end: it reads a model (.onnx, with or without external
// data), folds what is constant, and lowers the graph to the same ir.Graph the YAML front end
// produces, with the weights as float32 tensors keyed by the names the graph's Params use.
//
//	m, err := onnx.Load("model.onnx")
//	g, weights, err := m.Graph("mynet")
//
// Supported: ai.onnx opsets 1 to 21, image classifiers in NCHW with one input whose dimension 0
// is the batch (static or not). README.md lists the operators and the rules of the lowering.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// MaxModelBytes is the largest model file (the protobuf, without external data) Load and Parse
// accept: protobuf messages cannot exceed 2 GiB.
const MaxModelBytes = 2<<30 - 1

// maxElems caps the element count of any tensor, read or computed, before it is allocated.
const maxElems = 1 << 31

// MinOpset and MaxOpset bound the ai.onnx opset versions Graph lowers: every opset ONNX had
// when this front end's version tables (versions.go) were written. A later opset may redefine
// an operator, which the tables cannot know, so it is refused.
const (
	MinOpset = 1
	MaxOpset = 21
)

// Model is a parsed ONNX model whose initializers have been read and validated.
type Model struct {
	Source    string // the file the model was read from, "" for Parse
	IRVersion int64
	Opset     int64  // version of the default (ai.onnx) operator set, 0 if absent
	Producer  string // producer name and version, e.g. "pytorch 1.13.0"

	// Limits bound the graph Graph builds (nil: ir.DefaultLimits): its node count as it lowers,
	// so that a model of millions of nodes stops early, and ir.Graph.Check once it is shaped.
	Limits *ir.Limits

	// InputShape, if not nil, is one image's shape (the input's dimensions after the batch, e.g.
	// 3, 224, 224): it sizes the dimensions the model leaves dynamic (an export with a dynamic
	// height and width), and a static dimension must equal it.
	InputShape []int

	graph *onnxpb.GraphProto
	inits map[string]*tensor // decoded initializers by name
}

// Load reads an ONNX model file. External data files are read from the model's folder only.
func Load(path string) (*Model, error) {
	// Opening a FIFO blocks until a writer comes, and a device may never end: refuse anything
	// but a regular file before opening it, then check that the file opened is the one seen.
	seen, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !seen.Mode().IsRegular() {
		return nil, fmt.Errorf("onnx: %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || !os.SameFile(seen, st) {
		return nil, fmt.Errorf("onnx: %s changed while it was opened", path)
	}
	if st.Size() > MaxModelBytes {
		return nil, fmt.Errorf("onnx: %s is %d bytes, more than a protobuf message can hold (%d); large weights belong in external data files", path, st.Size(), int64(MaxModelBytes))
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("onnx: reading %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	m, err := Parse(data, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Source = path
	return m, nil
}

// Parse decodes a serialized ModelProto. dir is the folder external data locations are relative
// to; with dir "" a model that keeps tensors in external files is an error.
func Parse(data []byte, dir string) (*Model, error) {
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("onnx: model is %d bytes, more than %d", len(data), int64(MaxModelBytes))
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("onnx: not a valid ONNX model (protobuf: %v)", err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, errors.New("onnx: the model has no graph")
	}
	m := &Model{IRVersion: mp.GetIrVersion(), Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion()), graph: g}
	for _, op := range mp.GetOpsetImport() {
		if d := op.GetDomain(); d == "" || d == "ai.onnx" {
			m.Opset = op.GetVersion()
		}
	}
	ext := &externalFiles{dir: dir}
	defer ext.close()
	m.inits = make(map[string]*tensor, len(g.GetInitializer()))
	var problems []string
	for i, tp := range g.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			problems = append(problems, fmt.Sprintf("initializer #%d has no name", i))
			continue
		}
		if _, dup := m.inits[name]; dup {
			problems = append(problems, fmt.Sprintf("initializer %q is defined twice", name))
			continue
		}
		t, err := decodeTensor(tp, ext)
		if err != nil {
			problems = append(problems, fmt.Sprintf("initializer %q: %v", name, err))
			continue
		}
		t.name = name
		m.inits[name] = t
		// The decoded copy is what the front end uses; drop the raw bytes to halve the memory a
		// large model holds.
		tp.RawData = nil
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("onnx: %d bad initializer(s):\n\t%s", len(problems), strings.Join(problems, "\n\t"))
	}
	return m, nil
}

// externalFiles opens external data files under one folder, each once.
type externalFiles struct {
	dir   string
	root  *os.Root
	files map[string]*os.File
}

func (e *externalFiles) close() {
	for _, f := range e.files {
		f.Close()
	}
	if e.root != nil {
		e.root.Close()
	}
}

// checkLocation rejects external data locations that could leave the model's folder.
func checkLocation(loc string) error {
	if loc == "" {
		return errors.New("external data has no location")
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.VolumeName(loc) != "" {
		return fmt.Errorf("external data location %q is absolute; it must be relative to the model's folder", loc)
	}
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return fmt.Errorf("external data location %q leaves the model's folder", loc)
		}
	}
	if strings.ContainsRune(loc, 0) {
		return fmt.Errorf("external data location %q contains a NUL byte", loc)
	}
	return nil
}

// read returns length bytes at offset of the file loc. os.Root confines the open to the folder:
// symlinks that lead outside it are refused.
func (e *externalFiles) read(loc string, offset, length int64) ([]byte, error) {
	if err := checkLocation(loc); err != nil {
		return nil, err
	}
	if e.dir == "" {
		return nil, fmt.Errorf("tensor data is in the external file %q, but the model's folder is unknown (load the model from its file)", loc)
	}
	f := e.files[loc]
	if f == nil {
		if e.root == nil {
			r, err := os.OpenRoot(e.dir)
			if err != nil {
				return nil, err
			}
			e.root, e.files = r, map[string]*os.File{}
		}
		// As in Load, a FIFO or device is refused before it is opened. Root.Stat follows
		// symlinks inside the folder only.
		seen, err := e.root.Stat(filepath.FromSlash(loc))
		if err != nil {
			return nil, fmt.Errorf("external data: %w", err)
		}
		if !seen.Mode().IsRegular() {
			return nil, fmt.Errorf("external data %q is not a regular file", loc)
		}
		if f, err = e.root.Open(filepath.FromSlash(loc)); err != nil {
			return nil, fmt.Errorf("external data: %w", err)
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || !os.SameFile(seen, st) {
			f.Close()
			return nil, fmt.Errorf("external data %q changed while it was opened", loc)
		}
		e.files[loc] = f
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 || offset > st.Size() || length > st.Size()-offset {
		return nil, fmt.Errorf("external data %q: %d bytes at offset %d, but the file has %d bytes", loc, length, offset, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("external data %q: %w", loc, err)
	}
	return buf, nil
}

// externalData reads the bytes of a tensor stored outside the model, want bytes long.
func externalData(tp *onnxpb.TensorProto, ext *externalFiles, want int64) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("external data %s %q is not a non-negative integer", kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				offset = v
			} else {
				length = v
			}
		}
	}
	if length >= 0 && length != want {
		return nil, fmt.Errorf("external data length %d, but the dims need %d bytes", length, want)
	}
	return ext.read(loc, offset, want)
}
