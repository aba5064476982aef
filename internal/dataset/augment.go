package dataset

import (
	"fmt"
	"image"
	_ "image/gif" // the folder formats Folder lists
	_ "image/jpeg"
	_ "image/png"
	"math"

	"github.com/cnngen/cnngen/internal/files"
	rt "github.com/cnngen/cnngen/runtime"
)

// RandomResizedCrop is torchvision's RandomResizedCrop box choice (transforms.py,
// get_params): up to ten attempts at a box of Scale of the image's area and an aspect
// ratio log-uniform in Ratio, placed uniformly; when none fits, the largest centred box
// within Ratio. The random numbers are Go's, so the boxes are distributed as torchvision's
// are, not the same ones.
type RandomResizedCrop struct {
	Scale [2]float64
	Ratio [2]float64
}

// DefaultRandomResizedCrop has torchvision's defaults: scale (0.08, 1), ratio (3/4, 4/3).
func DefaultRandomResizedCrop() RandomResizedCrop {
	return RandomResizedCrop{Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
}

// Box returns the crop of an image of width x height as a rectangle at the origin.
func (c RandomResizedCrop) Box(width, height int, r *Rand) image.Rectangle {
	area := float64(width * height)
	logLo, logHi := math.Log(c.Ratio[0]), math.Log(c.Ratio[1])
	for range 10 {
		target := area * r.Uniform(c.Scale[0], c.Scale[1])
		aspect := math.Exp(r.Uniform(logLo, logHi))
		// Python's int(round(x)): halves to even.
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= width && 0 < h && h <= height {
			i := r.IntN(height - h + 1)
			j := r.IntN(width - w + 1)
			return image.Rect(j, i, j+w, i+h)
		}
	}
	// The fallback: a centre crop, as wide or as tall as the ratio range allows.
	w, h := width, height
	switch in, lo, hi := float64(width)/float64(height), min(c.Ratio[0], c.Ratio[1]), max(c.Ratio[0], c.Ratio[1]); {
	case in < lo:
		h = int(math.RoundToEven(float64(w) / lo))
	case in > hi:
		w = int(math.RoundToEven(float64(h) * hi))
	}
	i, j := (height-h)/2, (width-w)/2
	return image.Rect(j, i, j+w, i+h)
}

// Augment is the training transform of a folder: torchvision's
//
//	RandomResizedCrop(size) + RandomHorizontalFlip(Flip) + ToTensor() + Normalize(mean, std)
//
// with size, mean and std the network's (its Preprocess). Without a Crop the whole image is
// resized to the input size.
type Augment struct {
	Crop *RandomResizedCrop
	Flip float64 // probability of a horizontal flip; torchvision's default is 0.5
}

// FolderSource is a folder dataset (Folder) as a Source: evaluation applies Pre, the
// network's own preprocessing (resize, centre crop, normalisation); training applies Aug,
// then Pre's normalisation, with Pre's interpolation and input size.
type FolderSource struct {
	Items []Item
	Pre   rt.Preprocess
	Aug   Augment
	// MaxFileBytes bounds an image file's size (default 64 MiB), so a stray huge file fails
	// rather than exhausting memory.
	MaxFileBytes int64
}

func (s *FolderSource) Len() int             { return len(s.Items) }
func (s *FolderSource) Label(i int) int      { return s.Items[i].Label }
func (s *FolderSource) Shape() (c, h, w int) { return s.Pre.Channels, s.Pre.Height, s.Pre.Width }

// Load decodes image i (JPEG, PNG or GIF) and preprocesses it into dst. Decoding allocates
// the image, as Go's decoders do; everything else reuses dst.
func (s *FolderSource) Load(i int, dst []float32, r *Rand) error {
	limit := s.MaxFileBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	data, err := files.Read(s.Items[i].Path, limit)
	if err != nil {
		return err
	}
	img, _, err := rt.DecodeImageBytes(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Items[i].Path, err)
	}
	if r == nil {
		return s.Pre.Image(img, dst)
	}
	return s.Aug.Apply(&s.Pre, img, dst, r)
}

// Apply writes img, augmented with r, into dst through pre's size, interpolation and
// normalisation.
func (a Augment) Apply(pre *rt.Preprocess, img image.Image, dst []float32, r *Rand) error {
	b := img.Bounds()
	box := image.Rect(0, 0, b.Dx(), b.Dy())
	if a.Crop != nil {
		box = a.Crop.Box(b.Dx(), b.Dy(), r)
	}
	// torch.rand(1) < p: drawn whether or not it flips, as torchvision does.
	return ResizedCrop(pre, img, box, r.Float64() < a.Flip, dst)
}

// ResizedCrop is torchvision's resized_crop (then hflip when flip): the box of img (at the
// origin of img's bounds) resized to pre's input size with pre's interpolation, then
// normalised. Cropping then resizing is resizing the cropped sub-image, which
// runtime.Preprocess does as PIL does.
func ResizedCrop(pre *rt.Preprocess, img image.Image, box image.Rectangle, flip bool, dst []float32) error {
	b := img.Bounds()
	if box = box.Add(b.Min); box != b {
		sub, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return fmt.Errorf("dataset: cannot crop a %T", img)
		}
		img = sub.SubImage(box)
	}
	p := *pre
	p.Resize, p.Crop = 0, 0 // straight to the input size
	if err := p.Image(img, dst); err != nil {
		return err
	}
	if flip {
		FlipHorizontal(dst, p.Channels, p.Height, p.Width)
	}
	return nil
}

// FlipHorizontal mirrors every row of a CHW tensor in place.
func FlipHorizontal(x []float32, c, h, w int) {
	for row := range c * h {
		line := x[row*w : (row+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			line[i], line[j] = line[j], line[i]
		}
	}
}
