// Package generated holds one Go package per built-in architecture, each written by cnngen from
// archspecs/ (run `go generate ./generated`; CI checks the tree is unchanged). Every package has
// the same API: Load, New, Forward, Features, Classify, the input and class constants, Labels.
// generated/lenet5 embeds real weights (LeNet-5 trained on Fashion-MNIST by tools/train_lenet5.py);
// the others load torchvision state_dicts converted to safetensors.
//
// The generator runs with the cnngen_nozoo tag: cmd/cnngen's eval and bench commands import these
// packages, and the tag keeps the generator buildable even while they are being rewritten.
package generated

//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch lenet5 -o lenet5/lenet5.go -weights lenet5/lenet5.safetensors -embed
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch alexnet -o alexnet/alexnet.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch alexnet2012 -o alexnet2012/alexnet2012.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch vgg16 -o vgg16/vgg16.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch vgg19 -o vgg19/vgg19.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch googlenet -o googlenet/googlenet.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch resnet18 -o resnet18/resnet18.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch resnet34 -o resnet34/resnet34.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch resnet50 -o resnet50/resnet50.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch resnet101 -o resnet101/resnet101.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch resnet152 -o resnet152/resnet152.go
//go:generate go run -tags cnngen_nozoo ../cmd/cnngen -arch efficientnet_b0 -o efficientnet_b0/efficientnetb0.go
