package runtime

import (
	"fmt"
	"testing"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// BenchmarkSplit times blocked convolutions and poolings around minParallelMACs and
// minParallelReads on one thread and split in two parts over the shared workers, which is what
// those thresholds were chosen from:
//
//	go test -run - -bench Split -count 5 ./runtime
//
// A split pays for handing its parts out and waiting for the slowest (a few microseconds with
// the workers polling), and each part reads what the other wrote in the previous layer.
func BenchmarkSplit(b *testing.B) {
	conv := func(c, hw, outC, k, stride int) kernels.Conv {
		return kernels.Conv{InC: c, InH: hw, InW: hw, OutC: outC, OutH: (hw+2*(k/2)-k)/stride + 1, OutW: (hw+2*(k/2)-k)/stride + 1,
			KH: k, KW: k, StrideH: stride, StrideW: stride, PadT: k / 2, PadL: k / 2, DilH: 1, DilW: 1, Groups: 1,
			Act: kernels.ActReLU, Layout: kernels.NCHW16c}
	}
	for _, c := range []kernels.Conv{
		conv(64, 7, 64, 3, 1),    // 1.8M MACs
		conv(128, 7, 128, 1, 1),  // 0.8M
		conv(256, 7, 256, 1, 1),  // 3.2M
		conv(96, 14, 32, 1, 1),   // 0.6M
		conv(128, 14, 128, 1, 1), // 3.2M
		conv(64, 14, 64, 3, 1),   // 7.2M (Winograd)
		conv(256, 14, 64, 1, 1),  // 3.2M
		conv(32, 28, 32, 3, 2),   // 1.8M
	} {
		macs := c.OutC * c.OutH * c.OutW * c.InC * c.KH * c.KW
		w, err := c.Pack(make([]float32, c.OutC*c.InC*c.KH*c.KW), make([]float32, c.OutC))
		if err != nil {
			b.Fatal(err)
		}
		in := make([]float32, kernels.BlockedLen(c.InC, c.InH*c.InW))
		out := make([]float32, kernels.BlockedLen(c.OutC, c.OutH*c.OutW))
		name := fmt.Sprintf("conv%dx%d_%dto%d_%dx%d_%.1fM", c.KH, c.KW, c.InC, c.OutC, c.OutH, c.OutW, float64(macs)/1e6)
		benchSplit(b, name, float64(2*macs), c.ScratchLen(), func(a *Arena) {
			if a.parts == 1 {
				c.Run(out, in, w, nil, a.Scratch[:a.scratchLen])
			} else {
				a.splitConv(&c, out, in, w, nil)
			}
		})
	}
	for _, p := range []kernels.Pool{
		{C: 64, InH: 56, InW: 56, OutH: 28, OutW: 28, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},  // 451K reads
		{C: 192, InH: 28, InW: 28, OutH: 28, OutW: 28, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, // 1.35M
		{C: 480, InH: 14, InW: 14, OutH: 14, OutW: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, // 847K
		{C: 832, InH: 7, InW: 7, OutH: 7, OutW: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},     // 367K
		{C: 64, InH: 28, InW: 28, OutH: 14, OutW: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},  // 113K
	} {
		p.Layout = kernels.NCHW16c
		reads := p.C * p.OutH * p.OutW * p.KH * p.KW
		in := make([]float32, kernels.BlockedLen(p.C, p.InH*p.InW))
		out := make([]float32, kernels.BlockedLen(p.C, p.OutH*p.OutW))
		name := fmt.Sprintf("maxpool%dx%d_%d_%dx%d_%.0fK", p.KH, p.KW, p.C, p.OutH, p.OutW, float64(reads)/1e3)
		benchSplit(b, name, 0, 0, func(a *Arena) {
			if a.parts == 1 {
				p.Run(out, in)
			} else {
				a.splitPool(&p, out, in)
			}
		})
	}
}

// benchSplit times run on one part and on two, reporting GFLOP/s when flops is set.
func benchSplit(b *testing.B, name string, flops float64, scratch int, run func(a *Arena)) {
	r := NewRunner(0, scratch, Options{Threads: 2})
	a := r.newArena()
	for _, parts := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/parts=%d", name, parts), func(b *testing.B) {
			a.parts = parts
			for b.Loop() {
				run(a)
			}
			if flops > 0 {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		})
	}
}
