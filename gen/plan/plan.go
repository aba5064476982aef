// Package plan lays out every activation of one image in a single arena, reusing memory once a
// tensor is dead (greedy by size over lifetimes, as TFLite's and onnx2c's planners do), and proves
// the layout: no two tensors that are live at the same time overlap.
package plan

import (
	"fmt"
	"slices"
	"sort"

	"github.com/cnngen/cnngen/gen/ir"
)

// Align keeps every region on a 64-byte boundary (16 float32s), a cache line and one AVX-512 vector.
const Align = 16

// Region is a slice of the arena, in float32 elements.
type Region struct{ Off, Len int }

// End is one past the region's last element.
func (r Region) End() int { return r.Off + r.Len }

// Tensor is one buffer: the output of a node plus the views and in-place ops that share it.
type Tensor struct {
	Region
	Size      int // elements actually used (Len is Size rounded up to Align)
	Def, Last int // node positions of the first write and the last read (inclusive)
	Nodes     []*ir.Node

	// A tensor read only by a concatenation is written straight into its slice of the concat's
	// buffer: parent is that buffer and rel the slice's offset in it. Only parents are placed.
	parent *Tensor
	rel    int
}

// Plan maps every node's output to its region of the arena.
type Plan struct {
	Arena   int       // float32 elements per image
	MaxLive int       // largest sum of simultaneously live tensor sizes: no layout can use less
	Total   int       // sum of all tensor sizes: what a layout without reuse would need
	Tensors []*Tensor // the placed buffers
	slices  []*Tensor // tensors inside a concat's buffer
	of      map[*ir.Node]*Tensor
	// The fused pairs (ExpandDW): each expansion's depthwise convolution, and the reverse.
	fusedDW, fusedExp map[*ir.Node]*ir.Node
	next              map[*ir.Node]*ir.Node // the layer that runs after each (Next)
}

// Of returns the region holding n's output.
// A fused expansion's is empty: its output never reaches the arena.
func (p *Plan) Of(n *ir.Node) Region {
	t := p.of[n]
	if p.fusedDW[n] != nil {
		return Region{Off: t.Off}
	}
	return Region{Off: t.Off, Len: n.PhysicalSize()}
}

// InPlace reports whether n writes over its first input.
func (p *Plan) InPlace(n *ir.Node) bool {
	return len(n.Inputs) > 0 && p.of[n] == p.of[n.Inputs[0]]
}

// InConcat reports whether x's output already lies where concat, which reads it, holds it, so
// that the concatenation need not copy it: in concat's buffer, or, for a concatenation that is
// the first part of a later one's buffer (DenseNet's chains), in that buffer.
func (p *Plan) InConcat(x, concat *ir.Node) bool {
	t, c := p.of[x], p.of[concat]
	return t.parent != nil && (t.parent == c || t.parent == c.parent && c.rel == 0)
}

// Base tells where n's region comes from: the first node of the buffer n shares (a view's or an
// in-place op's input, or n itself) at offset 0, or, for a tensor written into a concatenation's
// buffer, that concatenation's node at n's offset in it.
func (p *Plan) Base(n *ir.Node) (base *ir.Node, rel int) {
	t := p.of[n]
	if t.parent != nil {
		return t.parent.Nodes[0], t.rel
	}
	return t.Nodes[0], 0
}

// Shares reports whether two nodes' outputs are the same buffer.
func (p *Plan) Shares(a, b *ir.Node) bool { return p.of[a] == p.of[b] }

// inPlace reports whether op may write its output over its first input (OpDef: elementwise ops,
// add, mul, softmax).
func inPlace(op ir.Op) bool { return ir.Def(op).Flags&(ir.Elementwise|ir.InPlace) != 0 }

