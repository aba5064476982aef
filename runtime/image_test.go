package runtime

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// referenceFile is testdata/images/reference.json, written by
// tools/preprocess_reference.py.
type referenceFile struct {
	Images []string
	Modes  map[string]struct {
		Channels, Height, Width, Resize, Crop int
		Interpolation                         string
		Mean, Std                             []float32
		Grayscale                             bool
		Images                                []string
	}
}

// torchBound is how far Preprocess may be from torchvision in one mode, in
// normalized units, separately for PNG and JPEG images.
type torchBound struct{ pngMax, pngMean, jpegMax, jpegMean float64 }

// torchBounds are a bit above the differences measured with Go 1.26,
// golang.org/x/image v0.48.0, torchvision 0.14 and PIL 9.4, given in the
// comments as max / mean absolute difference over all values of the mode's
// images, in normalized units. One 8-bit step is 1/255/std: 0.0171-0.0175
// for the ImageNet std, 0.0111 for Fashion-MNIST's.
//
// PNG, bilinear and bicubic: the same filters (PIL's bilinear, bicubic with
// a=-0.5 and nearest are x/image's BiLinear, CatmullRom and NearestNeighbor,
// both widening the kernel when shrinking) in the same two 8-bit passes, so
// nearly every value is identical (mean difference below 0.0001). A few are
// one step apart, rarely two, from rounding: PIL uses 22-bit fixed-point
// weights, x/image float64 weights and a 16-bit result that Preprocess
// rounds to 8 bits.
//
// PNG, nearest: PIL (ImagingScaleAffine) finds the source pixel by adding
// the scale up in floating point, x/image computes it exactly in integers.
// Where a sample falls exactly on a pixel boundary PIL's sum can land just
// below it and take the pixel before: whole rows or columns come from a
// neighbouring pixel (here rows 25, 59 and 76 when 120 pixels shrink to 85),
// so the max is any pixel difference and only the mean is meaningful.
//
// JPEG: Go's image/jpeg and PIL's libjpeg decode differently. libjpeg
// upsamples the 4:2:0 chroma with a triangle filter ("fancy upsampling")
// where Go repeats each chroma sample, and their IDCTs and YCbCr->RGB
// rounding differ by about one step. Colors differ by a few steps at sharp
// color edges, less than one step on average; Preprocess cannot do better
// without its own JPEG decoder. Grayscale ("fashion") hardly sees the
// chroma.
var torchBounds = map[string]torchBound{
	// PNG 0.0350 / 0.00000, JPEG 0.1394 / 0.00862
	"bicubic": {pngMax: 0.04, pngMean: 0.0005, jpegMax: 0.2, jpegMean: 0.012},
	// PNG 0.0175 / 0.00005, JPEG 0.1046 / 0.00727
	"bilinear": {pngMax: 0.02, pngMean: 0.0005, jpegMax: 0.15, jpegMean: 0.01},
	// PNG 3.9387 / 0.00292, JPEG 2.4510 / 0.04491
	"nearest": {pngMax: 4.5, pngMean: 0.004, jpegMax: 4.5, jpegMean: 0.055},
	// PNG 0.0175 / 0.00002, JPEG 0.0523 / 0.00366
	"pad": {pngMax: 0.02, pngMean: 0.0005, jpegMax: 0.08, jpegMean: 0.005},
	// PNG 0.0175 / 0.00001, JPEG 0.0697 / 0.00655
	"stretch": {pngMax: 0.02, pngMean: 0.0005, jpegMax: 0.1, jpegMean: 0.009},
	// PNG 0.0111 / 0.00010, JPEG 0.0111 / 0.00139
	"fashion": {pngMax: 0.012, pngMean: 0.0005, jpegMax: 0.012, jpegMean: 0.002},
	// PNG 0.0175 / 0.00000 (3x224x224, one image)
	"imagenet": {pngMax: 0.02, pngMean: 0.0005},
}

