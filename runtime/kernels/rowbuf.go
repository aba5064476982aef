package kernels

import "sync"

// rowBufLen is the size of the buffers getRowBuf hands out, in floats (16 KiB): Pool's padded
// row and column divisors (2 x poolBufLen) or the depthwise flat path's plane and rows.
const rowBufLen = 4096

// rowBufs is a free list of the buffers of the kernels that need a few KiB of scratch but take
// none from their caller (Pool.Run and the row-by-row depthwise convolution). They were arrays
// on the stack until the SIMD routines were called through the dispatch table: the arguments of
// a call through a func value escape (the compiler cannot see the callee), so a stack buffer
// passed to one would be allocated on the heap at every call. The list keeps every buffer it
// hands out (as many as goroutines ever ran these kernels at once) and the GC never takes them
// (it empties a sync.Pool), so after warm-up nothing allocates. An uncontended lock and unlock
// cost tens of nanoseconds, a pool layer tens of microseconds.
var rowBufs struct {
	mu   sync.Mutex
	free []*[rowBufLen]float32
}

// getRowBuf returns a buffer of the free list, or a new one; its contents are undefined.
func getRowBuf() *[rowBufLen]float32 {
	rowBufs.mu.Lock()
	defer rowBufs.mu.Unlock()
	if n := len(rowBufs.free); n > 0 {
		b := rowBufs.free[n-1]
		rowBufs.free = rowBufs.free[:n-1]
		return b
	}
	return new([rowBufLen]float32)
}

// putRowBuf returns b to the free list.
func putRowBuf(b *[rowBufLen]float32) {
	rowBufs.mu.Lock()
	rowBufs.free = append(rowBufs.free, b)
	rowBufs.mu.Unlock()
}
