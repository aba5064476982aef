// Command classify is what a user of cnngen writes: it pins cnngen as a tool in go.mod, generates
// its networks with `go generate` and classifies an image file given on the command line.
//
//	go generate ./...
//	go run . -arch lenet5 shirt.png                              # embedded Fashion-MNIST weights
//	go run . -arch resnet18 -weights resnet18.safetensors cat.jpg # torchvision ImageNet weights
package main

//go:generate go tool cnngen -arch lenet5 -o lenet5/lenet5.go -weights ../../generated/lenet5/lenet5.safetensors -embed
//go:generate go tool cnngen -arch resnet18 -o resnet18/resnet18.go

import (
	"flag"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"os"

	"example.com/classify/lenet5"
	"example.com/classify/resnet18"
	rt "github.com/cnngen/cnngen/runtime"
)

type classifier interface {
	Classify(img image.Image, k int) ([]rt.Prediction, error)
}

func main() {
	arch := flag.String("arch", "lenet5", "network: lenet5 (weights embedded) or resnet18 (needs -weights)")
	weights := flag.String("weights", "", "safetensors weights (torchvision state_dict names)")
	k := flag.Int("k", 5, "how many classes to print")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: classify [-arch lenet5|resnet18] [-weights W.safetensors] IMAGE")
		os.Exit(2)
	}
	if err := run(*arch, *weights, flag.Arg(0), *k); err != nil {
		fmt.Fprintln(os.Stderr, "classify:", err)
		os.Exit(1)
	}
}

func run(arch, weights, path string, k int) error {
	var net classifier
	var err error
	switch {
	case arch == "lenet5" && weights == "":
		net, err = lenet5.LoadEmbedded()
	case arch == "lenet5":
		net, err = lenet5.Load(weights)
	case arch == "resnet18" && weights != "":
		net, err = resnet18.Load(weights)
	case arch == "resnet18":
		return fmt.Errorf("resnet18 needs -weights (convert torchvision's checkpoint with tools/pth_to_safetensors.py)")
	default:
		return fmt.Errorf("unknown -arch %q", arch)
	}
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := rt.DecodeImage(f) // image.Decode, refusing decompression bombs
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	preds, err := net.Classify(img, k)
	if err != nil {
		return err
	}
	for _, p := range preds {
		fmt.Printf("%6.2f%%  %3d  %s\n", 100*p.Prob, p.Class, p.Label)
	}
	return nil
}