func TestPreprocessTorchvision(t *testing.T) {
	dir := filepath.Join("testdata", "images")
	data, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref referenceFile
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	images := map[string]image.Image{}
	for _, name := range ref.Images {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		images[name] = img
	}
	if len(ref.Modes) != len(torchBounds) {
		t.Errorf("reference.json has %d modes, torchBounds %d", len(ref.Modes), len(torchBounds))
	}
	for mname, m := range ref.Modes {
		p := Preprocess{
			Channels: m.Channels, Height: m.Height, Width: m.Width,
			Resize: m.Resize, Crop: m.Crop, Interpolation: m.Interpolation,
			Mean: m.Mean, Std: m.Std, Grayscale: m.Grayscale,
		}
		bound, ok := torchBounds[mname]
		if !ok {
			t.Errorf("mode %s: no bound", mname)
			continue
		}
		// Per kind of file: max and sum of absolute differences, count.
		var maxd, sumd, n [2]float64
		for _, name := range m.Images {
			want := readF32(t, filepath.Join(dir, name+"."+mname+".f32"))
			got := make([]float32, p.Channels*p.Height*p.Width)
			if len(want) != len(got) {
				t.Fatalf("%s.%s: reference has %d values, want %d", name, mname, len(want), len(got))
			}
			if err := p.Image(images[name], got); err != nil {
				t.Fatalf("%s.%s: %v", name, mname, err)
			}
			kind := 0
			if strings.HasSuffix(name, ".jpg") {
				kind = 1
			}
			var imax, isum float64
			for i := range got {
				d := math.Abs(float64(got[i]) - float64(want[i]))
				imax = max(imax, d)
				isum += d
			}
			t.Logf("%-9s %-22s max %.4f mean %.5f", mname, name, imax, isum/float64(len(got)))
			maxd[kind] = max(maxd[kind], imax)
			sumd[kind] += isum
			n[kind] += float64(len(got))
		}
		for kind, b := range [2][2]float64{{bound.pngMax, bound.pngMean}, {bound.jpegMax, bound.jpegMean}} {
			if n[kind] == 0 {
				continue
			}
			what := [2]string{"PNG", "JPEG"}[kind]
			mean := sumd[kind] / n[kind]
			t.Logf("%-9s %-4s: max %.4f mean %.5f", mname, what, maxd[kind], mean)
			if maxd[kind] > b[0] || mean > b[1] {
				t.Errorf("mode %s, %s images: max abs diff %.4f (bound %g), mean %.5f (bound %g)", mname, what, maxd[kind], b[0], mean, b[1])
			}
		}
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

var imagenet = Preprocess{
	Channels: 3, Height: 224, Width: 224, Resize: 256, Crop: 224,
	Interpolation: "bilinear",
	Mean:          []float32{0.485, 0.456, 0.406},
	Std:           []float32{0.229, 0.224, 0.225},
}

// configs are the preprocessings of the unit tests: each interpolation with
// and without keeping the aspect ratio, grayscale, and no normalization.
func configs() map[string]Preprocess {
	cs := map[string]Preprocess{}
	for _, interp := range []string{"bilinear", "bicubic", "nearest", ""} {
		p := imagenet
		p.Height, p.Width, p.Resize, p.Crop = 20, 20, 24, 20
		p.Interpolation = interp
		cs["crop-"+interp] = p
		p.Height, p.Width, p.Resize, p.Crop = 9, 13, 0, 0
		cs["stretch-"+interp] = p
		cs["gray-"+interp] = Preprocess{
			Channels: 1, Height: 12, Width: 12, Resize: 12, Grayscale: true,
			Interpolation: interp, Mean: []float32{0.286}, Std: []float32{0.353},
		}
	}
	p := imagenet
	p.Height, p.Width, p.Resize, p.Crop = 10, 10, 10, 10
	p.Mean, p.Std = nil, nil
	cs["plain"] = p
	p.Grayscale = true
	cs["gray3"] = p
	return cs
}

func normalized(v uint8, mean, std float32) float32 {
	return (float32(v)/255 - mean) / std
}

// TestPreprocessUniform: an image of one color gives exactly
// (v/255-mean)/std everywhere, whatever the interpolation and size, since
// every resampling weight set sums to one.
func TestPreprocessUniform(t *testing.T) {
	colors := []color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {1, 128, 254, 255}, {200, 17, 93, 255}}
	sizes := []image.Point{{1, 1}, {2, 3}, {20, 20}, {24, 24}, {37, 11}, {11, 300}, {300, 200}, {1000, 1}}
	for name, p := range configs() {
		for _, sz := range sizes {
			for _, c := range colors {
				img := image.NewNRGBA(image.Rect(0, 0, sz.X, sz.Y))
				for i := 0; i < len(img.Pix); i += 4 {
					img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
				}
				got := make([]float32, p.Channels*p.Height*p.Width)
				if err := p.Image(img, got); err != nil {
					t.Fatal(err)
				}
				v := []uint8{c.R, c.G, c.B}
				if p.Channels == 1 || p.Grayscale {
					l := uint8((uint32(c.R)*19595 + uint32(c.G)*38470 + uint32(c.B)*7471 + 0x8000) >> 16)
					v = []uint8{l, l, l}
				}
				plane := p.Height * p.Width
				for i, x := range got {
					ch := i / plane
					mean, std := float32(0), float32(1)
					if p.Mean != nil {
						mean, std = p.Mean[ch], p.Std[ch]
					}
					if want := normalized(v[ch], mean, std); x != want {
						t.Fatalf("%s, %v image of %v: value %d (channel %d) = %v, want %v", name, sz, c, i, ch, x, want)
					}
				}
			}
		}
	}
}

// TestPreprocessGrayLuma checks the luma against values of PIL 9.4's
// Image.new("RGB", (1, 1), rgb).convert("L").
func TestPreprocessGrayLuma(t *testing.T) {
	for _, c := range []struct{ r, g, b, l uint8 }{
		{255, 0, 0, 76}, {0, 255, 0, 150}, {0, 0, 255, 29}, {255, 255, 255, 255},
		{1, 128, 254, 104}, {200, 17, 93, 80}, {10, 20, 30, 18}, {128, 128, 127, 128}, {3, 3, 4, 3},
	} {
		p := Preprocess{Channels: 1, Height: 1, Width: 1, Grayscale: true}
		img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		img.Pix = []uint8{c.r, c.g, c.b, 255}
		got := make([]float32, 1)
		if err := p.Image(img, got); err != nil {
			t.Fatal(err)
		}
		if want := float32(c.l) / 255; got[0] != want {
			t.Errorf("luma of %v = %v (%v/255), want %d/255", c, got[0], got[0]*255, c.l)
		}
	}
}

// randomNRGBA is an opaque image of random pixels with its origin at min.
func randomNRGBA(r *rand.Rand, min image.Point, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rectangle{min, min.Add(image.Pt(w, h))})
	for i := range img.Pix {
		img.Pix[i] = uint8(r.UintN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// TestPreprocessColorModels: the same 8-bit RGB pixels give the same result
// whatever image type holds them, alpha dropped like PIL's convert("RGB").
func TestPreprocessColorModels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const w, h = 31, 23
	min := image.Pt(-5, 7) // decoders give origin 0, sub-images do not
	base := randomNRGBA(r, min, w, h)
	b := base.Bounds()

	// Images with exactly base's pixels.
	same := map[string]image.Image{}
	rgba := image.NewRGBA(b)
	rgba64 := image.NewRGBA64(b)
	nrgba64 := image.NewNRGBA64(b)
	alpha := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := base.NRGBAAt(x, y)
			rgba.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 255})
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(c.R) * 0x101, uint16(c.G) * 0x101, uint16(c.B) * 0x101, 0xffff})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 0x101, uint16(c.G) * 0x101, uint16(c.B) * 0x101, uint16(r.UintN(0x10000))})
			c.A = uint8(r.UintN(4) * 85) // 0, 85, 170, 255: transparent pixels keep their color
			alpha.SetNRGBA(x, y, c)
		}
	}
	same["RGBA"], same["RGBA64"], same["NRGBA64 with alpha"], same["NRGBA with alpha"] = rgba, rgba64, nrgba64, alpha
	// A sub-image of a larger image.
	big := randomNRGBA(r, image.Pt(-20, -20), w+40, h+60)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			big.SetNRGBA(x, y, base.NRGBAAt(x, y))
		}
	}
	same["sub-image"] = big.SubImage(b)
	// A palette image with transparent entries (as PNG tRNS decodes), and
	// its pixels as NRGBA.
	pal := image.NewPaletted(b, nil)
	pbase := image.NewNRGBA(b)
	index := map[color.NRGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := base.NRGBAAt(x, y)
			c.R, c.G, c.B = c.R&0xc0, c.G&0xc0, c.B&0xe0 // at most 4*4*8 = 128 colors
			pbase.SetNRGBA(x, y, c)
			i, ok := index[c]
			if !ok {
				i = uint8(len(pal.Palette))
				index[c] = i
				pc := c
				pc.A = uint8(i % 2 * 255) // transparent entries keep their color
				pal.Palette = append(pal.Palette, pc)
			}
			pal.SetColorIndex(x, y, i)
		}
	}

	// Images whose pixels are defined by their color model: the reference
	// is an NRGBA of their colors.NRGBAModel conversion.
	converted := map[string]image.Image{}
	ycc := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(r.UintN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(r.UintN(256)), uint8(r.UintN(256))
	}
	converted["YCbCr 4:2:0"] = ycc
	cmyk := image.NewCMYK(b)
	for i := range cmyk.Pix {
		cmyk.Pix[i] = uint8(r.UintN(256))
	}
	converted["CMYK"] = cmyk
	gray := image.NewGray(b)
	gray16 := image.NewGray16(b)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(r.UintN(256))
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			gray16.SetGray16(x, y, color.Gray16{uint16(gray.GrayAt(x, y).Y) * 0x101})
		}
	}
	converted["Gray"] = gray
	same16 := map[string]image.Image{"Gray16": gray16}

	for name, p := range configs() {
		run := func(img image.Image) []float32 {
			out := make([]float32, p.Channels*p.Height*p.Width)
			if err := p.Image(img, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		check := func(what string, img, ref image.Image) {
			got, want := run(img), run(ref)
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %s differs from NRGBA at %d: %v, want %v", name, what, i, got[i], want[i])
					return
				}
			}
		}
		for what, img := range same {
			check(what, img, base)
		}
		check("Paletted", pal, pbase)
		for what, img := range converted {
			ref := image.NewNRGBA(b)
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					ref.Set(x, y, color.NRGBAModel.Convert(img.At(x, y)))
				}
			}
			check(what, img, ref)
		}
		for what, img := range same16 {
			check(what, img, gray)
		}
	}
}

