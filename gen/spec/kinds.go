package spec

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/cnngen/cnngen/gen/ir"
)

// attrKind is how the language spells one Go type of attribute field (ir.Fields). The reader and
// the writer both go through attrKinds, so what Write writes is what Parse reads back, for any op
// whose fields have these types.
type attrKind struct {
	what  string                                // what a missing field should hold, for messages
	read  func(a *attrs, k string) (any, error) // the field is present
	write func(v reflect.Value) (string, error) // "" never: a field is written or omitted
}

// The ranges are the types' (a size is positive, a count or padding non-negative); the ops check
// the rest. Numbers may be infinite: an op that needs finite ones says so, and clip's bounds
// default to the infinities.
var attrKinds = map[reflect.Type]attrKind{
	reflect.TypeFor[int](): {
		what: "an integer",
		read: func(a *attrs, k string) (any, error) { return a.int(k, 0, true, 0) },
		write: func(v reflect.Value) (string, error) {
			return strconv.Itoa(int(v.Int())), inRange(0, int(v.Int()))
		},
	},
	reflect.TypeFor[float64](): {
		what:  "a number",
		read:  func(a *attrs, k string) (any, error) { return a.number(k) },
		write: func(v reflect.Value) (string, error) { return fmtFloat(v.Float()) },
	},
	reflect.TypeFor[bool](): {
		what:  "true or false",
		read:  func(a *attrs, k string) (any, error) { return a.bool(k, false) },
		write: func(v reflect.Value) (string, error) { return strconv.FormatBool(v.Bool()), nil },
	},
	reflect.TypeFor[string](): {
		what: "a string",
		read: func(a *attrs, k string) (any, error) {
			s, _, err := a.str(k)
			return s, err
		},
		write: func(v reflect.Value) (string, error) { return fmtStr(v.String()) },
	},
	// A pair is a 2-D size: n or [h, w].
	reflect.TypeFor[[2]int](): {
		what: "an integer or a list of integers",
		read: func(a *attrs, k string) (any, error) { return a.pair(k, 0, true, 1) },
		write: func(v reflect.Value) (string, error) {
			p := v.Interface().([2]int)
			return pair(p), inRange(1, p[:]...)
		},
	},
	// Pads: n, [h, w] or [top, left, bottom, right].
	reflect.TypeFor[[4]int](): {
		what: "an integer or a list of integers",
		read: func(a *attrs, k string) (any, error) { return a.pad(k, true) },
		write: func(v reflect.Value) (string, error) {
			p := v.Interface().([4]int)
			return pads(p), inRange(0, p[:]...)
		},
	},
	// Per-channel values; one number stands for every channel.
	reflect.TypeFor[[]float64](): {
		what: "a number or a list of numbers",
		read: func(a *attrs, k string) (any, error) { return a.floats(k, true, true, true) },
		write: func(v reflect.Value) (string, error) {
			fs := v.Interface().([]float64)
			if len(fs) == 1 {
				return fmtFloat(fs[0])
			}
			return fmtFloats(fs)
		},
	},
	// A per-image shape.
	reflect.TypeFor[ir.Shape](): {
		what: "a list of integers",
		read: func(a *attrs, k string) (any, error) {
			s, err := a.ints(k, nil, true, 1, anyLen)
			if err == nil && len(s) > maxRank {
				return nil, a.b.errAt(a.raw(k), "%s: %s has %d dimensions, at most %d are supported", a.owner, k, len(s), maxRank)
			}
			return ir.Shape(s), err
		},
		write: func(v reflect.Value) (string, error) {
			s := v.Interface().(ir.Shape)
			if len(s) == 0 || len(s) > maxRank {
				return "", fmt.Errorf("%v has %d dimensions, want 1 to %d", s, len(s), maxRank)
			}
			return intList(s), inRange(1, s...)
		},
	},
}

// inRange checks that integers are in the reader's range [min, MaxInt32].
func inRange(min int, vs ...int) error {
	for _, v := range vs {
		if v < min || v > math.MaxInt32 {
			return fmt.Errorf("%d is outside [%d, %d]", v, min, math.MaxInt32)
		}
	}
	return nil
}
