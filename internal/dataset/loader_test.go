package dataset

import (
	"errors"
	"io"
	"slices"
	"testing"
)

func synthIDX(n, rows, cols int) *IDX {
	d := &IDX{Rows: rows, Cols: cols, Pixels: make([]byte, n*rows*cols), Labels: make([]byte, n)}
	for i := range d.Pixels {
		d.Pixels[i] = byte(i * 7)
	}
	for i := range d.Labels {
		d.Labels[i] = byte(i % 10)
	}
	return d
}

// epochOrder runs one epoch and returns the indices in the order they came.
func epochOrder(t *testing.T, l *Loader, e int) []int {
	t.Helper()
	l.Epoch(e)
	var got []int
	for {
		b, err := l.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Index...)
	}
}

func TestLoaderEpochs(t *testing.T) {
	d := synthIDX(103, 4, 5)
	src := NewIDXSource(d, 0.5, 0.25)
	l, err := NewLoader(src, nil, Config{BatchSize: 10, Shuffle: true, Seed: 3, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Steps() != 11 || l.Len() != 103 {
		t.Errorf("Steps %d, Len %d", l.Steps(), l.Len())
	}
	e0, e1 := epochOrder(t, l, 0), epochOrder(t, l, 1)
	if slices.Equal(e0, e1) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if again := epochOrder(t, l, 0); !slices.Equal(e0, again) {
		t.Error("epoch 0 replayed in another order")
	}
	sorted := slices.Sorted(slices.Values(e0))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("epoch 0 does not cover every sample once: %v", sorted)
		}
	}

	// The batch holds the samples it names, normalised, with their labels.
	l.Epoch(0)
	b, _ := l.Next()
	for k, idx := range b.Index {
		if b.Labels[k] != int32(d.Labels[idx]) {
			t.Errorf("label of sample %d", idx)
		}
		for p := range 20 {
			want := (float32(d.Pixels[idx*20+p])/255 - 0.5) / 0.25
			if b.X[k*20+p] != want {
				t.Fatalf("sample %d pixel %d = %v, want %v", idx, p, b.X[k*20+p], want)
			}
		}
	}

	dl, _ := NewLoader(src, []int{5, 6, 7, 8, 9}, Config{BatchSize: 2, DropLast: true})
	defer dl.Close()
	if got := epochOrder(t, dl, 0); !slices.Equal(got, []int{5, 6, 7, 8}) || dl.Steps() != 2 {
		t.Errorf("DropLast epoch: %v, %d steps", got, dl.Steps())
	}
	if _, err := NewLoader(src, []int{103}, Config{BatchSize: 1}); err == nil {
		t.Error("an index past the source did not fail")
	}
}

// TestLoaderAllocatesNothing: after the first batch, serial and parallel loading of an IDX
// source allocate nothing, across epochs too.
func TestLoaderAllocatesNothing(t *testing.T) {
	src := NewIDXSource(synthIDX(640, 28, 28), 0.286, 0.353)
	for _, workers := range []int{0, 2} {
		l, _ := NewLoader(src, nil, Config{BatchSize: 64, Shuffle: true, Augment: true, Workers: workers})
		l.Next()
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := l.Next(); err != nil {
				l.Epoch(1)
			}
		})
		l.Close()
		if allocs != 0 {
			t.Errorf("workers %d: %v allocations per batch", workers, allocs)
		}
	}
}

func TestSplit(t *testing.T) {
	train, held, err := Split(1000, 0.1, 7)
	if err != nil || len(train) != 900 || len(held) != 100 {
		t.Fatalf("Split: %d, %d, %v", len(train), len(held), err)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(train), held...)))
	for i, v := range all {
		if v != i {
			t.Fatal("the parts do not partition the samples")
		}
	}
	t2, h2, _ := Split(1000, 0.1, 7)
	_, h3, _ := Split(1000, 0.1, 8)
	if !slices.Equal(t2, train) || !slices.Equal(h2, held) || slices.Equal(h3, held) {
		t.Error("Split is not a function of its seed")
	}
	for _, f := range []float64{-0.1, 1, 0.0001} {
		if _, _, err := Split(1000, f, 1); err == nil {
			t.Errorf("Split(1000, %v) did not fail", f)
		}
	}
}

func TestRandIntNIsUniform(t *testing.T) {
	r := NewRand(1, 2, 3)
	var counts [7]int
	for range 70000 {
		counts[r.IntN(7)]++
	}
	for i, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("IntN(7) drew %d %d times of 70000", i, c)
		}
	}
}