// TestPreprocessSizes: any image size works, and the resized size and crop
// follow torchvision 0.14.
func TestPreprocessSizes(t *testing.T) {
	// From torchvision.transforms.functional._compute_resized_output_size.
	for _, c := range []struct{ w, h, size, rw, rh int }{
		{300, 200, 256, 384, 256}, {200, 333, 256, 256, 426}, {333, 200, 256, 426, 256},
		{64, 64, 256, 256, 256}, {1, 1, 256, 256, 256}, {1, 1000, 64, 64, 64000},
		{1000, 1, 64, 64000, 64}, {640, 480, 256, 341, 256}, {480, 640, 232, 232, 309},
		{3, 7, 28, 28, 65}, {7, 3, 28, 65, 28}, {1920, 1080, 256, 455, 256},
		{4000, 3000, 256, 341, 256}, {49, 7, 7, 49, 7}, {10, 3, 9, 30, 9}, {11, 3, 3, 11, 3},
	} {
		p := Preprocess{Resize: c.size}
		if rw, rh := p.ResizedSize(c.w, c.h); rw != c.rw || rh != c.rh {
			t.Errorf("ResizedSize(%d, %d) with Resize %d = %dx%d, want %dx%d", c.w, c.h, c.size, rw, rh, c.rw, c.rh)
		}
	}
	// From torchvision.transforms.functional.center_crop: int(round((n - c) / 2.0)),
	// or minus the left/top padding (c - n) // 2.
	for _, c := range []struct{ n, c, off int }{
		{257, 224, 16}, {259, 224, 18}, {256, 224, 16}, {226, 224, 1}, {228, 224, 2},
		{225, 224, 0}, {227, 224, 2}, {60, 56, 2}, {40, 56, -8}, {41, 56, -7}, {56, 56, 0},
		{57, 56, 0}, {59, 56, 2}, {61, 56, 2}, {1, 4, -1}, {2, 5, -1},
	} {
		if off := cropOffset(c.n, c.c); off != c.off {
			t.Errorf("cropOffset(%d, %d) = %d, want %d", c.n, c.c, off, c.off)
		}
	}

	r := rand.New(rand.NewPCG(3, 4))
	for name, p := range configs() {
		for _, sz := range []image.Point{{1, 1}, {1, 2}, {2, 1}, {5, 3}, {3, 5}, {1, 500}, {700, 2}, {19, 21}, {640, 480}} {
			img := randomNRGBA(r, image.Point{}, sz.X, sz.Y)
			got := make([]float32, p.Channels*p.Height*p.Width)
			if err := p.Image(img, got); err != nil {
				t.Fatalf("%s, %v: %v", name, sz, err)
			}
			for i, v := range got {
				if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 5 {
					t.Fatalf("%s, %v: value %d is %v", name, sz, i, v)
				}
			}
		}
	}
}

