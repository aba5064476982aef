package kernels

import "sync"

// Packed weights are written once at load and then only read. They are carved from chunks that
// span whole 2 MB pages, which Linux is advised to back with transparent huge pages: a fresh 4 KB
// page costs a fault of several microseconds on first touch (13 us in the Firecracker VMs
// measured here, so that page faults were most of a ResNet-50's load time), and huge pages also
// spare the kernels TLB misses when they stream the weights. A chunk lives as long as any
// buffer carved from it.
//
// Chunks of 8 MB (four huge pages; buffers of a quarter chunk or more get their own, so at most
// 2 MB of a chunk's end is wasted) took ResNet-50's load from ~550 to ~300 ms (commit 487e0fd).
const (
	packChunk = 8 << 20 / 4 // floats per chunk: 8 MB
	packAlign = 16          // floats: buffers start on 64-byte cache lines
)

var packMem struct {
	sync.Mutex
	free []float32 // the rest of the current chunk
}

// allocPacked returns a zeroed buffer of n floats for packed weights.
func allocPacked(n int) []float32 {
	if n >= packChunk/4 { // large buffers get their own pages, with no chunk tail wasted
		b := make([]float32, n)
		adviseHugePages(b)
		return b
	}
	packMem.Lock()
	defer packMem.Unlock()
	if len(packMem.free) < n {
		packMem.free = make([]float32, packChunk)
		adviseHugePages(packMem.free)
	}
	b := packMem.free[:n:n]
	packMem.free = packMem.free[min(roundUp(n, packAlign), len(packMem.free)):]
	return b
}
