package runtime

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

// pngOf encodes img, then rewrites its header's size to w x h (with the chunk's CRC), as a
// hostile file would declare it.
func pngOf(t *testing.T, img image.Image, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if w == 0 && h == 0 {
		return data
	}
	// 8-byte signature, then IHDR: length, "IHDR", width, height, ..., CRC over type and data.
	ihdr := data[8+4 : 8+4+4+13]
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	binary.BigEndian.PutUint32(data[8+4+4+13:], crc32.ChecksumIEEE(ihdr))
	return data
}

func TestDecodeImage(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	src.Set(1, 1, color.NRGBA{10, 20, 30, 255})
	img, format, err := DecodeImage(bytes.NewReader(pngOf(t, src, 0, 0)))
	if err != nil || format != "png" || img.Bounds() != src.Bounds() || img.At(1, 1) != src.At(1, 1) {
		t.Fatalf("DecodeImage = %v %q %v", img.Bounds(), format, err)
	}
	for _, size := range [][2]uint32{{100_000, 100_000}, {MaxImagePixels, 2}, {9460, 9460}} {
		_, _, err := DecodeImage(bytes.NewReader(pngOf(t, src, size[0], size[1])))
		if err == nil || !strings.Contains(err.Error(), "more than 89478485 pixels") {
			t.Errorf("%dx%d: err = %v, want the pixel limit", size[0], size[1], err)
		}
	}
	if _, _, err := DecodeImage(bytes.NewReader(pngOf(t, src, 1<<30, 1<<30))); err == nil {
		t.Error("2^60 pixels decoded")
	}
	if _, _, err := DecodeImage(strings.NewReader("not an image")); err == nil {
		t.Error("text decoded")
	}
	if _, _, err := DecodeImageBytes(make([]byte, MaxImageFileBytes+1)); err == nil || !strings.Contains(err.Error(), "file larger than") {
		t.Errorf("oversize file: err = %v", err)
	}
}
