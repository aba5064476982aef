package onnxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The sweep (CNNGEN_ONNX_ALL=1) exports every torchvision model of families at every opset
// from 9 to 17 and checks each export as TestModels checks its CI selection. It takes hours on
// two cores (exporting is most of it: torch.onnx traces the model, a forward pass at batch 2,
// once per opset), so what it runs can be narrowed and what it found is kept as it goes:
//
//	CNNGEN_ONNX_MODELS=a,b,...   only these models (torchvision names), e.g. to rerun failures
//	CNNGEN_ONNX_OPSETS=9,13,17   other opsets (a list of opsets and ranges, within 1 to 21)
//	CNNGEN_ONNX_REPORT=FILE      the Markdown table, rewritten after every model, so that an
//	                             interrupted run still leaves what it checked (marked partial)
//	CNNGEN_ONNX_KEEP=1           keep the exports (by default each model's are deleted once
//	                             checked: all of them at nine opsets need ~100 GB)
//
// Models run one family after another by size class: every family's smallest model first, then
// every family's second, and so on, so that a run stopped early has seen every family.

// defaultSweepOpsets are the opsets a sweep exports at: 9 (the oldest torchvision's models
// export at without workarounds) to 17, the newest torch 1.13 writes. Older opsets' operators
// are covered by the conformance suite and gen/onnx's version tests.
const defaultSweepOpsets = "9-17"

// sweepPlan is what one sweep runs.
type sweepPlan struct {
	names  []string // in the order they run
	opsets []int
}

