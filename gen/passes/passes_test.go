package passes

import (
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/spec"
)

func load(t *testing.T, arch string) (*ir.Graph, *ir.Graph) {
	t.Helper()
	g, err := frontend.Load(arch)
	if err != nil {
		t.Fatal(err)
	}
	ig, err := Inference(g)
	if err != nil {
		t.Fatal(err)
	}
	return g, ig
}

func count(g *ir.Graph, op ir.Op) int {
	n := 0
	for _, x := range g.Nodes {
		if x.Op == op {
			n++
		}
	}
	return n
}

func TestResNetFusion(t *testing.T) {
	g, ig := load(t, "resnet18")
	for _, op := range []ir.Op{ir.OpBatchNorm, ir.OpReLU, ir.OpAdd, ir.OpDropout} {
		if c := count(ig, op); c != 0 {
			t.Errorf("%d %s nodes left after the passes", c, op)
		}
	}
	if count(ig, ir.OpConv) != count(g, ir.OpConv) {
		t.Errorf("conv count changed")
	}
	residual := 0
	for _, n := range ig.Nodes {
		if n.Op != ir.OpConv {
			continue
		}
		if n.Fused == nil || n.Fused.BN == nil {
			t.Errorf("%s: batch norm not folded", n.Name)
			continue
		}
		if n.Fused.Residual != nil {
			residual++
			if n.Fused.Act != ir.OpReLU {
				t.Errorf("%s: residual conv without the block's final ReLU", n.Name)
			}
		}
	}
	if residual != 8 {
		t.Errorf("%d residual adds fused, want 8 (one per basic block)", residual)
	}
	// The original graph is untouched.
	if count(g, ir.OpBatchNorm) != 20 || g.Node("layer1.0.conv1").Fused != nil {
		t.Errorf("Inference modified its input graph")
	}
}

func TestGoogLeNetDropsAuxHeads(t *testing.T) {
	g, ig := load(t, "googlenet")
	if g.Node("aux1.fc2") == nil || ig.Node("aux1.fc2") != nil {
		t.Errorf("aux1.fc2: before %v, after %v", g.Node("aux1.fc2") != nil, ig.Node("aux1.fc2") != nil)
	}
	for _, n := range ig.Nodes {
		if n.TrainingOnly {
			t.Errorf("%s is training-only and survived", n.Name)
		}
	}
}

func TestActivationNotFusedIntoSharedProducer(t *testing.T) {
	// An Inception block's input feeds four branches: the ReLU that produces it must still be fused
	// into its conv (sole reader), but a conv read by two nodes keeps its activation separate.
	_, ig := load(t, "googlenet")
	if n := ig.Node("conv1.conv"); n == nil || n.Fused == nil || n.Fused.Act != ir.OpReLU {
		t.Fatalf("conv1.conv: %+v", n)
	}
	for _, n := range ig.Nodes {
		if n.Op == ir.OpReLU {
			t.Errorf("unfused relu %s", n.Name)
		}
	}
}

func TestEfficientNetSE(t *testing.T) {
	_, ig := load(t, "efficientnet_b0")
	fc2 := ig.Node("features.1.0.block.1.fc2")
	if fc2 == nil || fc2.Fused == nil || fc2.Fused.Act != ir.OpSigmoid {
		t.Fatalf("SE fc2 should carry the sigmoid: %+v", fc2)
	}
	if count(ig, ir.OpMul) != 16 {
		t.Errorf("%d mul nodes, want 16 (one SE per MBConv)", count(ig, ir.OpMul))
	}
}

func TestActivationFusedIntoUnfoldedBN(t *testing.T) {
	// DenseNet's pre-activation: a batch norm after a concatenation cannot fold into a conv; its
	// ReLU runs in the affine map's kernel.
	g, err := spec.Parse([]byte(`name: pre
input: [3, 8, 8]
layers:
  - concat:
      - [conv: {name: a, out: 16, kernel: 1}]
      - [conv: {name: b, out: 16, kernel: 1}]
  - bn: {name: n}
  - relu
  - conv: {name: c, out: 4, kernel: 3}
`), "pre.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ig, err := Inference(g)
	if err != nil {
		t.Fatal(err)
	}
	if n := ig.Node("n"); n == nil || n.Fused == nil || n.Fused.Act != ir.OpReLU {
		t.Fatalf("n: %+v", n)
	}
	if count(ig, ir.OpReLU) != 0 {
		t.Error("unfused relu")
	}
}
