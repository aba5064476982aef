package runtime

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
)

// A restricted unpickler for PyTorch checkpoints: the opcodes torch.save uses for a state_dict
// (protocol 2, the default, and the framing and short forms of 3 to 5) and the globals such a
// pickle names, each resolved to a Go value (pth_globals.go). Nothing is called or imported by
// name: an unknown global is an error naming it. It is not github.com/nlpodyssey/gopickle
// because that cannot be bounded: it allocates a length read from the input before reading (13
// bytes ask for 1 GiB) and it panics on some valid pickles (LONG1 of zero bytes).
//
// Everything is read from one in-memory pickle of at most maxPickleBytes; every value made is
// charged against maxPickleMemory, and no value is ever walked recursively (a list can contain
// itself), so a hostile pickle costs bounded memory and time.

const (
	// maxPickleBytes caps a checkpoint's pickle: a state_dict's takes about 120 bytes a tensor
	// (ResNet-18's is 15 KB), so this allows some 250,000 tensors.
	maxPickleBytes = 32 << 20
	// maxPickleMarks caps MARKs open at once: a state_dict nests 3 deep.
	maxPickleMarks = 64
)

// maxPickleMemory caps what unpickling may allocate, charged per value (a state_dict is
// charged ~1.5 KB a tensor: some 170,000 tensors). A variable so that a test can reach it
// without using 256 MiB.
var maxPickleMemory int64 = 256 << 20

// errPickleShort means the pickle runs past the bytes given: truncated, or (for the legacy
// format, whose pickles are read through a growing window) not read far enough yet.
var errPickleShort = errors.New("pickle ends early (truncated file?)")

// Python values. Integers are int64, strings string, None nil, booleans bool.
type (
	pyTuple []any
	pyList  struct{ items []any }
	// pyDict keeps insertion order and every pair: whoever reads one decides about duplicates.
	pyDict struct{ keys, values []any }
	// pyLong is an integer wider than 64 bits (the legacy format's magic number), as LONG1
	// stores it: little-endian two's complement.
	pyLong []byte
	// pyGlobal is one of the globals a state_dict may name (see resolveGlobal).
	pyGlobal struct {
		module, name string
		dtype        string // for storage classes: the tensor dtype, as safetensors names it
	}
	// pyStorage is a persistent-id storage reference: the elements key's data holds (count),
	// or for a legacy view, count elements from offset in the storage of key.
	pyStorage struct {
		key, dtype    string
		numel         int64 // elements of the whole storage named key
		offset, count int64 // the part the reference covers
	}
	// pyTensor is what torch._utils._rebuild_tensor_v2 would build, not yet checked against
	// its storage (that needs the tensor's name for the error, known once it is in the dict).
	pyTensor struct {
		storage       *pyStorage
		offset        int64
		shape, stride []int64
	}
)

type unpickler struct {
	data   []byte
	pos    int
	stack  []any
	marks  []int
	memo   map[int64]any
	spent  int64
	persID func(pid pyTuple) (any, error) // resolves BINPERSID
}

func newUnpickler(data []byte, persID func(pyTuple) (any, error)) *unpickler {
	return &unpickler{data: data, memo: map[int64]any{}, persID: persID}
}

// load runs the pickle to its STOP and returns the value and the bytes it used.
func (u *unpickler) load() (any, int, error) {
	for {
		if u.pos >= len(u.data) {
			return nil, 0, errPickleShort
		}
		at, op := u.pos, u.data[u.pos]
		u.pos++
		if op == '.' { // STOP
			v, err := u.pop()
			if err != nil {
				return nil, 0, fmt.Errorf("pickle byte %d: STOP: %w", at, err)
			}
			return v, u.pos, nil
		}
		if err := u.step(op); err != nil {
			if err == errPickleShort {
				return nil, 0, err
			}
			return nil, 0, fmt.Errorf("pickle byte %d (opcode 0x%02x): %w", at, op, err)
		}
	}
}

