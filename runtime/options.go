package runtime

import (
	"fmt"
	goruntime "runtime"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// Options are the load-time settings of a generated network.
type Options struct {
	Threads    int         // goroutines a Forward call may use; default GOMAXPROCS
	Arenas     int         // arenas (one image's activations each) a Net keeps for its calls; default Threads
	Preprocess *Preprocess // overrides the spec's preprocessing in Classify
	Profile    *Profile    // per-layer times, for benchmarks
}

// Option sets one of the Options.
type Option func(*Options)

// WithThreads sets how many goroutines one Forward call may use (images of a batch run in
// parallel). n < 1 means GOMAXPROCS.
func WithThreads(n int) Option { return func(o *Options) { o.Threads = n } }

// WithArenas bounds the memory of a Net under concurrent calls: at most n arenas (the activations
// of one image each) exist, a call takes one (a batch call one per thread it uses), and further
// callers wait until one is free (ForwardContext gives up when its context ends). n < 1 means the
// thread count, which keeps every thread busy.
func WithArenas(n int) Option { return func(o *Options) { o.Arenas = n } }

// WithPreprocess replaces the preprocessing Classify applies, for weights trained with other
// resize, crop or normalization settings than the spec's defaults.
func WithPreprocess(p Preprocess) Option { return func(o *Options) { o.Preprocess = &p } }

// ApplyOptions resolves opts over the defaults.
func ApplyOptions(opts []Option) (Options, error) {
	var o Options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	// A CNNGEN_ISA the CPU cannot run (or cannot be parsed) is an error here, at load time,
	// rather than a silent fallback.
	if err := kernels.ISAError(); err != nil {
		return o, err
	}
	if o.Threads < 1 {
		o.Threads = goruntime.GOMAXPROCS(0)
	}
	if o.Preprocess != nil {
		if err := o.Preprocess.Validate(); err != nil {
			return o, fmt.Errorf("WithPreprocess: %w", err)
		}
	}
	return o, nil
}
