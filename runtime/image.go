package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"

	"golang.org/x/image/draw"
)

// Preprocess turns an image into a network's input tensor the way the
// torchvision transforms a network was trained with do:
//
//	Resize(Resize, interpolation) + CenterCrop(Crop) + ToTensor() + Normalize(Mean, Std)
//
// on a PIL image opened with convert("RGB"), or convert("L") for grayscale
// networks. Resampling is golang.org/x/image/draw's (BiLinear, CatmullRom or
// NearestNeighbor), which like PIL widens its kernel when shrinking, done in
// PIL's two 8-bit passes. For the same pixels, bilinear and bicubic results
// match torchvision's exactly but for a few values one 8-bit step off;
// nearest can take the neighbouring source row or column where PIL's
// floating-point sample position falls just short of a pixel boundary; and
// JPEGs differ by a few steps where Go's and libjpeg's decoders do. See
// image_test.go for the measured differences.
type Preprocess struct {
	Channels, Height, Width int // network input

	// Resize is the size the shorter side is first resized to, keeping the
	// aspect ratio like torchvision's Resize(int): the long side becomes
	// int(Resize * long / short). 0 resizes straight to Height x Width.
	Resize int

	// Crop is the size of the center crop (torchvision's CenterCrop) taken
	// after resizing; it must equal Height and Width. An image smaller than
	// the crop is padded with zero pixels, as CenterCrop does. 0 crops to
	// Height x Width (a no-op unless Resize kept a non-square aspect ratio).
	Crop int

	// Interpolation is "bilinear" (the default when empty), "bicubic"
	// (Catmull-Rom, like PIL's bicubic) or "nearest".
	Interpolation string

	// Mean and Std normalize each channel's [0,1] values: (v-Mean)/Std. Nil
	// means 0 and 1.
	Mean, Std []float32

	// Grayscale converts the image to ITU-R 601-2 luma, like PIL's
	// convert("L"), before resizing. Single-channel networks always do; with
	// 3 channels the luma is repeated in each (torchvision's
	// Grayscale(num_output_channels=3)).
	Grayscale bool
}

// Validate reports whether p describes a preprocessing that Image can do.
func (p *Preprocess) Validate() error {
	switch {
	case p.Channels != 1 && p.Channels != 3:
		return fmt.Errorf("preprocess: channels must be 1 or 3, found %d", p.Channels)
	case p.Height <= 0 || p.Width <= 0:
		return fmt.Errorf("preprocess: input size must be positive, found %dx%d", p.Height, p.Width)
	case p.Resize < 0:
		return fmt.Errorf("preprocess: resize must not be negative, found %d", p.Resize)
	case p.Crop < 0:
		return fmt.Errorf("preprocess: crop must not be negative, found %d", p.Crop)
	case p.Crop > 0 && (p.Crop != p.Height || p.Crop != p.Width):
		return fmt.Errorf("preprocess: crop %d does not give the %dx%d input", p.Crop, p.Height, p.Width)
	}
	if _, err := p.kernel(); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		v    []float32
	}{{"mean", p.Mean}, {"std", p.Std}} {
		if s.v != nil && len(s.v) != p.Channels {
			return fmt.Errorf("preprocess: %s needs one value per channel (%d), found %d", s.name, p.Channels, len(s.v))
		}
		for _, x := range s.v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || s.name == "std" && x <= 0 {
				return fmt.Errorf("preprocess: bad %s value %v", s.name, x)
			}
		}
	}
	return nil
}

func (p *Preprocess) kernel() (draw.Scaler, error) {
	switch p.Interpolation {
	case "", "bilinear":
		return draw.BiLinear, nil
	case "bicubic":
		return draw.CatmullRom, nil
	case "nearest":
		return draw.NearestNeighbor, nil
	}
	return nil, fmt.Errorf("preprocess: interpolation must be bilinear, bicubic or nearest, found %q", p.Interpolation)
}

// ResizedSize returns the size, width then height, that an image of w x h
// pixels is resized to before cropping: torchvision 0.14's Resize(int) rule
// for PIL images, or Width x Height when Resize is 0.
func (p *Preprocess) ResizedSize(w, h int) (int, int) {
	if p.Resize == 0 {
		return p.Width, p.Height
	}
	short, long := w, h
	if h < w {
		short, long = h, w
	}
	// Python's int(size * long / short): an exact product, a correctly
	// rounded division, then truncation.
	newLong := int(float64(p.Resize*long) / float64(short))
	if w <= h {
		return p.Resize, newLong
	}
	return newLong, p.Resize
}

// cropOffset is where a crop of size c starts in a resized side of size n,
// as torchvision 0.14's center_crop computes it: negative when the side is
// padded, (c-n)/2 rounded down on the leading side, and otherwise
// int(round((n - c) / 2.0)) with Python's round half to even.
func cropOffset(n, c int) int {
	if c > n {
		return -((c - n) / 2)
	}
	d := n - c
	off := d / 2
	if d%2 == 1 && off%2 == 1 { // x.5 rounds to the even neighbour
		off++
	}
	return off
}

