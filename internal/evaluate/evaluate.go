// Package evaluate measures a classifier's top-1/top-5 accuracy over a labelled set, with a
// confusion table and throughput: what `cnngen eval` and examples/fashion print.
package evaluate

import (
	"fmt"
	"image"
	"io"
	"runtime"
	"sync"
	"text/tabwriter"
	"time"

	rt "github.com/cnngen/cnngen/runtime"

	"github.com/cnngen/cnngen/internal/progress"
)

// Classifier is what every generated package's *Net provides.
type Classifier interface {
	Classify(img image.Image, k int) ([]rt.Prediction, error)
}

// Source yields image i of a set and its true class.
type Source func(i int) (image.Image, int, error)

// Result is an evaluation's outcome.
type Result struct {
	N, Top1, Top5 int
	Confusion     [][]int // [true][predicted]
	Predicted     []int   // top-1 class per image
	Elapsed       time.Duration
}

// Run classifies n images on all cores, with a progress bar on a terminal.
func Run(c Classifier, n, classes int, src Source, label string) (*Result, error) {
	r := &Result{N: n, Confusion: make([][]int, classes), Predicted: make([]int, n)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, classes)
	}
	bar := progress.New(label, n)
	var mu sync.Mutex
	bar.Suffix(func() string { return fmt.Sprintf("top-1 %.2f%%", 100*float64(r.Top1)/float64(max(1, r.doneLocked()))) })
	var firstErr error
	next := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				img, truth, err := src(i)
				var preds []rt.Prediction
				if err == nil {
					preds, err = c.Classify(img, 5)
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("image %d: %w", i, err)
					}
				} else if truth < 0 || truth >= classes {
					firstErr = fmt.Errorf("image %d: label %d outside the network's %d classes", i, truth, classes)
				} else {
					r.record(i, truth, preds)
					bar.Add(1)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	bar.Done()
	r.Elapsed = time.Since(start)
	return r, firstErr
}

func (r *Result) doneLocked() int {
	s := 0
	for _, row := range r.Confusion {
		for _, v := range row {
			s += v
		}
	}
	return s
}

func (r *Result) record(i, truth int, preds []rt.Prediction) {
	r.Predicted[i] = preds[0].Class
	r.Confusion[truth][preds[0].Class]++
	for k, p := range preds {
		if p.Class == truth {
			if k == 0 {
				r.Top1++
			}
			r.Top5++
			break
		}
	}
}

// Print writes accuracy, throughput and the confusion table.
func (r *Result) Print(w io.Writer, labels []string) {
	fmt.Fprintf(w, "images %d  top-1 %.2f%% (error %.2f%%)  top-5 %.2f%% (error %.2f%%)  %.0f images/s\n",
		r.N, 100*float64(r.Top1)/float64(r.N), 100-100*float64(r.Top1)/float64(r.N),
		100*float64(r.Top5)/float64(r.N), 100-100*float64(r.Top5)/float64(r.N), float64(r.N)/r.Elapsed.Seconds())
	if len(r.Confusion) > 20 {
		return // a 1000x1000 table helps nobody
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "true \\ predicted\t")
	for j := range r.Confusion {
		fmt.Fprintf(tw, "%d\t", j)
	}
	fmt.Fprintln(tw, "recall\t")
	for i, row := range r.Confusion {
		name := fmt.Sprint(i)
		if i < len(labels) {
			name = fmt.Sprintf("%d %s", i, labels[i])
		}
		fmt.Fprintf(tw, "%s\t", name)
		total := 0
		for _, v := range row {
			fmt.Fprintf(tw, "%d\t", v)
			total += v
		}
		fmt.Fprintf(tw, "%.1f%%\t\n", 100*float64(row[i])/float64(max(1, total)))
	}
	tw.Flush()
}
