package runtime

import "github.com/cnngen/cnngen/runtime/kernels"

// Erf runs the error function over a tensor (erf layers); out may be in.
func (a *Arena) Erf(c *kernels.Erf, out, in []float32) { c.Run(out, in) }
