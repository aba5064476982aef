package onnx

import (
	"fmt"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// Problem is one thing the front end cannot import: a node (its name, or its first output's
// name when the node has none, and its op type) or the graph itself (Node and Op empty).
type Problem struct {
	Node string
	Op   string
	Why  string
}

func (p Problem) String() string {
	if p.Node == "" && p.Op == "" {
		return p.Why
	}
	return fmt.Sprintf("node %q (%s): %s", p.Node, p.Op, p.Why)
}

// Error lists every problem found in one pass over a model, in graph order.
type Error struct {
	Source   string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source + ": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString("cannot import: " + e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "cannot import (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t" + p.String())
	}
	return b.String()
}

// value is what an ONNX tensor name is bound to while lowering: a constant or the IR node
// computing it. A name with no value failed upstream.
type value struct {
	c *tensor
	n *ir.Node
	// perm is the permutation a computed value reads n through: its ONNX dim i is dim perm[i]
	// of n's tensor, the batch being dim 0 (nil: n as it is); flat is n reshaped to the value's
	// dims, made once for the readers that need them (layout.go).
	perm []int
	flat *ir.Node
	// pend is a step of a decomposed LayerNorm, neither a constant nor an IR node
	// (lower_layernorm.go).
	pend *pendingNorm
}

type lowerer struct {
	m        *Model
	opset    int64
	calls    []*call // live nodes in topological order
	vals     map[string]*value
	uses     map[string]int // consumers of each (resolved) value among live nodes, +1 for the output
	output   string         // the resolved graph output
	input    *ir.Node
	inName   string
	batch    int // the input's static batch size, 0 when dynamic
	problems []Problem
	folded   int   // elements computed by constant folding so far (see foldBudget)
	tooBig   error // the node limit, once the graph exceeds it

	nodes []*ir.Node
	pdata map[*ir.Node][]*tensor // weight data per node, in Params order
	norms map[*ir.Node]*normInfo // the layernorm nodes (lower_layernorm.go)
	refs  map[*ir.Node]int       // uses of all values bound to a node
	base  map[*ir.Node]string    // IR name before deduplication
}

// graphProblem records a problem of the graph as a whole.
func (l *lowerer) graphProblem(format string, args ...any) {
	l.problems = append(l.problems, Problem{Why: fmt.Sprintf(format, args...)})
}

func (l *lowerer) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	return &Error{Source: l.m.Source, Problems: l.problems}
}

// bind makes an ONNX value name stand for an IR node's output.
func (l *lowerer) bind(name string, n *ir.Node) {
	l.vals[name] = &value{n: n}
	l.refs[n] += l.uses[name]
}

// Graph folds constants, removes Identity, Dropout and dead nodes, and lowers the model to an
// ir.Graph called name whose shapes have been inferred. The weights map holds, for every Param
// key of the graph, its float32 data shaped as the Param: initializer names are kept as keys
// (an initializer a second node reads again, as PyTorch's exporter shares equal tensors, gets a
// key of its own, the IR node name and role, e.g. "features.2.Conv.bias"). Problems
// are reported all at once as an *Error.
func (m *Model) Graph(name string) (*ir.Graph, map[string]Tensor, error) {
	l := &lowerer{
		m: m, opset: m.Opset, vals: map[string]*value{}, uses: map[string]int{},
		pdata: map[*ir.Node][]*tensor{}, refs: map[*ir.Node]int{}, base: map[*ir.Node]string{}, norms: map[*ir.Node]*normInfo{},
	}
	if err := l.prepare(); err != nil {
		return nil, nil, err
	}
	for _, c := range l.calls {
		l.lower(c)
		if l.tooBig != nil {
			return nil, nil, l.sourced(l.tooBig)
		}
	}
	if err := l.err(); err != nil {
		return nil, nil, err
	}
	return l.finish(name)
}

// limits are the Model's, or ir's defaults.
func (l *lowerer) limits() ir.Limits {
	if l.m.Limits != nil {
		return *l.m.Limits
	}
	return ir.DefaultLimits
}

// sourced prefixes err with the model's file, keeping err for errors.As (an *ir.LimitError
// says which flag raises the limit).
func (l *lowerer) sourced(err error) error {
	if l.m.Source == "" {
		return err
	}
	return fmt.Errorf("%s: %w", l.m.Source, err)
}

