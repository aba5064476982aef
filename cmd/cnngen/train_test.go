package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// writeIDX writes an IDX set of n 28x28 images of pattern (a bright quarter of the image, the
// quarter its label names, on noise) as name-images-idx3-ubyte.gz and its labels.
func writeIDX(t *testing.T, dir, name string, n int) {
	t.Helper()
	pix, labels := make([]byte, n*28*28), make([]byte, n)
	for i := range n {
		labels[i] = byte(i % 4)
		for p := range 28 * 28 {
			y, x := p/28, p%28
			v := byte((i*31 + p*17) % 64)
			if (y >= 14) == (labels[i]&2 != 0) && (x >= 14) == (labels[i]&1 != 0) {
				v += 160
			}
			pix[i*28*28+p] = v
		}
	}
	write := func(file string, magic uint32, dims []uint32, data []byte) {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		binary.Write(z, binary.BigEndian, magic)
		binary.Write(z, binary.BigEndian, dims)
		z.Write(data)
		z.Close()
		if err := os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(name+"-images-idx3-ubyte.gz", 0x803, []uint32{uint32(n), 28, 28}, pix)
	write(name+"-labels-idx1-ubyte.gz", 0x801, []uint32{uint32(n)}, labels)
}

// TestTrainLeNet5 trains LeNet-5 for an epoch on a small IDX set through cnngen train (the
// generated training package, built and run), with the gradient report, and generates the
// inference package from the weights and labels it writes.
func TestTrainLeNet5(t *testing.T) {
	needGo(t)
	dir := t.TempDir()
	writeIDX(t, dir, "train", 256)
	writeIDX(t, dir, "t10k", 64)
	out := filepath.Join(dir, "out")
	report := filepath.Join(dir, "grads.csv")
	stdout, stderr, err := runCLI(t, "train", "-arch", "lenet5", "-data", dir, "-epochs", "2", "-batch", "32", "-threads", "2",
		"-lr", "0.02", "-out", out, "-grad-report", report, "-grad-every", "2")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{"256 training images", "64 held out (test set)", "epoch  2/2: train loss", "held-out top-1", "-weights " + filepath.Join(out, "weights.safetensors")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	csv, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	// 2 epochs x 8 steps, every other step recorded, 5 layers.
	if lines := strings.Count(string(csv), "\n"); lines != 1+8*5 || !strings.Contains(string(csv), ",conv1,0,") {
		t.Errorf("gradient report: %d lines:\n%s", lines, csv)
	}
	for _, png := range []string{".png", "-steps.png"} {
		if _, err := os.Stat(strings.TrimSuffix(report, ".csv") + png); err != nil {
			t.Error(err)
		}
	}
	_, stderr, err = runCLI(t, "-arch", "lenet5", "-weights", filepath.Join(out, "weights.safetensors"), "-labels", filepath.Join(out, "labels.txt"),
		"-o", filepath.Join(dir, "pkg", "lenet5.go"))
	if err != nil {
		t.Fatalf("generating from the trained weights: %v\n%s", err, stderr)
	}
}

// TestTrainFineTune fine-tunes a small network, from weights of a 5-class head, on a folder
// of 3 classes: a new head (-classes, -labels in an order other than the folders'), frozen
// early layers, augmentation and a held-out split; the result generates an inference package.
func TestTrainFineTune(t *testing.T) {
	needGo(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "small.yaml")
	os.WriteFile(spec, []byte(`name: small
input: [3, 24, 24]
classes: 5
preprocess: {resize: 24, crop: 24, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
layers:
  - conv: {name: conv1, out: 8, kernel: 3, pad: 1, bias: false}
  - bn: {name: bn1}
  - relu
  - maxpool: {kernel: 2}
  - conv: {name: conv2, out: 8, kernel: 3, pad: 1}
  - relu
  - gap
  - flatten
  - linear: {name: fc, out: 5}
`), 0o644)
	g, err := frontend.Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.safetensors")
	if err := writeTensors(base, seedweights.Tensors(g, "")); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "images")
	colors := map[string]color.RGBA{"red": {220, 30, 30, 255}, "green": {30, 200, 40, 255}, "blue": {20, 40, 230, 255}}
	for name, c := range colors {
		os.MkdirAll(filepath.Join(data, name), 0o755)
		for i := range 8 {
			img := image.NewRGBA(image.Rect(0, 0, 30+i, 28))
			for p := range img.Pix {
				img.Pix[p] = byte((p * 7 * (i + 1)) % 90)
			}
			for y := 4; y < 24; y++ {
				for x := 4; x < 24; x++ {
					img.SetRGBA(x, y, c)
				}
			}
			var b bytes.Buffer
			png.Encode(&b, img)
			os.WriteFile(filepath.Join(data, name, string(rune('a'+i))+".png"), b.Bytes(), 0o644)
		}
	}
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("red\ngreen\nblue\n"), 0o644)
	out := filepath.Join(dir, "out")
	stdout, stderr, err := runCLI(t, "train", "-arch", spec, "-weights", base, "-classes", "3", "-labels", labels, "-data", data,
		"-freeze", "conv1,bn1", "-epochs", "2", "-batch", "6", "-val", "0.25", "-optimizer", "adam", "-lr", "0.01", "-schedule", "cosine", "-out", out)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{"18 training images", "6 held out (25% held out)", "epoch  2/2", "-classes 3", "held-out top-1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if got, err := os.ReadFile(filepath.Join(out, "labels.txt")); err != nil || string(got) != "red\ngreen\nblue\n" {
		t.Errorf("labels written: %q, %v", got, err)
	}
	_, stderr, err = runCLI(t, "-arch", spec, "-classes", "3", "-weights", filepath.Join(out, "weights.safetensors"), "-labels", filepath.Join(out, "labels.txt"),
		"-o", filepath.Join(dir, "pkg", "small.go"))
	if err != nil {
		t.Fatalf("generating from the fine-tuned weights: %v\n%s", err, stderr)
	}
	// A folder whose classes the network does not have is an error before any build.
	if _, _, err := runCLI(t, "train", "-arch", spec, "-data", data, "-epochs", "1", "-bogus"); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