// Make plans g, which must have passed through the inference passes (no dropout, no training-only
// nodes). Views (flatten) share their input's buffer; an elementwise op shares its first input's
// buffer when it is that buffer's last reader. Reshape is a view too.
func Make(g *ir.Graph) (*Plan, error) {
	pos := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	lastUse := map[*ir.Node]int{}
	cons := g.Consumers()
	for n, rs := range cons {
		for _, r := range rs {
			if pos[r] > lastUse[n] {
				lastUse[n] = pos[r]
			}
		}
	}
	next := nextLayers(g)
	p := &Plan{of: map[*ir.Node]*Tensor{}, next: next, fusedDW: expandDWPairs(g, next, cons), fusedExp: map[*ir.Node]*ir.Node{}}
	for x, m := range p.fusedDW {
		p.fusedExp[m] = x
		// The depthwise layer computes x from x's input as it goes: that input must outlive the
		// depthwise output being written.
		lastUse[x.Inputs[0]] = max(lastUse[x.Inputs[0]], pos[m])
	}
	lastUse[g.Output] = len(g.Nodes) // read by the caller after the last layer
	chain := concatChains(g)
	for i, n := range g.Nodes {
		if n.TrainingOnly || ir.Def(n.Op).Is(ir.InferenceIdentity) {
			return nil, fmt.Errorf("plan: %s: run the inference passes first", n.Name)
		}
		var t *Tensor
		switch {
		case p.fusedDW[n] != nil:
			t = &Tensor{Def: i, Last: i} // placed nowhere: not in p.Tensors
		case ir.IsView(n.Op):
			t = p.of[n.Inputs[0]]
		case inPlace(n.Op) && n.Inputs[0].PhysicalSize() == n.PhysicalSize() && n.Inputs[0].Layout == n.Layout && p.of[n.Inputs[0]].Last == i && !p.readsTwice(n) &&
			chain[n.Inputs[0]] == nil: // a chained concatenation's buffer is kept by the chain's last
			t = p.of[n.Inputs[0]]
		default:
			t = &Tensor{Size: n.PhysicalSize(), Def: i, Last: i}
			t.Len = (t.Size + Align - 1) / Align * Align
			p.Tensors = append(p.Tensors, t)
			p.Total += t.Size
		}
		t.Nodes = append(t.Nodes, n)
		p.of[n] = t
		if lastUse[n] > t.Last {
			t.Last = lastUse[n]
		}
		for _, in := range n.Inputs {
			if lu := lastUse[in]; lu > p.of[in].Last {
				p.of[in].Last = lu
			}
		}
	}
	p.concatInPlace(g, chain)
	p.place()
	for _, t := range p.slices {
		t.Off = t.parent.Off + t.rel
	}
	p.MaxLive = maxLive(p.Tensors, len(g.Nodes)+1)
	if err := p.Validate(g); err != nil {
		return nil, err
	}
	return p, nil
}

// concatInPlace makes each input of a concatenation a slice of the concatenation's buffer when
// it can (mayBeSlice; channels are the outermost per-image dimension, so each input is one
// contiguous run), so that its producer writes there and the concatenation copies nothing.
// The buffer is then live from the first of those producers on.
func (p *Plan) concatInPlace(g *ir.Graph, chain map[*ir.Node]*ir.Node) {
	for _, n := range g.Nodes {
		if n.Op != ir.OpConcat || chain[n] != nil {
			continue
		}
		parent := p.of[n]
		seen := map[*ir.Node]int{}
		for _, x := range n.Inputs {
			seen[x]++
		}
		rel := 0
		for _, x := range n.Inputs {
			t := p.of[x]
			if seen[x] == 1 && rel%Align == 0 && p.mayBeSlice(t, n, x, g) {
				t.parent, t.rel = parent, rel
				parent.Def = min(parent.Def, t.Def)
				p.slices = append(p.slices, t)
				p.Tensors = slices.DeleteFunc(p.Tensors, func(q *Tensor) bool { return q == t })
				p.Total -= t.Size
			}
			rel += x.PhysicalSize()
		}
	}
	// A chained concatenation whose inputs all lie in its last's buffer is that buffer's first
	// part: it copies nothing and has no buffer of its own.
	for _, n := range g.Nodes {
		last := chain[n]
		if last == nil || !p.of[n].isOnly(n) {
			continue
		}
		parent := p.of[last]
		if !all(n.Inputs, func(x *ir.Node) bool { return p.of[x].parent == parent }) {
			continue
		}
		t := p.of[n]
		t.parent, t.rel = parent, 0
		parent.Def = min(parent.Def, t.Def)
		p.slices = append(p.slices, t)
		p.Tensors = slices.DeleteFunc(p.Tensors, func(q *Tensor) bool { return q == t })
		p.Total -= t.Size
	}
}

