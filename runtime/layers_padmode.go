package runtime

import "github.com/cnngen/cnngen/runtime/kernels"

// PadBorder runs a reflection or replication padding (reflection_pad, replication_pad layers).
func (a *Arena) PadBorder(c *kernels.PadBorder, out, in []float32) { c.Run(out, in) }
