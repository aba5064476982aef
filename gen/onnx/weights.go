package onnx

import (
	"slices"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/runtime"
)

// Tensors lists a weights map as runtime tensors sorted by name, ready for
// runtime.WriteSafetensors. The data is shared, not copied.
func Tensors(w map[string]Tensor) []runtime.Tensor {
	out := make([]runtime.Tensor, 0, len(w))
	for name, t := range w {
		out = append(out, runtime.Tensor{Name: name, Shape: t.Shape, Data: t.Data})
	}
	slices.SortFunc(out, func(a, b runtime.Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// KeyByNode renames every weight of g to its node's name and role ("layer1.0.conv1.Conv.weight",
// the spec language's prefix.role convention), rewriting g's Params, and returns w under the new
// keys. Use it when the graph is written back as a spec; the ONNX names are lost.
func KeyByNode(g *ir.Graph, w map[string]Tensor) map[string]Tensor {
	out := make(map[string]Tensor, len(w))
	for _, n := range g.Nodes {
		roles := ir.ParamRoles(n)
		for k := range n.Params {
			p := &n.Params[k]
			key := n.Name + "." + roles[k]
			out[key] = w[p.Key]
			p.Key = key
		}
	}
	return out
}