// prepare checks the opset, the input and the output, resolves Identity and Dropout, and
// orders the live nodes.
func (l *lowerer) prepare() error {
	g := l.m.graph
	if l.opset < MinOpset || l.opset > MaxOpset {
		if l.opset == 0 {
			l.graphProblem("the model imports no ai.onnx operator set")
		} else {
			l.graphProblem("ai.onnx opset %d is not supported (supported: %d to %d)", l.opset, MinOpset, MaxOpset)
		}
	}
	if n := len(g.GetOutput()); n != 1 {
		l.graphProblem("the graph has %d outputs; a network has exactly one", n)
	}
	l.makeInput()
	if err := l.err(); err != nil {
		return err
	}

	// Identity and Dropout pass their input through (Dropout is the identity at inference).
	alias := map[string]string{}
	produced := map[string]bool{}
	var all, dropouts []*call
	consts := map[string]*onnxpb.NodeProto{}
	for i, pb := range g.GetNode() {
		c := &call{l: l, pb: pb, op: pb.GetOpType(), out: pb.GetOutput(), attrs: map[string]*onnxpb.AttributeProto{}}
		c.label = pb.GetName()
		if c.label == "" {
			if len(c.out) > 0 && c.out[0] != "" {
				c.label = c.out[0]
			} else {
				c.label = fmt.Sprintf("#%d", i)
			}
		}
		c.base = sanitize(c.label)
		for _, a := range pb.GetAttribute() {
			c.attrs[a.GetName()] = a
		}
		for _, o := range c.out {
			if o == "" {
				continue
			}
			if produced[o] || l.m.inits[o] != nil || o == l.inName {
				l.problems = append(l.problems, Problem{c.label, c.op, fmt.Sprintf("output %q is defined more than once", o)})
			}
			produced[o] = true
		}
		onnxDomain := pb.GetDomain() == "" || pb.GetDomain() == "ai.onnx"
		if onnxDomain && (c.op == "Identity" || c.op == "Dropout") && len(pb.GetInput()) > 0 && len(c.out) > 0 && c.out[0] != "" {
			alias[c.out[0]] = pb.GetInput()[0]
			dropouts = append(dropouts, c)
		}
		if onnxDomain && c.op == "Constant" && len(c.out) == 1 {
			consts[c.out[0]] = pb
		}
		all = append(all, c)
	}
	for _, c := range dropouts { // after the loop: a Constant may follow its reader in the file
		if why := l.trainingDropout(c.pb, consts); why != "" {
			l.problems = append(l.problems, Problem{c.label, c.op, why})
		}
	}
	if err := l.err(); err != nil {
		return err
	}
	resolve := resolver(alias)
	producer := map[string]int{}
	for i, c := range all {
		c.read = c.pb.GetInput()
		c.in = make([]string, len(c.read))
		for k, s := range c.read {
			if s != "" {
				c.in[k] = resolve(s)
			}
		}
		for _, o := range c.out {
			if o != "" {
				if _, aliased := alias[o]; !aliased || o != c.out[0] {
					producer[o] = i
				}
			}
		}
	}
	out := resolve(g.GetOutput()[0].GetName())
	l.output = out

	// Live nodes are those the output depends on; an iterative depth-first search orders them
	// so that each follows its producers (the file's order when it is already topological).
	const (
		unseen = iota
		open
		done
	)
	state := make([]int, len(all))
	otherInputs := map[string]bool{}
	for _, in := range g.GetInput() {
		if in.GetName() != l.inName && l.m.inits[in.GetName()] == nil {
			otherInputs[in.GetName()] = true
		}
	}
	defined := func(s string) bool { return s == l.inName || l.m.inits[s] != nil }
	var order []*call
	visit := func(root int) {
		type frame struct{ i, k int }
		stack := []frame{{root, 0}}
		state[root] = open
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			c := all[f.i]
			if f.k < len(c.in) {
				s := c.in[f.k]
				f.k++
				if s == "" || defined(s) {
					continue
				}
				p, ok := producer[s]
				switch {
				case !ok && otherInputs[s]:
					l.problems = append(l.problems, Problem{c.label, c.op, fmt.Sprintf("reads the graph input %q; a network has exactly one input (%q)", s, l.inName)})
				case !ok:
					l.problems = append(l.problems, Problem{c.label, c.op, fmt.Sprintf("input %q is not produced by any node, initializer or graph input", s)})
				case state[p] == open:
					l.problems = append(l.problems, Problem{c.label, c.op, fmt.Sprintf("input %q depends on this node's own output (a cycle)", s)})
				case state[p] == unseen:
					state[p] = open
					stack = append(stack, frame{p, 0})
				}
				continue
			}
			state[f.i] = done
			order = append(order, c)
			stack = stack[:len(stack)-1]
		}
	}
	if !defined(out) {
		p, ok := producer[out]
		if !ok {
			l.graphProblem("the graph output %q is not produced by any node", out)
			return l.err()
		}
		// Visit in file order the live nodes, found first by a search from the output.
		live := make([]bool, len(all))
		stack := []int{p}
		live[p] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, s := range all[i].in {
				if q, ok := producer[s]; ok && s != "" && !defined(s) && !live[q] {
					live[q] = true
					stack = append(stack, q)
				}
			}
		}
		for i := range all {
			if live[i] && state[i] == unseen {
				visit(i)
			}
		}
	}
	if err := l.err(); err != nil {
		return err
	}
	l.calls = order
	for _, c := range order {
		for _, s := range c.in {
			if s != "" {
				l.uses[s]++
			}
		}
	}
	l.uses[out]++
	l.refs[l.input] = 0
	l.bind(l.inName, l.input)
	for name, t := range l.m.inits {
		l.vals[name] = &value{c: t}
	}
	return nil
}

