package kernels

import (
	"fmt"
	"math"
)

// Softmax normalizes blocks of Block values spaced Inner apart, Outer*Inner of them, of a
// row-major tensor: a softmax over one axis (or several contiguous ones) whose extent is Block,
// with Outer the product of the extents before it and Inner of those after; Log gives the
// log-softmax.
//
// The maximum is subtracted first (x - max rounded to float32, as PyTorch does); the exps are
// the f32vexp kernels' (a table and a short polynomial, see ../../_asm/vexp.go), 0 where x - max
// < -87.33 (below float32's normal range), summed in float32 partial sums per call and in
// float64 across calls, and the softmax multiplies them by 1/sum. The log-softmax is (x - max) -
// log(sum), rounded after each subtraction. TestSoftmaxShapes states and checks the error
// bound. A NaN in a block makes the whole block NaN, as in PyTorch; so does +Inf (exp(Inf - Inf)),
// and a block of only -Inf; a -Inf among finite values has probability 0.
type Softmax struct {
	Outer, Block, Inner int
	Log                 bool
}

// softmaxPixels is how many pixels a softmax over a middle axis (Inner > 1) handles at once:
// their maxima, their sums and a row of exps fill a buffer of rowBufs.
const softmaxPixels = rowBufLen / 4

// Run computes the softmax of in into out; out may be in (not otherwise overlap it).
func (s Softmax) Run(out, in []float32) {
	n := s.Outer * s.Block * s.Inner
	if len(in) < n || len(out) < n {
		panic(fmt.Sprintf("kernels: Softmax: slice too short: out %d in %d, want %d", len(out), len(in), n))
	}
	if s.Block == 0 || s.Inner == 0 {
		return
	}
	k := kern()
	size := s.Block * s.Inner
	for o := range s.Outer {
		ob, xb := out[o*size:(o+1)*size], in[o*size:(o+1)*size]
		if s.Inner == 1 {
			softmaxRow(k, ob, xb, s.Log)
			continue
		}
		for j := 0; j < s.Inner; j += softmaxPixels {
			softmaxCols(k, ob[j:], xb[j:], s.Block, s.Inner, min(softmaxPixels, s.Inner-j), s.Log)
		}
	}
}

// softmaxRow is the softmax of one contiguous block x into out, actChunk values per kernel call
// (so that the goroutine stays preemptible).
func softmaxRow(k *kernelSet, out, x []float32, log bool) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v) // NaN if any is
	}
	sum := 0.0
	if !log {
		for c := 0; c < len(x); c += actChunk {
			e := min(c+actChunk, len(x))
			sum += float64(k.raddStoreExpMinusMax(out[c:e], x[c:e], m))
		}
		inv := float32(1 / sum)
		for c := 0; c < len(x); c += actChunk {
			o := out[c:min(c+actChunk, len(x))]
			k.vmulAddC(o, o, inv, 0)
		}
		return
	}
	buf := getRowBuf() // the exps are not kept: out may be x
	for c := 0; c < len(x); c += actChunk {
		e := min(c+actChunk, len(x))
		sum += float64(k.raddStoreExpMinusMax(buf[:e-c], x[c:e], m))
	}
	putRowBuf(buf)
	ls := -float32(math.Log(sum))
	for c := 0; c < len(x); c += actChunk {
		e := min(c+actChunk, len(x))
		k.vmulAddC(out[c:e], x[c:e], 1, -m) // x - max, rounded once
		k.vmulAddC(out[c:e], out[c:e], 1, ls)
	}
}

// softmaxCols is the softmax of the w pixels starting at x[0] over block rows inner apart
// (w <= softmaxPixels): the maxima and the sums of the pixels are vectors, the rows' exps one
// kernel call each.
func softmaxCols(k *kernelSet, out, x []float32, block, inner, w int, log bool) {
	buf := getRowBuf()
	defer putRowBuf(buf)
	m, sum, ex := buf[:w], buf[softmaxPixels:][:w], buf[2*softmaxPixels:][:w]
	row := func(s []float32, c int) []float32 { return s[c*inner : c*inner+w] }
	copy(m, row(x, 0))
	clear(sum)
	for c := 1; c < block; c++ {
		k.maxPoolV2(m, m, row(x, c))
	}
	if !log {
		for c := range block {
			k.vexpMinusMaxAcc(row(out, c), row(x, c), m, sum)
		}
		for i, v := range sum {
			sum[i] = 1 / v
		}
		for c := range block {
			o := row(out, c)
			for i := range o {
				o[i] *= sum[i]
			}
		}
		return
	}
	for c := range block {
		k.vexpMinusMaxAcc(ex, row(x, c), m, sum) // out may be x: the exps are not kept
	}
	for i, v := range sum {
		sum[i] = -float32(math.Log(float64(v)))
		m[i] = -m[i]
	}
	for c := range block {
		o := row(out, c)
		k.vadd(o, row(x, c), m) // x - max
		k.vadd(o, o, sum)
	}
}
