package passes

import (
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/plan"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
)

type mapWeights map[string][]float32

func (m mapWeights) Float32(k string) ([]float32, error) { return m[k], nil }

// TestChooseLayout: every built-in network in NCHW16c is planned, computes what it computed
// before (the interpreter ignores layouts, so this checks the rewiring), and reorders only where
// blocked and plain ops meet: each reorder sits between a node and a reader of the other layout.
func TestChooseLayout(t *testing.T) {
	for _, arch := range []string{"lenet5", "alexnet2012", "googlenet", "resnet50", "efficientnet_b0", "vgg16"} {
		g, err := frontend.Load(arch)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Inference(g)
		if err != nil {
			t.Fatal(err)
		}
		blocked, err := InferenceLayout(g, ir.NCHW16c)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if _, err := plan.Make(blocked); err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		reorders, blockedNodes := 0, 0
		for _, n := range blocked.Nodes {
			if n.Layout == ir.NCHW16c {
				blockedNodes++
			}
			for _, x := range append(append([]*ir.Node(nil), n.Inputs...), residual(n)...) {
				if len(x.Shape) == 3 && x.Layout != n.Layout && n.Op != ir.OpReorder {
					t.Errorf("%s: %s (%v) reads %s (%v)", arch, n.Name, n.Layout, x.Name, x.Layout)
				}
			}
			if n.Op == ir.OpReorder {
				reorders++
				if n.Inputs[0].Layout == n.Layout {
					t.Errorf("%s: %s reorders to its input's layout", arch, n.Name)
				}
			}
		}
		if got := len(blocked.Nodes) - len(plain.Nodes); got != reorders {
			t.Errorf("%s: %d more nodes, %d reorders", arch, got, reorders)
		}
		if blockedNodes == 0 && arch != "lenet5" || reorders > 4 {
			t.Errorf("%s: %d blocked nodes, %d reorders", arch, blockedNodes, reorders)
		}
		if blocked.Output.Layout != ir.NCHW {
			t.Errorf("%s: the output is %v", arch, blocked.Output.Layout)
		}
		t.Logf("%s: %d of %d nodes blocked, %d reorders", arch, blockedNodes, len(blocked.Nodes), reorders)
		if arch == "lenet5" || arch == "googlenet" {
			w := mapWeights{}
			for _, p := range g.AllParams() {
				w[p.Key] = seedweights.Values(p.Key, p.Shape)
			}
			in := seedweights.Input(1, g.Input().Shape)
			want, err := interp.Run(plain, w, in, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := interp.Run(blocked, w, in, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := goldens.Compare(got, want, 1); err != nil {
				t.Errorf("%s: %v", arch, err)
			}
		}
	}
}

func residual(n *ir.Node) []*ir.Node {
	if n.Fused != nil && n.Fused.Residual != nil {
		return []*ir.Node{n.Fused.Residual}
	}
	return nil
}
