// Package dataset reads labelled image collections for evaluation: Fashion-MNIST / MNIST IDX files
// and ImageNet-style folders of class subfolders. For training, loader.go batches them
// (seeded shuffling, held-out splits, parallel loading) and augment.go augments folders.
package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cnngen/cnngen/internal/files"
)

// IDX is a set of 8-bit grayscale images with labels.
type IDX struct {
	Rows, Cols int
	Pixels     []byte // N*Rows*Cols, row-major per image
	Labels     []byte
}

// Len is the number of images.
func (d *IDX) Len() int { return len(d.Labels) }

// Image returns image i as a grayscale image (no copy).
func (d *IDX) Image(i int) *image.Gray {
	n := d.Rows * d.Cols
	return &image.Gray{Pix: d.Pixels[i*n : (i+1)*n], Stride: d.Cols, Rect: image.Rect(0, 0, d.Cols, d.Rows)}
}

// ReadIDX reads an images file and a labels file (gzip-compressed when named .gz).
func ReadIDX(imagesPath, labelsPath string) (*IDX, error) {
	img, err := readIDXFile(imagesPath, 0x803, 3)
	if err != nil {
		return nil, err
	}
	lab, err := readIDXFile(labelsPath, 0x801, 1)
	if err != nil {
		return nil, err
	}
	if img.dims[0] != lab.dims[0] {
		return nil, fmt.Errorf("%s has %d images, %s has %d labels", imagesPath, img.dims[0], labelsPath, lab.dims[0])
	}
	return &IDX{Rows: img.dims[1], Cols: img.dims[2], Pixels: img.data, Labels: lab.data}, nil
}

type idxFile struct {
	dims []int
	data []byte
}

func readIDXFile(path string, magic uint32, ndim int) (*idxFile, error) {
	f, _, err := files.Open(path) // a FIFO or a device given as the data is refused, not waited on
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var m uint32
	if err := binary.Read(r, binary.BigEndian, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m != magic {
		return nil, fmt.Errorf("%s: magic %#x, want %#x (not an IDX file of %d dimensions)", path, m, magic, ndim)
	}
	out := &idxFile{}
	size := 1
	for i := 0; i < ndim; i++ {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if d == 0 || d > 1<<24 {
			return nil, fmt.Errorf("%s: dimension %d is %d", path, i, d)
		}
		out.dims = append(out.dims, int(d))
		size *= int(d)
		if size > 1<<31 {
			return nil, fmt.Errorf("%s: too large", path)
		}
	}
	// Read what is there rather than allocate what the header claims: a hostile header must not
	// cost gigabytes.
	data, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) != size {
		return nil, fmt.Errorf("%s: truncated: %d bytes of data, the header says %d", path, len(data), size)
	}
	out.data = data
	return out, nil
}

// FashionMNISTTest reads the 10,000-image test set from dir (as Debian's dataset-fashion-mnist
// installs it: t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; uncompressed names work too).
func FashionMNISTTest(dir string) (*IDX, error) {
	find := func(base string) string {
		for _, p := range []string{base + ".gz", base} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p)
			}
		}
		return filepath.Join(dir, base+".gz")
	}
	return ReadIDX(find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"))
}

// Item is one image file of a folder dataset.
type Item struct {
	Path  string
	Label int
}

// Folder lists an ImageNet-style dataset: one subfolder per class, classes in sorted name order
// (so ImageNet's synset folders n01440764 ... map to torchvision's class indices).
func Folder(dir string) (classes []string, items []Item, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	for label, c := range classes {
		files, err := os.ReadDir(filepath.Join(dir, c))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f.Name()))
			if !f.IsDir() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".gif") {
				items = append(items, Item{Path: filepath.Join(dir, c, f.Name()), Label: label})
			}
		}
	}
	if len(classes) == 0 || len(items) == 0 {
		return nil, nil, fmt.Errorf("%s: no class subfolders with images (want DIR/CLASS/*.jpg)", dir)
	}
	return classes, items, nil
}
