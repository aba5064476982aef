package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// reportGFLOPS reports the benchmark's rate in wall-clock time (GFLOP/s) and, when the
// benchmark measured its thread's CPU time (cpuTimer), per CPU second (GFLOP/cpu-s) and as a
// fraction of PeakGFLOPS of the active level (%peak, CPU time both), which leave out the time
// other processes on this shared machine had the core.
func reportGFLOPS(b *testing.B, flops float64, cpu ...*cpuTimer) {
	g := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(g, "GFLOP/s")
	if len(cpu) == 0 {
		return
	}
	if d := cpu[0].stop(); d > 0 {
		gc := flops * float64(b.N) / d.Seconds() / 1e9
		b.ReportMetric(gc, "GFLOP/cpu-s")
		if p := peakOf(Active()); p > 0 {
			b.ReportMetric(100*gc/p, "%peak")
		}
	}
}

// cpuTimer measures the benchmark goroutine's thread CPU time; start it right before the loop.
type cpuTimer struct{ t0 time.Duration }

func startCPU(b *testing.B) *cpuTimer {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	peakOf(Active()) // measured before the timed loop
	b.ResetTimer()
	t, _ := ThreadCPU()
	return &cpuTimer{t0: t}
}

func (c *cpuTimer) stop() time.Duration {
	t, ok := ThreadCPU()
	if !ok {
		return 0
	}
	return t - c.t0
}

var (
	peakMu    sync.Mutex
	peakCache = map[ISA]float64{}
)

// peakOf is PeakGFLOPS(isa), measured once per test binary.
func peakOf(isa ISA) float64 {
	peakMu.Lock()
	defer peakMu.Unlock()
	p, ok := peakCache[isa]
	if !ok {
		p = PeakGFLOPS(isa)
		peakCache[isa] = p
	}
	return p
}

// benchEachISA runs f as a sub-benchmark per level of testLevels, with that level active.
func benchEachISA(b *testing.B, f func(b *testing.B)) {
	old := Active()
	defer SetISA(old)
	for _, isa := range testLevels {
		if err := SetISA(isa); err != nil {
			b.Fatal(err)
		}
		b.Run("isa="+isa.String(), f)
	}
}

// BenchmarkPeak reports PeakGFLOPS per level.
func BenchmarkPeak(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		var p float64
		for b.Loop() {
			p = PeakGFLOPS(Active())
		}
		b.ReportMetric(p, "GFLOP/s")
	})
}

// BenchmarkSgemm: Sgemm, packing included, single thread, per level; %peak is against
// PeakGFLOPS of the same level.
func BenchmarkSgemm(b *testing.B) { benchEachISA(b, benchSgemm) }

func benchSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{
		{1024, 1024, 1024},
		{256, 256, 256},
		{49, 2048, 512}, // ResNet-50 last 1x1 expansion, spatial-major view
		{2048, 49, 512}, // the same as Conv runs it (M = OutC, N = OutH*OutW)
		{64, 3136, 576}, // ResNet-50 conv2 3x3 as im2col GEMM
		{1000, 1, 2048}, // a classifier as GEMM (Linear uses its own GEMV)
	} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("M=%d,N=%d,K=%d", m, n, k), func(b *testing.B) {
			a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
			Sgemm(m, n, k, a, k, bb, n, c, n)
			cpu := startCPU(b)
			for b.Loop() {
				Sgemm(m, n, k, a, k, bb, n, c, n)
			}
			reportGFLOPS(b, 2*float64(m*n*k), cpu)
		})
	}
}

func BenchmarkConv(b *testing.B) { benchEachISA(b, benchConv) }

