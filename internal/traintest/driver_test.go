package traintest

// driver is the program runCases builds around the generated packages: it reads the cases,
// and for each ISA level it is given (every supported one if none) and each case it trains a
// fresh Trainer as the case says and prints one JSON result a line.
const driver = `package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	goruntime "runtime"

	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
	"github.com/cnngen/cnngen/runtime/trainrt"

//IMPORTS
)

type trainer interface {
	LoadWeights(r io.ReaderAt) error
	Backward(in, dOut []float32) error
	Gradients(in []float32, labels []int32) (float32, error)
	Update()
	Step(in []float32, labels []int32) (float32, error)
	Params() *train.Params
	Logits() []float32
	Close()
}

type inputGrader interface{ InputGrad() []float32 }

var makers = []func(...trainrt.Option) (trainer, error){
//MAKERS
}

type spec struct {
	Name           string
	Weights        string
	Batch          int
	Input          []float32
	Upstream       []float32
	Labels         []int32
	LabelSmoothing float64 ` + "`json:\"label_smoothing\"`" + `
	AuxWeight      float64 ` + "`json:\"aux_weight\"`" + `
	BNMomentum     float64 ` + "`json:\"bn_momentum\"`" + `
	DropoutSeed    uint64  ` + "`json:\"dropout_seed\"`" + `
	Step           bool
	LR, Momentum   float64
	Nesterov       bool
	Decay          float64 ` + "`json:\"weight_decay\"`" + `
	MaxNorm        float64 ` + "`json:\"max_norm\"`" + `
	Samples        map[string][]int
	Allocs         bool
	Threads        int
}

type tensor struct {
	Values  []float64 ` + "`json:\"values,omitempty\"`" + `
	Norm    float64   ` + "`json:\"norm\"`" + `
	Samples []float64 ` + "`json:\"samples,omitempty\"`" + `
}

type result struct {
	Case      int               ` + "`json:\"case\"`" + `
	ISA       string            ` + "`json:\"isa\"`" + `
	Err       string            ` + "`json:\"err\"`" + `
	Loss      float64           ` + "`json:\"loss\"`" + `
	Output    tensor            ` + "`json:\"output\"`" + `
	InputGrad tensor            ` + "`json:\"input_grad\"`" + `
	Grads     map[string]tensor ` + "`json:\"grads\"`" + `
	Running   map[string]tensor ` + "`json:\"running\"`" + `
	Updated   map[string]tensor ` + "`json:\"updated\"`" + `
	Allocs    float64           ` + "`json:\"allocs\"`" + `
}

func report(v []float32, samples []int, whole bool) tensor {
	var t tensor
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	t.Norm = math.Sqrt(s)
	if whole {
		for _, x := range v {
			t.Values = append(t.Values, float64(x))
		}
		return t
	}
	for _, i := range samples {
		t.Samples = append(t.Samples, float64(v[i]))
	}
	return t
}

func run(i int, s spec) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r.Err = fmt.Sprint(p)
		}
	}()
	opts := []trainrt.Option{trainrt.WithLabelSmoothing(s.LabelSmoothing), trainrt.WithAuxWeight(s.AuxWeight),
		trainrt.WithBNMomentum(s.BNMomentum), trainrt.WithDropoutSeed(s.DropoutSeed), trainrt.WithThreads(max(1, s.Threads)),
		trainrt.WithSGD(train.SGDConfig{LR: s.LR, Momentum: s.Momentum, Nesterov: s.Nesterov, WeightDecay: s.Decay}),
		trainrt.WithClipNorm(s.MaxNorm)}
	t, err := makers[i](opts...)
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer t.Close()
	w, err := os.ReadFile(s.Weights)
	if err == nil {
		err = t.LoadWeights(bytes.NewReader(w))
	}
	if err != nil {
		r.Err = err.Error()
		return
	}
	whole := s.Samples == nil
	step := func() (float32, error) {
		if s.Upstream != nil {
			return 0, t.Backward(s.Input, s.Upstream)
		}
		return t.Gradients(s.Input, s.Labels)
	}
	loss, err := step()
	if err != nil {
		r.Err = err.Error()
		return
	}
	r.Loss = float64(loss)
	r.Output = report(t.Logits(), nil, true)
	if g, ok := t.(inputGrader); ok {
		r.InputGrad = report(g.InputGrad(), s.Samples["input"], whole)
	}
	r.Grads, r.Running, r.Updated = map[string]tensor{}, map[string]tensor{}, map[string]tensor{}
	ps := t.Params()
	for _, p := range ps.Params {
		r.Grads[p.Name] = report(p.Grad, s.Samples[p.Name], whole)
	}
	for _, b := range ps.Buffers {
		r.Running[b.Name] = report(b.Value, s.Samples[b.Name], whole)
	}
	if s.Step {
		before := map[string][]float32{}
		for _, p := range ps.Params {
			before[p.Name] = append([]float32(nil), p.Value...)
		}
		t.Update()
		for _, p := range ps.Params {
			u := report(p.Value, s.Samples[p.Name], whole)
			d := 0.0
			for k, v := range p.Value {
				d += (float64(v) - float64(before[p.Name][k])) * (float64(v) - float64(before[p.Name][k]))
			}
			u.Norm = math.Sqrt(d) // the update's norm
			r.Updated[p.Name] = u
		}
	}
	if s.Allocs {
		// Step, as a training loop calls it: it keeps the workers polling from its first
		// layer to the optimizer's update. A worker that parks (2 ms idle, on the wall clock:
		// a loaded machine that deschedules this goroutine between two Steps is enough) takes
		// a sudog from the Go runtime's caches, which allocates when a GC has emptied them.
		// That is the runtime's, not the step's: the count is the least of three rounds, so an
		// allocation of the step itself shows in every round and a parking's in one.
		held := s.Step && s.Upstream == nil
		one := func() {
			if held {
				t.Step(s.Input, s.Labels)
				return
			}
			step()
			if s.Step {
				t.Update()
			}
		}
		one()
		r.Allocs = math.Inf(1)
		for range 3 {
			var m0, m1 goruntime.MemStats
			goruntime.ReadMemStats(&m0)
			const steps = 3
			for range steps {
				one()
			}
			goruntime.ReadMemStats(&m1)
			r.Allocs = min(r.Allocs, float64(m1.Mallocs-m0.Mallocs)/steps)
		}
	}
	return r
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var specs []spec
	if err := json.Unmarshal(raw, &specs); err != nil {
		panic(err)
	}
	levels := kernels.Levels()
	if len(os.Args) > 2 {
		levels = nil
		for _, a := range os.Args[2:] {
			l, err := kernels.ParseISA(a)
			if err != nil {
				panic(err)
			}
			if kernels.Supported(l) {
				levels = append(levels, l)
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	for _, l := range levels {
		if err := kernels.SetISA(l); err != nil {
			panic(err)
		}
		for i, s := range specs {
			r := run(i, s)
			r.Case, r.ISA = i, l.String()
			enc.Encode(r)
		}
	}
}
`