// TestPreprocessPadding: a resized image smaller than the crop is centered
// on zero pixels as torchvision's CenterCrop pads it, the odd pixel going
// right and bottom.
func TestPreprocessPadding(t *testing.T) {
	p := Preprocess{Channels: 3, Height: 8, Width: 8, Resize: 3, Crop: 8, Interpolation: "nearest",
		Mean: []float32{0.5, 0.25, 0}, Std: []float32{0.5, 0.25, 1}}
	// 10x5 resizes to 6x3: 1 column of padding left and right, 2 rows top, 3 bottom.
	img := image.NewGray(image.Rect(0, 0, 10, 5))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	got := make([]float32, 3*8*8)
	if err := p.Image(img, got); err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		var rows []string
		for y := range 8 {
			var row strings.Builder
			for x := range 8 {
				switch got[c*64+y*8+x] {
				case normalized(0, p.Mean[c], p.Std[c]):
					row.WriteByte('.')
				case normalized(255, p.Mean[c], p.Std[c]):
					row.WriteByte('#')
				default:
					row.WriteByte('?')
				}
			}
			rows = append(rows, row.String())
		}
		want := "........ ........ .######. .######. .######. ........ ........ ........"
		if got := strings.Join(rows, " "); got != want {
			t.Errorf("channel %d:\n%s\nwant\n%s", c, got, want)
		}
	}
}

