package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
)

// hostileAlloc is what parsing one hostile spec may allocate in these tests (runtime.MemStats
// TotalAlloc, which only grows): far under the 2 GB line, so the tests stay cheap.
const hostileAlloc = 256 << 20

// parseMeasured parses src under l and returns the error, the bytes allocated and the time taken.
func parseMeasured(src []byte, l ir.Limits) (error, uint64, time.Duration) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ParseLimits(src, "x.yaml", l)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc, took
}

func repeatStr(s string, n int) string { return strings.Repeat(s, n) }

// TestHostile is the hostile specs, class by class: each must fail with an error that
// names what is wrong (and the limit, for the limits), at a position, within hostileAlloc.
func TestHostile(t *testing.T) {
	blocks := func(n int) string {
		var b strings.Builder
		b.WriteString("name: t\ninput: [3, 8, 8]\nblocks:\n")
		for i := range n {
			fmt.Fprintf(&b, "  b%d: {params: {a: 1}, layers: [relu]}\n", i)
		}
		b.WriteString("layers: [relu]\n")
		return b.String()
	}
	nested := func(n int, open, inner, close string) string {
		var b strings.Builder
		b.WriteString(base + "  - ")
		for range n {
			b.WriteString(open)
		}
		b.WriteString(inner)
		for range n {
			b.WriteString(close)
		}
		return b.String()
	}
	// 95 nested repeats of one, then 9000 items, each of whose expressions looks up cin through
	// every scope: a time bomb unless lookups are counted as work.
	var scopes strings.Builder
	scopes.WriteString(base)
	indent := "  "
	for range 95 {
		fmt.Fprintf(&scopes, "%s- repeat:\n%s    count: 1\n%s    layers:\n", indent, indent, indent)
		indent += "      "
	}
	fmt.Fprintf(&scopes, "%s- repeat: {count: 9000, layers: [relu: {if: \"${%s > 0}\"}]}\n", indent, strings.Join(slicesRepeat("cin", 800), "+"))

	cases := []struct {
		name, src, want string
		limits          *ir.Limits // nil: ir.DefaultLimits
		limitError      bool       // the error wraps an *ir.LimitError
	}{
		// 1. The expression parser's recursion (a stack overflow of 1 GB before).
		{"3M parentheses", base + `  - conv: {name: c, out: "${` + repeatStr("(", 3_000_000) + "4" + repeatStr(")", 3_000_000) + `}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too long: 6000001 bytes > max 4096 ("((((`, nil, false},
		{"1M parentheses", base + `  - conv: {name: c, out: "${` + repeatStr("(", 1_000_000) + "4" + repeatStr(")", 1_000_000) + `}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too long: 2000001 bytes > max 4096`, nil, false},
		{"5M !", base + `  - relu: {if: "${` + repeatStr("!", 5_000_000) + `true}"}` + "\n",
			`x.yaml:4:16: expression too long: 5000004 bytes > max 4096`, nil, false},
		{"deep parentheses", base + `  - conv: {name: c, out: "${` + repeatStr("(", 2000) + "4" + repeatStr(")", 2000) + `}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too deep: more than 64 nested parentheses, unary operators, conditionals or calls in "((((`, nil, false},
		{"deep !", base + `  - relu: {if: "${` + repeatStr("!", 4000) + `true}"}` + "\n",
			`x.yaml:4:16: expression too deep: more than 64 nested`, nil, false},
		{"deep -", base + `  - conv: {name: c, out: "${` + repeatStr("-", 4000) + `4}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too deep: more than 64 nested`, nil, false},
		{"deep conditionals", base + `  - conv: {name: c, out: "${` + repeatStr("true ? 1 : ", 300) + `2}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too deep`, nil, false},
		{"deep calls", base + `  - conv: {name: c, out: "${` + repeatStr("max(1, ", 300) + "2" + repeatStr(")", 300) + `}", kernel: 1}` + "\n",
			`x.yaml:4:26: expression too deep`, nil, false},

		// 2 and 3. Sizes: the file, then the YAML nodes it makes (yaml.v3 takes ~200 bytes a node).
		{"9 MiB", base + "  - relu\n" + repeatStr("#\n", 9<<19),
			`x.yaml: too large: 9437226 bytes > max 8388608 bytes (a spec may be 8 MiB, or 512 bytes per node when -max-nodes is raised)`, nil, false},
		{"1M unused blocks", blocks(1_000_000), `x.yaml: too large: 4`, nil, false},
		{"100k unused blocks", blocks(100_000),
			`x.yaml:40003:18: too large: 800008 YAML separators (, : - ? [ {) > max 320000 (32 per node of -max-nodes 10000; raise it with -max-nodes)`, nil, false},
		{"long mean list", "name: t\ninput: [3, 8, 8]\npreprocess:\n  mean: [" + repeatStr("0.5, ", 700_000) + "0.5]\nlayers: [relu]\n",
			`x.yaml:4:1599973: too large: 700010 YAML separators (, : - ? [ {) > max 320000`, nil, false},
		{"mean list under the separator cap", "name: t\ninput: [3, 8, 8]\npreprocess:\n  mean: [" + repeatStr("0.5, ", 300_000) + "0.5]\nlayers: [relu]\n",
			`x.yaml:4:9: preprocess: mean needs one value per input channel (3), found 300001`, nil, false},
		{"900k relus", base + repeatStr("  - relu\n", 900_000),
			`x.yaml:319998:3: too large: 900006 YAML separators (, : - ? [ {) > max 320000`, nil, false},
		{"300k relus in one line", base + "  - [" + repeatStr("relu,", 300_000) + "relu]\n",
			`x.yaml:4:5: expected a layer (an op name or`, nil, false},
		{"300k relus in a seq", base + "  - seq: {name: s, layers: [" + repeatStr("relu,", 300_000) + "relu]}\n",
			`x.yaml:4:50024: too large: 10001 nodes > max 10000 (raise it with -max-nodes, in nodes)`, nil, true},

		// 3. Work: expansion re-evaluates blocks, nesting and names.
		{"nested empty repeats", base + "  - repeat: {count: 10000, layers: [repeat: {count: 10000, layers: []}]}\n",
			`x.yaml:4:53: too large: 50001 items expanded > max 50000 (5 per node of -max-nodes 10000; repeats and blocks multiply their items)`, nil, false},
		{"nested repeats", base + "  - repeat: {count: 10000, layers: [repeat: {count: 10000, layers: [relu]}]}\n",
			`too large: 10001 nodes > max 10000`, nil, true},
		{"a 4 MB block used 9999 times", "name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    let: {s: \"" + repeatStr("x", 4<<20) + "\"}\n    layers: [relu]\nlayers:\n  - repeat: {count: 9999, layers: [b]}\n",
			`x.yaml:5:14: too large: 41943072 units of expansion work > max 40960000 (4096 per node of -max-nodes 10000: bytes of values evaluated, mapping entries read, scopes searched; each use of a block evaluates it anew)`, nil, false},
		{"lookups through 96 scopes", scopes.String(), `units of expansion work > max 40960000`, nil, false},
		{"101 nested seqs", nested(101, "{seq: {name: s, layers: [", "relu", "]}}"),
			`x.yaml:4:2504: too deep: 101 nested layer lists > max 100 (containers, branches and block uses)`, nil, false},
		{"long name", base + "  - relu: {name: " + repeatStr("n", 2000) + "}\n",
			`x.yaml:4:18: relu: name too long: 2000 bytes > max 1024`, nil, false},
		{"long prefix", nested(5, "{seq: {name: "+repeatStr("p", 1000)+", layers: [", "relu", "]}}"),
			`x.yaml:4:5124: name too long: the layers' prefix "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp…" is 5004 bytes > max 4096`, nil, false},
		{"long network name", "name: " + repeatStr("n", 2000) + "\ninput: [3]\nlayers: [relu]\n", `x.yaml:1:7: name too long: 2000 bytes > max 1024`, nil, false},
		{"long input name", "name: t\ninput: {name: " + repeatStr("n", 2000) + ", shape: [3]}\nlayers: [relu]\n", `x.yaml:2:15: input: name too long: 2000 bytes > max 1024`, nil, false},
		{"long key", base + "  - bn: {name: b, keys: {weight: " + repeatStr("k", 5000) + "}}\n", `x.yaml:4:34: bn keys: the weight key is too long: 5000 bytes > max 4096`, nil, false},
		{"long unknown op", base + "  - " + repeatStr("x", 100_000) + "\n", `x.yaml:4:5: unknown op or block "xxxx`, nil, false},

		// 4. The graph's limits, as the ONNX path applies them.
		{"activation bytes", "name: t\ninput: [1, 1, 1]\nlayers:\n  - pad: {pads: 23000}\n  - seq: {name: s, layers: [repeat: {count: 40, layers: [conv: {out: 1, kernel: 1}]}]}\n",
			`x.yaml: too large: 347039088168 activation bytes per image > max 2147483648 (raise it with -max-activation-mb, in MB)`, nil, true},
		{"weight bytes", base + "  - flatten\n  - linear: {name: fc, out: 3000000}\n",
			`x.yaml: too large: 2316000000 weight bytes > max 1073741824 (raise it with -max-weights-mb, in MB)`, &ir.Limits{MaxNodes: 100, MaxActivationBytes: 1 << 30, MaxWeightBytes: 1 << 30}, true},
		{"nodes", base + repeatStr("  - relu\n", 20), `x.yaml:13:5: too large: 11 nodes > max 10`, &ir.Limits{MaxNodes: 10, MaxActivationBytes: 1 << 30, MaxWeightBytes: 1 << 30}, true},

		// 5. Silent acceptance.
		{"second document", base + "  - relu\n---\nname: u\n", `x.yaml:5:1: a second YAML document starts here; a spec is one document`, nil, false},
		{"empty second document", base + "  - relu\n---\n", `x.yaml:5:1: a second YAML document starts here`, nil, false},
		{"broken second document", base + "  - relu\n---\n[1, 2\n", `x.yaml:5:1: YAML syntax: did not find expected ',' or ']'`, nil, false},

		// 6. Integers out of range say so.
		{"count 1e12 written out", base + "  - repeat: {count: 1000000000000, layers: [relu]}\n", `x.yaml:4:21: repeat: count too large: 1000000000000 > max 2147483647`, nil, false},
		{"count beyond int64", base + "  - repeat: {count: 9223372036854775808, layers: [relu]}\n", `x.yaml:4:21: too large: 9223372036854775808 > max 2147483647`, nil, false},
		{"count beyond uint64", base + "  - repeat: {count: 99999999999999999999, layers: [relu]}\n", `x.yaml:4:21: repeat: count too large: 99999999999999999999 > max 2147483647`, nil, false},
		{"count 1e12", base + "  - repeat: {count: 1e12, layers: [relu]}\n", `x.yaml:4:21: repeat: count too large: 1e12 > max 2147483647`, nil, false},
		{"count of an expression", base + "  - repeat: {count: \"${1e6 * 1e6}\", layers: [relu]}\n", `x.yaml:4:21: repeat: count too large: 1e+12 > max 2147483647`, nil, false},
		{"count within int32, above nodes", base + "  - repeat: {count: 20000, layers: [relu]}\n", `x.yaml:4:21: repeat: count too large: 20000 > max 10000 (the node limit; raise it with -max-nodes)`, nil, false},
		{"overflowing product", base + "  - repeat: {count: \"${1000000000000 * 1000000000000}\", layers: [relu]}\n",
			`x.yaml:4:21: too large: 1000000000000 * 1000000000000 is outside the integers' range [-9223372036854775808, 9223372036854775807]`, nil, false},
		{"overflowing sum", base + "  - repeat: {count: \"${9223372036854775807 + 1}\", layers: [relu]}\n", `x.yaml:4:21: too large: 9223372036854775807 + 1 is outside`, nil, false},
		{"overflowing negation", base + "  - repeat: {count: \"${-(-9223372036854775807 - 1)}\", layers: [relu]}\n", `x.yaml:4:21: too large: -(-9223372036854775808) > max 9223372036854775807`, nil, false},
		{"overflowing division", base + "  - repeat: {count: \"${(-9223372036854775807 - 1) / -1}\", layers: [relu]}\n", `x.yaml:4:21: too large: -9223372036854775808 / -1 is outside`, nil, false},
		{"negative beyond int64", base + "  - conv: {name: c, out: -99999999999999999999, kernel: 1}\n", `x.yaml:4:26: conv: out must be at least 0, found -99999999999999999999`, nil, false},
		{"single value", base + "  - maxpool: {kernel: 1e12}\n", `x.yaml:4:23: maxpool: kernel too large: 1e12 > max 2147483647`, nil, false},
		{"list value", base + "  - maxpool: {kernel: [3, 99999999999999999999]}\n", `x.yaml:4:27: maxpool: kernel values too large: 99999999999999999999 > max 2147483647`, nil, false},
		{"input dimension", "name: t\ninput: [3, 1e10, 8]\nlayers: [relu]\n", `x.yaml:2:12: spec: input values too large: 1e10 > max 2147483647`, nil, false},
		{"classes", "name: t\ninput: [3]\nclasses: 5000000000\nlayers: [relu]\n", `x.yaml:3:10: spec: classes too large: 5000000000 > max 2147483647`, nil, false},
		{"resize", "name: t\ninput: [3, 8, 8]\npreprocess: {resize: 1e20}\nlayers: [relu]\n", `x.yaml:3:22: preprocess: resize too large: 1e20 > max 2147483647`, nil, false},

		// 7. Labels.
		{"unknown labels", "name: t\ninput: [5]\nlabels: klingon\nlayers: [relu]\n", `x.yaml:3:9: labels: unknown label set "klingon" (known: fashion-mnist, imagenet)`, nil, false},
		{"labels and classes", "name: t\ninput: [5]\nclasses: 5\nlabels: imagenet\nlayers: [relu]\n", `x.yaml:4:9: labels: imagenet has 1000 labels, but classes is 5`, nil, false},
		{"labels and output", "name: t\ninput: [5]\nlabels: fashion-mnist\nlayers: [relu]\n", `x.yaml:3:9: labels: fashion-mnist has 10 labels, but the network's output [5] has 5 values (one label per class)`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := ir.DefaultLimits
			if c.limits != nil {
				l = *c.limits
			}
			err, alloc, took := parseMeasured([]byte(c.src), l)
			t.Logf("%d bytes: %d MB allocated, %v", len(c.src), alloc>>20, took.Round(time.Millisecond))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error\n  %.500s\nwant it to contain\n  %s", err, c.want)
			}
			if len(err.Error()) > maxMessageBytes+100 {
				t.Errorf("a message of %d bytes", len(err.Error()))
			}
			var le *ir.LimitError
			if errors.As(err, &le) != c.limitError {
				t.Errorf("errors.As(err, *ir.LimitError) is %v, want %v", !c.limitError, c.limitError)
			}
			if alloc > hostileAlloc {
				t.Errorf("allocated %d MB, want at most %d MB", alloc>>20, hostileAlloc>>20)
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestHostileWithinCaps: what the caps let through is parsed, in bounded memory.
func TestHostileWithinCaps(t *testing.T) {
	for name, src := range map[string]string{
		"8 MB of comments":  base + "  - relu\n" + repeatStr("# a comment\n", (8<<20-100)/12),
		"9999 layers":       base + repeatStr("  - relu\n", 9999),
		"a long expression": base + "  - repeat: {count: \"${" + repeatStr("1+", 2000) + "1 > 0 ? 2 : 0}\", layers: [relu]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			err, alloc, took := parseMeasured([]byte(src), ir.DefaultLimits)
			t.Logf("%d bytes: %d MB allocated, %v", len(src), alloc>>20, took.Round(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if alloc > hostileAlloc {
				t.Errorf("allocated %d MB, want at most %d MB", alloc>>20, hostileAlloc>>20)
			}
		})
	}
	// Raising the node limit raises the caps that scale with it.
	l := ir.DefaultLimits
	l.MaxNodes = 20000
	if _, err := ParseLimits([]byte(base+"  - repeat: {count: 15000, layers: [relu]}\n"), "x.yaml", l); err != nil {
		t.Errorf("15000 layers under -max-nodes 20000: %v", err)
	}
	if got := MaxBytes(ir.Limits{MaxNodes: 1 << 20}); got != 512<<20 {
		t.Errorf("MaxBytes for 2^20 nodes is %d, want 512 MiB", got)
	}
}

// TestLabelSetsMatchRuntime keeps labelSets true to the runtime's label files, which
// runtime.Labels embeds: the same names, and as many labels as runtime.SplitLabels finds.
func TestLabelSetsMatchRuntime(t *testing.T) {
	files, err := filepath.Glob("../../runtime/labels/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no label files in ../../runtime/labels (%v)", err)
	}
	found := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSuffix(string(data), "\n") // runtime.SplitLabels' count
		n := 0
		if text != "" {
			n = strings.Count(text, "\n") + 1
		}
		found[name] = true
		if size, ok := labelSets[name]; !ok {
			t.Errorf("label set %s (%d labels) is not in gen/spec's labelSets", name, n)
		} else if size != n {
			t.Errorf("label set %s has %d labels, gen/spec's labelSets says %d", name, n, size)
		}
	}
	if n, ok := LabelSetSize("imagenet"); n != 1000 || !ok {
		t.Errorf("LabelSetSize(imagenet) = %d, %v", n, ok)
	}
	if _, ok := LabelSetSize("klingon"); ok {
		t.Error("LabelSetSize(klingon) is a set")
	}
	for name := range labelSets {
		if !found[name] {
			t.Errorf("gen/spec's labelSets has %s, which runtime/labels does not", name)
		}
	}
}

// TestHostileArenaWithinActivationLimit: a graph that passes Graph.Check must not plan an arena
// over the activation limit. An elementwise op whose input is read again needs a tensor of its
// own, so five activations of one conv's output, added, plan 1.5 MB; Graph.Check counted only
// the outputs of ops that write a new tensor (ir.WritesNewTensor), 540 KB, until it counted
// those of every op but views. FuzzParse checks the same.
func TestHostileArenaWithinActivationLimit(t *testing.T) {
	src := "name: t\ninput: [1, 64, 64]\nlayers:\n  - conv: {name: a, out: 16, kernel: 1}\n  - add: [[relu], [sigmoid], [tanh], [hardswish], [silu], []]\n"
	l := fuzzLimits
	g, err := ParseLimits([]byte(src), "x.yaml", l)
	var le *ir.LimitError
	if errors.As(err, &le) && le.Flag == "max-activation-mb" {
		return // refused: the limit holds
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Plan(g)
	if err != nil {
		t.Fatal(err)
	}
	if arena := 4 * int64(p.Plan.Arena); arena > l.MaxActivationBytes {
		t.Errorf("the graph passed Graph.Check under %d activation bytes, but its plan's arena is %d bytes", l.MaxActivationBytes, arena)
	}
}
