// Package runtime is the run-time support package linked by the Go code that
// cnngen generates. Generated networks call into it for everything that is
// the same across networks: loading weights from safetensors files (the
// format PyTorch and Hugging Face export) and folding/packing them, image
// preprocessing, top-k with labels, pooled arenas and batch splitting. The
// arithmetic itself lives in runtime/kernels.
//
// It is kept small (the standard library, golang.org/x/image for resampling),
// because every generated program links it.
//
// The package name intentionally matches its folder, runtime, even though
// that shadows the standard library's runtime package. A file that needs both
// aliases one of them, for example:
//
//	import (
//		goruntime "runtime"
//
//		"github.com/cnngen/cnngen/runtime"
//	)
package runtime
