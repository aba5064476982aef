package runtime

import (
	"errors"
	"fmt"
)

// The globals a state_dict's pickle may name, and what calling them builds: the one place that
// decides what a checkpoint can make the unpickler do (pth_pickle.go runs the opcodes).

// pthStorageDTypes maps the storage classes a checkpoint may name to their dtypes. The integer
// ones are read so that a state_dict with BatchNorm's num_batches_tracked (a LongStorage) opens;
// loading one as weights is refused like an integer safetensors tensor.
var pthStorageDTypes = map[string]string{
	"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16", "DoubleStorage": "F64",
	"LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL",
}

// resolveGlobal is the whole list of globals a state_dict's pickle may name.
func resolveGlobal(module, name string) (pyGlobal, error) {
	g := pyGlobal{module: module, name: name}
	switch module + "." + name {
	case "collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
		"torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter":
		return g, nil
	}
	if module == "torch" {
		if dt, ok := pthStorageDTypes[name]; ok {
			g.dtype = dt
			return g, nil
		}
		if len(name) > 7 && name[len(name)-7:] == "Storage" {
			return g, fmt.Errorf("storage type torch.%s is not supported: weights must be float32, float16, bfloat16 or float64", name)
		}
	}
	return g, fmt.Errorf("global %s.%s is not allowed: a state_dict needs only tensors, their storages and OrderedDict (nothing in a checkpoint is run)", module, name)
}

func (u *unpickler) reduce() error {
	args, err1 := u.pop()
	fn, err2 := u.pop()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	g, ok := fn.(pyGlobal)
	if !ok {
		return fmt.Errorf("REDUCE calls %s", typeName(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return fmt.Errorf("%s.%s called with %s, not a tuple", g.module, g.name, typeName(args))
	}
	v, err := call(g, a)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", g.module, g.name, err)
	}
	return u.push(v, 96)
}

// call does what the allowed globals do to build a state_dict, checking their arguments' types.
func call(g pyGlobal, a pyTuple) (any, error) {
	switch g.name {
	case "OrderedDict":
		if len(a) != 0 {
			return nil, fmt.Errorf("%d arguments: want none (items come by SETITEMS)", len(a))
		}
		return &pyDict{}, nil
	case "_rebuild_parameter": // (tensor, requires_grad, backward_hooks)
		if len(a) != 3 {
			return nil, fmt.Errorf("%d arguments, want 3", len(a))
		}
		t, ok := a[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("data is %s, not a tensor", typeName(a[0]))
		}
		return t, nil
	case "_rebuild_tensor", "_rebuild_tensor_v2":
		// (storage, storage_offset, size, stride) and, for v2, requires_grad, backward_hooks
		// and, since torch 1.13, an optional metadata dict. Only the first four matter here.
		if n := len(a); g.name == "_rebuild_tensor" && n != 4 || g.name == "_rebuild_tensor_v2" && n != 6 && n != 7 {
			return nil, fmt.Errorf("%d arguments", n)
		}
		s, ok := a[0].(*pyStorage)
		if !ok {
			return nil, fmt.Errorf("storage is %s", typeName(a[0]))
		}
		off, ok := a[1].(int64)
		if !ok {
			return nil, fmt.Errorf("storage offset is %s, not an int", typeName(a[1]))
		}
		shape, err1 := ints(a[2], "size")
		stride, err2 := ints(a[3], "stride")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return &pyTensor{storage: s, offset: off, shape: shape, stride: stride}, nil
	}
	return nil, errors.New("is not callable in a state_dict")
}

// ints reads a tuple of integers (a torch.Size or a stride).
func ints(v any, what string) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a tuple", what, typeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		if out[i], ok = x.(int64); !ok {
			return nil, fmt.Errorf("%s holds %s, not an int", what, typeName(x))
		}
	}
	return out, nil
}

// build is BUILD: setting an object's attributes from a state. A state_dict's OrderedDict gets
// its _metadata (module versions) this way, which loading weights does not need.
func (u *unpickler) build() error {
	state, err := u.pop()
	if err != nil {
		return err
	}
	obj, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := obj.(*pyDict); !ok {
		return fmt.Errorf("BUILD of %s: only a state_dict's attributes are expected", typeName(obj))
	}
	if _, ok := state.(*pyDict); !ok {
		return fmt.Errorf("BUILD with %s: want a dict of attributes", typeName(state))
	}
	return nil
}

// typeName names a value's Python type for errors, with its article, and an int's value; never
// a container's contents, which may nest a million deep or contain themselves.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64:
		return fmt.Sprintf("the int %d", v)
	case float64:
		return fmt.Sprintf("the float %g", v)
	case pyLong:
		return "a long int"
	case string:
		return "a str"
	case pyTuple:
		return "a tuple"
	case *pyList:
		return "a list"
	case *pyDict:
		return "a dict"
	case pyGlobal:
		return "the global " + v.module + "." + v.name
	case *pyStorage:
		return "a storage"
	case *pyTensor:
		return "a tensor"
	}
	return fmt.Sprintf("a %T", v)
}
