package gradreport

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cnngen/cnngen/runtime/train"
)

// fed is what the tests record: three epochs of two steps over five layers, with norms
// that need all 17 digits, a zero, an infinity, a NaN and a name that needs quoting.
func fed() []Row {
	var rows []Row
	layers := []string{"conv1", "layer1.0.conv1", "odd,\"name\"", "fc1", "fc"}
	for e := 1; e <= 3; e++ {
		for s := range 2 {
			for d, l := range layers {
				g := math.Pow(10, -float64(d)) * (1 + 0.1*float64(e)) / 3 * (1 + float64(s)/7)
				rows = append(rows, Row{Epoch: e, Step: 100*e + s, Layer: l, Depth: d, GradNorm: g, WeightNorm: math.Pi * float64(d+1)})
			}
		}
	}
	rows[0].GradNorm, rows[1].GradNorm, rows[2].GradNorm = 0, math.Inf(1), math.NaN()
	return rows
}

// TestCSVIsWhatWasFed reads the CSV back with encoding/csv: the header, and every row's
// fields exactly (the floats to the bit).
func TestCSVIsWhatWasFed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grad.csv")
	r, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := fed()
	for _, row := range rows {
		if err := r.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(rows)+1)
	}
	want := []string{"epoch", "step", "layer", "depth", "grad_norm", "weight_norm"}
	for i, h := range want {
		if recs[0][i] != h {
			t.Errorf("header %v, want %v", recs[0], want)
		}
	}
	for i, row := range rows {
		rec := recs[i+1]
		num := func(k int) float64 {
			v, err := strconv.ParseFloat(rec[k], 64)
			if err != nil {
				t.Fatalf("row %d field %d: %v", i, k, err)
			}
			return v
		}
		same := func(a, b float64) bool { return a == b || a != a && b != b }
		if int(num(0)) != row.Epoch || int(num(1)) != row.Step || rec[2] != row.Layer || int(num(3)) != row.Depth ||
			!same(num(4), row.GradNorm) || !same(num(5), row.WeightNorm) {
			t.Errorf("row %d: %q, fed %+v", i, rec, row)
		}
	}
}

// TestPNGDecodes: the plot is a PNG of the asked size, with pixels drawn in the epochs'
// colours.
func TestPNGDecodes(t *testing.T) {
	var csvOut bytes.Buffer
	r := New(&csvOut)
	for _, row := range fed() {
		r.Add(row)
	}
	for _, size := range [][2]int{{800, 500}, {1201, 333}} {
		var buf bytes.Buffer
		if err := r.WritePNG(&buf, size[0], size[1]); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != size[0] || b.Dy() != size[1] {
			t.Errorf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), size[0], size[1])
		}
		blue, red := 0, 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				switch {
				case cb>>8 > 200 && cr>>8 < 60 && cg>>8 < 90:
					blue++
				case cr>>8 > 200 && cb>>8 < 60 && cg>>8 < 90:
					red++
				}
			}
		}
		if blue == 0 || red == 0 {
			t.Errorf("%dx%d: no line of the first (%d pixels) or last epoch (%d)", size[0], size[1], blue, red)
		}
	}
	if err := New(&bytes.Buffer{}).WritePNG(&bytes.Buffer{}, 100, 100); err == nil {
		t.Error("an empty report plotted")
	}
}

// TestRecordFromParams: train.Params.LayerNorms feeds Record, allocation-free once the
// epoch and layers are known.
func TestRecordFromParams(t *testing.T) {
	var ps train.Params
	w := ps.Add("conv1.weight", 2, 2)
	ps.Add("conv1.bias", 2)
	f := ps.Add("fc.weight", 3)
	copy(w.Grad, []float32{3, 4, 0, 0})
	copy(f.Grad, []float32{1, 0, 0})
	norms := ps.LayerNorms(nil)
	var out bytes.Buffer
	r := New(&out)
	r.Record(1, 0, norms)
	if a := testing.AllocsPerRun(20, func() { r.Record(1, 1, norms) }); a != 0 {
		t.Errorf("Record: %v allocations", a)
	}
	r.Flush()
	if got := out.String(); !bytes.HasPrefix([]byte(got), []byte(Header+"\n1,0,conv1,0,5,0\n1,0,fc,1,1,0\n")) {
		t.Errorf("CSV:\n%s", got)
	}
}
