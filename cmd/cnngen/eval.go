//go:build !cnngen_nozoo

package main

import (
	"flag"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/cnngen/cnngen/internal/dataset"
	"github.com/cnngen/cnngen/internal/evaluate"
	"github.com/cnngen/cnngen/internal/zoo"
	rt "github.com/cnngen/cnngen/runtime"
)

// evalCmd reports top-1/top-5 error of a built-in network's generated code over a labelled set.
func evalCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnngen eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "built-in architecture (its generated package runs)")
	wpath := fs.String("weights", "", "safetensors or PyTorch checkpoint (.pth) weights (default: the package's embedded weights, if any)")
	data := fs.String("data", "", "Fashion-MNIST/MNIST IDX folder, or an ImageNet-style folder of class subfolders")
	limit := fs.Int("limit", 0, "evaluate only the first N images (0: all)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *arch == "" || *data == "" || fs.NArg() > 0 {
		return usageError{"eval needs -arch and -data\n" + usage}
	}
	if *limit < 0 {
		return usageError{fmt.Sprintf("-limit %d: want a number of images, or 0 for all", *limit)}
	}
	e, err := zoo.Get(*arch)
	if err != nil {
		return err
	}
	var net zoo.Net
	switch {
	case *wpath != "":
		net, err = e.Load(*wpath)
	case e.Embedded != nil:
		net, err = e.Embedded()
	default:
		return usageError{fmt.Sprintf("%s has no embedded weights: give -weights", *arch)}
	}
	if err != nil {
		return err
	}
	var n int
	var src evaluate.Source
	if hasIDX(*data) {
		// An IDX folder's error is the one to report: the folder is not an image folder either.
		idx, err := dataset.FashionMNISTTest(*data)
		if err != nil {
			return err
		}
		n = idx.Len()
		src = func(i int) (image.Image, int, error) { return idx.Image(i), int(idx.Labels[i]), nil }
	} else {
		_, items, err := dataset.Folder(*data)
		if err != nil {
			return err
		}
		n = len(items)
		src = func(i int) (image.Image, int, error) {
			f, err := os.Open(items[i].Path)
			if err != nil {
				return nil, 0, err
			}
			defer f.Close()
			img, _, err := rt.DecodeImage(f)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: %w", items[i].Path, err)
			}
			return img, items[i].Label, nil
		}
	}
	if *limit > 0 && *limit < n {
		n = *limit
	}
	r, err := evaluate.Run(net, n, e.NumClasses, src, *arch)
	if err != nil {
		return err
	}
	r.Print(stdout, e.Labels)
	return nil
}

// hasIDX reports whether dir holds (Fashion-)MNIST test files, compressed or not.
func hasIDX(dir string) bool {
	for _, name := range []string{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		for _, ext := range []string{"", ".gz"} {
			if _, err := os.Stat(filepath.Join(dir, name+ext)); err == nil {
				return true
			}
		}
	}
	return false
}
