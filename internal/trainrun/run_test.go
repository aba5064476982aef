package trainrun

import (
	"flag"
	"math"
	"slices"
	"testing"
)

func TestHits(t *testing.T) {
	nan := float32(math.NaN())
	logits := []float32{
		0.1, 0.9, 0.3, // class 1 first
		0.5, 0.5, 0.1, // a tie with class 0: counts against it
		1, 2, 3, // class 0 third
		nan, 1, 0, // a NaN: never a hit
		0, nan, 1, // the class's logit NaN
	}
	labels := []int32{1, 0, 0, 0, 1}
	if got := hits(logits, labels, 1); got != 1 {
		t.Errorf("top-1 hits %d, want 1", got)
	}
	if got := hits(logits, labels, 2); got != 2 {
		t.Errorf("top-2 hits %d, want 2", got)
	}
	if got := hits(logits, labels, 3); got != 3 {
		t.Errorf("top-3 hits %d, want 3", got)
	}
}

// TestArgsRoundTrip: the program parses what cnngen's Options.Args give it back into the same
// options.
func TestArgsRoundTrip(t *testing.T) {
	o := Options{}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"-data", "d x", "-lr", "0.125", "-freeze", "layer1,layer2", "-nesterov=false", "-seed", "7", "-clip-norm", "1e-3"}); err != nil {
		t.Fatal(err)
	}
	var back Options
	fs2 := flag.NewFlagSet("", flag.ContinueOnError)
	back.AddFlags(fs2)
	if err := fs2.Parse(o.Args()); err != nil {
		t.Fatal(err)
	}
	if back != o {
		t.Errorf("round trip: %+v, want %+v", back, o)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{"-epochs", "0"}, {"-optimizer", "lbfgs"}, {"-schedule", "x"}, {"-grad-report", "g.png"}, {"-val", "1"}, {"-lr", "NaN"}, {"-isa", "sse"}} {
		var b Options
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		b.AddFlags(fs)
		if err := fs.Parse(append([]string{"-data", "d"}, bad...)); err != nil {
			t.Fatal(err)
		}
		if err := b.Validate(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if !slices.Contains(o.Args(), "-freeze=layer1,layer2") {
		t.Errorf("args %v", o.Args())
	}
}