// makeInput builds the input node from the first graph input that is not an initializer.
func (l *lowerer) makeInput() {
	var vi *onnxpb.ValueInfoProto
	for _, in := range l.m.graph.GetInput() {
		if l.m.inits[in.GetName()] == nil {
			vi = in
			break
		}
	}
	if vi == nil {
		l.graphProblem("the graph has no input besides its initializers")
		return
	}
	l.inName = vi.GetName()
	if l.inName == "" {
		l.graphProblem("the graph input has no name")
		return
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		l.graphProblem("input %q is not a tensor", l.inName)
		return
	}
	if tt.GetElemType() != tFloat {
		l.graphProblem("input %q is %s; cnngen networks take FLOAT input", l.inName, typeName(tt.GetElemType()))
		return
	}
	dims := tt.GetShape().GetDim()
	if tt.GetShape() == nil || len(dims) < 2 {
		l.graphProblem("input %q has no static shape of rank 2 or more (batch first); got %d dims", l.inName, len(dims))
		return
	}
	if d := dims[0]; d.GetDimParam() == "" {
		if v := d.GetDimValue(); v > 0 && v <= maxAttr {
			l.batch = int(v)
		}
	}
	want := l.m.InputShape
	if want != nil && len(want) != len(dims)-1 {
		l.graphProblem("input %q has %d dimensions after the batch; the input shape given has %d (%v)", l.inName, len(dims)-1, len(want), want)
		return
	}
	shape := ir.Shape{}
	size := int64(1)
	for k, d := range dims[1:] {
		dv := int64(-1) // dynamic
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			dv = v.DimValue
		}
		switch {
		case want != nil && dv >= 0 && dv != int64(want[k]):
			l.graphProblem("input %q: dimension %d is %d in the model; the input shape given says %d", l.inName, k+1, dv, want[k])
			return
		case want != nil:
			dv = int64(want[k])
		case dv < 0:
			l.graphProblem("input %q: dimension %d is dynamic (%q): give one image's size (cnngen -input-shape C,H,W); only the batch, dimension 0, may stay dynamic", l.inName, k+1, d.GetDimParam())
			return
		}
		if dv <= 0 || dv > maxAttr {
			l.graphProblem("input %q: dimension %d is %d, not a positive size", l.inName, k+1, dv)
			return
		}
		size *= dv
		if size > maxElems {
			l.graphProblem("input %q: one image has more than %d values", l.inName, int64(maxElems))
			return
		}
		shape = append(shape, int(dv))
	}
	n := &ir.Node{Name: sanitize(l.inName), Op: ir.OpInput, Shape: shape, Pos: ir.Pos{File: l.m.Source}}
	if err := ir.InferNode(n); err != nil {
		l.graphProblem("input %q: %v", l.inName, err)
		return
	}
	l.input = n
	l.nodes = append(l.nodes, n)
	l.base[n] = n.Name
}

