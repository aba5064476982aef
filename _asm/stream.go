package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The element-wise kernels (activations, arithmetic, LRN, pooling passes, depthwise rows, GEMV)
// share one loop: a few vectors of outputs per iteration while they last, then one, then the
// last partial vector under masks. Their bodies describe one vector of outputs through an ewise,
// which addresses the operands (streams) and masks them in the tail.
//
// The unrolling (vectors per iteration) each kernel chooses was measured against one vector per
// iteration on 4096 floats in L1 (time with one over time unrolled, AVX-512 / AVX2, median of 4
// alternating runs on this 2-core Zen 4 VM): VAdd (4) 1.27 / 1.18, VReLU (4) 1.76 / 1.72,
// VSigmoid (2) 1.05 / 1.11, RSum (2: two accumulator chains) 2.2 / 3.2, MaxPoolV3 (2) 1.19 / 1.96,
// DWConvRow3s1 (2) 1.27 / 2.06, LRNSqAcc (4) 1.40 / 1.66, Gemv4 (2) 1.23 / 1.29; from L2 and
// memory (2^18 floats) the gains shrink to 0.9-1.5 but for RSum (2.0 / 3.0). The stride-2
// kernels' shuffles fill an iteration of one vector.

// stream is a slice operand of an element-wise kernel. For output x, a load at offset off reads
// element scale*x + off: scale is 1, or 2 for the stride-2 kernels (pooling, depthwise rows and
// the stride-2 gather), whose inputs hold two elements per output.
type stream struct {
	param string // the slice parameter
	scale int    // elements per output
	// extra is how many elements the operand holds past scale*rem - 1 for the last rem
	// outputs (a window's overhang; -1 for the gather, whose last odd element is not read):
	// in the tail, the lanes of a load at offset off are those below scale*rem + extra - off.
	extra int
	base  Register
	ext   Register // in the tail: scale*rem + extra in every lane
}

// in returns a stream read or written one element per output.
func in(param string) *stream { return &stream{param: param, scale: 1} }

// ewise emits one element-wise kernel.
type ewise struct {
	l       *level
	name    string
	streams []*stream
	i       Register // outputs done
	u       int      // the vector of the iteration being emitted
	tail    bool     // emitting the masked last vector
}

// newEwise starts the kernel name with the streams, loading their bases.
func newEwise(l *level, name string, streams ...*stream) *ewise {
	e := &ewise{l: l, name: name, streams: streams}
	for _, s := range streams {
		if s.base == nil {
			s.base = loadBase(s.param)
		}
	}
	return e
}

// at is the memory of stream s at element offset off of the current vector.
func (e *ewise) at(s *stream, off int) Mem {
	return Mem{Base: s.base, Index: e.i, Scale: uint8(4 * s.scale), Disp: 4 * (s.scale*e.u*e.l.vl + off)}
}

// load loads the vector of s at offset off into a new register (masked in the tail).
func (e *ewise) load(s *stream, off int) VecVirtual {
	v := e.l.vec()
	e.loadTo(s, off, v)
	return v
}

// loadTo is load into v.
func (e *ewise) loadTo(s *stream, off int, v Register) {
	if !e.tail {
		VMOVUPS(e.at(s, off), v)
		return
	}
	m := e.l.newMask()
	e.l.lanesBelow(s.ext, off, m)
	e.l.maskedLoad(e.at(s, off), m, v)
}

// src is the vector of s at offset off as a source operand: its memory in the loops, a masked
// load in the tail (a memory operand would read past the slice).
func (e *ewise) src(s *stream, off int) Op {
	if !e.tail {
		return e.at(s, off)
	}
	return e.load(s, off)
}

// store stores v to the vector of s at offset off (masked in the tail).
func (e *ewise) store(s *stream, off int, v Register) {
	if !e.tail {
		VMOVUPS(v, e.at(s, off))
		return
	}
	m := e.l.newMask()
	e.l.lanesBelow(s.ext, off, m)
	e.l.maskedStore(v, m, e.at(s, off))
}

// loop emits the loop over n outputs (n a register): unroll vectors per iteration while that
// many remain, then one vector at a time, then the last partial vector under masks. body emits
// one vector through e; e.u is its index in the iteration (0 after the first loop). The caller
// emits what follows (a reduction, VZEROUPPER and RET).
func (e *ewise) loop(n Register, unroll int, body func(e *ewise)) {
	l := e.l
	e.i = GP64()
	XORQ(e.i, e.i)
	rest := GP64()
	if unroll > 1 {
		Label(e.name + "_loop")
		MOVQ(n, rest)
		SUBQ(e.i, rest)
		CMPQ(rest, U32(unroll*l.vl))
		JL(LabelRef(e.name + "_one"))
		for u := range unroll {
			e.u = u
			body(e)
		}
		ADDQ(U32(unroll*l.vl), e.i)
		JMP(LabelRef(e.name + "_loop"))
	}
	e.u = 0
	Label(e.name + "_one")
	MOVQ(n, rest)
	SUBQ(e.i, rest)
	CMPQ(rest, U8(l.vl))
	JL(LabelRef(e.name + "_tail"))
	body(e)
	ADDQ(U8(l.vl), e.i)
	JMP(LabelRef(e.name + "_one"))

	Label(e.name + "_tail")
	TESTQ(rest, rest)
	JE(LabelRef(e.name + "_done"))
	Comment("the last rest < vl outputs, under masks")
	exts := map[[2]int]Register{}
	for _, s := range e.streams {
		key := [2]int{s.scale, s.extra}
		if r, ok := exts[key]; ok {
			s.ext = r
			continue
		}
		c := GP64()
		MOVQ(rest, c)
		if s.scale == 2 {
			SHLQ(U8(1), c)
		}
		switch {
		case s.extra > 0:
			ADDQ(U8(s.extra), c)
		case s.extra < 0:
			SUBQ(U8(-s.extra), c)
		}
		v := l.vec()
		l.broadcastInt(c.(GP), v)
		s.ext, exts[key] = v, v
	}
	e.tail = true
	body(e)
	e.tail = false
	Label(e.name + "_done")
}
