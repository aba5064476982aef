package onnxtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"github.com/cnngen/cnngen/internal/gentest"
	"google.golang.org/protobuf/proto"
)

// suiteRoot is where Debian's libonnx-testdata installs ONNX's backend test data
// (CNNGEN_ONNX_TESTDATA overrides it).
const suiteRoot = "/usr/share/libonnx-testdata/data"

// suites are the folders of suiteRoot that are run: ONNX's node tests (one operator each,
// named bare in mustpass.txt and excluded.txt) and the tests of PyTorch modules and operators
// exported by PyTorch (named "folder/test"). data/real holds download URLs only.
var suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

// supportedOps are the operators gen/onnx imports (lowered or folded); a test is a candidate
// when its model uses only these. An operator gen/onnx gains (an ir op with an ONNX name makes
// one) brings its tests in, to be sorted into mustpass.txt or excluded.txt.
var supportedOps = map[string]bool{}

func init() {
	for _, op := range onnx.Operators() {
		supportedOps[op] = true
	}
}

// Outcomes of a candidate test.
const (
	pass        = "pass"
	fail        = "FAIL"
	unsupported = "unsupported"
)

type nodeResult struct {
	name   string
	ops    []string // distinct operator types, in order of first use
	opset  int64    // the model's ai.onnx opset
	status string
	why    string // the import error, shortened, or what did not match
	diff   float64

	// kept for the generated-code run
	g     *ir.Graph
	w     weights
	in    []float32
	want  []float32
	batch int
}

// runNodeTest imports one test model with its graph inputs after the first turned into
// initializers (holding test_data_set_0's values) and its graph outputs after the first dropped, runs it through the interpreter and compares
// with output_0. It returns nil when the model uses operators gen/onnx does not support.
func runNodeTest(name, dir string) (res *nodeResult) {
	r := &nodeResult{name: name}
	defer func() {
		// gen/onnx promises errors, never panics; a panic is a failure of this test only.
		if e := recover(); e != nil {
			r.status, r.why = fail, shorten(fmt.Sprintf("panic: %v", e), 160)
			res = r
		}
	}()
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return &nodeResult{name: name, status: fail, why: err.Error()}
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return &nodeResult{name: name, status: fail, why: "model.onnx: " + err.Error()}
	}
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			r.opset = o.GetVersion()
		}
	}
	g := mp.GetGraph()
	for _, n := range g.GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + ":" + op
		}
		if !slices.Contains(r.ops, op) {
			r.ops = append(r.ops, op)
		}
	}
	for _, op := range r.ops {
		if !supportedOps[op] {
			return nil
		}
	}
	if len(r.ops) == 0 {
		return nil // a graph without nodes tests nothing the importer does
	}
	r.status = unsupported

	// The network input is the first graph input that is not an initializer; the others become
	// initializers with the test's values.
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var inputs []*onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		if !inits[vi.GetName()] {
			inputs = append(inputs, vi)
		}
	}
	if len(inputs) == 0 {
		r.why = "the graph has no input"
		return r
	}
	data := filepath.Join(dir, "test_data_set_0")
	for k, vi := range inputs[1:] {
		if vi.GetType().GetTensorType() == nil {
			r.why = fmt.Sprintf("graph input %q is not a tensor", vi.GetName())
			return r
		}
		tp, err := readTensorProto(filepath.Join(data, fmt.Sprintf("input_%d.pb", k+1)))
		if err != nil {
			r.status, r.why = fail, err.Error()
			return r
		}
		tp.Name = proto.String(vi.GetName())
		g.Initializer = append(g.Initializer, tp)
	}
	// A network has one output and output_0 is what is compared: the others (LayerNormalization's
	// mean, Dropout's mask, Split's other parts) are dropped, so that what they need is not
	// imported, as for a network that does not read them.
	if len(g.Output) > 1 {
		g.Output = g.Output[:1]
	}
	b, err = proto.Marshal(&mp)
	if err != nil {
		r.status, r.why = fail, err.Error()
		return r
	}
	m, err := onnx.Parse(b, dir)
	if err != nil {
		r.why = shorten(err.Error(), 110)
		return r
	}
	r.g, r.w, err = m.Graph("t")
	if err != nil {
		r.why = shortError(err)
		return r
	}

	// From here on the importer accepted the model: anything wrong is a failure.
	r.status = fail
	tin, err := readTensorProto(filepath.Join(data, "input_0.pb"))
	if err != nil {
		r.why = err.Error()
		return r
	}
	if r.in, err = floats(tin); err != nil {
		r.why = "input_0: " + err.Error()
		return r
	}
	dims := tin.GetDims()
	if len(dims) < 1 {
		r.why = "input_0 is a scalar"
		return r
	}
	r.batch = int(dims[0])
	if got := shapeOf(dims[1:]); !got.Equal(r.g.Input().Shape) {
		r.why = fmt.Sprintf("input_0 is [%d %v], the imported input is [N %v]", r.batch, got, r.g.Input().Shape)
		return r
	}
	tout, err := readTensorProto(filepath.Join(data, "output_0.pb"))
	if err != nil {
		r.why = err.Error()
		return r
	}
	if r.want, err = floats(tout); err != nil {
		r.why = "output_0: " + err.Error()
		return r
	}
	od := tout.GetDims()
	if len(od) < 1 || int(od[0]) != r.batch || !shapeOf(od[1:]).Equal(r.g.Output.Shape) {
		r.why = fmt.Sprintf("output_0 is %v, the imported network computes [%d %v]", od, r.batch, r.g.Output.Shape)
		return r
	}
	got, err := interp.Run(r.g, r.w, r.in, r.batch)
	if err != nil {
		r.why = "interp: " + err.Error()
		return r
	}
	if r.diff, err = compare(got, r.want); err != nil {
		r.why = err.Error()
		return r
	}
	r.status, r.why = pass, ""
	return r
}