// lower folds or lowers one live node, recording its problems.
func (l *lowerer) lower(c *call) {
	if d := c.pb.GetDomain(); d != "" && d != "ai.onnx" {
		l.problems = append(l.problems, Problem{c.label, c.op, fmt.Sprintf("operator domain %q is not supported (only ai.onnx)", d)})
		return
	}
	def, ok := opTable[c.op]
	if !ok {
		l.problems = append(l.problems, Problem{c.label, c.op, "operator not supported"})
		return
	}
	var unknown []string
	for _, a := range c.pb.GetAttribute() {
		if !strings.Contains(" "+def.attrs+" ", " "+a.GetName()+" ") {
			if _, legacy := attrSpans[c.op][a.GetName()]; !legacy {
				unknown = append(unknown, a.GetName())
			}
		}
	}
	if len(unknown) > 0 {
		c.fail("attribute(s) %s not supported", strings.Join(unknown, ", "))
	}
	if !c.checkVersion() {
		l.problems = append(l.problems, Problem{c.label, c.op, strings.Join(c.whys, "; ")})
		return
	}
	allConst := true
	for k := range c.in {
		if v := c.val(k); c.present(k) && v != nil && v.c == nil {
			allConst = false
		}
	}
	switch {
	case def.fold != nil && (allConst || def.alwaysFold):
		def.fold(c)
	case def.lower != nil:
		def.lower(c)
	default:
		if c.ready() {
			c.fail("only constant inputs are supported (%s is folded at import time)", c.op)
		}
	}
	if len(c.whys) == 0 && c.ready() {
		for k, o := range c.out {
			if o != "" && l.vals[o] == nil && l.uses[o] > 0 {
				c.fail("output %d (%q) is not supported", k, o)
			}
		}
	}
	if len(c.whys) > 0 {
		for _, o := range c.out {
			delete(l.vals, o)
		}
		l.problems = append(l.problems, Problem{c.label, c.op, strings.Join(c.whys, "; ")})
	}
}

// finish drops dead IR nodes, names nodes and weights uniquely and builds the graph.
func (l *lowerer) finish(name string) (*ir.Graph, map[string]Tensor, error) {
	v := l.vals[l.output]
	if v == nil || v.n == nil {
		l.graphProblem("the graph output %q is a constant, not computed from the input", l.output)
		return nil, nil, l.err()
	}
	if v.perm != nil && !identity(v.perm) {
		l.graphProblem("the graph output %q is a transposed tensor (perm %v of %s); only the network's own layout can be an output", l.output, v.perm, batchShape(v.n.Shape))
		return nil, nil, l.err()
	}
	live := map[*ir.Node]bool{l.input: true}
	stack := []*ir.Node{v.n}
	live[v.n] = true
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, in := range n.Inputs {
			if !live[in] {
				live[in] = true
				stack = append(stack, in)
			}
		}
	}
	var nodes []*ir.Node
	used := map[string]bool{}
	for _, n := range l.nodes {
		if !live[n] {
			continue
		}
		n.Name = unique(func(s string) bool { return used[s] }, l.base[n])
		used[n.Name] = true
		nodes = append(nodes, n)
	}
	weights := map[string]Tensor{}
	for _, n := range nodes {
		roles := ir.ParamRoles(n)
		for k := range n.Params {
			p := &n.Params[k]
			if _, taken := weights[p.Key]; taken || p.Key == "" {
				p.Key = unique(func(s string) bool { _, taken := weights[s]; return taken || l.m.inits[s] != nil }, n.Name+"."+roles[k])
			}
			t := l.pdata[n][k]
			weights[p.Key] = Tensor{Shape: append([]int(nil), p.Shape...), Data: t.f}
		}
	}
	g := &ir.Graph{
		Name:        name,
		Description: l.description(),
		Nodes:       nodes,
		Output:      v.n,
		Source:      l.m.Source,
	}
	if len(v.n.Shape) == 1 {
		g.Classes = v.n.Shape[0]
	}
	if err := g.Infer(); err != nil {
		return nil, nil, err
	}
	if err := g.Check(l.limits()); err != nil {
		return nil, nil, l.sourced(err)
	}
	return g, weights, nil
}

func (l *lowerer) description() string {
	s := "Imported from ONNX"
	if l.m.Source != "" {
		s += " " + l.m.Source
	}
	var parts []string
	if l.m.Producer != "" {
		parts = append(parts, "producer "+l.m.Producer)
	}
	parts = append(parts, fmt.Sprintf("opset %d", l.m.Opset))
	return s + " (" + strings.Join(parts, ", ") + ")."
}

// unique returns base, or base_2, base_3, ..., the first that is not taken.
func unique(taken func(string) bool, base string) string {
	name := base
	for k := 2; taken(name); k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	return name
}