// Image writes img, preprocessed, into dst as CHW float32 values;
// len(dst) must be Channels*Height*Width. Any image.Image works: it is read
// as 8-bit non-premultiplied RGB with alpha dropped, as PIL's convert("RGB")
// does (so a fully transparent pixel keeps its color; a premultiplied source
// such as image.RGBA can only give back what it stores). Image does not
// change p and is safe for concurrent use.
func (p *Preprocess) Image(img image.Image, dst []float32) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if n := p.Channels * p.Height * p.Width; len(dst) != n {
		return fmt.Errorf("preprocess: dst has %d values, want %d (%dx%dx%d)", len(dst), n, p.Channels, p.Height, p.Width)
	}
	if img == nil {
		return errors.New("preprocess: nil image")
	}
	sb := img.Bounds()
	if sb.Empty() {
		return fmt.Errorf("preprocess: empty image (%dx%d)", sb.Dx(), sb.Dy())
	}
	gray := p.Grayscale || p.Channels == 1
	src := opaqueSource(img, gray)

	rw, rh := p.ResizedSize(sb.Dx(), sb.Dy())
	out := p.resizeCrop(src, rw, rh)

	// ToTensor and Normalize in float32, as torch computes them, through a
	// table of the 256 possible values per channel.
	var lut [3][256]float32
	for c := range p.Channels {
		mean, std := float32(0), float32(1)
		if p.Mean != nil {
			mean = p.Mean[c]
		}
		if p.Std != nil {
			std = p.Std[c]
		}
		for v := range 256 {
			lut[c][v] = (float32(v)/255 - mean) / std
		}
	}
	plane := p.Height * p.Width
	for y := range p.Height {
		row := out.Pix[y*out.Stride : y*out.Stride+4*p.Width]
		for x := range p.Width {
			i := y*p.Width + x
			px := row[4*x : 4*x+3]
			if gray {
				// Every channel of the resized gray image holds the luma.
				for c := range p.Channels {
					dst[c*plane+i] = lut[c][px[0]]
				}
				continue
			}
			dst[i] = lut[0][px[0]]
			dst[plane+i] = lut[1][px[1]]
			dst[2*plane+i] = lut[2][px[2]]
		}
	}
	return nil
}

// resizeCrop resizes src to rw x rh and center-crops it to Width x Height
// (padding with zero pixels), in an image the size of the crop: draw only
// computes the pixels of the resized image that fall inside the crop.
//
// Bilinear and bicubic resize in two passes as PIL does, first the width
// then the height, each rounded to 8 bits: PIL clamps and rounds the
// intermediate image, which makes a difference at sharp edges where bicubic
// overshoots. Each pass is scaled into 16-bit NRGBA64 and rounded to the
// nearest 8-bit value (image.NRGBA's own conversion truncates, which would
// be half a step off on average). Nearest neighbour copies pixels and needs
// neither.
//
// src is opaque, so the result is an *image.RGBA (which x/image/draw and
// image/draw write fastest) whose pixels are non-premultiplied as well: the
// pixels of the resized image have alpha 255, the padding is 0 everywhere.
func (p *Preprocess) resizeCrop(src image.Image, rw, rh int) *image.RGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	ox, oy := cropOffset(rw, p.Width), cropOffset(rh, p.Height)
	out := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	k, _ := p.kernel()
	switch {
	case rw == sw && rh == sh:
		// torchvision skips Resize when the size does not change.
		draw.Draw(out, image.Rect(-ox, -oy, rw-ox, rh-oy), src, sb.Min, draw.Src)
		return out
	case k == draw.NearestNeighbor:
		k.Scale(out, image.Rect(-ox, -oy, rw-ox, rh-oy), src, sb, draw.Src, nil)
		return out
	}
	if rw != sw {
		// Horizontal pass: the crop's columns of the rw-wide image, all sh
		// rows, at the crop's x coordinates. A later pass at the same width
		// leaves them as they are (the weights at scale 1 are 1 and 0).
		tmp := image.NewNRGBA64(image.Rect(0, 0, p.Width, sh))
		k.Scale(tmp, image.Rect(-ox, 0, rw-ox, sh), src, sb, draw.Src, nil)
		if rh == sh {
			to8(out, tmp, oy)
			return out
		}
		src, sb, ox = to8(image.NewRGBA(tmp.Rect), tmp, 0), tmp.Rect, 0
		rw = p.Width
	}
	tmp := image.NewNRGBA64(out.Rect)
	k.Scale(tmp, image.Rect(-ox, -oy, rw-ox, rh-oy), src, sb, draw.Src, nil)
	return to8(out, tmp, 0)
}

