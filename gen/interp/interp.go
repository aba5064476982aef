// Package interp is the reference interpreter of the graph IR: the oracle the generated code is
// tested against. It follows PyTorch's semantics op by op, accumulates and keeps activations in
// float64, and favours plain loops over speed; the only concessions to speed are loop orders whose
// innermost loop walks memory contiguously and running independent (image, channel) planes on
// up to GOMAXPROCS goroutines.
//
// Each op has one home here, as in gen/ir: its evaluator in the file of its family (conv.go,
// pool.go, norm.go, math.go, tensor.go), registered in evals. Elementwise ops whose ir.OpDef has
// a Unary function (activations, clip) need no evaluator of their own: act.go applies OpDef.Unary,
// so an activation added to gen/ir runs here unchanged. Every evaluator recomputes its output
// shape from its inputs and attributes and compares it with what shape inference recorded: an
// oracle that trusted ir.InferNode could not catch its mistakes.
//
// Tensors are flat, batch-major slices: a node of per-image shape [C H W] holds batch*C*H*W values
// laid out [batch][C][H][W].
package interp

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cnngen/cnngen/gen/ir"
)

// Weights gives float32 tensors by state_dict key. runtime.File has this method.
type Weights interface {
	Float32(key string) ([]float32, error)
}

// Run computes the graph's Output node for a batch of inputs. in holds batch images of the input
// node's shape, batch-major; the result is the output node's values, flattened [batch, ...].
// The graph must have been through ir.Graph.Infer. Nodes marked TrainingOnly are skipped and
// their weights are not read. Work the passes fused into a node (ir.Fusion: a folded batch norm,
// a residual add, an activation) is done after the node's own op, so a graph computes the same
// before and after gen/passes.
func Run(g *ir.Graph, w Weights, in []float32, batch int) ([]float32, error) {
	out, _, err := run(g, w, in, batch, false)
	return out, err
}

// RunNodes is Run that also returns every computed node's output in float64, batch-major, keyed
// by node name, for layer-by-layer comparisons. TrainingOnly nodes have no entry. Identity nodes
// (flatten, reshape, dropout) share their input's slice; treat the slices as read-only.
func RunNodes(g *ir.Graph, w Weights, in []float32, batch int) ([]float32, map[string][]float64, error) {
	return run(g, w, in, batch, true)
}

// node is what an evaluator gets: the node, its inputs' values and shapes, and its weights in
// ir.ParamRoles order.
type node struct {
	*ir.Node
	xs    [][]float64
	in    ir.Shape // the first input's shape
	ws    [][]float32
	batch int
}

// x is the first input's values.
func (n *node) x() []float64 { return n.xs[0] }

// evalFunc computes one node's output.
type evalFunc func(n *node) ([]float64, error)

// evals holds each op's evaluator, registered by the file of its family. Elementwise ops with an
// ir.OpDef.Unary are evaluated by unary (act.go) unless registered here.
var evals = map[ir.Op]evalFunc{}

// weightSizes gives, for each op with weights, their element counts in ParamRoles order, derived
// from the op's attributes and its input shape independently of the ir's parameter shapes.
var weightSizes = map[ir.Op]func(n *ir.Node, in ir.Shape) []int{}

// evaluator returns op's evaluator, nil when the interpreter cannot run it.
func evaluator(op ir.Op) evalFunc {
	if f := evals[op]; f != nil {
		return f
	}
	if d := ir.Def(op); d != nil && d.Unary != nil && d.Is(ir.Elementwise) {
		return unary
	}
	return nil
}

