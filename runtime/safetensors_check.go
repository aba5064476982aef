package runtime

import (
	"fmt"
	"slices"
	"strings"
)

// Expect names a tensor the network needs and the shape it must have. Its
// dtype may be any of F32, F16, BF16 and F64 (float32, float16, bfloat16 and
// float64 in a PyTorch checkpoint): weights are converted to float32 as they
// are loaded. Optional tensors (training-only heads such as GoogLeNet's
// aux1.*) may be absent from the file, but if present their shape is still
// checked.
type Expect struct {
	Name     string
	Shape    []int
	Optional bool
}

// ShapeMismatch is a tensor whose shape in the file differs from the one the
// network needs.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// DTypeMismatch is an expected tensor stored with a dtype that cannot be read
// as float32 weights.
type DTypeMismatch struct {
	Name, DType string
}

// MismatchError reports every way a file differs from what the network
// needs, so a user fixing an export sees all problems at once. Each list is
// sorted by name.
type MismatchError struct {
	Missing    []string        // needed but not in the file
	Unexpected []string        // in the file but not needed
	Shapes     []ShapeMismatch // present with the wrong shape
	DTypes     []DTypeMismatch // present with a non-float dtype

	format string // the file's format, for the message ("" is safetensors)
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	n := len(e.Missing) + len(e.Unexpected) + len(e.Shapes) + len(e.DTypes)
	format := e.format
	if format == "" {
		format = "safetensors"
	}
	fmt.Fprintf(&b, "%s: weights do not match the network (%d problems):", format, n)
	for _, name := range e.Missing {
		fmt.Fprintf(&b, "\n%s: missing from file", name)
	}
	for _, name := range e.Unexpected {
		fmt.Fprintf(&b, "\n%s: in file but not used by the network", name)
	}
	for _, s := range e.Shapes {
		fmt.Fprintf(&b, "\n%s: shape %v in file, want %v", s.Name, s.Got, s.Want)
	}
	for _, d := range e.DTypes {
		fmt.Fprintf(&b, "\n%s: dtype %s in file, want %s", d.Name, d.DType, floatDTypes)
	}
	return b.String()
}

// Check compares the file with the tensors the network needs and returns a
// *MismatchError listing all differences, or nil if there are none. Tensors
// named "...num_batches_tracked" (a BatchNorm training counter that PyTorch
// exports) are ignored when found in the file but not expected.
//
// A file saved from a wrapped model, every name behind the same prefix ending in
// '.' (torch.nn.DataParallel's "module.", a training framework's "model."), is
// read as if saved from the model itself when the prefix is all that differs:
// every needed tensor is there behind it. Check then renames the file's tensors.
func (f *File) Check(expected []Expect) error {
	err := f.check(expected)
	if err == nil {
		return nil
	}
	if p := f.wrapperPrefix(expected); p != "" {
		f.stripPrefix(p)
		return f.check(expected)
	}
	return err
}

// wrapperPrefix returns the prefix, ending in '.' and shared by every tensor of f, behind which
// f holds every tensor expected needs, or "" if there is none. Of nested wrappers
// ("model.module."), the longest that fits.
func (f *File) wrapperPrefix(expected []Expect) string {
	if len(f.names) == 0 {
		return ""
	}
	common := f.names[0]
	for _, n := range f.names[1:] {
		i := 0
		for i < len(common) && i < len(n) && common[i] == n[i] {
			i++
		}
		common = common[:i]
	}
	for p := common[:strings.LastIndexByte(common, '.')+1]; p != ""; p = p[:strings.LastIndexByte(p[:len(p)-1], '.')+1] {
		found := 0
		for _, e := range expected {
			if _, ok := f.tensors[p+e.Name]; ok {
				found++
			} else if !e.Optional {
				found = -1
				break
			}
		}
		if found > 0 {
			return p
		}
	}
	return ""
}

// stripPrefix renames every tensor of f, all named behind p, to the name after p.
func (f *File) stripPrefix(p string) {
	tensors := make(map[string]tensorEntry, len(f.tensors))
	for i, n := range f.names {
		tensors[n[len(p):]] = f.tensors[n]
		f.names[i] = n[len(p):]
	}
	f.tensors = tensors
}

func (f *File) check(expected []Expect) error {
	m := MismatchError{format: f.format}
	want := make(map[string]bool, len(expected))
	for _, exp := range expected {
		if want[exp.Name] {
			// A bug in the caller, not in the file.
			return fmt.Errorf("%s: Check: tensor %q expected twice", f.format, exp.Name)
		}
		want[exp.Name] = true
		t, ok := f.tensors[exp.Name]
		if !ok {
			if !exp.Optional {
				m.Missing = append(m.Missing, exp.Name)
			}
			continue
		}
		if !slices.Equal(t.info.Shape, exp.Shape) {
			m.Shapes = append(m.Shapes, ShapeMismatch{
				Name: exp.Name,
				Want: slices.Clone(exp.Shape),
				Got:  slices.Clone(t.info.Shape),
			})
		}
		if !isFloatDType(t.info.DType) {
			m.DTypes = append(m.DTypes, DTypeMismatch{Name: exp.Name, DType: t.info.DType})
		}
	}
	for _, name := range f.names {
		if !want[name] && !strings.HasSuffix(name, "num_batches_tracked") {
			m.Unexpected = append(m.Unexpected, name)
		}
	}
	if len(m.Missing)+len(m.Unexpected)+len(m.Shapes)+len(m.DTypes) == 0 {
		return nil
	}
	slices.Sort(m.Missing)
	slices.SortFunc(m.Shapes, func(a, b ShapeMismatch) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(m.DTypes, func(a, b DTypeMismatch) int { return strings.Compare(a.Name, b.Name) })
	return &m
}
