// Package goldens serves the golden logits of cnngen's built-in networks.
//
// The logits were computed by PyTorch/torchvision in float64
// (tools/make_goldens.py) with weights and inputs that both sides regenerate
// from a seed (internal/seedweights), so only the logits are committed, as raw
// little-endian float32 (data/<name>.f32, batch x classes) plus data/meta.json.
// Tests never run torch.
package goldens

import (
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/cnngen/cnngen/internal/seedweights"
)

//go:embed data/*.f32 data/meta.json
var data embed.FS

// Golden describes one network's golden logits.
type Golden struct {
	Name        string
	Batch       int     // images in the input batch
	Input       []int   // shape of one image, [C, H, W]
	Classes     int     // logits per image
	Params      int64   // parameters of the inference network (GoogLeNet: without aux heads)
	TrainParams int64   // parameters including training-only aux heads
	Top5        [][]int // per image, the indices of the 5 largest logits, descending
	MaxAbsLogit float64 // max |logit| over the batch (exactly representable in float32)
}

type metaEntry struct {
	Batch       int     `json:"batch"`
	Input       []int   `json:"input"`
	Classes     int     `json:"classes"`
	Params      int64   `json:"params"`
	TrainParams int64   `json:"train_params"`
	MaxAbsLogit float64 `json:"max_abs_logit"`
	Top5        [][]int `json:"top5"`
	Torch       string  `json:"torch"`
	Torchvision string  `json:"torchvision"`
}

var (
	metaOnce sync.Once
	meta     map[string]metaEntry
	metaErr  error
)

func loadMeta() (map[string]metaEntry, error) {
	metaOnce.Do(func() {
		b, err := data.ReadFile("data/meta.json")
		if err != nil {
			metaErr = fmt.Errorf("goldens: %w", err)
			return
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			metaErr = fmt.Errorf("goldens: meta.json: %w", err)
		}
	})
	return meta, metaErr
}

// Names returns the names of all networks with goldens, sorted.
func Names() []string {
	m, err := loadMeta()
	if err != nil {
		panic(err)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load returns the description and the golden logits (batch x classes,
// row-major) of network name.
func Load(name string) (Golden, []float32, error) {
	m, err := loadMeta()
	if err != nil {
		return Golden{}, nil, err
	}
	e, ok := m[name]
	if !ok {
		return Golden{}, nil, fmt.Errorf("goldens: no golden for %q (have %v)", name, Names())
	}
	g := Golden{
		Name:        name,
		Batch:       e.Batch,
		Input:       e.Input,
		Classes:     e.Classes,
		Params:      e.Params,
		TrainParams: e.TrainParams,
		Top5:        e.Top5,
		MaxAbsLogit: e.MaxAbsLogit,
	}
	b, err := data.ReadFile("data/" + name + ".f32")
	if err != nil {
		return Golden{}, nil, fmt.Errorf("goldens: %w", err)
	}
	if want := g.Batch * g.Classes * 4; len(b) != want {
		return Golden{}, nil, fmt.Errorf("goldens: %s.f32 has %d bytes, want batch %d x classes %d x 4 = %d",
			name, len(b), g.Batch, g.Classes, want)
	}
	logits := make([]float32, len(b)/4)
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return g, logits, nil
}

// InputData returns the seeded input batch the goldens were computed from:
// seedweights.Input(g.Batch, g.Input), NCHW row-major.
func (g Golden) InputData() []float32 {
	return seedweights.Input(g.Batch, g.Input)
}

// RelTol is the relative tolerance of Compare.
const RelTol = 1e-4

// Tolerance returns Compare's absolute tolerance for the golden logits want:
// RelTol * max(1, max|want|).
func Tolerance(want []float32) float64 {
	m := 1.0
	for _, w := range want {
		if a := math.Abs(float64(w)); a > m {
			m = a
		}
	}
	return RelTol * m
}

// Top5 returns the indices of the 5 largest values of row (fewer if row is
// shorter), in descending order of value; ties go to the lower index. NaN
// ranks above everything so that it cannot go unnoticed.
func Top5(row []float32) []int {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b int) bool { // a ranks before b
		x, y := row[a], row[b]
		xn, yn := x != x, y != y
		switch {
		case xn != yn:
			return xn
		case !xn && x != y:
			return x > y
		}
		return a < b
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(idx[i], idx[j]) })
	if len(idx) > 5 {
		idx = idx[:5]
	}
	return idx
}

// Compare checks computed logits got against golden logits want (both batch x
// classes, row-major) with cnngen's agreement rule:
//
//   - max |got-want| <= 1e-4 * max(1, max|want|), and
//   - per image, the top-5 indices of got equal those of want, in order.
//
// The error names the worst logit (image, class), got, want and the tolerance.
func Compare(got, want []float32, batch int) error {
	if len(got) != len(want) {
		return fmt.Errorf("goldens: got %d logits, want %d", len(got), len(want))
	}
	if batch <= 0 || len(want)%batch != 0 {
		return fmt.Errorf("goldens: %d logits do not split into batch %d", len(want), batch)
	}
	classes := len(want) / batch
	tol := Tolerance(want)
	worst, worstDiff := -1, -1.0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) || math.IsInf(d, 0) {
			worst, worstDiff = i, math.Inf(1)
			break
		}
		if d > worstDiff {
			worst, worstDiff = i, d
		}
	}
	if worstDiff > tol {
		return fmt.Errorf("goldens: logit %d (image %d, class %d): got %g, want %g, |diff| %.3g > tolerance %.3g (1e-4*max(1,max|want|))",
			worst, worst/classes, worst%classes, got[worst], want[worst], worstDiff, tol)
	}
	for b := 0; b < batch; b++ {
		g := Top5(got[b*classes : (b+1)*classes])
		w := Top5(want[b*classes : (b+1)*classes])
		for k := range w {
			if g[k] != w[k] {
				c := w[k]
				return fmt.Errorf("goldens: image %d: top-5 %v, want %v (rank %d: class %d got %g, want %g; worst logit %d |diff| %.3g, tolerance %.3g)",
					b, g, w, k, c, got[b*classes+c], want[b*classes+c], worst, worstDiff, tol)
			}
		}
	}
	return nil
}
