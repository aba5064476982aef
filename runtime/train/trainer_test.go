package train_test

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnngen/cnngen/internal/dataset"
	"github.com/cnngen/cnngen/internal/gradreport"
	"github.com/cnngen/cnngen/internal/progress"
	"github.com/cnngen/cnngen/runtime/train"
)

// mlp is a hand-written stand-in for a generated Trainer: 784 -> 64 -> ReLU -> 10, with its
// forward pass saving activations and its backward pass writing each Param.Grad, so that
// everything else (data, loss, clipping, optimizer, schedule, meter, report, saving) is this
// package's and dataset's, called as a generated Trainer will call them.
type mlp struct {
	ps             train.Params
	w1, b1, w2, b2 *train.Param
	h, logits, dl  []float32 // saved hidden activations, logits, their gradient
	dh             []float32
	batch          int
}

const in, hidden, classes = 28 * 28, 64, 10

func newMLP(batch int, seed uint64) *mlp {
	m := &mlp{batch: batch}
	m.w1, m.b1 = m.ps.Add("fc1.weight", hidden, in), m.ps.Add("fc1.bias", hidden)
	m.w2, m.b2 = m.ps.Add("fc2.weight", classes, hidden), m.ps.Add("fc2.bias", classes)
	m.b1.NoDecay, m.b2.NoDecay = true, true
	rng := train.NewRNG(seed)
	rng.Default(m.w1.Value, m.b1.Value, m.w1.Shape)
	rng.Default(m.w2.Value, m.b2.Value, m.w2.Shape)
	m.h, m.dh = make([]float32, batch*hidden), make([]float32, batch*hidden)
	m.logits, m.dl = make([]float32, batch*classes), make([]float32, batch*classes)
	return m
}

func (m *mlp) forward(x []float32, n int) []float32 {
	for i := range n {
		xi, hi := x[i*in:(i+1)*in], m.h[i*hidden:(i+1)*hidden]
		for o := range hidden {
			s := m.b1.Value[o]
			for k, v := range m.w1.Value[o*in : (o+1)*in] {
				s += v * xi[k]
			}
			hi[o] = max(s, 0)
		}
		li := m.logits[i*classes : (i+1)*classes]
		for o := range classes {
			s := m.b2.Value[o]
			for k, v := range m.w2.Value[o*hidden : (o+1)*hidden] {
				s += v * hi[k]
			}
			li[o] = s
		}
	}
	return m.logits[:n*classes]
}

func (m *mlp) backward(x []float32, n int) {
	for i := range n {
		xi, hi, dhi := x[i*in:(i+1)*in], m.h[i*hidden:(i+1)*hidden], m.dh[i*hidden:(i+1)*hidden]
		clear(dhi)
		for o, d := range m.dl[i*classes : (i+1)*classes] {
			m.b2.Grad[o] += d
			for k := range hidden {
				m.w2.Grad[o*hidden+k] += d * hi[k]
				dhi[k] += d * m.w2.Value[o*hidden+k]
			}
		}
		for o, d := range dhi {
			if hi[o] <= 0 {
				continue
			}
			m.b1.Grad[o] += d
			g := m.w1.Grad[o*in : (o+1)*in]
			for k, v := range xi {
				g[k] += d * v
			}
		}
	}
}

// step is one training step as a generated Trainer runs it.
func (m *mlp) step(b *dataset.Batch, opt train.Optimizer, sched train.Scheduler, meter *train.Meter) error {
	m.ps.ZeroGrad()
	logits := m.forward(b.X, b.N)
	loss, err := train.CrossEntropy(logits, b.Labels, classes, 0, m.dl[:b.N*classes])
	if err != nil {
		return err
	}
	m.backward(b.X, b.N)
	train.ClipGradNorm(&m.ps, 5, 2)
	opt.Step()
	sched.Step()
	meter.Add(loss, logits, b.Labels, classes)
	return nil
}

