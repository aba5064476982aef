package kernels

import (
	"fmt"
	"math"
)

// DilatedPool is ONNX's MaxPool and AveragePool with dilations and pads up to the window's
// extent, as ONNX Runtime computes them, on one [C][InH][InW] image: the window of output
// (oy, ox) reads the input positions (oy*StrideH - PadT + i*DilH, ox*StrideW - PadL + j*DilW),
// i < KH, j < KW, that lie in the input. Max takes their maximum (NaN wins); Avg their sum
// divided by their number or, with CountIncludePad, by the number of window positions before
// the end of the padding (InH+PadB, InW+PadR). Every window must read an input value (the
// generator checks). Pool's faster kernel serves the windows PyTorch's pools have.
type DilatedPool struct {
	C, InH, InW, OutH, OutW, KH, KW, StrideH, StrideW, PadT, PadL, PadB, PadR, DilH, DilW int
	Avg, CountIncludePad                                                                  bool
}

// Run pools in into out, which must not overlap it.
func (p DilatedPool) Run(out, in []float32) {
	if len(in) < p.C*p.InH*p.InW || len(out) < p.C*p.OutH*p.OutW || p.DilH <= 0 || p.DilW <= 0 || p.StrideH <= 0 || p.StrideW <= 0 {
		panic(fmt.Sprintf("kernels: DilatedPool %+v: in %d out %d", p, len(in), len(out)))
	}
	for ch := range p.C {
		src := in[ch*p.InH*p.InW : (ch+1)*p.InH*p.InW]
		dst := out[ch*p.OutH*p.OutW : (ch+1)*p.OutH*p.OutW]
		for oy := range p.OutH {
			ys := oy*p.StrideH - p.PadT
			i0, i1 := taps(ys, p.KH, p.DilH, p.InH)
			for ox := range p.OutW {
				xs := ox*p.StrideW - p.PadL
				j0, j1 := taps(xs, p.KW, p.DilW, p.InW)
				m, sum := float32(math.Inf(-1)), float32(0)
				for i := i0; i < i1; i++ {
					row := src[(ys+i*p.DilH)*p.InW:][:p.InW]
					for j := j0; j < j1; j++ {
						v := row[xs+j*p.DilW]
						if v > m || v != v {
							m = v
						}
						sum += v
					}
				}
				if !p.Avg {
					dst[oy*p.OutW+ox] = m
					continue
				}
				div := (i1 - i0) * (j1 - j0)
				if p.CountIncludePad {
					div = before(ys, p.KH, p.DilH, p.InH+p.PadB) * before(xs, p.KW, p.DilW, p.InW+p.PadR)
				}
				dst[oy*p.OutW+ox] = sum / float32(div)
			}
		}
	}
}

// taps returns the range [j0, j1) of the taps j < k whose positions start + j*d lie in [0, n).
func taps(start, k, d, n int) (int, int) {
	j0 := 0
	if start < 0 {
		j0 = (-start + d - 1) / d
	}
	j1 := k
	switch {
	case start > n-1:
		j1 = 0
	case start+(k-1)*d >= n:
		j1 = (n-1-start)/d + 1 // the taps up to position n-1
	}
	return j0, max(j0, j1)
}

// before counts the taps j < k whose positions start + j*d are before end.
func before(start, k, d, end int) int {
	if start >= end {
		return 0
	}
	return min(k, (end-1-start)/d+1)
}
