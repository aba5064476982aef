package zoo_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/internal/zoo"
	rt "github.com/cnngen/cnngen/runtime"
	"github.com/cnngen/cnngen/runtime/kernels"
)

// seeded writes a safetensors file with every tensor of g from the seeded rule; salt varies the
// values while keeping each tensor's role (it prefixes the name fed to the generator).
func seeded(t testing.TB, g *ir.Graph, salt string, drop func(key string) bool) []byte {
	t.Helper()
	var ts []rt.Tensor
	for _, t := range seedweights.Tensors(g, salt) {
		if drop == nil || !drop(t.Name) {
			ts = append(ts, t)
		}
	}
	var buf bytes.Buffer
	if err := rt.WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func graph(t testing.TB, arch string) *ir.Graph {
	t.Helper()
	g, err := frontend.Load(arch)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// mapWeights serves the interpreter the same tensors as a file.
type fileWeights struct{ f *rt.File }

func (w fileWeights) Float32(key string) ([]float32, error) { return w.f.Float32(key) }

// TestGoldens runs every generated package on the PyTorch golden inputs, through the public
// Load + Forward path, on torchvision-format weights (a state_dict written as safetensors).
func TestGoldens(t *testing.T) {
	for _, e := range zoo.Entries {
		t.Run(e.Arch, func(t *testing.T) {
			gold, want, err := goldens.Load(e.Arch)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), e.Arch+".safetensors")
			if err := os.WriteFile(path, seeded(t, graph(t, e.Arch), "", nil), 0o644); err != nil {
				t.Fatal(err)
			}
			net, err := e.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, gold.Batch*e.NumClasses)
			if err := net.Forward(gold.InputData(), got); err != nil {
				t.Fatal(err)
			}
			if err := goldens.Compare(got, want, gold.Batch); err != nil {
				t.Fatalf("generated %s vs PyTorch: %v", e.Arch, err)
			}
		})
	}
}

