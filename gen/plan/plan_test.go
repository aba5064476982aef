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
		if float64(p.Arena) > 1.05*float64(p.MaxLive) {
			t.Errorf("%s: arena %d is more than 5%% above the live maximum %d", arch, p.Arena, p.MaxLive)
		}
	}
}

func mb(n int) float64 { return float64(4*n) / 1e6 }