// nodeErr is an error about one node.
func nodeErr(n *ir.Node, format string, args ...any) error {
	return fmt.Errorf("interp: %s (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}

func run(g *ir.Graph, w Weights, in []float32, batch int, keep bool) ([]float32, map[string][]float64, error) {
	if g == nil || len(g.Nodes) == 0 || g.Nodes[0].Op != ir.OpInput {
		return nil, nil, fmt.Errorf("interp: graph has no input node")
	}
	if g.Output == nil {
		return nil, nil, fmt.Errorf("interp: graph %q has no output node (run Infer first)", g.Name)
	}
	if g.Output.TrainingOnly {
		return nil, nil, nodeErr(g.Output, "the output node is training-only")
	}
	if batch <= 0 {
		return nil, nil, fmt.Errorf("interp: batch must be positive, got %d", batch)
	}
	input := g.Nodes[0]
	if want := batch * input.Shape.Size(); len(input.Shape) == 0 || len(in) != want {
		return nil, nil, fmt.Errorf("interp: input has %d values, want %d (batch %d x %v)", len(in), want, batch, input.Shape)
	}

	// Check the structure and load every weight before computing anything, so that a bad weights
	// file fails at once rather than after minutes of convolutions.
	index := map[*ir.Node]int{}
	lastUse := map[*ir.Node]int{}
	weights := make([][][]float32, len(g.Nodes))
	fusedBN := make([][][]float32, len(g.Nodes))
	outputFound := false
	for i, n := range g.Nodes {
		if n.TrainingOnly {
			continue
		}
		if err := checkNode(n, i); err != nil {
			return nil, nil, err
		}
		for _, x := range reads(n) {
			if _, ok := index[x]; !ok {
				if x.TrainingOnly {
					return nil, nil, nodeErr(n, "reads training-only node %q", x.Name)
				}
				return nil, nil, nodeErr(n, "input %q is not computed before this node", x.Name)
			}
			lastUse[x] = i
		}
		index[n] = i
		if n == g.Output {
			outputFound = true
		}
		ws, err := loadWeights(n, w)
		if err != nil {
			return nil, nil, err
		}
		weights[i] = ws
		if fusedBN[i], err = loadFusedBN(n, w); err != nil {
			return nil, nil, err
		}
	}
	if !outputFound {
		return nil, nil, fmt.Errorf("interp: output %q is not a node of the graph", g.Output.Name)
	}

	vals := map[*ir.Node][]float64{}
	var all map[string][]float64
	if keep {
		all = map[string][]float64{}
	}
	for i, n := range g.Nodes {
		if n.TrainingOnly {
			continue
		}
		var out []float64
		if i == 0 {
			out = make([]float64, len(in))
			for j, v := range in {
				out[j] = float64(v)
			}
		} else {
			xs := make([][]float64, len(n.Inputs))
			for j, x := range n.Inputs {
				xs[j] = vals[x]
			}
			var err error
			out, err = evaluator(n.Op)(&node{Node: n, xs: xs, in: n.Inputs[0].Shape, ws: weights[i], batch: batch})
			if err != nil {
				return nil, nil, err
			}
			if want := batch * n.Shape.Size(); len(out) != want {
				return nil, nil, nodeErr(n, "computed %d values, want %d (batch %d x %v)", len(out), want, batch, n.Shape)
			}
			if n.Fused != nil {
				if out, err = epilogue(n, out, fusedBN[i], vals, batch); err != nil {
					return nil, nil, err
				}
			}
		}
		vals[n] = out
		weights[i], fusedBN[i] = nil, nil
		if keep {
			all[n.Name] = out
		} else {
			// Drop activations nobody reads any more.
			for _, x := range reads(n) {
				if lastUse[x] == i && x != g.Output {
					delete(vals, x)
				}
			}
		}
	}
	res := vals[g.Output]
	out := make([]float32, len(res))
	for i, v := range res {
		out[i] = float32(v)
	}
	return out, all, nil
}

// reads lists the nodes whose values n reads: its inputs and a fused residual.
func reads(n *ir.Node) []*ir.Node {
	if n.Fused == nil || n.Fused.Residual == nil {
		return n.Inputs
	}
	return append(n.Inputs[:len(n.Inputs):len(n.Inputs)], n.Fused.Residual)
}

// checkNode refuses what the interpreter cannot run before any value is computed: nodes shape
// inference has not seen, ops without an evaluator and attributes of the wrong type (which
// ir.As would panic on).
func checkNode(n *ir.Node, i int) error {
	if len(n.Shape) == 0 {
		return nodeErr(n, "node has no shape (run Infer first)")
	}
	if i == 0 {
		return nil
	}
	if n.Op == ir.OpInput {
		return nodeErr(n, "a graph has one input, the first node")
	}
	d := ir.Def(n.Op)
	if d == nil || evaluator(n.Op) == nil {
		return nodeErr(n, "unsupported op")
	}
	if d.New == nil && n.Attrs != nil || d.New != nil && reflect.TypeOf(n.Attrs) != reflect.TypeOf(d.New()) {
		return nodeErr(n, "attributes of type %T (run Infer first)", n.Attrs)
	}
	if len(n.Inputs) == 0 {
		return nodeErr(n, "has no input")
	}
	if f := n.Fused; f != nil && f.Act != "" {
		ad := ir.Def(f.Act)
		if ad == nil || ad.Unary == nil {
			return nodeErr(n, "fused activation %q is not an elementwise op", f.Act)
		}
		if ad.New == nil && f.ActAttrs != nil || ad.New != nil && reflect.TypeOf(f.ActAttrs) != reflect.TypeOf(ad.New()) {
			return nodeErr(n, "fused %s has attributes of type %T", f.Act, f.ActAttrs)
		}
	}
	return nil
}

// loadWeights reads a node's weight tensors in ir.ParamRoles order and checks their sizes, both
// against the ir's parameter shapes and against what the op needs.
func loadWeights(n *ir.Node, w Weights) ([][]float32, error) {
	roles := ir.ParamRoles(n)
	if len(n.Params) != len(roles) {
		return nil, nodeErr(n, "has %d weight tensors, want %d (%v)", len(n.Params), len(roles), roles)
	}
	if len(roles) == 0 {
		return nil, nil
	}
	sizes := weightSizes[n.Op]
	if sizes == nil || len(n.Inputs) == 0 || len(n.Inputs[0].Shape) == 0 {
		return nil, nodeErr(n, "has weights %v, but the interpreter knows no sizes for them", roles)
	}
	return readTensors(n, w, n.Params, sizes(n, n.Inputs[0].Shape))
}

// readTensors reads params, which must hold need[i] values each.
func readTensors(n *ir.Node, w Weights, params []ir.Param, need []int) ([][]float32, error) {
	if len(need) != len(params) {
		return nil, nodeErr(n, "has %d weight tensors, the op needs %d", len(params), len(need))
	}
	ws := make([][]float32, len(params))
	for i, p := range params {
		if p.Shape.Size() != need[i] || len(p.Shape) == 0 {
			return nil, nodeErr(n, "weight %q has shape %v in the graph, but the op needs %d values", p.Key, p.Shape, need[i])
		}
		if w == nil {
			return nil, nodeErr(n, "weight %q: no weights given", p.Key)
		}
		v, err := w.Float32(p.Key)
		if err != nil {
			return nil, fmt.Errorf("interp: %s: weight %q: %w", n.Name, p.Key, err)
		}
		if len(v) != need[i] {
			return nil, fmt.Errorf("interp: %s: weight %q has %d values, want %d (shape %v)", n.Name, p.Key, len(v), need[i], p.Shape)
		}
		ws[i] = v
	}
	return ws, nil
}

// checkShape compares the shape the interpreter computes with the one shape inference recorded.
func checkShape(n *ir.Node, want ir.Shape) error {
	if !n.Shape.Equal(want) {
		return nodeErr(n, "shape inference says %v, the interpreter computes %v", n.Shape, want)
	}
	return nil
}

// needCHW refuses inputs that are not feature maps [C H W].
func needCHW(n *node) error {
	if len(n.in) != 3 {
		return nodeErr(n.Node, "needs a [C H W] input, got %v", n.in)
	}
	return nil
}

// parallelFor calls body(0..n-1), spread over up to GOMAXPROCS goroutines. Calls with different
// i must write disjoint memory.
func parallelFor(n int, body func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			body(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				body(i)
			}
		})
	}
	wg.Wait()
}