func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		b, err := u.take(1)
		if err == nil && (b[0] < 2 || b[0] > 5) {
			err = fmt.Errorf("pickle protocol %d: want 2 to 5 (torch.save writes 2)", b[0])
		}
		return err
	case 0x95: // FRAME: a length hint (protocol 4); the framed opcodes are read as usual
		n, err := u.uint(8)
		if err == nil && n > uint64(len(u.data)-u.pos) {
			err = errPickleShort
		}
		return err
	case '(': // MARK
		if len(u.marks) == maxPickleMarks {
			return fmt.Errorf("more than %d MARKs open: nested too deep for a state_dict", maxPickleMarks)
		}
		u.marks = append(u.marks, len(u.stack))
		return u.charge(8)
	case '0': // POP
		_, err := u.pop()
		return err
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		return u.push(v, 0)
	case 'N':
		return u.push(nil, 0)
	case 0x88, 0x89: // NEWTRUE, NEWFALSE
		return u.push(op == 0x88, 0)
	case 'J': // BININT
		n, err := u.uint(4)
		if err != nil {
			return err
		}
		return u.push(int64(int32(uint32(n))), 0)
	case 'G': // BINFLOAT: a training checkpoint's epoch, loss or learning rate beside its state_dict
		n, err := u.uint(8)
		if err != nil {
			return err
		}
		return u.push(math.Float64frombits(bits.ReverseBytes64(n)), 0)
	case 'K', 'M': // BININT1, BININT2
		n, err := u.uint(operandSize(op))
		if err != nil {
			return err
		}
		return u.push(int64(n), 0)
	case 0x8a, 0x8b: // LONG1, LONG4
		n, err := u.uint(operandSize(op))
		if err != nil {
			return err
		}
		return u.long(n)
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		n, err := u.uint(operandSize(op))
		if err != nil {
			return err
		}
		if n > uint64(len(u.data)-u.pos) {
			return errPickleShort // before anything is allocated
		}
		b, _ := u.take(int(n))
		if !utf8.Valid(b) {
			return errors.New("string is not valid UTF-8")
		}
		return u.push(string(b), int64(n))
	case ')': // EMPTY_TUPLE
		return u.push(pyTuple{}, 0)
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.push(pyTuple(items), 16*int64(len(items)))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		if len(u.stack)-u.markBase() < n {
			return errors.New("stack underflow")
		}
		items := pyTuple(append([]any(nil), u.stack[len(u.stack)-n:]...))
		u.stack = u.stack[:len(u.stack)-n]
		return u.push(items, 16*int64(n))
	case ']': // EMPTY_LIST
		return u.push(&pyList{}, 24)
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.push(&pyList{items: items}, 24+16*int64(len(items)))
	case 'a', 'e': // APPEND, APPENDS
		return u.appends(op == 'e')
	case '}': // EMPTY_DICT
		return u.push(&pyDict{}, 48)
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := &pyDict{}
		if err := u.setItems(d, items); err != nil {
			return err
		}
		return u.push(d, 48)
	case 's', 'u': // SETITEM, SETITEMS
		return u.setItemsOp(op == 'u')
	case 'c': // GLOBAL
		module, err := u.line()
		if err != nil {
			return err
		}
		name, err := u.line()
		if err != nil {
			return err
		}
		return u.global(module, name)
	case 0x93: // STACK_GLOBAL
		name, err1 := u.pop()
		module, err2 := u.pop()
		m, ok1 := module.(string)
		n, ok2 := name.(string)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("STACK_GLOBAL of %s and %s, not two strings", typeName(module), typeName(name))
		}
		return u.global(m, n)
	case 'R': // REDUCE
		return u.reduce()
	case 'b': // BUILD
		return u.build()
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := pid.(pyTuple)
		if !ok {
			return fmt.Errorf("persistent id is %s, not a tuple", typeName(pid))
		}
		v, err := u.persID(t)
		if err != nil {
			return err
		}
		return u.push(v, 64)
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		return u.put(op)
	case 'h', 'j': // BINGET, LONG_BINGET
		i, err := u.uint(operandSize(op))
		if err != nil {
			return err
		}
		v, ok := u.memo[int64(i)]
		if !ok {
			return fmt.Errorf("memo %d read before it is set", i)
		}
		return u.push(v, 0)
	}
	return fmt.Errorf("opcode not used by torch.save for a state_dict")
}

