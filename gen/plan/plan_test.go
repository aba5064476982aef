package plan

import (
	"testing"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/frontend"
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