func shapeOf(dims []int64) ir.Shape {
	s := make(ir.Shape, len(dims))
	for k, d := range dims {
		s[k] = int(d)
	}
	return s
}

// TestNodeConformance runs ONNX's conformance tests (libonnx-testdata) whose operators gen/onnx
// supports through the importer and the reference interpreter, logs a table of the outcomes, and
// fails when a test of mustpass.txt does not pass or a candidate is in neither mustpass.txt nor
// excluded.txt. A representative subset (the first must-pass test of each operator with an
// NCHW input) also runs through generated code; CNNGEN_ONNX_GENTEST=all runs every must-pass
// test with an NCHW input.
func TestNodeConformance(t *testing.T) {
	root := suiteRoot
	if s := os.Getenv("CNNGEN_ONNX_TESTDATA"); s != "" {
		root = s
	}
	if _, err := os.Stat(filepath.Join(root, "node")); err != nil {
		t.Skipf("ONNX's conformance suite is not installed (%v): apt-get install -y libonnx-testdata, then rerun go test ./internal/onnxtest/", err)
	}
	mustpass, mustOrder, err := readList("mustpass.txt")
	if err != nil {
		t.Fatal(err)
	}
	excluded, _, err := readList("excluded.txt")
	if err != nil {
		t.Fatal(err)
	}
	for name := range mustpass {
		if _, ok := excluded[name]; ok {
			t.Errorf("%s is in both mustpass.txt and excluded.txt", name)
		}
	}
	for name, why := range excluded {
		if why == "" {
			t.Errorf("excluded.txt: %s has no reason", name)
		}
	}

	start := time.Now()
	var results []*nodeResult
	others := map[string]int{}
	for _, suite := range suites {
		entries, err := os.ReadDir(filepath.Join(root, suite))
		if err != nil {
			t.Logf("%s: %v", suite, err)
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(root, suite, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
				continue
			}
			name := e.Name()
			if suite != "node" {
				name = suite + "/" + name
			}
			r := runNodeTest(name, dir)
			if r == nil {
				others[suite]++
				continue
			}
			results = append(results, r)
		}
	}
	importTime := time.Since(start)

	// The table.
	byName := map[string]*nodeResult{}
	count := map[string]int{}
	var tb strings.Builder
	fmt.Fprintf(&tb, "%-62s %-11s %-9s %s\n", "test", "outcome", "list", "operators; why")
	for _, r := range results {
		byName[r.name] = r
		count[r.status]++
		list := ""
		if _, ok := mustpass[r.name]; ok {
			list = "mustpass"
		} else if _, ok := excluded[r.name]; ok {
			list = "excluded"
		}
		line := fmt.Sprintf("%-62s %-11s %-9s %s", r.name, r.status, list, strings.Join(r.ops, " "))
		if r.why != "" {
			line += "; " + r.why
		} else if r.status == pass {
			line += fmt.Sprintf("; max |diff| %.2g", r.diff)
		}
		tb.WriteString(line + "\n")
	}
	t.Log("ONNX conformance tests whose operators gen/onnx supports:\n" + tb.String())

	// The lists.
	mustFailed := 0
	for _, name := range mustOrder {
		r := byName[name]
		switch {
		case r == nil:
			t.Errorf("must-pass test %s is not in the installed suite (or uses an unsupported operator)", name)
			mustFailed++
		case r.status != pass:
			t.Errorf("must-pass test %s: %s: %s", name, r.status, r.why)
			mustFailed++
		}
	}
	var unlisted, nowPass []string
	for _, r := range results {
		_, must := mustpass[r.name]
		why, excl := excluded[r.name]
		switch {
		case !must && !excl:
			unlisted = append(unlisted, fmt.Sprintf("%s (%s: %s)", r.name, r.status, r.why))
		case excl && r.status == pass:
			nowPass = append(nowPass, fmt.Sprintf("%s (excluded: %s)", r.name, why))
		}
	}
	for name := range excluded {
		if byName[name] == nil {
			t.Logf("excluded.txt lists %s, which is not a candidate of the installed suite", name)
		}
	}
	if len(nowPass) > 0 {
		t.Logf("%d excluded tests pass now; move them to mustpass.txt:\n\t%s", len(nowPass), strings.Join(nowPass, "\n\t"))
	}
	if len(unlisted) > 0 {
		t.Errorf("%d candidate tests are in neither mustpass.txt nor excluded.txt:\n\t%s", len(unlisted), strings.Join(unlisted, "\n\t"))
	}
	var otherSum []string
	for _, s := range suites {
		otherSum = append(otherSum, fmt.Sprintf("%s %d", s, others[s]))
	}
	t.Logf("summary: %d candidate tests: %d pass, %d fail, %d unsupported; must-pass %d (%d not passing), excluded %d; %s; tests using other operators: %s",
		len(results), count[pass], count[fail], count[unsupported], len(mustpass), mustFailed, len(excluded),
		importTime.Round(time.Millisecond), strings.Join(otherSum, ", "))

	// Generated code.
	var gen []*nodeResult
	if os.Getenv("CNNGEN_ONNX_GENTEST") == "all" {
		for _, name := range mustOrder {
			if r := byName[name]; r != nil && r.status == pass && len(r.g.Input().Shape) == 3 {
				gen = append(gen, r)
			}
		}
	} else {
		gen = representatives(mustOrder, byName)
	}
	genStart := time.Now()
	for _, r := range gen {
		t.Run("gen/"+r.name, func(t *testing.T) {
			got, err := gentest.Run(r.g, r.w.flat(), r.in)
			if err != nil {
				t.Fatal(err)
			}
			d, err := compare(got, r.want)
			if err != nil {
				t.Fatalf("generated code: %v", err)
			}
			t.Logf("%s: generated code max |diff| %.2g", strings.Join(r.ops, " "), d)
		})
	}
	t.Logf("generated code: %d tests in %s", len(gen), time.Since(genStart).Round(time.Millisecond))
}

