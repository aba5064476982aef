package interp

import (
	"fmt"
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// The float64 reference of training: a forward pass in training mode that keeps every activation,
// the backward pass of every op the built-in specs use, and the loss. It is the oracle generated
// training code will be tested against, as Run is for inference, and it is itself tested against
// torch autograd (internal/goldens/grad, made by tools/make_grad_goldens.py) and against finite
// differences.
//
// Training mode differs from Run in three ops: batch norm normalizes with the batch's statistics
// and updates its running ones; dropout drops by a seeded mask (DropoutKeep); training-only heads
// (GoogLeNet's aux1, aux2) run and add their weighted loss. Everything else computes what Run
// computes, by the same evaluators where the op has no weights.
//
// Graphs are trained as front ends build them: nodes the inference passes rewrote (ir.Fusion) are
// refused, since a folded batch norm has no batch statistics.
//
// What generated training code is held to, op by op (each rule checked against torch 1.13):
//   - loss: per image -(1-eps)*log p[label] - eps/K * sum_k log p[k], the mean over the batch;
//     aux heads add AuxWeight times theirs; a final softmax is skipped (the loss takes logits);
//   - batch norm: normalized by the batch mean and biased variance over batch*H*W values; running
//     mean and variance become (1-m)*running + m*(mean, unbiased variance), m = 0.1 by default;
//   - dropout: DropoutKeep's seeded mask, kept values times 1/(1-p);
//   - kinks: backward_act.go (torch's choices: relu 0 at 0, relu6 0 at 0 and 6, clip 1 at its
//     bounds, hardswish 1 at 3); maxima send the gradient to the first maximum of the window in
//     row-major order (backward_pool.go);
//   - every trainable weight of a node run has a gradient, zeros when the loss does not reach it;
//   - the optimizer (train_sgd.go): clip_grad_norm_ then torch.optim.SGD, both as torch computes.

// TrainOptions are the hyper-parameters a training step's gradients depend on. The zero value is
// torch's defaults without auxiliary heads.
type TrainOptions struct {
	// LabelSmoothing is nn.CrossEntropyLoss's label_smoothing, in [0, 1].
	LabelSmoothing float64
	// AuxWeight weighs the loss of each training-only head (a training-only node no node reads):
	// the loss is the output's plus AuxWeight times each head's (GoogLeNet: 0.3, the weight of
	// Szegedy et al.'s auxiliary classifiers). 0 leaves the heads out: they are not run, so their
	// weights get no gradient and their batch norms keep their running statistics.
	AuxWeight float64
	// BNMomentum is nn.BatchNorm2d's momentum: running = (1-m)*running + m*batch statistic. 0
	// means torch's default, 0.1.
	BNMomentum float64
	// DropoutSeed selects the dropout masks (DropoutKeep); a training loop passes its step.
	DropoutSeed uint64
	// Keep fills TrainResult.Values and NodeGrads, for layer-by-layer comparisons.
	Keep bool
}

func (o TrainOptions) momentum() float64 {
	if o.BNMomentum == 0 {
		return 0.1
	}
	return o.BNMomentum
}

// TrainResult is what one forward and backward pass computes.
type TrainResult struct {
	// Loss is the total loss: the output's mean cross-entropy plus AuxWeight times each auxiliary
	// head's (Train), or the sum of the output times the upstream gradient (Backward).
	Loss float64
	// Head is the node the main loss reads: the output, or the logits a final softmax reads.
	Head string
	// HeadLoss is each head's own loss, unweighted, by the name of the node that outputs it.
	HeadLoss map[string]float64
	// Outputs are each head's values (the logits the loss reads), [batch, classes], by node name.
	Outputs map[string][]float64
	// Grads holds dLoss/dw for every trainable weight of the nodes run (zeros where a weight does
	// not reach the loss), by state_dict key, shaped as the weight.
	Grads map[string][]float64
	// InputGrad is dLoss/dinput, [batch, input shape].
	InputGrad []float64
	// Running holds the running_mean and running_var of every batch norm run, after the step's
	// update, by key.
	Running map[string][]float64
	// With TrainOptions.Keep, Values holds every node's output in training mode and NodeGrads
	// dLoss/d(that output), by node name, batch-major (nil without). Views (flatten, reshape)
	// share their input's values; treat the slices as read-only.
	Values, NodeGrads map[string][]float64
}

// Params are float64 weight tensors by state_dict key: a Weights file's values widened
// (LoadParams), or values a test perturbs.
type Params map[string][]float64

// LoadParams reads every weight tensor of g, training-only heads included, as float64.
func LoadParams(g *ir.Graph, w Weights) (Params, error) {
	if w == nil {
		return nil, fmt.Errorf("interp: no weights given")
	}
	p := Params{}
	for _, r := range g.AllParams() {
		v, err := w.Float32(r.Key)
		if err != nil {
			return nil, fmt.Errorf("interp: %s: weight %q: %w", r.Node.Name, r.Key, err)
		}
		if len(v) != r.Shape.Size() {
			return nil, fmt.Errorf("interp: %s: weight %q has %d values, want %d (shape %v)", r.Node.Name, r.Key, len(v), r.Shape.Size(), r.Shape)
		}
		f := make([]float64, len(v))
		for i, x := range v {
			f[i] = float64(x)
		}
		p[r.Key] = f
	}
	return p, nil
}

// Train runs one training step's forward and backward pass over a batch of len(labels) images:
// in holds them batch-major in the input node's shape, labels their classes. The loss is the mean
// cross-entropy of the output over the batch, as nn.CrossEntropyLoss(label_smoothing) computes
// it, plus the auxiliary heads' (TrainOptions.AuxWeight).
func Train(g *ir.Graph, w Weights, in []float32, labels []int, opts TrainOptions) (*TrainResult, error) {
	p, err := LoadParams(g, w)
	if err != nil {
		return nil, err
	}
	x := make([]float64, len(in))
	for i, v := range in {
		x[i] = float64(v)
	}
	return TrainParams(g, p, x, labels, opts)
}

// TrainParams is Train with float64 weights and input.
func TrainParams(g *ir.Graph, p Params, in []float64, labels []int, opts TrainOptions) (*TrainResult, error) {
	if !(opts.LabelSmoothing >= 0 && opts.LabelSmoothing <= 1) {
		return nil, fmt.Errorf("interp: label smoothing %g is not in [0, 1]", opts.LabelSmoothing)
	}
	if math.IsNaN(opts.AuxWeight) || math.IsInf(opts.AuxWeight, 0) {
		return nil, fmt.Errorf("interp: aux weight %g is not finite", opts.AuxWeight)
	}
	t, err := newTrainer(g, p, in, len(labels), opts, true)
	if err != nil {
		return nil, err
	}
	if err := t.forward(); err != nil {
		return nil, err
	}
	for _, h := range t.heads {
		weight := 1.0
		if h.TrainingOnly {
			weight = opts.AuxWeight
		}
		loss, err := t.crossEntropy(h, labels, weight)
		if err != nil {
			return nil, err
		}
		t.res.HeadLoss[h.Name] = loss
		t.res.Loss += weight * loss
	}
	return t.backward()
}

// Backward runs the forward pass in training mode and back-propagates upstream, the gradient of
// the loss with respect to the output node's values ([batch, output shape]): the loss is
// sum(output * upstream). Training-only heads are not run. It is the per-op entry point of the
// tests: any op's gradients, for any upstream gradient.
func Backward(g *ir.Graph, p Params, in []float64, batch int, upstream []float64, opts TrainOptions) (*TrainResult, error) {
	t, err := newTrainer(g, p, in, batch, opts, false)
	if err != nil {
		return nil, err
	}
	if err := t.forward(); err != nil {
		return nil, err
	}
	out := t.vals[g.Output]
	if len(upstream) != len(out) {
		return nil, fmt.Errorf("interp: upstream gradient has %d values, want %d (batch %d x %v)", len(upstream), len(out), batch, g.Output.Shape)
	}
	for i, v := range out {
		t.res.Loss += v * upstream[i]
	}
	t.res.HeadLoss[g.Output.Name] = t.res.Loss
	copy(t.grad(g.Output), upstream)
	return t.backward()
}

// trainer holds one step's state: the values of every node run and what their backward needs.
type trainer struct {
	g     *ir.Graph
	p     Params
	in    []float64
	batch int
	opts  TrainOptions
	order []*ir.Node // the nodes run, in graph order; order[0] is the input
	heads []*ir.Node // the nodes the loss reads: the output (or what a final softmax reads), then aux heads
	vals  map[*ir.Node][]float64
	saved map[*ir.Node]any // per-node state of the forward pass its backward needs (batch norm statistics, dropout masks)
	grads map[*ir.Node][]float64
	res   *TrainResult
}

func newTrainer(g *ir.Graph, p Params, in []float64, batch int, opts TrainOptions, loss bool) (*trainer, error) {
	if g == nil || len(g.Nodes) == 0 || g.Nodes[0].Op != ir.OpInput {
		return nil, fmt.Errorf("interp: graph has no input node")
	}
	if g.Output == nil {
		return nil, fmt.Errorf("interp: graph %q has no output node (run Infer first)", g.Name)
	}
	if batch <= 0 {
		return nil, fmt.Errorf("interp: batch must be positive, got %d", batch)
	}
	if want := batch * g.Nodes[0].Shape.Size(); len(g.Nodes[0].Shape) == 0 || len(in) != want {
		return nil, fmt.Errorf("interp: input has %d values, want %d (batch %d x %v)", len(in), want, batch, g.Nodes[0].Shape)
	}
	if m := opts.momentum(); !(m >= 0 && m <= 1) {
		return nil, fmt.Errorf("interp: batch norm momentum %g is not in [0, 1]", m)
	}
	t := &trainer{
		g: g, p: p, in: in, batch: batch, opts: opts,
		vals:  map[*ir.Node][]float64{},
		saved: map[*ir.Node]any{},
		grads: map[*ir.Node][]float64{},
		res: &TrainResult{
			HeadLoss: map[string]float64{},
			Outputs:  map[string][]float64{},
			Grads:    map[string][]float64{},
			Running:  map[string][]float64{},
		},
	}
	if loss {
		if err := t.findHeads(); err != nil {
			return nil, err
		}
	} else {
		t.heads = []*ir.Node{g.Output}
	}
	// Run what the heads read, nothing else: a final softmax the loss replaces, or an aux head
	// left out, is not computed.
	need := map[*ir.Node]bool{}
	for _, h := range t.heads {
		need[h] = true
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if n := g.Nodes[i]; need[n] {
			for _, x := range n.Inputs {
				need[x] = true
			}
		}
	}
	for i, n := range g.Nodes {
		if !need[n] && i != 0 {
			continue
		}
		if err := t.check(n, i); err != nil {
			return nil, err
		}
		t.order = append(t.order, n)
	}
	return t, nil
}

// findHeads sets the loss heads: the output, seen through a final softmax or log-softmax (the
// cross-entropy takes logits), then, with an AuxWeight, every training-only node nothing reads.
func (t *trainer) findHeads() error {
	main := t.g.Output
	for main.Op == ir.OpSoftmax || main.Op == ir.OpLogSoftmax {
		main = main.Inputs[0]
	}
	t.heads = []*ir.Node{main}
	if t.opts.AuxWeight != 0 {
		read := map[*ir.Node]bool{}
		for _, n := range t.g.Nodes {
			for _, x := range n.Inputs {
				read[x] = true
			}
		}
		for _, n := range t.g.Nodes {
			if n.TrainingOnly && !read[n] {
				t.heads = append(t.heads, n)
			}
		}
	}
	for _, h := range t.heads {
		if len(h.Shape) != 1 || !h.Shape.Equal(main.Shape) {
			return nodeErr(h, "a loss head must output [classes] logits like %q %v, got %v", main.Name, main.Shape, h.Shape)
		}
	}
	return nil
}

// check refuses, before anything is computed, what the trainer cannot run or differentiate.
func (t *trainer) check(n *ir.Node, i int) error {
	if len(n.Shape) == 0 {
		return nodeErr(n, "node has no shape (run Infer first)")
	}
	if i == 0 {
		return nil
	}
	if n.Fused != nil {
		return nodeErr(n, "has work fused by the inference passes: train the graph as the front end built it")
	}
	if err := checkNode(n, i); err != nil {
		return err
	}
	if backwards[n.Op] == nil && derivative(n.Op, n.Attrs) == nil {
		return nodeErr(n, "the training reference has no backward for %s", n.Op)
	}
	roles := ir.ParamRoles(n)
	if len(roles) == 0 {
		return nil
	}
	if len(n.Params) != len(roles) {
		return nodeErr(n, "has %d weight tensors, want %d (%v)", len(n.Params), len(roles), roles)
	}
	sizes := weightSizes[n.Op]
	if sizes == nil || trainEvals[n.Op] == nil {
		return nodeErr(n, "the training reference cannot run %s's weights", n.Op)
	}
	for j, need := range sizes(n, n.Inputs[0].Shape) {
		key := n.Params[j].Key
		v, ok := t.p[key]
		if !ok {
			return nodeErr(n, "no weight %q", key)
		}
		if len(v) != need {
			return nodeErr(n, "weight %q has %d values, the op needs %d", key, len(v), need)
		}
	}
	return nil
}

// fctx is what a training-mode forward evaluator gets.
type fctx struct {
	*ir.Node
	t     *trainer
	xs    [][]float64
	in    ir.Shape
	ws    [][]float64 // weights in ir.ParamRoles order
	batch int
}

func (c *fctx) x() []float64 { return c.xs[0] }

// trainEvals are the forward evaluators of the ops whose training mode differs from Run's, or
// whose weights must be float64 (so that tests may perturb them): they return the output and
// what their backward needs.
var trainEvals = map[ir.Op]func(c *fctx) ([]float64, any, error){}

func (t *trainer) weights(n *ir.Node) [][]float64 {
	var ws [][]float64
	for _, p := range n.Params {
		ws = append(ws, t.p[p.Key])
	}
	return ws
}

func (t *trainer) forward() error {
	for i, n := range t.order {
		if i == 0 {
			t.vals[n] = t.in
			continue
		}
		xs := make([][]float64, len(n.Inputs))
		for j, x := range n.Inputs {
			xs[j] = t.vals[x]
		}
		var out []float64
		var err error
		if f := trainEvals[n.Op]; f != nil {
			var s any
			out, s, err = f(&fctx{Node: n, t: t, xs: xs, in: n.Inputs[0].Shape, ws: t.weights(n), batch: t.batch})
			t.saved[n] = s
		} else {
			out, err = evaluator(n.Op)(&node{Node: n, xs: xs, in: n.Inputs[0].Shape, batch: t.batch})
		}
		if err != nil {
			return err
		}
		if want := t.batch * n.Shape.Size(); len(out) != want {
			return nodeErr(n, "computed %d values, want %d (batch %d x %v)", len(out), want, t.batch, n.Shape)
		}
		t.vals[n] = out
	}
	for _, h := range t.heads {
		t.res.Outputs[h.Name] = t.vals[h]
	}
	t.res.Head = t.heads[0].Name
	return nil
}

// crossEntropy adds weight * dLoss/dlogits of head h to its gradient and returns its loss: the
// mean over the batch of -(1-eps)*log p[label] - eps/K * sum_k log p[k], p the softmax of the
// logits, nn.CrossEntropyLoss(label_smoothing=eps, reduction="mean") with class-index targets.
func (t *trainer) crossEntropy(h *ir.Node, labels []int, weight float64) (float64, error) {
	z, k, eps := t.vals[h], h.Shape[0], t.opts.LabelSmoothing
	dz := t.grad(h)
	total := 0.0
	for b, y := range labels {
		if y < 0 || y >= k {
			return 0, fmt.Errorf("interp: label %d of image %d is not a class of %q's %d", y, b, h.Name, k)
		}
		row, drow := z[b*k:(b+1)*k], dz[b*k:(b+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - m)
		}
		lse := m + math.Log(sum)
		sumLogP := 0.0
		for _, v := range row {
			sumLogP += v - lse
		}
		total += -(1-eps)*(row[y]-lse) - eps/float64(k)*sumLogP
		// d/dz_j of the image's loss is p_j - (1-eps)*[j == y] - eps/K; the mean divides by B.
		s := weight / float64(len(labels))
		for j, v := range row {
			target := eps / float64(k)
			if j == y {
				target += 1 - eps
			}
			drow[j] += s * (math.Exp(v-lse) - target)
		}
	}
	return total / float64(len(labels)), nil
}

// grad returns n's gradient buffer, made (zero) on first use.
func (t *trainer) grad(n *ir.Node) []float64 {
	d := t.grads[n]
	if d == nil {
		d = make([]float64, t.batch*n.Shape.Size())
		t.grads[n] = d
	}
	return d
}

// bctx is what a backward function gets: a node's inputs and output values, the gradient dy of
// the loss with respect to its output, and buffers to add its inputs' and weights' gradients to.
type bctx struct {
	*ir.Node
	xs    [][]float64
	in    ir.Shape
	y, dy []float64
	dxs   [][]float64 // the inputs' gradients, in Inputs order (an input read twice appears twice)
	ws    [][]float64 // weights, in ir.ParamRoles order
	dws   [][]float64 // their gradients; nil for buffers (running statistics)
	saved any
	batch int
}

func (c *bctx) x() []float64  { return c.xs[0] }
func (c *bctx) dx() []float64 { return c.dxs[0] }

// backwards are the backward functions by op; elementwise ops with a derivative (act.go's Unary
// ops, backward_act.go) need none.
var backwards = map[ir.Op]func(c *bctx) error{}

func (t *trainer) backward() (*TrainResult, error) {
	// Every trainable weight of a node run has a gradient, zero unless the loss reaches it.
	for _, n := range t.order {
		for _, p := range n.Params {
			if !p.Buffer {
				t.res.Grads[p.Key] = make([]float64, len(t.p[p.Key]))
			}
		}
	}
	for i := len(t.order) - 1; i > 0; i-- {
		n := t.order[i]
		dy := t.grads[n]
		if dy == nil {
			continue // nothing the loss reads depends on n
		}
		c := &bctx{Node: n, in: n.Inputs[0].Shape, y: t.vals[n], dy: dy, saved: t.saved[n], batch: t.batch}
		for _, x := range n.Inputs {
			c.xs = append(c.xs, t.vals[x])
			c.dxs = append(c.dxs, t.grad(x))
		}
		c.ws = t.weights(n)
		for _, p := range n.Params {
			c.dws = append(c.dws, t.res.Grads[p.Key]) // nil for buffers
		}
		f := backwards[n.Op]
		if f == nil {
			f = unaryBackward
		}
		if err := f(c); err != nil {
			return nil, err
		}
		if !t.opts.Keep {
			delete(t.grads, n) // done: free it
		}
	}
	t.res.InputGrad = t.grad(t.order[0])
	if t.opts.Keep {
		t.res.Values, t.res.NodeGrads = map[string][]float64{}, map[string][]float64{}
		for _, n := range t.order {
			t.res.Values[n.Name] = t.vals[n]
			t.res.NodeGrads[n.Name] = t.grad(n)
		}
	}
	return t.res, nil
}
