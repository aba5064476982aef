package kernels

import (
	"fmt"
	"math"
)

// LayerNorm normalizes blocks of Block values spaced Inner apart, Outer*Inner of them, of a
// row-major tensor (as Softmax addresses them): out = (in - mean) / sqrt(var + Eps) *
// weight[b] + bias[b] for the value at position b of its block, the variance biased (divided by
// Block), as nn.LayerNorm computes it. Inner 1 is a LayerNorm over the last dims; Inner H*W with
// Outer 1 and Block C normalizes each pixel over the channels (ConvNeXt's LayerNorm2d).
type LayerNorm struct {
	Outer, Block, Inner int
	Eps                 float32
}

// lnChunk is how many positions of a block row the channel-wise LayerNorm handles at once: its
// statistics live on the stack and the rows it reads stay in cache between the passes.
const lnChunk = 64

// Run normalizes in into out; out may be in (not otherwise overlap it).
func (l LayerNorm) Run(out, in, weight, bias []float32) {
	n := l.Outer * l.Block * l.Inner
	if len(in) < n || len(out) < n || len(weight) < l.Block || len(bias) < l.Block {
		panic(fmt.Sprintf("kernels: LayerNorm %+v: in %d out %d weight %d bias %d", l, len(in), len(out), len(weight), len(bias)))
	}
	if l.Block == 0 {
		return
	}
	for o := range l.Outer {
		src := in[o*l.Block*l.Inner : (o+1)*l.Block*l.Inner]
		dst := out[o*l.Block*l.Inner : (o+1)*l.Block*l.Inner]
		if l.Inner == 1 {
			l.row(dst, src, weight, bias)
			continue
		}
		for p0 := 0; p0 < l.Inner; p0 += lnChunk {
			l.columns(dst, src, weight, bias, p0, min(lnChunk, l.Inner-p0))
		}
	}
}

// row normalizes one contiguous block.
func (l LayerNorm) row(dst, src, weight, bias []float32) {
	src, weight, bias = src[:len(dst)], weight[:len(dst)], bias[:len(dst)]
	var sum float32
	for _, v := range src {
		sum += v
	}
	mean := sum / float32(len(src))
	var sq float32
	for _, v := range src {
		d := v - mean
		sq += d * d
	}
	inv := 1 / float32(math.Sqrt(float64(sq/float32(len(src))+l.Eps)))
	for i, v := range src {
		dst[i] = (v-mean)*inv*weight[i] + bias[i]
	}
}

// columns normalizes positions [p0, p0+m) of a block of Block rows of Inner values: each
// position over the rows.
func (l LayerNorm) columns(dst, src, weight, bias []float32, p0, m int) {
	var mean, inv [lnChunk]float32
	mu, iv := mean[:m], inv[:m]
	for b := range l.Block {
		for j, v := range src[b*l.Inner+p0:][:m] {
			mu[j] += v
		}
	}
	scale := 1 / float32(l.Block)
	for j := range mu {
		mu[j] *= scale
	}
	for b := range l.Block {
		for j, v := range src[b*l.Inner+p0:][:m] {
			d := v - mu[j]
			iv[j] += d * d
		}
	}
	for j, v := range iv {
		iv[j] = 1 / float32(math.Sqrt(float64(v*scale+l.Eps)))
	}
	for b := range l.Block {
		w, c := weight[b], bias[b]
		s := src[b*l.Inner+p0:][:m]
		d := dst[b*l.Inner+p0:][:m]
		for j, v := range s {
			d[j] = (v-mu[j])*iv[j]*w + c
		}
	}
}
