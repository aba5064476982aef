package gradreport

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi sets the text and line sizes against the pixel size: 96 makes gonum's default 12 pt
// text 16 pixels high, legible at 1000 pixels wide.
const dpi = 96

// WritePNG draws the gradient norm by depth, one line per epoch (the geometric mean of its
// recorded steps), on a log scale, as a width x height PNG. Layers are named on the axis
// when there are few enough to read.
func (r *Report) WritePNG(w io.Writer, width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("gradreport: plot size %dx%d", width, height)
	}
	p := plot.New()
	p.Title.Text = "Gradient norm by depth (geometric mean of each epoch's steps)"
	p.X.Label.Text = "layer, input to output"
	// A short label: gonum keeps the data area within the vertical label's length.
	p.Y.Label.Text = "gradient L2 norm"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	lines, legends := 0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	every := max(1, (len(r.epochs)+9)/10) // at most about ten legend entries
	for k, e := range r.epochs {
		var xys plotter.XYs
		for d, n := range e.count {
			if n > 0 {
				xys = append(xys, plotter.XY{X: float64(d), Y: math.Exp(e.logSum[d] / float64(n))})
			}
		}
		if len(xys) == 0 {
			continue
		}
		for _, xy := range xys {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("gradreport: epoch %d: %w", e.epoch, err)
		}
		line.Color = epochColor(k, len(r.epochs))
		line.Width = vg.Points(1.5)
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("gradreport: epoch %d: %w", e.epoch, err)
		}
		pts.Color, pts.Radius = line.Color, vg.Points(1.5)
		p.Add(line, pts)
		if k%every == 0 || k == len(r.epochs)-1 {
			p.Legend.Add(fmt.Sprintf("epoch %d", e.epoch), line)
			legends++
		}
		lines++
	}
	if lines == 0 {
		return errors.New("gradreport: no positive gradient norms to plot")
	}
	// Headroom for the legend, which gonum draws over the data area: about 16 pixels per
	// entry (12 points at 96 dpi) of the roughly height-120 the data gets.
	f := min(0.5, float64(16*legends+8)/float64(max(height-120, 1)))
	if hi <= lo {
		lo, hi = lo/10, hi*10
	}
	lo = niceFloor(lo)
	p.Y.Min, p.Y.Max = lo, math.Exp(math.Log(hi)+f/(1-f)*(math.Log(hi)-math.Log(lo)))
	if len(r.layers) <= 24 {
		var ticks plot.ConstantTicks
		for d, name := range r.layers {
			ticks = append(ticks, plot.Tick{Value: float64(d), Label: name})
		}
		p.X.Tick.Marker = ticks
		if len(r.layers) > 8 { // slanted, so that long names do not overlap
			p.X.Tick.Label.Rotation = math.Pi / 6
			p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
		}
	}
	p.X.Min, p.X.Max = -0.5, float64(len(r.layers))-0.5

	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, width, height))), vgimg.UseDPI(dpi))
	p.Draw(draw.New(c))
	return writePaletted(w, c)
}

// writePaletted writes the canvas as a PNG of its 256 commonest colours, not dithered: a plot
// of a few lines loses only its anti-aliasing's rarest shades, and the file is a fraction of
// the RGBA one (plots are committed to docs/).
func writePaletted(w io.Writer, c *vgimg.Canvas) error {
	img := image.NewRGBA(c.Image().Bounds())
	stddraw.Draw(img, img.Bounds(), c.Image(), image.Point{}, stddraw.Src)
	pal := image.NewPaletted(img.Bounds(), commonest(img, 256))
	stddraw.Draw(pal, pal.Bounds(), img, image.Point{}, stddraw.Src)
	return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, pal)
}

// SavePNG writes WritePNG's plot to path.
func (r *Report) SavePNG(path string, width, height int) error {
	return save(path, func(w io.Writer) error { return r.WritePNG(w, width, height) })
}

// SaveStepsPNG writes WriteStepsPNG's plot to path.
func (r *Report) SaveStepsPNG(path string, width, height int) error {
	return save(path, func(w io.Writer) error { return r.WriteStepsPNG(w, width, height) })
}

func save(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return write(f)
}

// epochColor runs from blue (the first epoch) to red (the last), so the lines read in order.
func epochColor(k, n int) color.Color {
	t := 0.0
	if n > 1 {
		t = float64(k) / float64(n-1)
	}
	return color.RGBA{R: uint8(30 + 200*t), G: 60, B: uint8(230 - 200*t), A: 255}
}

// decadeTicks marks the powers of ten of a log axis, labelled as %g prints them ("1e-17",
// "0.001", "100"; gonum's LogTicks prints 1e-2 as 0.010000000000000002), every second or
// third one when the axis spans too many to read, and 2 and 5 times them on a narrow axis.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	step := max(1, (e1-e0+11)/12)
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		for _, m := range []float64{1, 2, 5} {
			// 2 and 5 times the powers too when the axis spans three decades or less, so
			// that a narrow range has labels.
			if m != 1 && e1-e0 > 3 {
				continue
			}
			v := m * math.Pow10(e)
			t := plot.Tick{Value: v}
			if m != 1 || (e-e0)%step == 0 {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// commonest is the palette of img's n most frequent colours (all of them if fewer).
func commonest(img *image.RGBA, n int) color.Palette {
	count := map[color.RGBA]int{}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		count[color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}]++
	}
	cs := make([]color.RGBA, 0, len(count))
	for c := range count {
		cs = append(cs, c)
	}
	// By count, then by value: the same plot gives the same file.
	slices.SortFunc(cs, func(a, b color.RGBA) int {
		if d := count[b] - count[a]; d != 0 {
			return d
		}
		return int(a.R)<<24 | int(a.G)<<16 | int(a.B)<<8 | int(a.A) - (int(b.R)<<24 | int(b.G)<<16 | int(b.B)<<8 | int(b.A))
	})
	pal := make(color.Palette, 0, n)
	for _, c := range cs[:min(n, len(cs))] {
		pal = append(pal, c)
	}
	return pal
}

// niceFloor is the largest 1, 2 or 5 times a power of ten at most v: the bottom of a log axis
// starts at a labelled tick, so that a range narrower than a decade has two labels or more.
func niceFloor(v float64) float64 {
	e := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{5, 2, 1} {
		if m*e <= v {
			return m * e
		}
	}
	return e
}