func TestPreprocessErrors(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for _, c := range []struct {
		p    Preprocess
		dst  int
		img  image.Image
		want string
	}{
		{imagenet, 3*224*224 - 1, img, "dst has 150527 values, want 150528"},
		{imagenet, 3*224*224 + 1, img, "dst has 150529 values"},
		{imagenet, 0, img, "dst has 0 values"},
		{imagenet, 3 * 224 * 224, nil, "nil image"},
		{imagenet, 3 * 224 * 224, image.NewGray(image.Rect(2, 2, 2, 9)), "empty image"},
		{Preprocess{Channels: 2, Height: 1, Width: 1}, 2, img, "channels must be 1 or 3"},
		{Preprocess{Channels: 3, Height: 0, Width: 1}, 0, img, "input size must be positive"},
		{Preprocess{Channels: 3, Height: 1, Width: 1, Resize: -1}, 3, img, "resize must not be negative"},
		{Preprocess{Channels: 3, Height: 1, Width: 1, Crop: -1}, 3, img, "crop must not be negative"},
		{Preprocess{Channels: 3, Height: 2, Width: 3, Crop: 2}, 18, img, "crop 2 does not give the 2x3 input"},
		{Preprocess{Channels: 3, Height: 1, Width: 1, Interpolation: "lanczos"}, 3, img, `interpolation must be bilinear, bicubic or nearest, found "lanczos"`},
		{Preprocess{Channels: 3, Height: 1, Width: 1, Mean: []float32{0}}, 3, img, "mean needs one value per channel (3), found 1"},
		{Preprocess{Channels: 1, Height: 1, Width: 1, Std: []float32{1, 1, 1}}, 1, img, "std needs one value per channel (1), found 3"},
		{Preprocess{Channels: 1, Height: 1, Width: 1, Std: []float32{0}}, 1, img, "bad std value 0"},
		{Preprocess{Channels: 1, Height: 1, Width: 1, Mean: []float32{float32(math.NaN())}}, 1, img, "bad mean value NaN"},
	} {
		err := c.p.Image(c.img, make([]float32, c.dst))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		}
	}
	for name, p := range configs() {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPreprocessConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	img := randomNRGBA(r, image.Point{}, 50, 40)
	p := configs()["crop-bicubic"]
	want := make([]float32, 3*20*20)
	if err := p.Image(img, want); err != nil {
		t.Fatal(err)
	}
	done := make(chan []float32)
	for range 4 {
		go func() {
			got := make([]float32, len(want))
			for range 20 {
				if err := p.Image(img, got); err != nil {
					panic(err)
				}
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !slices.Equal(got, want) {
			t.Error("concurrent Image calls gave a different result")
		}
	}
}

func BenchmarkPreprocess(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	ycc := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(r.UintN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(r.UintN(256)), uint8(r.UintN(256))
	}
	for _, img := range []struct {
		name string
		img  image.Image
	}{{"YCbCr", ycc}, {"NRGBA", randomNRGBA(r, image.Point{}, 640, 480)}} {
		for _, interp := range []string{"bilinear", "bicubic", "nearest"} {
			b.Run(fmt.Sprintf("%s-640x480-%s", img.name, interp), func(b *testing.B) {
				p := imagenet
				p.Interpolation = interp
				dst := make([]float32, 3*224*224)
				for b.Loop() {
					if err := p.Image(img.img, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
