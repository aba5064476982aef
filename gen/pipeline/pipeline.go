// Package pipeline composes the generator's stages, as docs/architecture.md draws them: a front
// end's graph goes through the inference passes (gen/passes), the memory planner (gen/plan) and
// the emitter (gen/emit). The CLI, -summary and the tests all go through here, so each stage is
// run in one place and in one order.
package pipeline

import (
	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/passes"
	"github.com/cnngen/cnngen/gen/plan"
)

// Planned is a front end's graph ready for emission.
type Planned struct {
	Graph     *ir.Graph  // the front end's graph: every weight tensor, training-only heads included
	Inference *ir.Graph  // after the inference passes
	Plan      *plan.Plan // the inference graph's arena
}

// Plan runs the inference passes and the memory planner on g, which it does not modify, with
// every feature map in NCHW.
func Plan(g *ir.Graph) (*Planned, error) { return PlanLayout(g, ir.NCHW) }

// PlanLayout is Plan with the feature maps of the ops that can run it in layout l.
func PlanLayout(g *ir.Graph, l ir.Layout) (*Planned, error) {
	ig, err := passes.InferenceLayout(g, l)
	if err != nil {
		return nil, err
	}
	p, err := plan.Make(ig)
	if err != nil {
		return nil, err
	}
	return &Planned{Graph: g, Inference: ig, Plan: p}, nil
}

// Generate plans g and emits its package.
func Generate(g *ir.Graph, o emit.Options) (*emit.Result, error) {
	if err := emit.CheckPackage(o.Package); err != nil {
		return nil, err
	}
	p, err := PlanLayout(g, o.Layout)
	if err != nil {
		return nil, err
	}
	return emit.Generate(p.Graph, p.Inference, p.Plan, o)
}