func benchConv(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, bc := range []struct {
		name string
		c    Conv
	}{
		{"resnet50_3x3_64x56x56", convCase(64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
		{"resnet50_1x1_64to256x56x56", convCase(64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
		{"resnet50_1x1_256to64x56x56", convCase(256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU)},
		{"resnet50_stem_7x7s2", convCase(3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU)},
		{"resnet50_3x3_512x7x7", convCase(512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
		{"effnet_dw3x3_96x112x112s2", convCase(96, 112, 112, 96, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 96, ActSiLU)},
	} {
		c := bc.c
		b.Run(bc.name, func(b *testing.B) {
			k := c.InC / c.Groups * c.KH * c.KW
			w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
			if err != nil {
				b.Fatal(err)
			}
			in := randSlice(rng, c.InC*c.InH*c.InW)
			out := make([]float32, c.OutC*c.OutH*c.OutW)
			scr := make([]float32, c.ScratchLen())
			cpu := startCPU(b)
			for b.Loop() {
				c.Run(out, in, w, nil, scr)
			}
			reportGFLOPS(b, 2*float64(len(out)*k), cpu)
		})
	}
}

// BenchmarkLinear: ResNet's classifier (2048 -> 1000, in cache) and AlexNet's fc6 (9216 -> 4096,
// 151 MB of weights: a stream from memory; MB/s is the weights' bandwidth).
func BenchmarkLinear(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 3))
		for _, l := range []Linear{{In: 2048, Out: 1000}, {In: 9216, Out: 4096}} {
			w, _ := l.Pack(randSlice(rng, l.In*l.Out), nil)
			in, out := randSlice(rng, l.In), make([]float32, l.Out)
			b.Run(fmt.Sprintf("%dx%d", l.Out, l.In), func(b *testing.B) {
				b.SetBytes(int64(4 * l.In * l.Out))
				for b.Loop() {
					l.Run(out, in, w)
				}
				reportGFLOPS(b, 2*float64(l.In*l.Out))
			})
		}
	})
}

// resnet50Convs lists the 53 convolutions of torchvision's ResNet-50 (v1.5: stride on the 3x3)
// for a 224x224 image, with BN folded and ReLU fused where the network has them.
func resnet50Convs() []Conv {
	cs := []Conv{convCase(3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActReLU)}
	in, hw := 64, 56
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for blk := range blocks {
			s := 1
			if blk == 0 && stage > 0 {
				s = 2
			}
			cs = append(cs,
				convCase(in, hw, hw, width, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU),
				convCase(width, hw, hw, width, 3, 3, s, s, 1, 1, 1, 1, 1, 1, 1, ActReLU))
			if blk == 0 {
				cs = append(cs, convCase(in, hw, hw, 4*width, 1, 1, s, s, 0, 0, 0, 0, 1, 1, 1, ActNone))
			}
			hw /= s
			cs = append(cs, convCase(width, hw, hw, 4*width, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActReLU))
			in = 4 * width
		}
	}
	return cs
}

// BenchmarkResNet50Convs runs every convolution of ResNet-50 once per iteration (random data; no
// pooling or fc, which are under 1% of the work), on 1 and 2 goroutines (Conv.RunPart).
func BenchmarkResNet50Convs(b *testing.B) { benchEachISA(b, benchResNet50Convs) }

func benchResNet50Convs(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	cs := resnet50Convs()
	ws := make([]*ConvWeights, len(cs))
	var maxIn, maxOut, maxScr int
	flops := 0.0
	for i, c := range cs {
		k := c.InC / c.Groups * c.KH * c.KW
		w, err := c.Pack(randSlice(rng, c.OutC*k), randSlice(rng, c.OutC))
		if err != nil {
			b.Fatal(err)
		}
		ws[i] = w
		maxIn = max(maxIn, c.InC*c.InH*c.InW)
		maxOut = max(maxOut, c.OutC*c.OutH*c.OutW)
		maxScr = max(maxScr, c.ScratchLen())
		flops += 2 * float64(c.OutC*c.OutH*c.OutW*k)
	}
	in, out := randSlice(rng, maxIn), make([]float32, maxOut)
	for _, threads := range []int{1, 2} {
		scr := make([][]float32, threads)
		for i := range scr {
			scr[i] = make([]float32, maxScr)
		}
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var wg sync.WaitGroup
			var cpu []*cpuTimer
			if threads == 1 {
				cpu = append(cpu, startCPU(b))
			}
			for b.Loop() {
				for i := range cs {
					for part := 1; part < threads; part++ {
						wg.Go(func() { cs[i].RunPart(part, threads, out, in, ws[i], nil, scr[part]) })
					}
					cs[i].RunPart(0, threads, out, in, ws[i], nil, scr[0])
					wg.Wait()
				}
			}
			reportGFLOPS(b, flops, cpu...)
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/image")
		})
	}
}

// BenchmarkPoolMax: the max pools of ResNet-50 (3x3/2 pad 1), GoogLeNet (3x3/2 ceil_mode, 3x3/1
// pad 1 on 28x28 and 14x14) and VGG (2x2/2), one image.
func BenchmarkPoolMax(b *testing.B) {
	benchEachISA(b, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, bc := range []struct {
			name string
			p    Pool
		}{
			{"resnet_64x112x112_3s2p1", poolCase(64, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, false, false)},
			{"googlenet_64x112x112_3s2ceil", poolCase(64, 112, 112, 3, 3, 2, 2, 0, 0, 0, 0, true, false)},
			{"googlenet_256x28x28_3s1p1", poolCase(256, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, true, false)},
			{"googlenet_512x14x14_3s1p1", poolCase(512, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, true, false)},
			{"vgg_128x112x112_2s2", poolCase(128, 112, 112, 2, 2, 2, 2, 0, 0, 0, 0, false, false)},
		} {
			p := bc.p
			in, out := randSlice(rng, p.C*p.InH*p.InW), make([]float32, p.C*p.OutH*p.OutW)
			b.Run(bc.name, func(b *testing.B) {
				for b.Loop() {
					p.Run(out, in)
				}
				b.SetBytes(int64(4 * (len(in) + len(out))))
			})
		}
	})
}

// winoLayers are the representative 3x3 stride-1 layers of VGG and ResNet.
var winoLayers = []struct {
	name string
	c    Conv
}{
	{"vgg_64x224", convCase(64, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_128x112", convCase(128, 112, 112, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_256x56", convCase(256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_512x28", convCase(512, 28, 28, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"vgg_512x14", convCase(512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"resnet_64x56", convCase(64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"resnet_128x28", convCase(128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"resnet_256x14", convCase(256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
	{"resnet_512x7", convCase(512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActReLU)},
}

// BenchmarkWinograd runs each representative layer with im2col, F(4x4) and F(2x2) side by side
// (one process, alternating: compare medians over -count runs). GFLOP/s counts the direct
// convolution's flops, so it compares the algorithms' times.
func BenchmarkWinograd(b *testing.B) { benchEachISA(b, benchWinograd) }

func benchWinograd(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, l := range winoLayers {
		c := l.c
		w, bias := randSlice(rng, c.OutC*c.InC*9), randSlice(rng, c.OutC)
		in := randSlice(rng, c.InC*c.InH*c.InW)
		out := make([]float32, c.OutC*c.OutH*c.OutW)
		for _, a := range []convAlgo{algoIm2col, algoWino4, algoWino2} {
			b.Run(l.name+"/"+a.String(), func(b *testing.B) {
				pw := packAlgoAs(b, &c, a, w, bias)
				scr := make([]float32, algoScratch(&c, a))
				c.Run(out, in, pw, nil, scr)
				cpu := startCPU(b)
				for b.Loop() {
					c.Run(out, in, pw, nil, scr)
				}
				reportGFLOPS(b, 2*float64(len(out)*c.InC*9), cpu)
			})
		}
	}
}
