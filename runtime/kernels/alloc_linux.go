package kernels

import (
	"syscall"
	"unsafe"
)

const hugePage = 2 << 20

// adviseHugePages advises MADV_HUGEPAGE for the whole 2 MB pages inside b. It is advice: an
// error (an old kernel, THP disabled) leaves the buffer on small pages, which is only slower.
func adviseHugePages(b []float32) {
	p := unsafe.Pointer(unsafe.SliceData(b))
	start := uintptr(p)
	end := start + uintptr(len(b))*4
	lo := (start + hugePage - 1) &^ (hugePage - 1)
	hi := end &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	// syscall.Madvise wants a []byte; this one views memory that b keeps alive.
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, lo-start)), hi-lo), syscall.MADV_HUGEPAGE)
}
