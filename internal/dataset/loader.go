package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Source is a labelled image set a Loader draws training or evaluation batches from.
type Source interface {
	Len() int
	Label(i int) int
	// Shape is the network input one sample fills: channels, height, width.
	Shape() (c, h, w int)
	// Load writes sample i, preprocessed as the network expects (NCHW, normalised), into dst
	// (c*h*w values). r is nil for evaluation; when training it is the sample's own seeded
	// generator, for random augmentation. Load is called from several goroutines at once.
	Load(i int, dst []float32, r *Rand) error
}

// Rand is a sample's random generator. Loaders seed one per sample from the loader's seed,
// the epoch and the sample's index, so an epoch's augmentations are the same whatever the
// number of workers and whichever goroutine loads the sample. It allocates nothing.
type Rand struct{ pcg rand.PCG }

// NewRand returns a generator for sample index of epoch under seed.
func NewRand(seed uint64, epoch, index int) *Rand {
	r := &Rand{}
	r.reseed(seed, epoch, index)
	return r
}

func (r *Rand) reseed(seed uint64, epoch, index int) {
	// Two words of state: the seed, and the epoch and index packed so that distinct pairs
	// give distinct states (indices below 2^40, epochs below 2^24).
	r.pcg.Seed(seed, uint64(epoch)<<40^uint64(index)^0x5851f42d4c957f2d)
}

// Float64 returns a uniform value in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.pcg.Uint64()>>11) / (1 << 53) }

// Uniform returns a uniform value in [lo, hi).
func (r *Rand) Uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// IntN returns a uniform integer in [0, n), n > 0, without modulo bias (Lemire's method).
func (r *Rand) IntN(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(r.pcg.Uint64(), bound)
	if lo < bound {
		for thresh := -bound % bound; lo < thresh; {
			hi, lo = bits.Mul64(r.pcg.Uint64(), bound)
		}
	}
	return int(hi)
}

// Config sets how a Loader batches a Source.
type Config struct {
	BatchSize int
	// Shuffle draws a new order every epoch from Seed and the epoch (not torch's order:
	// the same permutations' distribution, from Go's generator).
	Shuffle bool
	// Augment passes each sample its seeded Rand (training); otherwise Load gets nil and
	// applies the evaluation transform.
	Augment bool
	// DropLast leaves out a last batch smaller than BatchSize.
	DropLast bool
	Seed     uint64
	// Workers is how many goroutines decode and augment a batch's samples: 0 or 1 loads them
	// in the caller's goroutine, a negative number uses every core (GOMAXPROCS).
	Workers int
}

// Batch is a batch of samples: X holds N samples in NCHW order, Labels and Index their
// classes and indices in the Source. Its slices belong to the Loader and are reused by the
// next call to Next.
type Batch struct {
	X      []float32
	Labels []int32
	Index  []int
	N      int
}

// Loader yields a Source's samples in batches, epoch after epoch. After the first batch it
// allocates nothing of its own: the batch buffers are reused and the workers are started
// once (a Source may allocate, as decoding a JPEG does).
type Loader struct {
	src    Source
	cfg    Config
	sample int // values per sample
	all    []int
	order  []int
	epoch  int
	pos    int
	batch  Batch

	// The worker pool: each worker waits on its channel for a batch, then takes samples by
	// incrementing next until the batch is done.
	wake []chan struct{}
	wg   sync.WaitGroup
	next atomic.Int64
	errs []error // per sample of the batch
	rnds []Rand  // per sample of the batch
}

