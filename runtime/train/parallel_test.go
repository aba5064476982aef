package train

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// goRunner runs every part on its own goroutine.
type goRunner int

func (r goRunner) Threads() int { return int(r) }

func (r goRunner) Run(t Task, parts int) {
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() { defer wg.Done(); t.RunPart(p, parts) }()
	}
	wg.Wait()
}

// TestSplitStepIsExact: the clipping's norm and SGD's update are the same bits on one thread
// and split over two or three, with tensors of several chunks, one frozen, and tensors smaller
// than a part.
func TestSplitStepIsExact(t *testing.T) {
	build := func(r Runner) (*Params, *SGD) {
		rng := rand.New(rand.NewPCG(1, 2))
		ps := &Params{}
		for i, n := range []int{3*chunkLen + 17, 5, chunkLen, 1000, 2*chunkLen - 1, 64} {
			p := ps.Add(string(rune('a'+i))+".weight", n)
			for k := range p.Value {
				p.Value[k] = rng.Float32() - 0.5
				p.Grad[k] = (rng.Float32() - 0.5) * 10
			}
			p.Frozen = i == 3
			p.NoDecay = i == 1
		}
		ps.SetRunner(r)
		o, err := NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-3, Nesterov: true})
		if err != nil {
			t.Fatal(err)
		}
		return ps, o
	}
	want, wo := build(nil)
	var norms []float32
	for range 3 {
		norms = append(norms, ClipGradNorm(want, 1, 2))
		wo.Step()
	}
	for _, r := range []Runner{goRunner(1), goRunner(2), goRunner(3)} {
		got, o := build(r)
		for s := range 3 {
			if n := ClipGradNorm(got, 1, 2); n != norms[s] {
				t.Fatalf("%d threads, step %d: norm %v, one thread %v", r.Threads(), s, n, norms[s])
			}
			o.Step()
		}
		for i, p := range got.Params {
			for k, v := range p.Value {
				if v != want.Params[i].Value[k] {
					t.Fatalf("%d threads: %s[%d] = %v, one thread %v", r.Threads(), p.Name, k, v, want.Params[i].Value[k])
				}
			}
		}
	}
}