// representatives picks, for each operator, the first passing must-pass test that uses it and
// whose input is NCHW (what generated code takes), preferring tests of that operator alone;
// then, for each IR op the imported tests contain that those picks lack (an ONNX operator may
// lower to several: Pad to pad, reflection_pad and replication_pad), the first such test.
func representatives(order []string, byName map[string]*nodeResult) []*nodeResult {
	var ops []string
	for op := range supportedOps {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	picked := map[*nodeResult]bool{}
	var out []*nodeResult
	for _, op := range ops {
		var best *nodeResult
		for _, name := range order {
			r := byName[name]
			if r == nil || r.status != pass || len(r.g.Input().Shape) != 3 || !slices.Contains(r.ops, op) {
				continue
			}
			if picked[r] {
				best = nil // already covered
				break
			}
			if best == nil || len(r.ops) < len(best.ops) {
				best = r
			}
		}
		if best != nil {
			picked[best] = true
			out = append(out, best)
		}
	}
	covered := map[ir.Op]bool{}
	for _, r := range out {
		for _, n := range r.g.Nodes {
			covered[n.Op] = true
		}
	}
	for _, name := range order {
		r := byName[name]
		if r == nil || r.status != pass || len(r.g.Input().Shape) != 3 || picked[r] {
			continue
		}
		adds := false
		for _, n := range r.g.Nodes {
			adds = adds || !covered[n.Op]
		}
		if !adds {
			continue
		}
		picked[r] = true
		out = append(out, r)
		for _, n := range r.g.Nodes {
			covered[n.Op] = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
