package spec

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// TestEveryOpRoundTrips is why an op registered in gen/ir needs no change here: every op of the
// table (but input) is built with a non-default value in each attribute field, chosen from the
// field's type alone, then written, parsed back and compared; and built again with only its
// required fields, which must be all that is written.
func TestEveryOpRoundTrips(t *testing.T) {
	for _, d := range ir.Ops() {
		if d.Op == ir.OpInput {
			continue
		}
		t.Run(string(d.Op), func(t *testing.T) {
			if opOf(string(d.Op)) != d {
				t.Fatalf("%q is not the spelling of op %s (a keyword or alias takes it)", d.Op, d.Op)
			}
			for _, f := range ir.Fields(newAttrs(d)) {
				if itemFields[f.Name] {
					t.Fatalf("attribute %q has the name of an item-level field", f.Name)
				}
			}
			for _, all := range []bool{true, false} {
				g, n := opGraph(t, d, all)
				item := itemLine(t, roundTrip(t, g), d.Op)
				for _, f := range ir.Fields(n.Attrs) {
					written := regexp.MustCompile(`[{ ]` + f.Name + `: `).MatchString(item)
					if want := all || f.Required; written != want {
						t.Errorf("%s written %v, want %v: %s", f.Name, written, want, item)
					}
				}
				if keys := strings.Contains(item, "keys: "); keys != (all && len(n.Params) > 0) {
					t.Errorf("keys written %v: %s", keys, item)
				}
			}
		})
	}
}

// itemFields are the fields items have besides an op's attributes.
var itemFields = map[string]bool{"name": true, "if": true, "from": true, "keys": true, "inputs": true, "branches": true, "layers": true}

func newAttrs(d *ir.OpDef) ir.Attrs {
	if d.New == nil {
		return nil
	}
	return d.New()
}

func itemLine(t *testing.T, spec string, op ir.Op) string {
	t.Helper()
	for _, l := range strings.Split(spec, "\n") {
		if strings.HasPrefix(l, "  - "+string(op)+": ") {
			return l
		}
	}
	t.Fatalf("no %s item in\n%s", op, spec)
	return ""
}

// opGraph is the input and one node of op d reading it (twice for merges). Its required fields
// take the first candidate values its op accepts together; with all, each optional field then
// takes the first candidate other than its default that the op accepts, and the weights keys
// other than NAME.role.
func opGraph(t *testing.T, d *ir.OpDef, all bool) (*ir.Graph, *ir.Node) {
	t.Helper()
	for _, shape := range []ir.Shape{{4, 6, 6}, {24}} {
		in := &ir.Node{Name: "input", Op: ir.OpInput, Shape: shape}
		ins := []*ir.Node{in}
		if isMerge(d) {
			ins = []*ir.Node{in, in}
		}
		n := ir.NewNode(d.Op, "n", ins...)
		fields := ir.Fields(n.Attrs)
		var req, opt []ir.Field
		for _, f := range fields {
			if f.Required {
				req = append(req, f)
			} else {
				opt = append(opt, f)
			}
		}
		if !chooseRequired(t, n, shape, req, opt) {
			continue
		}
		for i, f := range opt {
			if !all {
				break
			}
			if !chooseOptional(t, n, shape, f, opt[i+1:]) {
				t.Fatalf("input %v: no candidate value for %s other than its default %v passes ir.InferNode; add one to candidates", shape, f.Name, ir.Default(n.Attrs, d.New, f.Name))
			}
		}
		if !infers(n) {
			t.Fatalf("input %v: the chosen attributes %+v do not infer", shape, n.Attrs)
		}
		if all {
			for i := range n.Params {
				n.Params[i].Key = fmt.Sprintf("w%d", i)
			}
		}
		g := &ir.Graph{Name: "t", Nodes: []*ir.Node{in, n}}
		if err := g.Infer(); err != nil {
			t.Fatal(err)
		}
		return g, n
	}
	t.Fatalf("no candidate values for the required fields pass ir.InferNode on any input; add some to candidates")
	return nil, nil
}