// parseOpsets reads a list of opsets and ranges ("9-17", "9,13,17", "9-11,17") into sorted,
// distinct opsets.
func parseOpsets(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 21 || a > b {
			return nil, fmt.Errorf("opsets %q: %q is not an opset or a range of opsets within 1 to 21", s, part)
		}
		for k := a; k <= b; k++ {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// planSweep reads CNNGEN_ONNX_MODELS and CNNGEN_ONNX_OPSETS.
func planSweep(models, opsets string) (sweepPlan, error) {
	var p sweepPlan
	if opsets == "" {
		opsets = defaultSweepOpsets
	}
	var err error
	if p.opsets, err = parseOpsets(opsets); err != nil {
		return p, fmt.Errorf("CNNGEN_ONNX_OPSETS: %v", err)
	}
	want := map[string]bool{}
	if models != "" {
		for _, m := range strings.Split(models, ",") {
			m = strings.TrimSpace(m)
			if familyOf(m) < 0 {
				return p, fmt.Errorf("CNNGEN_ONNX_MODELS: %q is not a model of the sweep (internal/onnxtest's families)", m)
			}
			want[m] = true
		}
	}
	for i := 0; ; i++ {
		more := false
		for _, f := range families {
			if i < len(f.names) {
				more = true
				if len(want) == 0 || want[f.names[i]] {
					p.names = append(p.names, f.names[i])
				}
			}
		}
		if !more {
			return p, nil
		}
	}
}

// familyOf is the index of name's family in families, or -1.
func familyOf(name string) int {
	for i, f := range families {
		if slices.Contains(f.names, name) {
			return i
		}
	}
	return -1
}

// opsetSpec writes opsets as export_torchvision.py reads them.
func opsetSpec(opsets []int) string {
	s := make([]string, len(opsets))
	for i, k := range opsets {
		s[i] = strconv.Itoa(k)
	}
	return strings.Join(s, ",")
}

// exported is one model's exports, made by sweep's exporter.
type exported struct {
	name    string
	err     error
	elapsed time.Duration
}

// sweep exports the planned models and checks them. Exporting (Python, mostly one core) runs one
// model ahead of the checks (Go, every core), so that the two overlap; at most three models'
// exports are on disk at once.
func sweep(t *testing.T, script, dir string) {
	plan, err := planSweep(os.Getenv("CNNGEN_ONNX_MODELS"), os.Getenv("CNNGEN_ONNX_OPSETS"))
	if err != nil {
		t.Fatal(err)
	}
	rep := &sweepReport{plan: plan, start: time.Now(), commit: gitDescribe(filepath.Dir(script))}
	ready := make(chan exported)
	go func() {
		defer close(ready)
		for _, name := range plan.names {
			start := time.Now()
			err := export(4*time.Hour, script, dir, name+"@"+opsetSpec(plan.opsets))
			ready <- exported{name, err, time.Since(start)}
		}
	}()
	for e := range ready {
		if e.err != nil {
			t.Errorf("%s: %v", e.name, e.err)
			rep.add(t, []*modelResult{{name: e.name, status: fail, why: "export failed", elapsed: e.elapsed}})
			continue
		}
		t.Logf("%s exported in %s", e.name, e.elapsed.Round(time.Second))
		rs := sweepModel(t, dir, e.name, plan.opsets)
		rs[0].elapsed += e.elapsed // the model's time in the report includes its exports
		rep.add(t, rs)
	}
	t.Log("\n" + rep.markdown())
}

// sweepModel checks one model's exports at every opset, then deletes them (unless
// CNNGEN_ONNX_KEEP=1).
func sweepModel(t *testing.T, dir, name string, opsets []int) []*modelResult {
	mdir := filepath.Join(dir, name)
	if os.Getenv("CNNGEN_ONNX_KEEP") != "1" {
		defer os.RemoveAll(mdir)
	}
	seen := map[string]*modelResult{}
	var out []*modelResult
	for _, opset := range opsets {
		t.Run(fmt.Sprintf("%s@%d", name, opset), func(t *testing.T) {
			r := checkModel(t, mdir, name, opset, seen)
			out = append(out, r)
			if r.status == fail {
				t.Errorf("%s at opset %d: %s", name, opset, r.why)
			}
		})
	}
	return out
}

// gitDescribe names the commit the sweep runs ("-dirty": the work tree has changes to tracked
// files, which the run includes), or says why it cannot.
func gitDescribe(dir string) string {
	out, err := exec.Command("git", "-C", dir, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown (git describe: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// sweepReport is the sweep's table, written to CNNGEN_ONNX_REPORT after every model.
type sweepReport struct {
	plan    sweepPlan
	start   time.Time
	commit  string
	results []*modelResult
	models  int // models checked so far
}

func (r *sweepReport) add(t *testing.T, rs []*modelResult) {
	r.results = append(r.results, rs...)
	r.models++
	if path := os.Getenv("CNNGEN_ONNX_REPORT"); path != "" {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(r.markdown()), 0o644); err != nil {
			t.Error(err)
		} else if err := os.Rename(tmp, path); err != nil {
			t.Error(err)
		}
	}
}

// markdown is the table, one line per model in families' order, with what ran.
func (r *sweepReport) markdown() string {
	byModel := map[string][]*modelResult{}
	var names []string
	for _, res := range r.results {
		if byModel[res.name] == nil {
			names = append(names, res.name)
		}
		byModel[res.name] = append(byModel[res.name], res)
	}
	rank := func(name string) int {
		f := familyOf(name)
		return f*1000 + slices.Index(families[max(f, 0)].names, name)
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Run started %s on %s (%d CPUs, %s/%s), commit %s, opsets %s, batch 2.\n\n",
		r.start.UTC().Format("2006-01-02 15:04 MST"), host, goruntime.NumCPU(), goruntime.GOOS, goruntime.GOARCH, r.commit, opsetSpec(r.plan.opsets))
	b.WriteString("| model | passed opsets | failed | refused by torch.onnx | IR nodes | max \\|diff\\| interpreter | max \\|diff\\| generated | time |\n|---|---|---|---|---|---|---|---|\n")
	total := map[string]int{}
	for _, name := range names {
		var ok, bad, skip []string
		var di, dg float64
		var nodes []int
		var elapsed time.Duration
		for _, res := range byModel[name] {
			total[res.status]++
			elapsed += res.elapsed
			switch res.status {
			case pass:
				ok = append(ok, strconv.Itoa(res.opset))
				di, dg = max(di, res.interp), max(dg, res.gen)
				if !slices.Contains(nodes, res.nodes) {
					nodes = append(nodes, res.nodes)
				}
			case "skipped":
				skip = append(skip, strconv.Itoa(res.opset))
			default:
				bad = append(bad, fmt.Sprintf("%d (%s)", res.opset, res.why))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2g | %.2g | %s |\n", name, strings.Join(ok, " "), strings.Join(bad, "; "),
			strings.Join(skip, " "), strings.Trim(fmt.Sprint(nodes), "[]"), di, dg, elapsed.Round(time.Second))
	}
	fmt.Fprintf(&b, "\n%d exports pass, %d fail, %d refused by the exporter; ", total[pass], total[fail], total["skipped"])
	if r.models < len(r.plan.names) {
		fmt.Fprintf(&b, "partial: %d of %d models checked in %s so far.\n", r.models, len(r.plan.names), time.Since(r.start).Round(time.Minute))
	} else {
		fmt.Fprintf(&b, "all %d models checked in %s.\n", r.models, time.Since(r.start).Round(time.Minute))
	}
	return b.String()
}

// TestPlanSweep: the sweep's options select what they say, and a mistyped one is an error
// rather than a sweep of nothing.
func TestPlanSweep(t *testing.T) {
	p, err := planSweep("", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.opsets) != 9 || p.opsets[0] != 9 || p.opsets[8] != 17 {
		t.Errorf("default opsets %v", p.opsets)
	}
	n := 0
	for _, f := range families {
		n += len(f.names)
	}
	if len(p.names) != n || p.names[0] != "lenet5" || p.names[1] != "alexnet" || p.names[2] != "vgg11" || p.names[len(p.names)-1] != "regnet_y_128gf" {
		t.Errorf("default order %v", p.names)
	}
	p, err = planSweep(" convnext_large,resnet18 ", "17,9-10,13")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.names, []string{"resnet18", "convnext_large"}) || !slices.Equal(p.opsets, []int{9, 10, 13, 17}) {
		t.Errorf("got %v at %v", p.names, p.opsets)
	}
	for _, c := range [][2]string{{"vit_b_16", ""}, {"", "9-22"}, {"", "17-9"}, {"", "x"}, {"", "9,"}} {
		if _, err := planSweep(c[0], c[1]); err == nil {
			t.Errorf("models %q, opsets %q: accepted", c[0], c[1])
		}
	}
}
