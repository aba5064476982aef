package runtime

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingNet records the arenas it runs in and how many images run at once.
type countingNet struct {
	mu      sync.Mutex
	arenas  map[*Arena]bool
	running atomic.Int32
	maxSeen atomic.Int32
	block   chan struct{} // if not nil, RunImage waits on it
	started chan struct{} // if not nil, RunImage signals it
}

func (c *countingNet) RunImage(a *Arena, in, out []float32, features bool) {
	n := c.running.Add(1)
	for {
		m := c.maxSeen.Load()
		if n <= m || c.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	c.mu.Lock()
	c.arenas[a] = true
	c.mu.Unlock()
	if c.started != nil {
		c.started <- struct{}{}
	}
	if c.block != nil {
		<-c.block
	}
	time.Sleep(50 * time.Microsecond)
	copy(out, in)
	c.running.Add(-1)
}

// TestArenasBounded runs many concurrent callers, single images and batches: no more arenas
// than the bound ever exist.
func TestArenasBounded(t *testing.T) {
	for _, tc := range []struct{ threads, arenas, want int }{{1, 0, 1}, {2, 0, 2}, {3, 2, 2}, {2, 5, 5}} {
		r := NewRunner(4, 0, Options{Threads: tc.threads, Arenas: tc.arenas})
		net := &countingNet{arenas: map[*Arena]bool{}}
		var wg sync.WaitGroup
		for g := 0; g < 200; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				batch := 1 + g%3
				in, out := make([]float32, 4*batch), make([]float32, 4*batch)
				for i := range in {
					in[i] = float32(g)
				}
				if err := r.Run(context.Background(), net, in, out, 4, 4, false); err != nil {
					t.Error(err)
				}
				for i := range out {
					if out[i] != float32(g) {
						t.Errorf("caller %d got another caller's result %g", g, out[i])
						return
					}
				}
			}()
		}
		wg.Wait()
		if n := len(net.arenas); n > tc.want {
			t.Errorf("threads %d, arenas %d: %d arenas were used, want at most %d", tc.threads, tc.arenas, n, tc.want)
		}
		if n := int(net.maxSeen.Load()); n > tc.want {
			t.Errorf("threads %d, arenas %d: %d images ran at once, want at most %d", tc.threads, tc.arenas, n, tc.want)
		}
	}
}

// TestRunContext: a caller waiting for an arena gives up when its context ends, and the arena
// held by another call is then still usable.
func TestRunContext(t *testing.T) {
	r := NewRunner(1, 0, Options{Threads: 1, Arenas: 1})
	net := &countingNet{arenas: map[*Arena]bool{}, block: make(chan struct{}), started: make(chan struct{}, 1)}
	done := make(chan error)
	go func() { done <- r.Run(context.Background(), net, []float32{1}, []float32{0}, 1, 1, false) }()
	<-net.started // the first call holds the only arena
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, net, []float32{2}, []float32{0}, 1, 1, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting call: err %v, want the context's deadline", err)
	}
	canceled, stop := context.WithCancel(context.Background())
	stop()
	if err := r.Run(canceled, net, []float32{2}, []float32{0}, 1, 1, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("call with a canceled context: err %v", err)
	}
	close(net.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	net.started = nil
	out := []float32{0}
	if err := r.Run(context.Background(), net, []float32{3}, out, 1, 1, false); err != nil || out[0] != 3 {
		t.Fatalf("after the waits: %v, out %v", err, out)
	}
}