// to8 rounds src to 8 bits into dst, moved up by dy rows, and returns dst.
// src's pixels are opaque or all zero, so dst's are the same whether read
// as RGBA or NRGBA.
func to8(dst *image.RGBA, src *image.NRGBA64, dy int) *image.RGBA {
	for y := max(0, dy); y < src.Rect.Dy() && y-dy < dst.Rect.Dy(); y++ {
		s := src.Pix[y*src.Stride : y*src.Stride+8*src.Rect.Dx()]
		d := dst.Pix[(y-dy)*dst.Stride:]
		for i := range len(s) / 2 {
			v := uint32(s[2*i])<<8 | uint32(s[2*i+1])
			d[i] = uint8((v*255 + 32767) / 65535)
		}
	}
	return dst
}

// opaqueSource returns img as an opaque *image.Gray of its luma when gray,
// or else as an opaque *image.RGBA (premultiplied or not makes no difference
// when opaque, and x/image/draw reads RGBA fastest) of its 8-bit
// non-premultiplied RGB, with img's bounds. Gray and opaque RGBA and NRGBA
// images are used as they are; every other one is converted, pixel by pixel
// as color.NRGBAModel would, so that any two images with the same 8-bit RGB
// pixels give the same result.
func opaqueSource(img image.Image, gray bool) image.Image {
	b := img.Bounds()
	if gray {
		if g, ok := img.(*image.Gray); ok {
			return g
		}
		out := image.NewGray(b)
		eachNRGBA(img, func(x, y int, r, g, b uint8) {
			// PIL's convert("L"): L = R*299/1000 + G*587/1000 + B*114/1000,
			// in 16-bit fixed point with rounding.
			l := (uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16
			out.Pix[out.PixOffset(x, y)] = uint8(l)
		})
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.NRGBA:
		if m.Opaque() {
			return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		}
	case *image.RGBA:
		if m.Opaque() {
			return m
		}
	}
	out := image.NewRGBA(b)
	eachNRGBA(img, func(x, y int, r, g, b uint8) {
		i := out.PixOffset(x, y)
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = r, g, b, 0xff
	})
	return out
}

// eachNRGBA calls f with the 8-bit non-premultiplied RGB of every pixel of
// img, alpha dropped. The common decoder outputs are read directly; the
// results equal color.NRGBAModel's for every type.
func eachNRGBA(img image.Image, f func(x, y int, r, g, b uint8)) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i := m.PixOffset(x, y)
				f(x, y, m.Pix[i], m.Pix[i+1], m.Pix[i+2])
			}
		}
	case *image.NRGBA64:
		// The high bytes, as NRGBAModel has them for opaque pixels.
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i := m.PixOffset(x, y)
				f(x, y, m.Pix[i], m.Pix[i+2], m.Pix[i+4])
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, b, _ := color.YCbCr{Y: m.Y[yi], Cb: m.Cb[ci], Cr: m.Cr[ci]}.RGBA()
				f(x, y, uint8(r>>8), uint8(g>>8), uint8(b>>8))
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				v := m.Pix[m.PixOffset(x, y)]
				f(x, y, v, v, v)
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				var c color.NRGBA // black for an index past the palette
				if i := int(m.Pix[m.PixOffset(x, y)]); i < len(pal) {
					c = pal[i]
				}
				f(x, y, c.R, c.G, c.B)
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				f(x, y, c.R, c.G, c.B)
			}
		}
	}
}

// MaxImagePixels is the most pixels DecodeImage accepts: Pillow's MAX_IMAGE_PIXELS (89,478,485,
// ~9459 x 9459), above which PIL warns of a decompression bomb. A decoded image holds 4 to 8
// bytes a pixel, so this bounds one to 358-716 MB.
const MaxImagePixels = 89_478_485

// MaxImageFileBytes is the largest image file DecodeImage reads.
const MaxImageFileBytes = 256 << 20

// DecodeImage decodes an image as image.Decode does (in the formats the program registers, e.g.
// by importing image/jpeg and image/png), after reading its header's size: an image of more than
// MaxImagePixels pixels, or a file over MaxImageFileBytes, is an error, not an allocation of
// whatever a few hostile bytes declare (a 100-byte PNG can declare 10^9 pixels).
func DecodeImage(r io.Reader) (image.Image, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageFileBytes+1))
	if err != nil {
		return nil, "", err
	}
	return DecodeImageBytes(data)
}

// DecodeImageBytes is DecodeImage on a file already in memory (no copy of it is made).
func DecodeImageBytes(data []byte) (image.Image, string, error) {
	if len(data) > MaxImageFileBytes {
		return nil, "", fmt.Errorf("image: file larger than %d bytes", MaxImageFileBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImagePixels/cfg.Height {
		return nil, "", fmt.Errorf("image: %s of %dx%d pixels: empty, or more than %d pixels", format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	return image.Decode(bytes.NewReader(data))
}
