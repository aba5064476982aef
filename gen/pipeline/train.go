package pipeline

import (
	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/passes"
	"github.com/cnngen/cnngen/gen/plan"
)

// PlannedTrain is a front end's graph ready for the training emitter.
type PlannedTrain struct {
	Graph *ir.Graph // after the training passes
	Heads []*ir.Node
	Plan  *plan.TrainPlan
}

// PlanTrain runs the training passes and plans the arena of batches of batch images. With
// upstream, the graph is planned for a backward pass from a gradient of its output
// (emit.TrainOptions.Upstream); with inputGrad, the input has a gradient.
func PlanTrain(g *ir.Graph, batch int, upstream, inputGrad bool) (*PlannedTrain, error) {
	tg, err := passes.Training(g)
	if upstream {
		tg, err = passes.TrainingUpstream(g)
	}
	if err != nil {
		return nil, err
	}
	heads := []*ir.Node{tg.Output}
	if !upstream {
		if heads, err = passes.Heads(tg); err != nil {
			return nil, err
		}
	}
	p, err := plan.MakeTrain(tg, heads, batch, inputGrad)
	if err != nil {
		return nil, err
	}
	return &PlannedTrain{Graph: tg, Heads: heads, Plan: p}, nil
}

// GenerateTrain plans g for training and emits its training package.
func GenerateTrain(g *ir.Graph, o emit.TrainOptions) (*emit.Result, error) {
	if err := emit.CheckPackage(o.Package); err != nil {
		return nil, err
	}
	p, err := PlanTrain(g, o.Batch, o.Upstream, o.InputGrad)
	if err != nil {
		return nil, err
	}
	return emit.GenerateTrain(p.Graph, p.Heads, p.Plan, o)
}
