package benchrun

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cnngen/cnngen/runtime"
)

// fakeNet counts its calls and checks the buffers it is given.
type fakeNet struct {
	calls       atomic.Int64
	inLen, outN int
	fail        error
}

func (n *fakeNet) Forward(in, out []float32) error {
	n.calls.Add(1)
	if len(in) != n.inLen || len(out) != n.outN {
		return errors.New("wrong buffer sizes")
	}
	return n.fail
}

func fakeModel(n *fakeNet) Model {
	return Model{Arch: "fake", Input: []int{1, 4, 4}, NumClasses: 3, MACs: 1000,
		Load: func(path string, opts ...runtime.Option) (Net, error) {
			if path != "w.safetensors" {
				return nil, errors.New("no such file")
			}
			return n, nil
		}}
}

// TestRun: the metrics follow from the calls, and every caller's call is counted.
func TestRun(t *testing.T) {
	net := &fakeNet{inLen: 2 * 16, outN: 2 * 3}
	r, err := Run(fakeModel(net), "w.safetensors", Options{Threads: 1, Batch: 2, Callers: 3, ISA: "auto", Seconds: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch != "fake" || r.Batch != 2 || r.Callers != 3 || r.Runs < 5 || r.MsMedian < 0 || r.ImagesPerS <= 0 || r.GFLOPS <= 0 || r.ISA == "" {
		t.Errorf("result %+v", r)
	}
	if got := net.calls.Load(); got != int64(r.Runs)+2 { // two warm-up calls
		t.Errorf("%d calls, %d runs reported", got, r.Runs)
	}
	if _, err := Run(fakeModel(net), "other", Options{Threads: 1, Batch: 1, Callers: 1, ISA: "auto"}); err == nil {
		t.Error("a load error is not reported")
	}
	net.fail = errors.New("boom")
	if _, err := Run(fakeModel(net), "w.safetensors", Options{Threads: 1, Batch: 2, Callers: 1, ISA: "auto"}); err == nil || err.Error() != "boom" {
		t.Errorf("a Forward error: %v", err)
	}
}

// TestArgs: the flags cnngen gives a benchmark program parse back to the same options.
func TestArgs(t *testing.T) {
	o := Options{Threads: 2, Batch: 8, Callers: 3, ISA: "avx2", Seconds: 0.25, Layers: true, CPUProfile: "x y.prof"}
	var got Options
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	got.AddFlags(fs)
	if err := fs.Parse(o.Args()); err != nil {
		t.Fatal(err)
	}
	o.JSON = true // cnngen always reads JSON back
	if got != o {
		t.Errorf("%+v, want %+v", got, o)
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Threads: 1, Batch: 1, Callers: 1, ISA: "auto", Seconds: 1}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []func(*Options){
		func(o *Options) { o.Threads = 0 },
		func(o *Options) { o.Batch = -1 },
		func(o *Options) { o.Callers = 0 },
		func(o *Options) { o.Seconds = -1 },
		func(o *Options) { o.ISA = "sse9" },
	} {
		o := ok
		bad(&o)
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestMainWire: a benchmark program's -json output is its result, or its error, and Decode
// reads both back.
func TestMainWire(t *testing.T) {
	var out, errb bytes.Buffer
	net := &fakeNet{inLen: 16, outN: 3}
	if code := runMain(fakeModel(net), []string{"-weights", "w.safetensors", "-seconds", "0", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	r, ok, err := Decode(out.Bytes())
	if !ok || err != nil || r.Arch != "fake" || r.Runs < 5 {
		t.Errorf("decoded %+v %v %v from %s", r, ok, err, out.String())
	}
	out.Reset()
	if code := runMain(fakeModel(net), []string{"-weights", "missing", "-json"}, &out, &errb); code != 1 {
		t.Errorf("exit %d for a load error", code)
	}
	if _, ok, err := Decode(out.Bytes()); !ok || err == nil || err.Error() != "no such file" {
		t.Errorf("decoded error %v %v from %s", ok, err, out.String())
	}
	if _, ok, _ := Decode([]byte("panic: oops")); ok {
		t.Error("garbage decoded")
	}
	errb.Reset()
	if code := runMain(fakeModel(net), []string{"-seconds", "0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "-weights FILE") {
		t.Errorf("exit %d without -weights: %s", code, errb.String())
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	r := Result{Arch: "net", ISA: "avx2", Threads: 2, Callers: 1, Batch: 4, MsMedian: 1.5, Runs: 9, ImagesPerS: 2000, GFLOPS: 10,
		PeakGFLOPS: 100, FractionOfPeak: 0.1, LoadMs: 12, PeakRSSMB: 30,
		Layers: []Layer{{Name: "c1", Op: "conv", MsImage: 0.3, GFLOPS: 9}, {Name: "p", Op: "maxpool", MsImage: 0.1}}}
	if err := Write(&b, r, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"c1     conv     0.300  75.0      9.0", "by op:  conv 0.30 ms (75%)  maxpool 0.10 ms (25%)",
		"net  isa avx2  threads 2  callers 1  batch 4\n  median 1.500 ms per batch (9 runs)  2000.0 images/s  10.0 GFLOP/s  (10% of the 100 GFLOP/s FMA peak measured here)\n  load 12 ms  peak RSS 30 MB\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
