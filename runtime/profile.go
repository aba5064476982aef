package runtime

import (
	"sync/atomic"
	"time"
)

// Layer describes one layer function of a generated network, in the order Forward calls them.
type Layer struct {
	Name string // the spec's node name
	Op   string // the IR op, e.g. "conv", "maxpool"
	MACs int64  // multiply-accumulates per image
}

// Profile accumulates the time each layer takes, for `cnngen bench -layers`. Give it to Load or
// New with WithProfile; it may be shared by concurrent calls (times add up atomically). Without a
// profile the layers' marks cost one nil check each.
type Profile struct {
	ns     []atomic.Int64
	cpu    []atomic.Int64
	images atomic.Int64
}

// NewProfile makes a profile for a network of n layers (len of the generated package's Layers).
func NewProfile(n int) *Profile {
	return &Profile{ns: make([]atomic.Int64, n), cpu: make([]atomic.Int64, n)}
}

// Reset sets every time and the image count back to zero.
func (p *Profile) Reset() {
	for i := range p.ns {
		p.ns[i].Store(0)
		p.cpu[i].Store(0)
	}
	p.images.Store(0)
}

// Images is the number of images run since the profile was made or reset.
func (p *Profile) Images() int64 { return p.images.Load() }

// Time is the total time spent in layer i.
func (p *Profile) Time(i int) time.Duration { return time.Duration(p.ns[i].Load()) }

// CPU is the total CPU time of layer i's critical path: the thread CPU time of its work on the
// calling thread plus, for each split, what its slowest part took beyond the caller's part, and
// without the time the caller polled for the other parts. Unlike Time it leaves out the time a
// thread waited for a core, so on a loaded machine it estimates the layer's time on an idle one
// (less the hand-offs: a few us a split). Zero where threads' CPU times are not read (not Linux)
// and for batches of several images on several threads.
func (p *Profile) CPU(i int) time.Duration { return time.Duration(p.cpu[i].Load()) }

// WithProfile makes every Forward call add its per-layer times to p.
func WithProfile(p *Profile) Option { return func(o *Options) { o.Profile = p } }

// begin starts one image (and times it when profiling).
func (a *Arena) begin() {
	a.pooledOf, a.pooledKeep = nil, false
	if a.prof != nil {
		a.last = time.Now()
		a.prof.images.Add(1)
		a.cpuMark, a.timed = threadCPU()
		a.timed = a.timed && a.locked // batches run unlocked: only their wall times
		a.cpuWait, a.cpuMore = 0, 0
	}
}

// Mark ends layer i of the image being run: generated code calls it after each layer.
func (a *Arena) Mark(i int) {
	// ConvPool's pooled values serve the layer after it only.
	if a.pooledKeep {
		a.pooledKeep = false
	} else {
		a.pooledOf = nil
	}
	if a.prof == nil {
		return
	}
	now := time.Now()
	if i < len(a.prof.ns) {
		a.prof.ns[i].Add(int64(now.Sub(a.last)))
	}
	a.last = now
	if a.timed {
		c, _ := threadCPU()
		// Negative if the goroutine moved to another thread (preempted): the layer is left out.
		if d := c - a.cpuMark - a.cpuWait + a.cpuMore; d >= 0 && i < len(a.prof.cpu) {
			a.prof.cpu[i].Add(int64(d))
		}
		a.cpuMark, a.cpuWait, a.cpuMore = c, 0, 0
	}
}
