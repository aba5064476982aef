package dataset

import (
	"fmt"
	"os"
	"path/filepath"
)

// IDXSource is an IDX set (Fashion-MNIST, MNIST) as a Source: each 8-bit pixel becomes
// (pixel/255 - mean) / std in float32, as tools/train_lenet5.py's normalize and
// runtime.Preprocess compute it. IDX sets are trained without augmentation (the LeNet-5
// recipe has none), so Load ignores r.
type IDXSource struct {
	D   *IDX
	lut [256]float32
}

// NewIDXSource normalises d's pixels with mean and std.
func NewIDXSource(d *IDX, mean, std float32) *IDXSource {
	s := &IDXSource{D: d}
	for v := range s.lut {
		s.lut[v] = (float32(v)/255 - mean) / std
	}
	return s
}

func (s *IDXSource) Len() int             { return s.D.Len() }
func (s *IDXSource) Label(i int) int      { return int(s.D.Labels[i]) }
func (s *IDXSource) Shape() (c, h, w int) { return 1, s.D.Rows, s.D.Cols }

func (s *IDXSource) Load(i int, dst []float32, _ *Rand) error {
	n := s.D.Rows * s.D.Cols
	if len(dst) != n {
		return fmt.Errorf("dataset: %d values for a %dx%d image", len(dst), s.D.Rows, s.D.Cols)
	}
	for k, v := range s.D.Pixels[i*n : (i+1)*n] {
		dst[k] = s.lut[v]
	}
	return nil
}

// FashionMNISTTrain reads the 60,000-image training set from dir (train-images-idx3-ubyte
// and train-labels-idx1-ubyte, gzip-compressed or not), as FashionMNISTTest reads the test set.
func FashionMNISTTrain(dir string) (*IDX, error) {
	find := func(base string) string {
		for _, p := range []string{base + ".gz", base} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p)
			}
		}
		return filepath.Join(dir, base+".gz")
	}
	return ReadIDX(find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"))
}