// TestAgainstInterpreter compares generated code with the reference interpreter on other weights
// and several batch sizes; batch results must not depend on the batch they are computed in.
func TestAgainstInterpreter(t *testing.T) {
	for _, arch := range []string{"lenet5", "alexnet2012", "resnet18", "googlenet", "efficientnet_b0"} {
		t.Run(arch, func(t *testing.T) {
			e, err := zoo.Get(arch)
			if err != nil {
				t.Fatal(err)
			}
			g := graph(t, arch)
			file := seeded(t, g, "alt/", nil)
			f, err := rt.OpenWeights(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			const batch = 3
			// Images 2.. of the seeded input sequence: not the goldens' images 0 and 1.
			per := g.Input().Shape.Size()
			in := seedweights.Input(batch+2, g.Input().Shape)[2*per:]
			want, err := interp.Run(g, fileWeights{f}, in, batch)
			if err != nil {
				t.Fatal(err)
			}
			net, err := e.New(bytes.NewReader(file), rt.WithThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, batch*e.NumClasses)
			if err := net.Forward(in, got); err != nil {
				t.Fatal(err)
			}
			if err := goldens.Compare(got, want, batch); err != nil {
				t.Fatalf("batch %d: %v", batch, err)
			}
			one := make([]float32, e.NumClasses)
			if err := net.Forward(in[len(in)/batch:2*len(in)/batch], one); err != nil {
				t.Fatal(err)
			}
			if err := goldens.Compare(one, want[e.NumClasses:2*e.NumClasses], 1); err != nil {
				t.Fatalf("batch 1: %v", err)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	for _, arch := range []string{"lenet5", "resnet18"} {
		e, _ := zoo.Get(arch)
		g := graph(t, arch)
		file := seeded(t, g, "", nil)
		f, _ := rt.OpenWeights(bytes.NewReader(file))
		in := seedweights.Input(1, g.Input().Shape)
		_, nodes, err := interp.RunNodes(g, fileWeights{f}, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		feat := g.Output.Inputs[0]
		want := nodes[feat.Name]
		net, err := e.New(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(want))
		if err := net.Features(in, got); err != nil {
			t.Fatal(err)
		}
		scale := 1.0
		for _, v := range want {
			scale = max(scale, abs(v))
		}
		for i := range want {
			if d := abs(float64(got[i]) - want[i]); d > 1e-4*scale {
				t.Fatalf("%s: feature %d: got %g, want %g", arch, i, got[i], want[i])
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestForwardAllocatesNothing(t *testing.T) {
	for _, arch := range []string{"lenet5", "resnet18", "googlenet", "efficientnet_b0"} {
		e, _ := zoo.Get(arch)
		g := graph(t, arch)
		file := seeded(t, g, "", nil)
		one, err := e.New(bytes.NewReader(file), rt.WithThreads(1))
		if err != nil {
			t.Fatal(err)
		}
		two, err := e.New(bytes.NewReader(file), rt.WithThreads(2))
		if err != nil {
			t.Fatal(err)
		}
		in := seedweights.Input(2, g.Input().Shape)
		out := make([]float32, 2*e.NumClasses)
		if n := testing.AllocsPerRun(3, func() { one.Forward(in, out) }); n != 0 {
			t.Errorf("%s: single-threaded Forward allocates %v times per call", arch, n)
		}
		// One image on two threads: the layers are split over the shared workers, exactly.
		img := in[:len(in)/2]
		if n := testing.AllocsPerRun(3, func() { two.Forward(img, out[:e.NumClasses]) }); n != 0 {
			t.Errorf("%s: two-threaded Forward of one image allocates %v times per call", arch, n)
		}
		want := make([]float32, e.NumClasses)
		one.Forward(img, want)
		for i, v := range out[:e.NumClasses] {
			if v != want[i] {
				t.Fatalf("%s: logit %d is %g on two threads, %g on one", arch, i, v, want[i])
			}
		}
		// A batch on two threads: images run whole on the shared workers.
		if n := testing.AllocsPerRun(3, func() { two.Forward(in, out) }); n != 0 {
			t.Errorf("%s: two-threaded Forward of a batch allocates %v times per call", arch, n)
		}
		want = make([]float32, 2*e.NumClasses)
		one.Forward(in, want)
		for i, v := range out {
			if v != want[i] {
				t.Fatalf("%s: batch logit %d is %g on two threads, %g on one", arch, i, v, want[i])
			}
		}
	}
}

// TestConcurrentForward shares one Net between goroutines (run it with -race too).
func TestConcurrentForward(t *testing.T) {
	e, _ := zoo.Get("lenet5")
	g := graph(t, "lenet5")
	net, err := e.New(bytes.NewReader(seeded(t, g, "", nil)))
	if err != nil {
		t.Fatal(err)
	}
	const workers = 8
	ins := make([][]float32, workers)
	wants := make([][]float32, workers)
	per := g.Input().Shape.Size()
	all := seedweights.Input(workers, g.Input().Shape)
	for w := range ins {
		ins[w] = all[w*per : (w+1)*per]
		wants[w] = make([]float32, e.NumClasses)
		if err := net.Forward(ins[w], wants[w]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, e.NumClasses)
			for rep := 0; rep < 20; rep++ {
				if err := net.Forward(ins[w], out); err != nil {
					t.Error(err)
					return
				}
				for i := range out {
					if out[i] != wants[w][i] {
						t.Errorf("worker %d: logit %d is %g concurrently, %g alone", w, i, out[i], wants[w][i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestBadWeightsAndInputs(t *testing.T) {
	e, _ := zoo.Get("lenet5")
	g := graph(t, "lenet5")
	good := seeded(t, g, "", nil)
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"missing", seeded(t, g, "", func(k string) bool { return k == "fc3.bias" }), []string{"fc3.bias"}},
		{"truncated", good[:len(good)-10], []string{"lenet5"}},
		{"empty", nil, []string{"lenet5"}},
	}
	// A tensor of the wrong shape, and an unexpected extra one.
	var ts []rt.Tensor
	for _, p := range g.AllParams() {
		shape := p.Shape
		if p.Key == "conv2.weight" {
			shape = []int{16, 6, 3, 3}
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, rt.Tensor{Name: p.Key, Shape: shape, Data: make([]float32, n)})
	}
	ts = append(ts, rt.Tensor{Name: "fc4.weight", Shape: []int{2}, Data: make([]float32, 2)})
	var buf bytes.Buffer
	if err := rt.WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		file []byte
		want []string
	}{"shape and extra", buf.Bytes(), []string{"conv2.weight", "[16 6 3 3]", "[16 6 5 5]", "fc4.weight"}})
	for _, c := range cases {
		_, err := e.New(bytes.NewReader(c.file))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	net, err := e.New(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Forward(make([]float32, 784+1), make([]float32, 10)); err == nil {
		t.Error("Forward accepted a partial image")
	}
	if err := net.Forward(make([]float32, 2*784), make([]float32, 10)); err == nil {
		t.Error("Forward accepted a short output")
	}
	if err := net.Forward(nil, nil); err == nil {
		t.Error("Forward accepted an empty batch")
	}
}

// BenchmarkForwardParallel shares one Net between goroutines: throughput should scale with cores
// (each call takes its own arena; there is no global lock).
func BenchmarkForwardParallel(b *testing.B) {
	e, _ := zoo.Get("resnet18")
	g := graph(b, "resnet18")
	net, err := e.New(bytes.NewReader(seeded(b, g, "", nil)), rt.WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	in := seedweights.Input(1, g.Input().Shape)
	b.RunParallel(func(pb *testing.PB) {
		out := make([]float32, e.NumClasses)
		for pb.Next() {
			if err := net.Forward(in, out); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkForward times every built-in network at batch 1 on seeded weights, with the metrics of
// `cnngen bench`: `go test -bench Forward/resnet50 ./internal/zoo` (add -cpu to vary GOMAXPROCS,
// which is the thread count). The peak is measured once, on one core, at the active level.
func BenchmarkForward(b *testing.B) {
	peak := kernels.PeakGFLOPS(kernels.Active())
	for _, e := range zoo.Entries {
		b.Run(e.Arch, func(b *testing.B) {
			g := graph(b, e.Arch)
			net, err := e.New(bytes.NewReader(seeded(b, g, "", nil)))
			if err != nil {
				b.Fatal(err)
			}
			in := seedweights.Input(1, g.Input().Shape)
			out := make([]float32, e.NumClasses)
			if err := net.Forward(in, out); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := net.Forward(in, out); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			gflops := 2 * float64(g.Totals().MACs) / sec / 1e9
			b.ReportMetric(sec*1e3, "ms/image")
			b.ReportMetric(1/sec, "images/s")
			b.ReportMetric(gflops, "GFLOP/s")
			if peak > 0 {
				b.ReportMetric(gflops/(peak*float64(runtime.GOMAXPROCS(0))), "fraction_of_peak")
			}
		})
	}
}
