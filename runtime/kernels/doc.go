// Package kernels is the kernel seam of cnngen: the compute routines that generated networks call
// from their fixed-shape layer functions.
//
// Every kernel works on one image. Activations are float32 in NCHW order (per image [C][H][W],
// contiguous) and live in an arena the caller preallocates, so no kernel allocates: the
// convolution's packing panel is passed in as scratch (see Conv.ScratchLen). Weights are packed
// once at load time (Conv.Pack, Linear.Pack) into an opaque layout chosen for the kernel that
// will run them, so faster kernels (assembly twins) can change the layout without changing the
// API.
//
// Kernels may be called concurrently from several goroutines as long as each call has its own
// output and scratch; packed weights are read only. The kernels start no goroutines themselves:
// to spread one convolution over several cores, the caller runs Conv.RunPart for each part on its
// own goroutine with its own scratch; the parts compute exactly what Run computes, bit for bit.
//
// Numerics: storage and accumulation are float32, as in PyTorch; the transcendental functions
// (exp, tanh, pow) are evaluated in float64 and rounded.
//
// The pure-Go SGEMM is cache blocked (KC x NC panels of B, MC x KC blocks of A, both packed) with
// a 2x4 register-blocked micro-kernel. Go's amd64 code generator has 15 usable scalar float
// registers and schedules loop-carried adds late, so larger tiles (4x4, 4x8) spill and run at
// about a third of the speed of 2x4 in pure Go; the assembly twins will use 8-wide and 16-wide
// vector tiles instead.
package kernels
