package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// level is what differs between the AVX-512 and the AVX2 code of a kernel.
type level struct {
	name  string        // the routines' instruction-set suffix: AVX512 or AVX2
	vl    int           // float32 lanes of a vector
	regs  []VecPhysical // the vector registers the level may use: zmm0-31, or ymm0-15
	shift uint8         // log2(vl)
}

var (
	zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

	lvl512 = &level{name: "AVX512", vl: 16, regs: zmm, shift: 4}
	lvl256 = &level{name: "AVX2", vl: 8, regs: ymm, shift: 3}
	levels = []*level{lvl512, lvl256}
)

func (l *level) avx512() bool { return l.vl == 16 }

// vec returns a new virtual vector register.
func (l *level) vec() VecVirtual {
	if l.avx512() {
		return ZMM()
	}
	return YMM()
}

// or sets dst = a | b: VPORD for zmm (VORPS zmm needs AVX-512 DQ).
func (l *level) or(a, b, dst Op) {
	if l.avx512() {
		VPORD(a, b, dst)
	} else {
		VORPS(a, b, dst)
	}
}

// zero clears v (VXORPS zmm needs AVX-512 DQ too).
func (l *level) zero(v Op) {
	if l.avx512() {
		VPXORD(v, v, v)
	} else {
		VXORPS(v, v, v)
	}
}

// broadcastInt sets every lane of v to the low 32 bits of the general register n.
func (l *level) broadcastInt(n GP, v interface {
	Register
	AsX() Register
}) {
	if l.avx512() {
		VPBROADCASTD(n.As32(), v)
		return
	}
	VMOVD(n.As32(), v.AsX())
	VPBROADCASTD(v.AsX(), v)
}

// iota is the int32 sequence 0, 1, ..., 63 (one per generated file): lanesBelow compares a count
// with it to make the mask of a partial vector.
var iotaData Mem

func iota() Mem {
	if iotaData.Symbol.Name == "" {
		iotaData = GLOBL("f32Iota", RODATA|NOPTR)
		for i := range 64 {
			DATA(4*i, U32(uint32(i)))
		}
	}
	return iotaData
}

// lanesBelow sets m to the mask of the lanes j with off+j < e[j], where every lane of the
// register e holds the same count: a K register for AVX-512, a vector for AVX2 (-1 in the lanes
// set). Counts below off give no lane, counts from off+vl on every lane.
func (l *level) lanesBelow(e Register, off int, m Op) {
	if off < 0 || off+l.vl > 64 {
		panic(fmt.Sprint("lanesBelow: offset ", off))
	}
	VPCMPGTD(iota().Offset(4*off), e, m)
}

// maskedLoad loads the lanes of a vector at mem that mask m enables (see lanesBelow) into v, and
// zeros the others; maskedStore stores those lanes of v.
func (l *level) maskedLoad(mem Mem, m Op, v Register) {
	if l.avx512() {
		VMOVUPS_Z(mem, m, v)
	} else {
		VMASKMOVPS(mem, m, v)
	}
}

func (l *level) maskedStore(v Register, m Op, mem Mem) {
	if l.avx512() {
		VMOVUPS(v, m, mem)
	} else {
		VMASKMOVPS(v, m, mem)
	}
}

// newMask returns a register for a mask: K7 (AVX-512; the kernels use K1-K4 for themselves) or
// a new virtual vector.
func (l *level) newMask() Op {
	if l.avx512() {
		return K7
	}
	return l.vec()
}

// maxNaN sets dst = max(a, b), NaN if either is: VMAXPS returns its second source when either
// operand is NaN, so the two operand orders differ exactly when one is NaN, and or-ing them keeps
// the NaN (its exponent bits are all ones and its mantissa non-zero). tmp must differ from a, b.
func (l *level) maxNaN(a, b, dst, tmp Register) {
	VMAXPS(a, b, tmp)
	VMAXPS(b, a, dst)
	l.or(tmp, dst, dst)
}

// unpermuteIdx is the VPERMPD index that undoes the 64-bit pair order VSHUFPS leaves in a zmm
// (per 128-bit lane, the pair from its first source, then the one from its second): the pairs
// of the first vector (0, 2, 4, 6), then those of the second (1, 3, 5, 7). permuteIdx is its
// inverse. One each per generated file.
var unpermuteData, permuteData Mem

func unpermuteIdx() Mem {
	if unpermuteData.Symbol.Name == "" {
		unpermuteData = GLOBL("f32Unpermute512", RODATA|NOPTR)
		for i, v := range []uint64{0, 2, 4, 6, 1, 3, 5, 7} {
			DATA(8*i, U64(v))
		}
	}
	return unpermuteData
}

func permuteIdx() Mem {
	if permuteData.Symbol.Name == "" {
		permuteData = GLOBL("f32Permute512", RODATA|NOPTR)
		for i, v := range []uint64{0, 4, 1, 5, 2, 6, 3, 7} {
			DATA(8*i, U64(v))
		}
	}
	return permuteData
}

// unpermute puts the 64-bit pairs of v back in order after VSHUFPS of two vectors; idx holds
// unpermuteIdx (AVX-512 only: ymm uses an immediate).
func (l *level) unpermute(v, idx Register) {
	if l.avx512() {
		VPERMPD(v, idx, v)
	} else {
		VPERMPD(U8(0xD8), v, v)
	}
}

// permute is unpermute's inverse; idx holds permuteIdx (AVX-512 only).
func (l *level) permute(v, idx Register) {
	if l.avx512() {
		VPERMPD(v, idx, v)
	} else {
		VPERMPD(U8(0xD8), v, v)
	}
}

// scalarParam returns the address of a float32 parameter, for VBROADCASTSS.
func scalarParam(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// loadBase loads the data pointer of the slice parameter name.
func loadBase(name string) Register { return Load(Param(name).Base(), GP64()) }

// loadLen loads the length of the slice parameter name.
func loadLen(name string) Register { return Load(Param(name).Len(), GP64()) }

// isaName is the level's instruction set as the docs spell it.
func isaName(l *level) string {
	if l.avx512() {
		return "AVX-512"
	}
	return "AVX2"
}