// TestTrainerPipeline trains the MLP for an epoch on Fashion-MNIST (12,000 training images,
// a tenth held out) with tools/train_lenet5.py's optimizer and schedule, through every piece
// a generated Trainer uses: it must learn (held-out top-1 above 75%), allocate nothing per
// step, stay quiet when stderr is not a terminal, write the gradient report and save weights
// that load back.
func TestTrainerPipeline(t *testing.T) {
	d, err := dataset.FashionMNISTTrain("/usr/share/datasets/fashion-mnist")
	if err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	d.Pixels, d.Labels = d.Pixels[:12000*in], d.Labels[:12000]
	src := dataset.NewIDXSource(d, 0.2860, 0.3530)
	trainIdx, heldIdx, err := dataset.Split(src.Len(), 0.1, 1998)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 64
	loader, err := dataset.NewLoader(src, trainIdx, dataset.Config{BatchSize: batch, Shuffle: true, Seed: 1998, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	held, _ := dataset.NewLoader(src, heldIdx, dataset.Config{BatchSize: 256})
	defer held.Close()

	m := newMLP(256, 1998)
	opt, err := train.NewSGD(&m.ps, train.SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.OneCycleDefaults(0.05, loader.Steps())
	cfg.PctStart, cfg.DivFactor, cfg.FinalDivFactor, cfg.CycleMomentum = 0.15, 10, 100, false
	sched, err := train.NewOneCycleLR(opt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	report, err := gradreport.Create(filepath.Join(dir, "grad.csv"))
	if err != nil {
		t.Fatal(err)
	}
	norms := make([]train.LayerNorm, 0, len(m.ps.Layers()))

	// The bar draws on a terminal only: with stderr a pipe it must write nothing.
	r, w, _ := os.Pipe()
	stderr := os.Stderr
	os.Stderr = w
	var meter train.Meter
	bar := progress.New("epoch 1/1", loader.Steps())
	bar.Suffix(meter.Suffix)
	os.Stderr = stderr

	loader.Epoch(0)
	for s := 0; ; s++ {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := m.step(b, opt, sched, &meter); err != nil {
			t.Fatal(err)
		}
		if s%10 == 0 {
			norms = m.ps.LayerNorms(norms)
			if err := report.Record(1, s, norms); err != nil {
				t.Fatal(err)
			}
		}
		bar.Add(1)
	}
	bar.Done()
	w.Close()
	if out, _ := io.ReadAll(r); len(out) > 0 {
		t.Errorf("the progress bar wrote %q to a pipe", out)
	}
	t.Logf("train: %s", meter.Suffix())

	var eval train.Meter
	held.Epoch(0)
	for {
		b, err := held.Next()
		if err != nil {
			break
		}
		eval.Count(m.forward(b.X, b.N), b.Labels, classes)
	}
	t.Logf("held out (%d images): %s", eval.N, eval.Suffix())
	if eval.N != len(heldIdx) || eval.Acc1() < 0.75 || eval.Acc5() < eval.Acc1() {
		t.Errorf("held-out top-1 %.4f top-5 %.4f over %d images", eval.Acc1(), eval.Acc5(), eval.N)
	}

	// A warm step allocates nothing: batch loading, forward and backward (here), loss,
	// clipping, optimizer, schedule, meter, norms and report.
	loader.Epoch(1)
	if allocs := testing.AllocsPerRun(5, func() {
		b, _ := loader.Next()
		m.step(b, opt, sched, &meter)
		report.Record(2, 0, m.ps.LayerNorms(norms))
	}); allocs != 0 {
		t.Errorf("%v allocations per training step", allocs)
	}

	if err := report.Close(); err != nil {
		t.Fatal(err)
	}
	var pngBuf bytes.Buffer
	if err := report.WritePNG(&pngBuf, 640, 400); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(&pngBuf); err != nil || img.Bounds().Dx() != 640 {
		t.Errorf("plot: %v", err)
	}

	path := filepath.Join(dir, "mlp.safetensors")
	if err := m.ps.SaveFile(path, map[string]string{"top1": "x"}); err != nil {
		t.Fatal(err)
	}
	back := newMLP(1, 0)
	f, _ := os.Open(path)
	defer f.Close()
	if err := back.ps.Load(f); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.ps.Params {
		for k, v := range p.Value {
			if back.ps.Params[i].Value[k] != v {
				t.Fatalf("%s[%d] did not round-trip", p.Name, k)
			}
		}
	}
}