// chooseRequired tries the combinations of candidates of the required fields, the optional ones
// at their defaults, until the op accepts one.
func chooseRequired(t *testing.T, n *ir.Node, in ir.Shape, req, opt []ir.Field) bool {
	if len(req) == 0 {
		setDefaults(n, opt)
		return infers(n)
	}
	for _, v := range candidates(t, req[0], in) {
		req[0].Value.Set(v)
		if chooseRequired(t, n, in, req[1:], opt) {
			return true
		}
	}
	return false
}

// chooseOptional gives f the first candidate other than its default that the op accepts, the
// later fields at their defaults (which may depend on f).
func chooseOptional(t *testing.T, n *ir.Node, in ir.Shape, f ir.Field, later []ir.Field) bool {
	def := ir.Default(n.Attrs, ir.Def(n.Op).New, f.Name)
	for _, v := range candidates(t, f, in) {
		if reflect.DeepEqual(v.Interface(), def) {
			continue
		}
		f.Value.Set(v)
		setDefaults(n, later)
		if infers(n) {
			return true
		}
	}
	return false
}

func setDefaults(n *ir.Node, fs []ir.Field) {
	for _, f := range fs {
		f.Value.Set(reflect.ValueOf(ir.Default(n.Attrs, ir.Def(n.Op).New, f.Name)))
	}
}

func infers(n *ir.Node) bool {
	n.SetParamKeys(n.Name)
	return ir.InferNode(n) == nil
}

// candidates are values of f's type, in the order they are tried: small sizes that fit a 6x6
// input, numbers that are not any default, per-channel values for in's channels, shapes of in's
// size. A field of a new type needs candidates here and an entry in attrKinds.
func candidates(t *testing.T, f ir.Field, in ir.Shape) []reflect.Value {
	var vs []any
	switch f.Value.Interface().(type) {
	case int:
		vs = []any{2, 3, 1, 4, 0}
	case float64:
		vs = []any{0.25, 0.5, 2.5, -1.5, 1, 0, math.Inf(-1), math.Inf(1)}
	case bool:
		vs = []any{!f.Value.Bool()}
	case string:
		vs = []any{"a$b ${x}: \"é\"", "x"}
		if f.Values != nil {
			vs = nil
			for _, v := range f.Values {
				vs = append(vs, v)
			}
		}
	case [2]int:
		vs = []any{[2]int{3, 2}, [2]int{2, 1}, [2]int{1, 2}, [2]int{2, 2}, [2]int{1, 1}}
	case [4]int:
		vs = []any{[4]int{1, 0, 0, 1}, [4]int{1, 1, 1, 1}, [4]int{0, 1, 1, 0}}
	case []float64:
		per := make([]float64, in[0])
		for i := range per {
			per[i] = 0.5 - float64(i)/4
		}
		vs = []any{per, []float64{0.5}}
	case ir.Shape:
		size := in.Size()
		vs = []any{ir.Shape{size}, ir.Shape{in[0], size / in[0]}, ir.Shape{2, size / 2}}
	default:
		t.Fatalf("%s: no candidates for a Go %s (is it in attrKinds?)", f.Name, f.Value.Type())
	}
	out := make([]reflect.Value, len(vs))
	for i, v := range vs {
		out[i] = reflect.ValueOf(v)
	}
	return out
}

// TestDefaultsFollowGivenFields checks that defaults that depend on other fields are computed
// from the values given, wherever they are in the item.
func TestDefaultsFollowGivenFields(t *testing.T) {
	src := base + `  - maxpool: {name: a, kernel: [3, 2]}
  - maxpool: {name: b, stride: 1, kernel: 2}
  - lrn: {name: c, size: 5}
  - lrn: {name: d, lo: 0, size: 4}
  - avgpool: {name: e, kernel: 1}
`
	g, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]ir.Attrs{
		"a": &ir.PoolAttrs{Kernel: [2]int{3, 2}, Stride: [2]int{3, 2}},
		"b": &ir.PoolAttrs{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}},
		"c": &ir.LRNAttrs{Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1, Lo: 2},
		"d": &ir.LRNAttrs{Size: 4, Alpha: 1e-4, Beta: 0.75, Bias: 1, Lo: 0},
		"e": &ir.AvgPoolAttrs{PoolAttrs: ir.PoolAttrs{Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}}, CountIncludePad: true},
	} {
		if got := g.Node(name).Attrs; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
