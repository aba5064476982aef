package train

import "github.com/cnngen/cnngen/runtime/kernels"

// fma32 returns a*b + c rounded once to float32, as a fused multiply-add does (torch 1.13's
// AVX2 kernels compute add(x, y, alpha=a) as fmadd(y, a, x) and addcmul as fmadd(v*t1, t2,
// self), in the vector loop and, GCC contracting a*b+c, in the scalar tail alike; Go has no
// float32 FMA). The exact computation is runtime/kernels' FMA32, shared with the optimizers'
// assembly twins.
func fma32(a, b, c float32) float32 { return kernels.FMA32(a, b, c) }

// fmaFast is kernels.FMA32Fast: a*b + c and true, or false in the rare cases that need fma32
// (the loops fall back themselves, keeping the fast path inlined).
func fmaFast(a, b, c float32) (float32, bool) { return kernels.FMA32Fast(a, b, c) }