// concatChains finds DenseNet's chains: a concatenation whose inputs are the first inputs of a
// later concatenation maps to the last concatenation of its chain (the one with the most
// inputs), whose buffer can hold them all.
func concatChains(g *ir.Graph) map[*ir.Node]*ir.Node {
	chain := map[*ir.Node]*ir.Node{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		f := g.Nodes[i]
		if f.Op != ir.OpConcat || chain[f] != nil {
			continue
		}
		for _, c := range g.Nodes[:i] {
			if c.Op == ir.OpConcat && chain[c] == nil && len(c.Inputs) < len(f.Inputs) && c.Layout == f.Layout &&
				slices.Equal(c.Inputs, f.Inputs[:len(c.Inputs)]) {
				chain[c] = f
			}
		}
	}
	return chain
}

// isOnly reports whether n is the only node of its buffer.
func (t *Tensor) isOnly(n *ir.Node) bool { return len(t.Nodes) == 1 && t.Nodes[0] == n }

func all(xs []*ir.Node, f func(*ir.Node) bool) bool {
	for _, x := range xs {
		if !f(x) {
			return false
		}
	}
	return true
}

// mayBeSlice reports whether tensor t may become a slice of concat's buffer: x, its last node,
// is read by concat, and its other readers (DenseNet's batch norms) read it before the buffer
// dies; it is not the graph's input or output or a concat's buffer itself, and it is not
// already a slice. Nothing writes over x: an op in place on it would be t's last node.
func (p *Plan) mayBeSlice(t *Tensor, concat, x *ir.Node, g *ir.Graph) bool {
	if t.parent != nil || t.Size != x.PhysicalSize() || t.Nodes[len(t.Nodes)-1] != x || t.Last > p.of[concat].Last {
		return false
	}
	for _, n := range t.Nodes {
		if n == g.Input() || n == g.Output || n.Op == ir.OpConcat {
			return false
		}
	}
	return true
}

// readsTwice is true for ops whose inputs alias each other (x + x): writing over one would
// change the other mid-computation.
func (p *Plan) readsTwice(n *ir.Node) bool {
	for _, in := range n.Inputs[1:] {
		if p.of[in] == p.of[n.Inputs[0]] {
			return true
		}
	}
	return false
}

// holds reports whether slice a is a chained concatenation with b's node among its inputs, at
// b's offset in it, or with b's inputs as its first inputs (b is chained too).
func (p *Plan) holds(a, b *Tensor) bool {
	c := a.Nodes[0]
	if c.Op != ir.OpConcat || a.rel != 0 {
		return false
	}
	if d := b.Nodes[0]; d.Op == ir.OpConcat && b.rel == 0 && len(d.Inputs) <= len(c.Inputs) && slices.Equal(d.Inputs, c.Inputs[:len(d.Inputs)]) {
		return true
	}
	rel := 0
	for _, x := range c.Inputs {
		if p.of[x] == b {
			return b.rel == rel
		}
		rel += x.PhysicalSize()
	}
	return false
}

func live(a, b *Tensor) bool { return a.Def <= b.Last && b.Def <= a.Last }

