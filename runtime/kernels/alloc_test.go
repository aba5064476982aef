package kernels

import (
	"sync"
	"testing"
	"unsafe"
)

// Buffers carved concurrently from the chunks are zeroed, cache-line aligned and disjoint.
func TestAllocPacked(t *testing.T) {
	sizes := []int{1, 15, 16, 1000, packChunk/4 - 1, packChunk / 4, packChunk/2 + 3, 7}
	var mu sync.Mutex
	var bufs [][]float32
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for _, n := range sizes {
				b := allocPacked(n + g)
				if len(b) != n+g || cap(b) != n+g {
					t.Errorf("allocPacked(%d): len %d cap %d", n+g, len(b), cap(b))
				}
				for i, v := range b {
					if v != 0 {
						t.Fatalf("allocPacked(%d)[%d] = %g", n+g, i, v)
					}
				}
				if uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
					t.Errorf("allocPacked(%d) is not 64-byte aligned", n+g)
				}
				for i := range b {
					b[i] = float32(g + 1)
				}
				mu.Lock()
				bufs = append(bufs, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, b := range bufs {
		for _, v := range b {
			if v != b[0] {
				t.Fatal("two buffers overlap")
			}
		}
	}
}
