// Package zoo lists the generated packages of every built-in architecture behind one interface,
// for the commands that run generated code (cnngen eval, cnngen bench) and for tests.
package zoo

import (
	"fmt"
	"image"
	"io"

	"github.com/cnngen/cnngen/archspecs"
	rt "github.com/cnngen/cnngen/runtime"

	"github.com/cnngen/cnngen/generated/alexnet"
	"github.com/cnngen/cnngen/generated/alexnet2012"
	"github.com/cnngen/cnngen/generated/efficientnet_b0"
	"github.com/cnngen/cnngen/generated/googlenet"
	"github.com/cnngen/cnngen/generated/lenet5"
	"github.com/cnngen/cnngen/generated/resnet101"
	"github.com/cnngen/cnngen/generated/resnet152"
	"github.com/cnngen/cnngen/generated/resnet18"
	"github.com/cnngen/cnngen/generated/resnet34"
	"github.com/cnngen/cnngen/generated/resnet50"
	"github.com/cnngen/cnngen/generated/vgg16"
	"github.com/cnngen/cnngen/generated/vgg19"
)

// Net is the API every generated package's *Net has.
type Net interface {
	Forward(in, out []float32) error
	Features(in, out []float32) error
	Classify(img image.Image, k int) ([]rt.Prediction, error)
}

// Entry describes one generated package.
type Entry struct {
	Arch                  string
	InputSize, NumClasses int
	Labels                []string
	Layers                []rt.Layer // the layer functions Forward runs, in order
	Load                  func(path string, opts ...rt.Option) (Net, error)
	New                   func(r io.ReaderAt, opts ...rt.Option) (Net, error)
	// Embedded loads weights compiled into the package; nil when there are none.
	Embedded func(opts ...rt.Option) (Net, error)
}

// Entries are the built-in architectures, in archspecs order.
var Entries = []Entry{
	{Arch: "lenet5", InputSize: lenet5.InputChannels * lenet5.InputHeight * lenet5.InputWidth, NumClasses: lenet5.NumClasses, Labels: lenet5.Labels, Layers: lenet5.Layers,
		Load:     func(path string, o ...rt.Option) (Net, error) { return lenet5.Load(path, o...) },
		New:      func(r io.ReaderAt, o ...rt.Option) (Net, error) { return lenet5.New(r, o...) },
		Embedded: func(o ...rt.Option) (Net, error) { return lenet5.LoadEmbedded(o...) }},
	{Arch: "alexnet", InputSize: alexnet.InputChannels * alexnet.InputHeight * alexnet.InputWidth, NumClasses: alexnet.NumClasses, Labels: alexnet.Labels, Layers: alexnet.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return alexnet.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return alexnet.New(r, o...) }},
	{Arch: "alexnet2012", InputSize: alexnet2012.InputChannels * alexnet2012.InputHeight * alexnet2012.InputWidth, NumClasses: alexnet2012.NumClasses, Labels: alexnet2012.Labels, Layers: alexnet2012.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return alexnet2012.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return alexnet2012.New(r, o...) }},
	{Arch: "vgg16", InputSize: vgg16.InputChannels * vgg16.InputHeight * vgg16.InputWidth, NumClasses: vgg16.NumClasses, Labels: vgg16.Labels, Layers: vgg16.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return vgg16.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return vgg16.New(r, o...) }},
	{Arch: "vgg19", InputSize: vgg19.InputChannels * vgg19.InputHeight * vgg19.InputWidth, NumClasses: vgg19.NumClasses, Labels: vgg19.Labels, Layers: vgg19.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return vgg19.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return vgg19.New(r, o...) }},
	{Arch: "googlenet", InputSize: googlenet.InputChannels * googlenet.InputHeight * googlenet.InputWidth, NumClasses: googlenet.NumClasses, Labels: googlenet.Labels, Layers: googlenet.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return googlenet.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return googlenet.New(r, o...) }},
	{Arch: "resnet18", InputSize: resnet18.InputChannels * resnet18.InputHeight * resnet18.InputWidth, NumClasses: resnet18.NumClasses, Labels: resnet18.Labels, Layers: resnet18.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return resnet18.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return resnet18.New(r, o...) }},
	{Arch: "resnet34", InputSize: resnet34.InputChannels * resnet34.InputHeight * resnet34.InputWidth, NumClasses: resnet34.NumClasses, Labels: resnet34.Labels, Layers: resnet34.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return resnet34.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return resnet34.New(r, o...) }},
	{Arch: "resnet50", InputSize: resnet50.InputChannels * resnet50.InputHeight * resnet50.InputWidth, NumClasses: resnet50.NumClasses, Labels: resnet50.Labels, Layers: resnet50.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return resnet50.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return resnet50.New(r, o...) }},
	{Arch: "resnet101", InputSize: resnet101.InputChannels * resnet101.InputHeight * resnet101.InputWidth, NumClasses: resnet101.NumClasses, Labels: resnet101.Labels, Layers: resnet101.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return resnet101.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return resnet101.New(r, o...) }},
	{Arch: "resnet152", InputSize: resnet152.InputChannels * resnet152.InputHeight * resnet152.InputWidth, NumClasses: resnet152.NumClasses, Labels: resnet152.Labels, Layers: resnet152.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return resnet152.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return resnet152.New(r, o...) }},
	{Arch: "efficientnet_b0", InputSize: efficientnetb0.InputChannels * efficientnetb0.InputHeight * efficientnetb0.InputWidth, NumClasses: efficientnetb0.NumClasses, Labels: efficientnetb0.Labels, Layers: efficientnetb0.Layers,
		Load: func(path string, o ...rt.Option) (Net, error) { return efficientnetb0.Load(path, o...) },
		New:  func(r io.ReaderAt, o ...rt.Option) (Net, error) { return efficientnetb0.New(r, o...) }},
}

// Get returns the entry of arch, a built-in architecture's name as archspecs.Canonical reads it.
func Get(arch string) (Entry, error) {
	c := archspecs.Canonical(arch)
	for _, e := range Entries {
		if e.Arch == c {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no generated package for %q (built-in architectures only)", arch)
}
