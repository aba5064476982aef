package spec

import (
	"fmt"
	"reflect"

	"github.com/cnngen/cnngen/gen/ir"
)

// Diff reports the first difference between two graphs in anything a spec describes: the
// name, description, classes, labels, preprocessing, the output, and every node's name, op,
// input names, shape, weights (key, shape, buffer), training-only mark and attributes. Positions
// and Source are not compared; an empty interpolation equals "bilinear" (the spec default) and
// an empty list attribute equals a missing one. It returns nil when the graphs agree.
func Diff(want, got *ir.Graph) error {
	d := func(format string, args ...any) error { return fmt.Errorf(format, args...) }
	if want.Name != got.Name {
		return d("name %q, want %q", got.Name, want.Name)
	}
	if want.Description != got.Description {
		return d("description %q, want %q", got.Description, want.Description)
	}
	if want.Classes != got.Classes || want.Labels != got.Labels {
		return d("classes %d labels %q, want %d %q", got.Classes, got.Labels, want.Classes, want.Labels)
	}
	if pw, pg := normPre(want.Preprocess), normPre(got.Preprocess); !reflect.DeepEqual(pw, pg) {
		return d("preprocess %+v, want %+v", pg, pw)
	}
	if len(want.Nodes) != len(got.Nodes) {
		return d("%d nodes, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i, w := range want.Nodes {
		g := got.Nodes[i]
		at := fmt.Sprintf("node %d %q", i, w.Name)
		if w.Name != g.Name || w.Op != g.Op {
			return d("%s: got %s %q, want %s %q", at, g.Op, g.Name, w.Op, w.Name)
		}
		if w.TrainingOnly != g.TrainingOnly {
			return d("%s: training-only %v, want %v", at, g.TrainingOnly, w.TrainingOnly)
		}
		if iw, ig := inputNames(w), inputNames(g); !reflect.DeepEqual(iw, ig) {
			return d("%s: inputs %v, want %v", at, ig, iw)
		}
		if !w.Shape.Equal(g.Shape) {
			return d("%s: shape %v, want %v", at, g.Shape, w.Shape)
		}
		if len(w.Params) != len(g.Params) {
			return d("%s: %d weights, want %d", at, len(g.Params), len(w.Params))
		}
		for k, p := range w.Params {
			q := g.Params[k]
			if p.Key != q.Key || !p.Shape.Equal(q.Shape) || p.Buffer != q.Buffer {
				return d("%s: weight %d is %q %v buffer=%v, want %q %v buffer=%v", at, k, q.Key, q.Shape, q.Buffer, p.Key, p.Shape, p.Buffer)
			}
		}
		if (w.Fused == nil) != (g.Fused == nil) {
			return d("%s: fused %v, want %v", at, g.Fused != nil, w.Fused != nil)
		}
		if aw, ag := nodeAttrs(w), nodeAttrs(g); !reflect.DeepEqual(aw, ag) {
			return d("%s: attributes\n  %s\nwant\n  %s", at, showAttrs(ag), showAttrs(aw))
		}
	}
	outName := func(g *ir.Graph) string {
		if g.Output == nil {
			return ""
		}
		return g.Output.Name
	}
	if outName(want) != outName(got) {
		return d("output %q, want %q", outName(got), outName(want))
	}
	return nil
}

func inputNames(n *ir.Node) []string {
	s := make([]string, len(n.Inputs))
	for i, x := range n.Inputs {
		s[i] = x.Name
	}
	return s
}

func normPre(p ir.Preprocess) ir.Preprocess {
	if p.Interpolation == "" {
		p.Interpolation = "bilinear"
	}
	if len(p.Mean) == 0 {
		p.Mean = nil
	}
	if len(p.Std) == 0 {
		p.Std = nil
	}
	return p
}

// nodeAttrs is n without what Diff compares separately or not at all, its attributes normalized:
// every other field of a node, and every field of its attributes, is compared as it is.
func nodeAttrs(n *ir.Node) ir.Node {
	c := *n
	c.Name, c.Inputs, c.Shape, c.Params, c.Pos, c.TrainingOnly, c.Fused = "", nil, nil, nil, ir.Pos{}, false, nil
	if c.Attrs != nil {
		c.Attrs = c.Attrs.Clone()
		for _, f := range ir.Fields(c.Attrs) {
			if f.Value.Kind() == reflect.Slice && f.Value.Len() == 0 {
				f.Value.SetZero()
			}
		}
	}
	return c
}

func showAttrs(n ir.Node) string {
	if n.Attrs == nil {
		return fmt.Sprintf("%s (no attributes)", n.Op)
	}
	return fmt.Sprintf("%s %+v", n.Op, reflect.ValueOf(n.Attrs).Elem().Interface())
}
