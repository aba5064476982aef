package goldens

import (
	"io/fs"
	"math"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// every built-in network must have a golden
var builtins = []string{
	"alexnet", "alexnet2012", "efficientnet_b0", "googlenet", "lenet5",
	"resnet101", "resnet152", "resnet18", "resnet34", "resnet50", "vgg16", "vgg19",
}

func TestNames(t *testing.T) {
	if got := Names(); !reflect.DeepEqual(got, builtins) {
		t.Fatalf("Names() = %v, want %v", got, builtins)
	}
	// no orphan .f32 files
	entries, err := fs.Glob(data, "data/*.f32")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, strings.TrimSuffix(path.Base(e), ".f32"))
	}
	sort.Strings(files)
	if !reflect.DeepEqual(files, builtins) {
		t.Fatalf("data/*.f32 = %v, want %v", files, builtins)
	}
}

func TestGoldens(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b, err := data.ReadFile("data/" + name + ".f32")
			if err != nil {
				t.Fatal(err)
			}
			g, logits, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if g.Name != name || g.Batch < 1 || g.Classes < 2 || len(g.Input) != 3 {
				t.Fatalf("bad meta %+v", g)
			}
			if len(b) != g.Batch*g.Classes*4 || len(logits) != g.Batch*g.Classes {
				t.Fatalf("%s.f32: %d bytes, want batch %d x classes %d x 4", name, len(b), g.Batch, g.Classes)
			}
			for _, d := range g.Input {
				if d < 1 {
					t.Fatalf("input shape %v", g.Input)
				}
			}
			if g.Params <= 0 || g.TrainParams < g.Params {
				t.Fatalf("params %d, train params %d", g.Params, g.TrainParams)
			}
			if n := len(g.InputData()); n != g.Batch*g.Input[0]*g.Input[1]*g.Input[2] {
				t.Fatalf("InputData has %d values for batch %d x %v", n, g.Batch, g.Input)
			}

			// max|logit| in range, and equal to the recorded value
			maxAbs := 0.0
			for i, v := range logits {
				a := math.Abs(float64(v))
				if math.IsNaN(a) || math.IsInf(a, 0) {
					t.Fatalf("logit %d = %v", i, v)
				}
				maxAbs = math.Max(maxAbs, a)
			}
			if maxAbs < 1 || maxAbs > 1e4 {
				t.Errorf("max|logit| = %g, want in [1, 1e4]", maxAbs)
			}
			if maxAbs != g.MaxAbsLogit {
				t.Errorf("max|logit| = %v, meta says %v", maxAbs, g.MaxAbsLogit)
			}

			// recorded top-5 is the top-5 of the file, and clearly separated
			tol := Tolerance(logits)
			if len(g.Top5) != g.Batch {
				t.Fatalf("top5 has %d rows, batch %d", len(g.Top5), g.Batch)
			}
			for b := 0; b < g.Batch; b++ {
				row := logits[b*g.Classes : (b+1)*g.Classes]
				if got := Top5(row); !reflect.DeepEqual(got, g.Top5[b]) {
					t.Errorf("image %d: top-5 of the file %v, meta says %v", b, got, g.Top5[b])
				}
				t5 := g.Top5[b]
				for k := 0; k+1 < len(t5); k++ {
					if gap := float64(row[t5[k]]) - float64(row[t5[k+1]]); gap <= 4*tol {
						t.Errorf("image %d: top-5 ranks %d/%d differ by only %g (tolerance %g)", b, k, k+1, gap, tol)
					}
				}
			}

			// Compare accepts the exact copy and rejects a copy with one logit
			// shifted by twice the tolerance.
			if err := Compare(logits, logits, g.Batch); err != nil {
				t.Errorf("Compare(exact): %v", err)
			}
			bad := append([]float32(nil), logits...)
			i := len(bad) - 1 - g.Classes/3
			bad[i] += float32(2 * tol)
			err = Compare(bad, logits, g.Batch)
			if err == nil {
				t.Errorf("Compare accepted logit %d shifted by 2*tolerance", i)
			} else if !strings.Contains(err.Error(), "tolerance") {
				t.Errorf("Compare error does not name the tolerance: %v", err)
			}
		})
	}
}

func TestCompareRule(t *testing.T) {
	want := []float32{
		5, 4, 3, 2, 1, 0, -1, -2, // image 0
		0, 1, 2, 3, 4, 5, 6, 7, // image 1
	}
	tol := Tolerance(want) // 1e-4 * 7
	cp := func() []float32 { return append([]float32(nil), want...) }

	// within tolerance
	got := cp()
	got[5] += float32(0.9 * tol)
	if err := Compare(got, want, 2); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	// beyond tolerance: the error names the worst index, got and want
	got = cp()
	got[3] += float32(0.5 * tol)
	got[12] -= float32(3 * tol)
	err := Compare(got, want, 2)
	if err == nil || !strings.Contains(err.Error(), "logit 12 (image 1, class 4)") {
		t.Errorf("beyond tolerance: %v", err)
	}
	// NaN is never accepted
	got = cp()
	got[7] = float32(math.NaN())
	if err := Compare(got, want, 2); err == nil {
		t.Errorf("NaN accepted")
	}
	// top-5 order change within tolerance is rejected
	near := []float32{1, 1.00001, 0.5, 0.4, 0.3, 0.2}
	got = []float32{1.00002, 1.00001, 0.5, 0.4, 0.3, 0.2}
	if err := Compare(got, near, 1); err == nil || !strings.Contains(err.Error(), "top-5") {
		t.Errorf("top-5 swap: %v", err)
	}
	// shape errors
	if err := Compare(want[:3], want, 2); err == nil {
		t.Errorf("length mismatch accepted")
	}
	if err := Compare(want, want, 3); err == nil {
		t.Errorf("batch 3 of 16 logits accepted")
	}
	// tolerance floor: max(1, max|want|)
	small := []float32{0.01, 0.002}
	if got := Tolerance(small); got != 1e-4 {
		t.Errorf("Tolerance floor = %g", got)
	}
}

func TestTop5(t *testing.T) {
	for _, c := range []struct {
		row  []float32
		want []int
	}{
		{[]float32{3, 1, 2}, []int{0, 2, 1}},
		{[]float32{0, 1, 1, 5, 1, 1, 1}, []int{3, 1, 2, 4, 5}},
		{[]float32{1, float32(math.NaN()), 2, 0, -1, 7}, []int{1, 5, 2, 0, 3}},
	} {
		if got := Top5(c.row); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Top5(%v) = %v, want %v", c.row, got, c.want)
		}
	}
}

func TestLoadUnknown(t *testing.T) {
	if _, _, err := Load("resnet9000"); err == nil {
		t.Fatal("Load(resnet9000) succeeded")
	}
}
