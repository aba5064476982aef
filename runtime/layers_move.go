package runtime

import "github.com/cnngen/cnngen/runtime/kernels"

// ChannelShuffle runs a channel shuffle (channel_shuffle layers): a copy of every plane.
func (a *Arena) ChannelShuffle(c *kernels.ChannelShuffle, out, in []float32) { c.Run(out, in) }

// Narrow copies a range of one dimension (narrow layers).
func (a *Arena) Narrow(c *kernels.Narrow, out, in []float32) { c.Run(out, in) }
