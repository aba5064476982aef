package main

import (
	"encoding/binary"
	"image"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/generated/lenet5"
	"github.com/cnngen/cnngen/internal/dataset"
	"github.com/cnngen/cnngen/internal/evaluate"
	"github.com/cnngen/cnngen/internal/goldens"
)

const datasetDir = "/usr/share/datasets/fashion-mnist"

// The sample images ship with the repository: the generated LeNet-5 must predict what PyTorch
// predicted for them, with the same probabilities.
func TestSamplesMatchPyTorch(t *testing.T) {
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	samples, err := loadSamples()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 20 {
		t.Fatalf("%d samples, want 20", len(samples))
	}
	for _, s := range samples {
		img, err := sampleImage(s.File)
		if err != nil {
			t.Fatal(err)
		}
		preds, err := net.Classify(img, 5)
		if err != nil {
			t.Fatal(err)
		}
		for k, p := range preds {
			if p.Class != s.TorchTop5[k] {
				t.Errorf("%s: top-5 %d is class %d, PyTorch says %d", s.File, k, p.Class, s.TorchTop5[k])
			}
			if d := math.Abs(float64(p.Prob) - s.TorchProb[p.Class]); d > 1e-4 {
				t.Errorf("%s: class %d probability %g, PyTorch %g", s.File, p.Class, p.Prob, s.TorchProb[p.Class])
			}
		}
	}
}

func testSet(t *testing.T) *dataset.IDX {
	idx, err := dataset.FashionMNISTTest(datasetDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed (%v): apt-get install dataset-fashion-mnist to run this test", err)
	}
	return idx
}

// TestLogitsMatchPyTorch compares raw logits of the first 64 test images through Forward.
func TestLogitsMatchPyTorch(t *testing.T) {
	idx := testSet(t)
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/torch_logits_first64.f32")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(raw)/4)
	for i := range want {
		want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	const n = 64
	in := make([]float32, n*784)
	for i := range in {
		in[i] = (float32(idx.Pixels[i])/255 - 0.2860) / 0.3530
	}
	got := make([]float32, n*10)
	if err := net.Forward(in, got); err != nil {
		t.Fatal(err)
	}
	if err := goldens.Compare(got, want, n); err != nil {
		t.Fatal(err)
	}
}

// TestTestSetMatchesPyTorch classifies all 10,000 test images through Classify (the image path a
// user takes) and requires PyTorch's top-1 on every one, and its accuracy.
func TestTestSetMatchesPyTorch(t *testing.T) {
	idx := testSet(t)
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := evaluate.Run(net, idx.Len(), 10, func(i int) (image.Image, int, error) {
		return idx.Image(i), int(idx.Labels[i]), nil
	}, "lenet5")
	if err != nil {
		t.Fatal(err)
	}
	torch, _ := testdata.ReadFile("testdata/torch_predictions.bin")
	diff := 0
	for i, p := range r.Predicted {
		if int(torch[i]) != p {
			if diff++; diff <= 5 {
				t.Errorf("image %d: predicted %d, PyTorch %d", i, p, torch[i])
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d predictions differ from PyTorch", diff, idx.Len())
	}
	if r.Top1 != 9095 {
		t.Errorf("top-1 %d/10000, PyTorch had 9095", r.Top1)
	}
}

func TestRunPrintsReport(t *testing.T) {
	testSet(t)
	var b strings.Builder
	if err := run(datasetDir, &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"same top-1 as PyTorch on 20 of 20", "top-1 90.95%", "same top-1 as PyTorch on 10000 of 10000", "recall", "Ankle boot"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
