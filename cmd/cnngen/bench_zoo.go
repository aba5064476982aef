//go:build !cnngen_nozoo

package main

import (
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/benchrun"
	"github.com/cnngen/cnngen/internal/zoo"
	"github.com/cnngen/cnngen/runtime"
)

// zooModel is g's generated package compiled into cnngen, if g is a built-in network.
func zooModel(g *ir.Graph) (benchrun.Model, bool) {
	e, err := zoo.Get(g.Name)
	if err != nil {
		return benchrun.Model{}, false
	}
	return benchrun.Model{Arch: e.Arch, Input: g.Input().Shape, NumClasses: e.NumClasses, MACs: g.Totals().MACs, Layers: e.Layers,
		Load: func(path string, opts ...runtime.Option) (benchrun.Net, error) { return e.Load(path, opts...) }}, true
}