// place assigns offsets: largest tensors first, each at the lowest offset that does not overlap a
// placed tensor whose lifetime intersects its own.
func (p *Plan) place() {
	order := append([]*Tensor(nil), p.Tensors...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Len > order[j].Len })
	var placed []*Tensor
	for _, t := range order {
		var busy []Region
		for _, q := range placed {
			if live(t, q) {
				busy = append(busy, q.Region)
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i].Off < busy[j].Off })
		off := 0
		for _, r := range busy {
			if off+t.Len <= r.Off {
				break
			}
			if r.End() > off {
				off = r.End()
			}
		}
		t.Off = off
		placed = append(placed, t)
		if t.End() > p.Arena {
			p.Arena = t.End()
		}
	}
}

func maxLive(ts []*Tensor, steps int) int {
	best := 0
	for s := 0; s < steps; s++ {
		sum := 0
		for _, t := range ts {
			if t.Def <= s && s <= t.Last {
				sum += t.Size
			}
		}
		if sum > best {
			best = sum
		}
	}
	return best
}

// Validate proves the layout: every node has a region inside the arena that holds its output,
// but a fused expansion, which has none and whose input stays live while the depthwise
// convolution that computes it runs; and no two tensors live at the same time share memory.
func (p *Plan) Validate(g *ir.Graph) error {
	pos := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	for _, n := range g.Nodes {
		t := p.of[n]
		if t == nil {
			return fmt.Errorf("plan: %s has no buffer", n.Name)
		}
		if m := p.fusedDW[n]; m != nil {
			if t.Len != 0 || slices.Contains(p.Tensors, t) || t.parent != nil || len(t.Nodes) != 1 {
				return fmt.Errorf("plan: %s runs inside %s but has a buffer", n.Name, m.Name)
			}
			if in := p.of[n.Inputs[0]]; in.Last < pos[m] {
				return fmt.Errorf("plan: %s's input %s dies at step %d, before %s (step %d) reads it", n.Name, n.Inputs[0].Name, in.Last, m.Name, pos[m])
			}
			continue
		}
		if t.Off < 0 || t.Off%Align != 0 || t.Off+n.PhysicalSize() > p.Arena || n.PhysicalSize() > t.Len {
			return fmt.Errorf("plan: %s: region [%d,%d) does not hold %d elements inside an arena of %d", n.Name, t.Off, t.End(), n.PhysicalSize(), p.Arena)
		}
	}
	for i, a := range p.slices {
		if a.Off < a.parent.Off || a.Off+a.Size > a.parent.Off+a.parent.Size || a.Def < a.parent.Def || a.Last > a.parent.Last {
			return fmt.Errorf("plan: %s [%d,%d) steps %d-%d is not inside its concat's buffer [%d,%d) steps %d-%d",
				a.Nodes[0].Name, a.Off, a.Off+a.Size, a.Def, a.Last, a.parent.Off, a.parent.Off+a.parent.Size, a.parent.Def, a.parent.Last)
		}
		for _, b := range p.slices[i+1:] {
			if a.parent == b.parent && a.Off < b.Off+b.Size && b.Off < a.Off+a.Size && !p.holds(a, b) && !p.holds(b, a) {
				return fmt.Errorf("plan: %s and %s overlap in their concat's buffer", a.Nodes[0].Name, b.Nodes[0].Name)
			}
		}
	}
	for i, a := range p.Tensors {
		for _, b := range p.Tensors[i+1:] {
			if live(a, b) && a.Off < b.End() && b.Off < a.End() {
				return fmt.Errorf("plan: %s [%d,%d) and %s [%d,%d) overlap while both are live (steps %d-%d and %d-%d)",
					a.Nodes[0].Name, a.Off, a.End(), b.Nodes[0].Name, b.Off, b.End(), a.Def, a.Last, b.Def, b.Last)
			}
		}
	}
	return nil
}