// operandSize is the byte count of an opcode's integer operand (a value or a length).
func operandSize(op byte) int {
	switch op {
	case 'K', 0x8a, 0x8c, 'h', 'q':
		return 1
	case 'M':
		return 2
	case 'X', 0x8b, 'j', 'r':
		return 4
	}
	return 8 // BINUNICODE8
}

// charge counts n bytes against maxPickleMemory.
func (u *unpickler) charge(n int64) error {
	u.spent += n
	if u.spent > maxPickleMemory {
		return fmt.Errorf("unpickling needs more than %d MiB: not a state_dict", maxPickleMemory>>20)
	}
	return nil
}

// push adds v to the stack, charging its slot and size more bytes.
func (u *unpickler) push(v any, size int64) error {
	if err := u.charge(16 + size); err != nil {
		return err
	}
	u.stack = append(u.stack, v)
	return nil
}

// markBase is where the innermost open MARK starts: values below it are out of reach.
func (u *unpickler) markBase() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.markBase() {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) pop() (any, error) {
	v, err := u.top()
	if err == nil {
		u.stack = u.stack[:len(u.stack)-1]
	}
	return v, err
}

// popMark removes and returns the values above the innermost MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK open")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) take(n int) ([]byte, error) {
	if n > len(u.data)-u.pos {
		return nil, errPickleShort
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

// uint reads an n-byte little-endian unsigned integer.
func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// long pushes an n-byte two's complement integer: int64 when it fits, else a pyLong.
func (u *unpickler) long(n uint64) error {
	if n > 16 {
		return fmt.Errorf("integer of %d bytes: too large for a state_dict", n)
	}
	b, err := u.take(int(n))
	if err != nil {
		return err
	}
	if n > 8 {
		return u.push(pyLong(append([]byte(nil), b...)), int64(n))
	}
	var v int64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | int64(b[i])
	}
	if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
		v -= 1 << (8 * n) // sign-extend
	}
	return u.push(v, 0)
}

// line reads a GLOBAL operand, up to its newline.
func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", errPickleShort
}

func (u *unpickler) global(module, name string) error {
	g, err := resolveGlobal(module, name)
	if err != nil {
		return err
	}
	return u.push(g, int64(len(module)+len(name)))
}

func (u *unpickler) appends(many bool) error {
	var items []any
	if many {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
	} else {
		v, err := u.pop()
		if err != nil {
			return err
		}
		items = []any{v}
	}
	top, err := u.top()
	if err != nil {
		return err
	}
	l, ok := top.(*pyList)
	if !ok {
		return fmt.Errorf("APPEND to %s, not a list", typeName(top))
	}
	l.items = append(l.items, items...)
	return u.charge(16 * int64(len(items)))
}

func (u *unpickler) setItemsOp(many bool) error {
	var items []any
	var err error
	if many {
		items, err = u.popMark()
	} else if len(u.stack)-u.markBase() < 2 {
		err = errors.New("stack underflow")
	} else {
		items = append([]any(nil), u.stack[len(u.stack)-2:]...)
		u.stack = u.stack[:len(u.stack)-2]
	}
	if err != nil {
		return err
	}
	top, err := u.top()
	if err != nil {
		return err
	}
	d, ok := top.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on %s, not a dict", typeName(top))
	}
	return u.setItems(d, items)
}

func (u *unpickler) setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("%d values for a dict's key/value pairs", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64:
		default:
			return fmt.Errorf("dict key is %s: a state_dict's keys are strings", typeName(items[i]))
		}
		d.keys = append(d.keys, items[i])
		d.values = append(d.values, items[i+1])
	}
	return u.charge(16 * int64(len(items)))
}

func (u *unpickler) put(op byte) error {
	var i int64
	switch op {
	case 'q', 'r':
		n, err := u.uint(operandSize(op))
		if err != nil {
			return err
		}
		i = int64(n)
	default: // MEMOIZE
		i = int64(len(u.memo))
	}
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[i] = v
	return u.charge(64)
}
