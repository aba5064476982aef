package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// Cast: on constants it converts as ONNX does (truncating floats to integers, wrapping integers
// like a C cast, rounding to FLOAT16/BFLOAT16 to nearest even); on the network's tensors only
// the identity cast to FLOAT is supported, which vanishes.

func lowerCast(c *call) {
	to := c.castTo()
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	if to != tFloat {
		c.fail("casts the network's tensors to %s; only FLOAT is supported", typeName(to))
		return
	}
	c.rebind(x)
}

func foldCast(c *call) {
	to := c.castTo()
	if elemSize(to) == 0 {
		c.fail("cast to %s is not supported", typeName(to))
		return
	}
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if !c.charge(t.size()) {
		c.fail("folded constant of dims %v is too large", t.dims)
		return
	}
	out := &tensor{dtype: to, dims: t.dims}
	switch {
	case isFloatType(to) && t.isFloat():
		out.f = t.f
		if to == tFloat16 || to == tBfloat16 {
			out.f = make([]float32, len(t.f))
			for k, v := range t.f {
				out.f[k] = roundHalf(to, v)
			}
		}
	case isFloatType(to):
		if t.hasBatch() {
			c.fail("casts the batch size to a float")
			return
		}
		out.f = make([]float32, len(t.i))
		for k, v := range t.i {
			out.f[k] = float32(v)
		}
	case t.isFloat():
		out.i = make([]int64, len(t.f))
		for k, v := range t.f {
			out.i[k] = castInt(to, float64(v))
		}
	default:
		out.i = make([]int64, len(t.i))
		for k, v := range t.i {
			out.i[k] = wrapInt(to, v)
		}
		out.batch = t.batch
	}
	out.fixEmpty()
	c.setConst(0, out)
}

// castTo is Cast's target type: Cast-1 names it ("FLOAT"), later versions give its number.
func (c *call) castTo() int32 {
	if c.ver >= 6 {
		return int32(c.attrInt("to", 0))
	}
	name := c.attrString("to", "")
	t, ok := onnxpb.TensorProto_DataType_value[name]
	if !ok {
		c.fail("to %q is not a tensor type", name)
	}
	return t
}

// roundHalf rounds v to the nearest FLOAT16 or BFLOAT16 value (to nearest even).
func roundHalf(dt int32, v float32) float32 {
	if dt == tBfloat16 {
		b := math.Float32bits(v)
		if v != v {
			return v
		}
		b += 0x7fff + (b>>16)&1
		return math.Float32frombits(b &^ 0xffff)
	}
	return halfToFloat(tFloat16, floatToHalf(v))
}

// floatToHalf converts to IEEE half bits, rounding to nearest even.
func floatToHalf(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 31: // overflow or inf
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		frac |= 0x800000
		shift := uint(14 - exp)
		h := frac >> shift
		rem := frac & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to inf: correct
	}
	return sign | uint16(h)
}

// castInt converts a float to an integer type (truncating; bool is v != 0).
func castInt(to int32, v float64) int64 {
	if to == tBool {
		if v != 0 {
			return 1
		}
		return 0
	}
	if v != v {
		return 0
	}
	v = math.Trunc(v)
	if v >= math.MaxInt64 {
		return wrapInt(to, math.MaxInt64)
	}
	if v <= math.MinInt64 {
		return wrapInt(to, math.MinInt64)
	}
	return wrapInt(to, int64(v))
}

// wrapInt narrows an integer to the range of type to, as a C cast does.
func wrapInt(to int32, v int64) int64 {
	switch to {
	case tInt32:
		return int64(int32(v))
	case tInt8:
		return int64(int8(v))
	case tUint8:
		return int64(uint8(v))
	case tBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}
