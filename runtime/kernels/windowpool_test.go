package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dilatedPoolRef computes DilatedPool tap by tap in float64.
func dilatedPoolRef(p DilatedPool, in []float32) []float64 {
	out := make([]float64, p.C*p.OutH*p.OutW)
	for ch := range p.C {
		for oy := range p.OutH {
			for ox := range p.OutW {
				ys, xs := oy*p.StrideH-p.PadT, ox*p.StrideW-p.PadL
				m, sum, n, inclH, inclW := math.Inf(-1), 0.0, 0, 0, 0
				for i := range p.KH {
					if ys+i*p.DilH < p.InH+p.PadB {
						inclH++
					}
				}
				for j := range p.KW {
					if xs+j*p.DilW < p.InW+p.PadR {
						inclW++
					}
				}
				for i := range p.KH {
					for j := range p.KW {
						y, x := ys+i*p.DilH, xs+j*p.DilW
						if y < 0 || y >= p.InH || x < 0 || x >= p.InW {
							continue
						}
						v := float64(in[(ch*p.InH+y)*p.InW+x])
						m, sum, n = math.Max(m, v), sum+v, n+1
					}
				}
				r := m
				if p.Avg {
					r = sum / float64(n)
					if p.CountIncludePad {
						r = sum / float64(inclH*inclW)
					}
				}
				out[(ch*p.OutH+oy)*p.OutW+ox] = r
			}
		}
	}
	return out
}

func TestDilatedPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range []DilatedPool{
		{C: 2, InH: 7, InW: 6, OutH: 4, OutW: 3, KH: 3, KW: 2, StrideH: 2, StrideW: 2, PadT: 2, PadL: 1, PadB: 2, PadR: 1, DilH: 1, DilW: 2},
		{C: 1, InH: 4, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilH: 2, DilW: 2},
		{C: 3, InH: 5, InW: 5, OutH: 7, OutW: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 1, DilW: 1},
		{C: 1, InH: 9, InW: 8, OutH: 3, OutW: 2, KH: 4, KW: 3, StrideH: 3, StrideW: 4, PadT: 3, PadL: 0, PadB: 4, PadR: 2, DilH: 2, DilW: 3},
	} {
		in := make([]float32, p.C*p.InH*p.InW)
		for i := range in {
			in[i] = float32(rng.NormFloat64())
		}
		for _, mode := range []struct{ avg, incl bool }{{false, false}, {true, false}, {true, true}} {
			p.Avg, p.CountIncludePad = mode.avg, mode.incl
			out := make([]float32, p.C*p.OutH*p.OutW)
			p.Run(out, in)
			for i, want := range dilatedPoolRef(p, in) {
				if math.Abs(float64(out[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("%+v: out[%d] = %g, want %g", p, i, out[i], want)
				}
			}
		}
	}
}
