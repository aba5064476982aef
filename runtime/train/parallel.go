package train

import "github.com/cnngen/cnngen/runtime/kernels"

// Runner runs a task's parts concurrently, part 0 on the calling goroutine, and returns when
// all are done: a generated Trainer's trainrt.Exec, whose workers then share the clipping's
// sums and the optimizer's update (a single-threaded step after a two-thread backward pass
// would leave the second core idle for a tenth of a ResNet-18 step).
type Runner interface {
	Run(t Task, parts int)
	Threads() int
}

// Task is work in parts that touch disjoint memory.
type Task interface{ RunPart(part, parts int) }

// SetRunner has ClipGradNorm (2-norm) and SGD's Step split their work with r (nil: the
// calling goroutine alone). The results do not depend on it.
func (ps *Params) SetRunner(r Runner) { ps.runner = r }

// chunkLen is the most values of a tensor in one chunk, the unit of the split work and of the
// norms' sums: a tensor's sum of squares is its chunks' sums added in order, whatever the
// thread count, so that the norm does not change with it.
const chunkLen = 1 << 16

// chunk is values [lo, hi) of parameter p.
type chunk struct{ p, lo, hi int }

// plan cuts the trainable parameters into chunks in order, into ps.chunks (allocated the
// first time only, for every parameter; Frozen can change between steps), with ps.ends the
// values up to the end of each chunk.
func (ps *Params) plan() []chunk {
	if ps.chunks == nil {
		n := 0
		for _, p := range ps.Params {
			n += (len(p.Value) + chunkLen - 1) / chunkLen
		}
		ps.chunks, ps.ends = make([]chunk, 0, n), make([]int, 0, n)
	}
	ps.chunks, ps.ends = ps.chunks[:0], ps.ends[:0]
	total := 0
	for i, p := range ps.Params {
		if p.Frozen {
			continue
		}
		for lo := 0; lo < len(p.Value); lo += chunkLen {
			hi := min(lo+chunkLen, len(p.Value))
			ps.chunks = append(ps.chunks, chunk{i, lo, hi})
			total += hi - lo
			ps.ends = append(ps.ends, total)
		}
	}
	return ps.chunks
}

// partChunks is the range of ps.chunks that part part of parts takes: about the same number
// of values each.
func (ps *Params) partChunks(part, parts int) (lo, hi int) {
	n := len(ps.ends)
	if n == 0 {
		return 0, 0
	}
	total := ps.ends[n-1]
	at := func(k int) int { // the first chunk ending past k*total/parts
		v := total * k / parts
		i := 0
		for i < n && ps.ends[i] <= v {
			i++
		}
		return i
	}
	lo, hi = at(part), at(part+1)
	if part == parts-1 {
		hi = n
	}
	return lo, hi
}

// run runs t over the chunks of the last plan, split when a runner with more than one thread
// is set.
func (ps *Params) run(t Task) {
	parts := 1
	if ps.runner != nil {
		parts = min(ps.runner.Threads(), len(ps.chunks))
	}
	if parts <= 1 {
		t.RunPart(0, 1)
		return
	}
	ps.runner.Run(t, parts)
}

// sqTask sums each chunk's squares into sums.
type sqTask struct {
	ps   *Params
	sums []float64
}

func (s *sqTask) RunPart(part, parts int) {
	lo, hi := s.ps.partChunks(part, parts)
	for k := lo; k < hi; k++ {
		c := s.ps.chunks[k]
		s.sums[k] = kernels.SumSquares(s.ps.Params[c.p].Grad[c.lo:c.hi])
	}
}

// gradSquares sets ss[i] to the sum of squares of every trainable parameter i's gradient
// (chunk sums added in order), split over the runner's threads.
func (ps *Params) gradSquares(ss []float64) {
	ch := ps.plan()
	if cap(ps.sq.sums) < len(ch) {
		ps.sq.sums = make([]float64, cap(ps.chunks))
	}
	ps.sq.ps, ps.sq.sums = ps, ps.sq.sums[:len(ch)]
	ps.run(&ps.sq)
	for k, c := range ch {
		if c.lo == 0 {
			ss[c.p] = 0
		}
		ss[c.p] += ps.sq.sums[k]
	}
}

// sumSquares is a tensor's sum of squares as gradSquares adds it.
func sumSquares(x []float32) float64 {
	var s float64
	for lo := 0; lo < len(x); lo += chunkLen {
		s += kernels.SumSquares(x[lo:min(lo+chunkLen, len(x))])
	}
	return s
}

// scaleTask multiplies every chunk by coef[0].
type scaleTask struct {
	ps   *Params
	coef [1]float32
}

func (s *scaleTask) RunPart(part, parts int) {
	lo, hi := s.ps.partChunks(part, parts)
	for _, c := range s.ps.chunks[lo:hi] {
		kernels.Scale(s.ps.Params[c.p].Grad[c.lo:c.hi], s.coef[:])
	}
}
