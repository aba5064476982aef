// Package traintest checks generated training code against the float64 training reference
// (gen/interp, itself checked against torch) and against torch's training-step goldens
// (internal/goldens/grad): it generates the packages of many graphs into a scratch folder of
// this module, builds one program around all of them, runs it at every ISA level, and compares
// what it prints.
package traintest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/runtime"
)

// trainCase is one generated package and what the program does with it.
type trainCase struct {
	Name    string `json:"name"`
	Weights string `json:"weights"`
	Batch   int    `json:"batch"`
	Input   []float32
	// Upstream: Backward from this output gradient; else Gradients over Labels.
	Upstream       []float32 `json:"upstream,omitempty"`
	Labels         []int32   `json:"labels,omitempty"`
	LabelSmoothing float64   `json:"label_smoothing"`
	AuxWeight      float64   `json:"aux_weight"`
	BNMomentum     float64   `json:"bn_momentum"`
	DropoutSeed    uint64    `json:"dropout_seed"`
	// Step: after the gradients, Update with SGD and clipping, and report the weights.
	Step     bool    `json:"step"`
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum"`
	Nesterov bool    `json:"nesterov"`
	Decay    float64 `json:"weight_decay"`
	MaxNorm  float64 `json:"max_norm"`
	// Samples: report each tensor as its norm and these elements only (big networks).
	Samples map[string][]int `json:"samples,omitempty"`
	Allocs  bool             `json:"allocs"` // measure the allocations of a second step
	Threads int              `json:"threads"`

	graph     *ir.Graph
	upstream  bool
	inputGrad bool
}

// tensor is a reported tensor: whole, or its norm and samples.
type tensor struct {
	Values  []float64 `json:"values,omitempty"`
	Norm    float64   `json:"norm"`
	Samples []float64 `json:"samples,omitempty"`
}

// result is what the program prints for a case at a level.
type result struct {
	Case      int               `json:"case"`
	ISA       string            `json:"isa"`
	Err       string            `json:"err"`
	Loss      float64           `json:"loss"`
	Output    tensor            `json:"output"`
	InputGrad tensor            `json:"input_grad"`
	Grads     map[string]tensor `json:"grads"`
	Running   map[string]tensor `json:"running"`
	Updated   map[string]tensor `json:"updated"`
	Allocs    float64           `json:"allocs"`
}

// runCases generates every case's package, builds the program and runs it at the given ISA
// levels (nil: every supported one); results[level][case].
func runCases(t *testing.T, cases []*trainCase, levels []string) map[string][]result {
	t.Helper()
	_, self, _, _ := goruntime.Caller(0)
	dir, err := os.MkdirTemp(filepath.Dir(self), "tmp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	base := filepath.Base(dir)
	var imports, makers strings.Builder
	for i, c := range cases {
		pkg := fmt.Sprintf("c%d", i)
		res, err := pipeline.GenerateTrain(c.graph, emit.TrainOptions{Package: pkg, Batch: c.Batch, Upstream: c.upstream, InputGrad: c.inputGrad})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		os.MkdirAll(filepath.Join(dir, pkg), 0o755)
		if err := os.WriteFile(filepath.Join(dir, pkg, pkg+".go"), res.Code, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&imports, "\t%s \"github.com/cnngen/cnngen/internal/traintest/%s/%s\"\n", pkg, base, pkg)
		fmt.Fprintf(&makers, "\tfunc(o ...trainrt.Option) (trainer, error) { return %s.NewTrainer(o...) },\n", pkg)
	}
	os.MkdirAll(filepath.Join(dir, "main"), 0o755)
	prog := strings.Replace(strings.Replace(driver, "//IMPORTS\n", imports.String(), 1), "//MAKERS\n", makers.String(), 1)
	if err := os.WriteFile(filepath.Join(dir, "main", "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	specs := filepath.Join(dir, "cases.json")
	os.WriteFile(specs, js, 0o644)
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, "./"+base+"/main")
	cmd.Dir = filepath.Dir(self)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the generated code: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, append([]string{specs}, levels...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the generated code: %v\n%s", err, stderr.Bytes())
	}
	results := map[string][]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<30)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("the program's output: %v", err)
		}
		if results[r.ISA] == nil {
			results[r.ISA] = make([]result, len(cases))
		}
		results[r.ISA][r.Case] = r
	}
	return results
}

// writeWeights writes a case's weights as safetensors in dir and returns the path.
func writeWeights(t *testing.T, dir, name string, g *ir.Graph, f func(key string) []float32) string {
	t.Helper()
	var ts []runtime.Tensor
	for _, p := range g.AllParams() {
		ts = append(ts, runtime.Tensor{Name: p.Key, Shape: p.Shape, Data: f(p.Key)})
	}
	path := filepath.Join(dir, name+".safetensors")
	var b bytes.Buffer
	if err := runtime.WriteSafetensors(&b, ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// agree reports whether got is within tol of want, relative to the larger of |want| and the
// reference tensor's root mean square (a value that cancels to nearly zero is compared with the
// tensor's scale, not its own).
func agree(got float64, want, rms, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), rms)+1e-30
}

func rmsOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(max(1, len(v))))
}

// compare checks a whole tensor; floor is the least scale it is compared at (a gradient that
// is zero in exact arithmetic is rounding noise of the computation's scale).
func compare(t *testing.T, what string, got, want []float64, tol, floor float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	rms := max(rmsOf(want), floor)
	bad := 0
	for i := range want {
		if !agree(got[i], want[i], rms, tol) {
			if bad < 3 {
				t.Errorf("%s[%d] = %.8g, want %.8g (rms %.3g)", what, i, got[i], want[i], rms)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(want))
	}
}
