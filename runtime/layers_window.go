package runtime

import "github.com/cnngen/cnngen/runtime/kernels"

// DilatedPool runs a dilated (or widely padded) max or average pooling (dilated_maxpool,
// dilated_avgpool layers).
func (a *Arena) DilatedPool(c *kernels.DilatedPool, out, in []float32) { c.Run(out, in) }
