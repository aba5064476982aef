package emit_test

import (
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime/kernels"
)

// TestBlockedGroupsAgree checks that the layout pass blocks exactly the grouped convolutions the
// blocked kernels take: ir cannot import the kernels, so the rule is written twice.
func TestBlockedGroupsAgree(t *testing.T) {
	for inC := 1; inC <= 80; inC++ {
		for outC := 1; outC <= 80; outC++ {
			for groups := 1; groups <= min(inC, outC); groups++ {
				if got, want := ir.BlockedConvGroups(inC, outC, groups), kernels.BlockedGroups(inC, outC, groups); got != want {
					t.Fatalf("in %d out %d groups %d: ir %v, kernels %v", inC, outC, groups, got, want)
				}
			}
		}
	}
}
