package runtime

import "github.com/cnngen/cnngen/runtime/kernels"

// Reduce runs a mean, max, sum or L2 norm over a range of dimensions (reduce_* layers). They
// are small next to the convolutions around them (a global pooling, per-pixel statistics over
// channels), so they run on the calling thread.
func (a *Arena) Reduce(c *kernels.Reduce, out, in []float32) { c.Run(out, in) }
