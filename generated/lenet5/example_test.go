package lenet5_test

import (
	"fmt"
	"image"
	_ "image/png"
	"log"
	"os"

	"github.com/cnngen/cnngen/generated/lenet5"
)

// A sample of Fashion-MNIST's test set, shipped with examples/fashion.
const sample = "../../examples/fashion/testdata/samples/00000_ankle-boot.png"

func readImage(path string) image.Image {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	return img
}

// Classify takes any image: it resizes, crops and normalizes it as the weights expect.
func ExampleNet_Classify() {
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		log.Fatal(err)
	}
	preds, err := net.Classify(readImage(sample), 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range preds {
		fmt.Printf("%-10s %.3f\n", p.Label, p.Prob)
	}
	// Output:
	// Ankle boot 1.000
	// Sandal     0.000
	// Sneaker    0.000
}

// Load reads weights from a safetensors file: a PyTorch state_dict with the spec's names.
func ExampleLoad() {
	net, err := lenet5.Load("lenet5.safetensors", lenet5.WithThreads(1))
	if err != nil {
		log.Fatal(err)
	}
	preds, err := net.Classify(readImage(sample), 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(preds[0].Label)
	// Output:
	// Ankle boot
}

// Forward runs a batch of raw NCHW float32 images: here two, already preprocessed.
func ExampleNet_Forward() {
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		log.Fatal(err)
	}
	in := make([]float32, 2*lenet5.InputChannels*lenet5.InputHeight*lenet5.InputWidth)
	if err := lenet5.DefaultPreprocess.Image(readImage(sample), in[:len(in)/2]); err != nil {
		log.Fatal(err)
	}
	logits := make([]float32, 2*lenet5.NumClasses)
	if err := net.Forward(in, logits); err != nil {
		log.Fatal(err)
	}
	best := 0
	for c, v := range logits[:lenet5.NumClasses] {
		if v > logits[best] {
			best = c
		}
	}
	fmt.Println(len(logits), lenet5.Labels[best])
	// Output:
	// 20 Ankle boot
}

// Features gives what the classifier head reads, for similarity search or a new head.
func ExampleNet_Features() {
	net, err := lenet5.LoadEmbedded()
	if err != nil {
		log.Fatal(err)
	}
	in := make([]float32, lenet5.InputChannels*lenet5.InputHeight*lenet5.InputWidth)
	if err := lenet5.DefaultPreprocess.Image(readImage(sample), in); err != nil {
		log.Fatal(err)
	}
	features := make([]float32, lenet5.FeatureSize)
	if err := net.Features(in, features); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(features))
	// Output:
	// 84
}