// NewLoader returns a loader over the given indices of src (nil for all of them), positioned
// at the start of epoch 0. Close it to stop its workers.
func NewLoader(src Source, indices []int, cfg Config) (*Loader, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("dataset: batch size %d must be positive", cfg.BatchSize)
	}
	if indices == nil {
		indices = make([]int, src.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	for _, i := range indices {
		if i < 0 || i >= src.Len() {
			return nil, fmt.Errorf("dataset: index %d outside the %d samples", i, src.Len())
		}
	}
	c, h, w := src.Shape()
	l := &Loader{src: src, cfg: cfg, sample: c * h * w, all: slices.Clone(indices), order: slices.Clone(indices)}
	l.batch = Batch{
		X:      make([]float32, cfg.BatchSize*l.sample),
		Labels: make([]int32, cfg.BatchSize),
		Index:  make([]int, cfg.BatchSize),
	}
	l.errs = make([]error, cfg.BatchSize)
	l.rnds = make([]Rand, cfg.BatchSize)
	workers := cfg.Workers
	if workers < 0 {
		workers = goruntime.GOMAXPROCS(0)
	}
	if workers > 1 {
		l.wake = make([]chan struct{}, min(workers, cfg.BatchSize))
		for k := range l.wake {
			l.wake[k] = make(chan struct{})
			go l.worker(l.wake[k])
		}
	}
	l.Epoch(0)
	return l, nil
}

// Close stops the workers. The loader must not be used afterwards.
func (l *Loader) Close() {
	for _, c := range l.wake {
		close(c)
	}
	l.wake = nil
}

// Len is the number of samples an epoch covers (with DropLast, only whole batches).
func (l *Loader) Len() int {
	if l.cfg.DropLast {
		return len(l.all) / l.cfg.BatchSize * l.cfg.BatchSize
	}
	return len(l.all)
}

// Steps is the number of batches per epoch.
func (l *Loader) Steps() int {
	if l.cfg.DropLast {
		return len(l.all) / l.cfg.BatchSize
	}
	return (len(l.all) + l.cfg.BatchSize - 1) / l.cfg.BatchSize
}

// Epoch starts epoch e: the order is the indices' own, or with Shuffle a permutation
// drawn from (Seed, e), so any epoch can be replayed (or resumed) by number.
func (l *Loader) Epoch(e int) {
	l.epoch, l.pos = e, 0
	copy(l.order, l.all)
	if l.cfg.Shuffle {
		r := NewRand(l.cfg.Seed^0x9e3779b97f4a7c15, e, -1)
		for i := len(l.order) - 1; i > 0; i-- { // Fisher-Yates
			j := r.IntN(i + 1)
			l.order[i], l.order[j] = l.order[j], l.order[i]
		}
	}
}

// Next returns the epoch's next batch, or io.EOF at its end (call Epoch to start another).
func (l *Loader) Next() (*Batch, error) {
	n := min(l.cfg.BatchSize, len(l.order)-l.pos)
	if n <= 0 || l.cfg.DropLast && n < l.cfg.BatchSize {
		return nil, io.EOF
	}
	b := &l.batch
	b.N = n
	b.X = b.X[:n*l.sample]
	b.Labels, b.Index = b.Labels[:n], b.Index[:n]
	copy(b.Index, l.order[l.pos:l.pos+n])
	l.pos += n
	for k, idx := range b.Index {
		b.Labels[k] = int32(l.src.Label(idx))
		l.errs[k] = nil
		if l.cfg.Augment {
			l.rnds[k].reseed(l.cfg.Seed, l.epoch, idx)
		}
	}
	if len(l.wake) == 0 {
		for k := range n {
			l.load(k)
		}
	} else {
		l.next.Store(0)
		l.wg.Add(len(l.wake))
		for _, c := range l.wake {
			c <- struct{}{}
		}
		l.wg.Wait()
	}
	for k, err := range l.errs[:n] {
		if err != nil {
			return nil, fmt.Errorf("dataset: sample %d: %w", b.Index[k], err)
		}
	}
	return b, nil
}

func (l *Loader) worker(wake chan struct{}) {
	for range wake {
		n := int64(l.batch.N)
		for k := l.next.Add(1) - 1; k < n; k = l.next.Add(1) - 1 {
			l.load(int(k))
		}
		l.wg.Done()
	}
}

func (l *Loader) load(k int) {
	var r *Rand
	if l.cfg.Augment {
		r = &l.rnds[k]
	}
	l.errs[k] = l.src.Load(l.batch.Index[k], l.batch.X[k*l.sample:(k+1)*l.sample], r)
}

// Split divides n samples into a training part and a held-out part of round(fraction*n)
// samples drawn at random from seed, each in increasing order.
func Split(n int, fraction float64, seed uint64) (train, held []int, err error) {
	if !(fraction >= 0 && fraction < 1) {
		return nil, nil, fmt.Errorf("dataset: held-out fraction %v must be in [0, 1)", fraction)
	}
	k := int(math.Round(fraction * float64(n)))
	if k == 0 && fraction > 0 || k == n && n > 0 {
		return nil, nil, errors.New("dataset: a held-out split needs samples on both sides")
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	r := NewRand(seed, 0, -2)
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	held, train = perm[:k], perm[k:]
	slices.Sort(held)
	slices.Sort(train)
	return train, held, nil
}
