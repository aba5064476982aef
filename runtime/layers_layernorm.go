package runtime

import (
	"fmt"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// NormWeights are a normalization's per-position scale and shift (a layernorm's weight and
// bias), as the file holds them.
type NormWeights struct{ Weight, Bias []float32 }

// LoadNorm reads a layernorm's weight and bias, n values each.
func LoadNorm(f *File, weightKey, biasKey string, n int) (NormWeights, error) {
	w, err := f.Float32(weightKey)
	if err != nil {
		return NormWeights{}, err
	}
	b, err := f.Float32(biasKey)
	if err != nil {
		return NormWeights{}, err
	}
	if len(w) != n || len(b) != n {
		return NormWeights{}, fmt.Errorf("runtime: layernorm weight %q has %d values and bias %q %d, want %d", weightKey, len(w), biasKey, len(b), n)
	}
	return NormWeights{Weight: w, Bias: b}, nil
}

// LayerNorm runs a layer normalization; out may be in. It reads each value three times where a
// convolution reads it hundreds: it runs on the calling thread.
func (a *Arena) LayerNorm(c *kernels.LayerNorm, out, in []float32, w *NormWeights) {
	c.Run(out, in, w.Weight, w.Bias)
}
