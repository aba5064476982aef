package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// goldens is testdata/torch_train.json, written by tools/make_train_goldens.py with torch
// 1.13 (AVX2 kernels). Every float torch computes in float32 is stored exactly.
type goldens struct {
	Torch         string
	CPUCapability string `json:"cpu_capability"`
	Optimizers    []struct {
		Name   string
		W0, B0 []float64
		Grads  []struct{ W, B []float64 }
		Steps  []struct {
			LR       float64
			Momentum *float64
			W, B     []float64
		}
	}
	Schedules []struct {
		Name, Optimizer string
		LR, Momentum    []float64
	}
	Clip struct {
		Grads  [][]float64
		Shapes [][]int
		Norm   []struct {
			Name     string
			MaxNorm  float64 `json:"max_norm"`
			NormType any     `json:"norm_type"`
			Total    float64
			Grads    [][]float64
		}
		Value struct {
			Clip  float64
			Grads [][]float64
		}
	}
	Init struct {
		Cases []struct {
			Kind         string
			Shape        []int
			Args         map[string]any
			FanIn        int      `json:"fan_in"`
			FanOut       int      `json:"fan_out"`
			Std, Bound   float64  // torch's formulas
			SampleMean   float64  `json:"sample_mean"`
			SampleStd    float64  `json:"sample_std"`
			SampleMaxAbs float64  `json:"sample_maxabs"`
			BiasMaxAbs   *float64 `json:"bias_maxabs"`
		}
		Gains []struct {
			Nonlinearity string
			Param        *float64
			Gain         float64
		}
	}
	Loss []struct {
		Smoothing float64
		Logits    []float64
		Labels    []int32
		Classes   int
		Loss      float64
		Grad      []float64
	}
	Batchnorm struct {
		Inputs   [][]float64
		Shape    []int
		Momentum float64
		Steps    []struct {
			RunningMean       []float64 `json:"running_mean"`
			RunningVar        []float64 `json:"running_var"`
			NumBatchesTracked int64     `json:"num_batches_tracked"`
		}
	}
}

func loadGoldens(t *testing.T) *goldens {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_train.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// ulps is the distance between a and b in float32 steps (0 for equal values, NaN or not).
func ulps(a, b float32) int64 {
	if a == b || a != a && b != b {
		return 0
	}
	key := func(x float32) int64 {
		u := int64(math.Float32bits(x))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

// worst returns the largest ulp distance between got and want and where it is.
func worst(got []float32, want []float64) (int64, int) {
	var m int64
	at := -1
	if len(got) != len(want) {
		return math.MaxInt64, -1
	}
	for i := range got {
		if d := ulps(got[i], float32(want[i])); d > m {
			m, at = d, i
		}
	}
	return m, at
}

// close64 reports whether a float64 schedule value is within an ulp of scale (the
// schedule's largest value) of torch's. Measured: every LR and momentum of the goldens is
// torch's to the bit but one, an ulp off (where the C library's cosine is not correctly
// rounded, presumably). Relative to the value itself would be the wrong measure: near
// pct = 1, 1 + cos(pi*pct) turns an ulp of the cosine into many ulps of a small result.
func close64(a, b, scale float64) bool {
	return math.Abs(a-b) <= math.Nextafter(scale, math.Inf(1))-scale
}
