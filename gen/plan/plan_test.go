package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/passes"
)

func TestBuiltinPlans(t *testing.T) {
	for _, arch := range archspecs.Names() {
		g, err := frontend.Load(arch)
		if err != nil {
			t.Fatal(err)
		}
		ig, err := passes.Inference(g)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Make(ig)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		t.Logf("%-16s nodes %4d arena %8.2f MB  max live %8.2f MB  total %8.2f MB", arch, len(ig.Nodes), mb(p.Arena), mb(p.MaxLive), mb(p.Total))
		// Published bounds (batch 1): VGG16 needs at most its two largest tensors at once, 25.7 MB;
		// ResNet-50 at most 9.6 MB.
		if limit := map[string]float64{"vgg16": 25.7e6, "resnet50": 9.6e6}[arch]; limit > 0 && float64(4*p.Arena) > limit {
			t.Errorf("%s: arena %.2f MB, want at most %.1f MB", arch, mb(p.Arena), limit/1e6)
		}
		if float64(p.Arena) > 1.05*float64(p.MaxLive) {
			t.Errorf("%s: arena %d is more than 5%% above the live maximum %d", arch, p.Arena, p.MaxLive)
		}
	}
}

func mb(n int) float64 { return float64(4*n) / 1e6 }

// Every inception branch of GoogLeNet writes straight into its slice of the concatenation; so
// does a tensor that something else reads too (DenseNet-style, the concat's input also feeds a
// conv), read there.
func TestConcatInPlace(t *testing.T) {
	p, ig := planOf(t, "googlenet")
	concats := 0
	for _, n := range ig.Nodes {
		if n.Op != ir.OpConcat {
			continue
		}
		concats++
		off := p.Of(n).Off
		for _, x := range n.Inputs {
			if !p.InConcat(x, n) || p.Of(x).Off != off {
				t.Errorf("%s: input %s at %d, in concat %v, want in place at %d", n.Name, x.Name, p.Of(x).Off, p.InConcat(x, n), off)
			}
			off += x.Shape.Size()
		}
	}
	if concats != 9 {
		t.Errorf("%d concatenations, want GoogLeNet's 9", concats)
	}

	spec := `name: dense
input: [3, 8, 8]
classes: 10
layers:
  - conv: {name: a, out: 16, kernel: 3, pad: 1}
  - concat:
      - []
      - [conv: {name: b, out: 16, kernel: 3, pad: 1}]
  - global_avgpool
  - flatten
  - linear: {name: fc, out: 10}
`
	path := filepath.Join(t.TempDir(), "dense.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	p, ig = planOf(t, path)
	found := false
	for _, n := range ig.Nodes {
		if n.Op == ir.OpConcat {
			found = true
			a, b := n.Inputs[0], n.Inputs[1]
			if !p.InConcat(a, n) || !p.InConcat(b, n) || p.Of(a).Off != p.Of(n).Off || p.Of(b).Off != p.Of(n).Off+a.Shape.Size() {
				t.Errorf("in concat: %s %v (read by conv b too), %s %v at %d; concat at %d", a.Name, p.InConcat(a, n), b.Name, p.InConcat(b, n), p.Of(b).Off, p.Of(n).Off)
			}
		}
	}
	if !found {
		t.Error("the dense spec has no concatenation")
	}
}

func planOf(t *testing.T, arch string) (*Plan, *ir.Graph) {
	t.Helper()
	g, err := frontend.Load(arch)
	if err != nil {
		t.Fatal(err)
	}
	ig, err := passes.Inference(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Make(ig)
	if err != nil {
		t.Fatal(err)
	}
	return p, ig
}

// DenseNet as ONNX exports it: each layer reads the concatenation of the block's input and every
// earlier layer's output. Every output is written once into the last concatenation's buffer, the
// earlier concatenations are its first parts (no copies), and the batch norms that read them
// write elsewhere, in both layouts.
func TestConcatChain(t *testing.T) {
	for _, l := range []ir.Layout{ir.NCHW, ir.NCHW16c} {
		g, err := frontend.Load("testdata/dense.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var concats []*ir.Node
		for _, n := range g.Nodes {
			if n.Op == ir.OpConcat {
				if n.Inputs[0].Op == ir.OpConcat { // the export's form: one list
					n.Inputs = append(append([]*ir.Node(nil), n.Inputs[0].Inputs...), n.Inputs[1:]...)
				}
				concats = append(concats, n)
			}
		}
		ig, err := passes.InferenceLayout(g, l)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Make(ig)
		if err != nil {
			t.Fatal(err)
		}
		last := concats[len(concats)-1]
		for _, c := range concats {
			c = ig.Node(c.Name)
			if base, rel := p.Base(c); base.Name != last.Name || rel != 0 {
				t.Errorf("%v: %s lies in %s at %d, want %s at 0", l, c.Name, base.Name, rel, last.Name)
			}
			for _, x := range c.Inputs {
				if !p.InConcat(x, c) {
					t.Errorf("%v: %s's input %s is copied", l, c.Name, x.Name)
				}
			}
		}
		for _, bn := range []string{"n1", "n2", "n3"} {
			if n := ig.Node(bn); p.InPlace(n) {
				t.Errorf("%v: %s writes over the chain's buffer", l, bn)
			}
		}
		if n := ig.Node("n4"); !p.InPlace(n) {
			t.Errorf("%v: n4, the chain's last reader, is not in place", l)
		}
	}
}

// An inverted-residual block's expansion and depthwise convolution run fused when the kernels
// fuse them (rows of at least 28 pixels, a depthwise second layer): the expansion then has no
// region, and its input stays live until the depthwise layer has run, since that layer reads it.
// A grouped convolution that is not depthwise, or rows of 14 pixels, keep the unfused lifetimes.
func TestExpandDW(t *testing.T) {
	for _, c := range []struct {
		name        string
		size, group int
		fused       bool
	}{
		{"depthwise 32x32", 32, 32, true},
		{"groups 2", 32, 2, false},
		{"depthwise 14x14", 14, 32, false},
	} {
		spec := fmt.Sprintf(`name: block
input: [16, %d, %d]
layers:
  - conv: {name: e, out: 32, kernel: 1}
  - relu
  - conv: {name: d, out: 32, kernel: 3, pad: 1, groups: %d}
  - relu
  - conv: {name: p, out: 16, kernel: 1}
  - global_avgpool
  - flatten
  - linear: {name: fc, out: 5}
`, c.size, c.size, c.group)
		path := filepath.Join(t.TempDir(), "block.yaml")
		if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := frontend.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		ig, err := passes.InferenceLayout(g, ir.NCHW16c)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Make(ig)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		e, d := ig.Node("e"), ig.Node("d")
		pos := slices.Index(ig.Nodes, d)
		if x, dw := p.ExpandDW(e); (x == e && dw == d) != c.fused {
			t.Errorf("%s: ExpandDW(e) = %v, %v; fused %v", c.name, x, dw, c.fused)
		}
		if x, dw := p.ExpandDW(d); (x == e && dw == d) != c.fused {
			t.Errorf("%s: ExpandDW(d) = %v, %v; fused %v", c.name, x, dw, c.fused)
		}
		in := p.of[e.Inputs[0]]
		if c.fused {
			if r := p.Of(e); r.Len != 0 || slices.Contains(p.Tensors, p.of[e]) {
				t.Errorf("%s: the fused expansion has region %+v", c.name, r)
			}
			if in.Last < pos {
				t.Errorf("%s: the expansion's input dies at step %d, before the depthwise layer (%d)", c.name, in.Last, pos)
			}
			continue
		}
		if r := p.Of(e); r.Len != e.PhysicalSize() {
			t.Errorf("%s: the unfused expansion has region %+v, want %d elements", c.name, r, e.PhysicalSize())
		}
		if in.Last != slices.Index(ig.Nodes, e) {
			t.Errorf("%s: the expansion's input lives until step %d, want its last reader's %d", c.name, in.Last, slices.Index(ig.Nodes, e))
		}
	}
}
