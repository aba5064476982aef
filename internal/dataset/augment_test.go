package dataset

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rt "github.com/cnngen/cnngen/runtime"
)

// augmentGoldens is testdata/augment.json from tools/make_train_goldens.py (torchvision 0.14).
type augmentGoldens struct {
	Fallback []struct {
		W, H int
		Box  [4]int // i, j, h, w
	}
	Stats []struct {
		W, H, N      int
		AreaMean     float64 `json:"area_mean"`
		AreaStd      float64 `json:"area_std"`
		LogratioMean float64 `json:"logratio_mean"`
		LogratioStd  float64 `json:"logratio_std"`
		CxMean       float64 `json:"cx_mean"`
		CyMean       float64 `json:"cy_mean"`
	}
	Crops []struct {
		Box    [4]int
		Size   int
		Flip   bool
		Pixels []float64
	}
	Mean, Std []float32
}

func loadAugmentGoldens(t *testing.T) *augmentGoldens {
	b, err := os.ReadFile("testdata/augment.json")
	if err != nil {
		t.Fatal(err)
	}
	var g augmentGoldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// TestRandomResizedCropFallback: images no crop of at least 8% of the area and a ratio in
// [3/4, 4/3] fits take torchvision's centre-crop fallback, which is deterministic.
func TestRandomResizedCropFallback(t *testing.T) {
	g := loadAugmentGoldens(t)
	c := DefaultRandomResizedCrop()
	for _, f := range g.Fallback {
		box := c.Box(f.W, f.H, NewRand(1, 0, 0))
		i, j, h, w := f.Box[0], f.Box[1], f.Box[2], f.Box[3]
		if want := image.Rect(j, i, j+w, i+h); box != want {
			t.Errorf("%dx%d: box %v, torchvision %v", f.W, f.H, box, want)
		}
	}
}

// TestRandomResizedCropDistribution: the boxes' area fraction, log aspect ratio and centre
// have torchvision's means and spreads (40,000 draws each side; five standard errors).
func TestRandomResizedCropDistribution(t *testing.T) {
	g := loadAugmentGoldens(t)
	c := DefaultRandomResizedCrop()
	for _, s := range g.Stats {
		var area, area2, lr, lr2, cx, cy float64
		r := NewRand(42, 0, 0)
		for range s.N {
			b := c.Box(s.W, s.H, r)
			if !b.In(image.Rect(0, 0, s.W, s.H)) || b.Empty() {
				t.Fatalf("%dx%d: box %v outside the image", s.W, s.H, b)
			}
			a := float64(b.Dx()*b.Dy()) / float64(s.W*s.H)
			l := math.Log(float64(b.Dx()) / float64(b.Dy()))
			area, area2, lr, lr2 = area+a, area2+a*a, lr+l, lr2+l*l
			cx += (float64(b.Min.X) + float64(b.Dx())/2) / float64(s.W)
			cy += (float64(b.Min.Y) + float64(b.Dy())/2) / float64(s.H)
		}
		n := float64(s.N)
		am, lm := area/n, lr/n
		as, ls := math.Sqrt(area2/n-am*am), math.Sqrt(lr2/n-lm*lm)
		se := func(std float64) float64 { return 5 * math.Sqrt2 * std / math.Sqrt(n) }
		for _, x := range []struct {
			name           string
			got, want, tol float64
		}{
			{"area mean", am, s.AreaMean, se(s.AreaStd)},
			{"area std", as, s.AreaStd, se(s.AreaStd)},
			{"log ratio mean", lm, s.LogratioMean, se(s.LogratioStd)},
			{"log ratio std", ls, s.LogratioStd, se(s.LogratioStd)},
			{"centre x", cx / n, s.CxMean, se(0.3)},
			{"centre y", cy / n, s.CyMean, se(0.3)},
		} {
			if math.Abs(x.got-x.want) > x.tol {
				t.Errorf("%dx%d: %s %.5f, torchvision %.5f (tolerance %.5f)", s.W, s.H, x.name, x.got, x.want, x.tol)
			}
		}
	}
}

// TestResizedCropMatchesTorchvision: resized_crop (bilinear) + hflip + ToTensor + Normalize
// on a PNG, against torchvision's values. runtime.Preprocess resizes as PIL does, exactly
// but for values one 8-bit step off (its documented difference), so each value must be
// within one step and nearly all equal.
func TestResizedCropMatchesTorchvision(t *testing.T) {
	g := loadAugmentGoldens(t)
	f, err := os.Open("testdata/augment.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Crops {
		pre := rt.Preprocess{Channels: 3, Height: c.Size, Width: c.Size, Mean: g.Mean, Std: g.Std}
		dst := make([]float32, 3*c.Size*c.Size)
		i, j, h, w := c.Box[0], c.Box[1], c.Box[2], c.Box[3]
		if err := ResizedCrop(&pre, img, image.Rect(j, i, j+w, i+h), c.Flip, dst); err != nil {
			t.Fatal(err)
		}
		off := 0
		for k, v := range dst {
			ch := k / (c.Size * c.Size)
			step := 1 / 255.0 / float64(g.Std[ch])
			d := math.Abs(float64(v) - c.Pixels[k])
			if d > step*1.01 {
				t.Fatalf("box %v size %d flip %v: value %d = %v, torchvision %v", c.Box, c.Size, c.Flip, k, v, c.Pixels[k])
			}
			if d > 1e-6 {
				off++
			}
		}
		t.Logf("box %v size %d flip %v: %d of %d values one 8-bit step off", c.Box, c.Size, c.Flip, off, len(dst))
		if off > len(dst)/50 {
			t.Errorf("box %v size %d: %d of %d values one step off", c.Box, c.Size, off, len(dst))
		}
	}
}

func writePNG(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*7) + seed, uint8(y * 5), uint8(x*y) ^ seed, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestFolderSource: evaluation is the network's Preprocess; training is seeded per sample,
// so any worker count gives the same batches; the flip is torchvision's, and a bad file is
// an error naming the sample.
func TestFolderSource(t *testing.T) {
	dir := t.TempDir()
	for c, class := range []string{"cat", "dog"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for k := range 5 {
			writePNG(t, filepath.Join(dir, class, string(rune('a'+k))+".png"), 30+7*k, 40-3*k, uint8(c*50+k))
		}
	}
	_, items, err := Folder(dir)
	if err != nil {
		t.Fatal(err)
	}
	pre := rt.Preprocess{Channels: 3, Height: 16, Width: 16, Resize: 18, Crop: 16, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}}
	crop := DefaultRandomResizedCrop()
	src := &FolderSource{Items: items, Pre: pre, Aug: Augment{Crop: &crop, Flip: 0.5}}

	eval, err := NewLoader(src, nil, Config{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer eval.Close()
	b, err := eval.Next()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(items[0].Path)
	img, _ := png.Decode(f)
	f.Close()
	want := make([]float32, 3*16*16)
	pre.Image(img, want)
	for k := range want {
		if b.X[k] != want[k] {
			t.Fatalf("evaluation sample 0 differs from Preprocess.Image at %d", k)
		}
	}

	var first [][]float32
	for _, workers := range []int{0, 3, -1} {
		l, err := NewLoader(src, nil, Config{BatchSize: 3, Shuffle: true, Augment: true, Seed: 9, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var got [][]float32
		for e := range 2 {
			l.Epoch(e)
			for {
				b, err := l.Next()
				if err != nil {
					break
				}
				got = append(got, append([]float32(nil), b.X...))
			}
		}
		l.Close()
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			for k := range got[i] {
				if got[i][k] != first[i][k] {
					t.Fatalf("workers %d: batch %d differs from the serial loader's", workers, i)
				}
			}
		}
	}

	// A flip mirrors the unflipped crop: the same box, drawn first, then the flip's draw.
	x, y := make([]float32, 3*16*16), make([]float32, 3*16*16)
	ResizedCrop(&pre, img, image.Rect(3, 4, 20, 30), false, x)
	ResizedCrop(&pre, img, image.Rect(3, 4, 20, 30), true, y)
	FlipHorizontal(y, 3, 16, 16)
	for k := range x {
		if x[k] != y[k] {
			t.Fatal("flipping twice is not the identity")
		}
	}

	os.WriteFile(items[2].Path, []byte("not an image"), 0o644)
	l, _ := NewLoader(src, []int{1, 2}, Config{BatchSize: 2, Workers: 2})
	defer l.Close()
	if _, err := l.Next(); err == nil || !strings.Contains(err.Error(), "sample 2") {
		t.Errorf("bad file: %v", err)
	}
}
