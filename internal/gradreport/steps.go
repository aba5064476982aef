package gradreport

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// maxPoints bounds the points of the plot over steps: a long run's steps are merged in pairs
// when they fill it, so recording allocates nothing however long the training.
const maxPoints = 1024

// stepNorms is the global gradient norm (over every recorded layer) of the recorded steps, for
// the plot over steps, where an explosion shows as a climb. A point covers every consecutive
// recorded steps and keeps the largest of their norms, so merging never hides a spike; a
// non-finite norm (an overflow, a NaN) marks the point as the end of finite training.
type stepNorms struct {
	pts   [maxPoints]stepPoint
	n     int // points in use, the last one open
	every int // recorded steps per point (a power of two)
	in    int // recorded steps in the last point
	total int // recorded steps closed

	epoch, step int
	sumsq       float64 // the current step's
	open        bool
}

type stepPoint struct {
	index int // the count of recorded steps before it
	norm  float64
	bad   bool // a step in it had an infinite or NaN norm
}

// add counts one layer's norm of a step.
func (s *stepNorms) add(epoch, step int, norm float64) {
	if s.open && (epoch != s.epoch || step != s.step) {
		s.close()
	}
	if !s.open {
		s.epoch, s.step, s.sumsq, s.open = epoch, step, 0, true
	}
	s.sumsq += norm * norm
}

// close ends the current step: its norm goes into the last point or a new one.
func (s *stepNorms) close() {
	if !s.open {
		return
	}
	s.open = false
	if s.every == 0 {
		s.every = 1
	}
	norm := math.Sqrt(s.sumsq)
	bad := math.IsNaN(norm) || math.IsInf(norm, 0)
	if s.n == 0 || s.in == s.every {
		if s.n == maxPoints { // merge pairs: half the points, twice the steps each
			for i := range maxPoints / 2 {
				a, b := s.pts[2*i], s.pts[2*i+1]
				s.pts[i] = stepPoint{index: a.index, norm: max(a.norm, b.norm), bad: a.bad || b.bad}
			}
			s.n, s.every = maxPoints/2, 2*s.every
		}
		s.pts[s.n] = stepPoint{index: s.total}
		s.n++
		s.in = 0
	}
	p := &s.pts[s.n-1]
	if bad {
		p.bad = true
	} else {
		p.norm = max(p.norm, norm)
	}
	s.in++
	s.total++
}

// WriteStepsPNG draws the global gradient norm of every recorded step (over the recorded
// layers; the largest of a few steps per point in a long run) on a log scale, as a width x
// height PNG. Where the norm overflowed or became NaN the line ends in a red dot.
func (r *Report) WriteStepsPNG(w io.Writer, width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("gradreport: plot size %dx%d", width, height)
	}
	r.steps.close()
	s := &r.steps
	var xys plotter.XYs
	var bad plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.pts[:s.n] {
		if p.norm > 0 {
			xys = append(xys, plotter.XY{X: float64(p.index), Y: p.norm})
			lo, hi = min(lo, p.norm), max(hi, p.norm)
		}
		if p.bad {
			bad = append(bad, plotter.XY{X: float64(p.index)})
			break
		}
	}
	if len(xys) == 0 {
		return errors.New("gradreport: no finite gradient norms to plot")
	}
	p := plot.New()
	p.Title.Text = "Global gradient norm over training (before clipping)"
	p.X.Label.Text = "recorded step"
	p.X.Tick.Marker = wholeTicks{}
	p.Y.Label.Text = "gradient L2 norm"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	p.Add(plotter.NewGrid())
	if hi <= lo {
		lo, hi = lo/10, hi*10
	}
	p.Y.Min, p.Y.Max = niceFloor(lo), hi*2
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.Color, line.Width = epochColor(0, 1), vg.Points(1)
	p.Add(line)
	if len(bad) > 0 {
		bad[0].Y = xys[len(xys)-1].Y
		pts, err := plotter.NewScatter(bad)
		if err != nil {
			return err
		}
		pts.Shape, pts.Color, pts.Radius = draw.CircleGlyph{}, epochColor(1, 2), vg.Points(4)
		p.Add(pts)
		p.Legend.Add("overflow or NaN from here on", pts)
		p.Legend.Top = true
	}
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, width, height))), vgimg.UseDPI(dpi))
	p.Draw(draw.New(c))
	return writePaletted(w, c)
}

// wholeTicks are gonum's default ticks labelled without decimals ("25", not "25.00"): the
// axis counts steps.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}
