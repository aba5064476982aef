package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/runtime"
)

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// TestRunMatchesPyTorch is the foundation's oracle check: `cnngen run` (the float64 reference
// interpreter) on every built-in spec, with the seeded weights written as a safetensors file,
// reproduces torchvision's logits.
func TestRunMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("the float64 interpreter over every network takes about a minute; run without -short")
	}
	for _, arch := range goldens.Names() {
		t.Run(arch, func(t *testing.T) {
			gold, want, err := goldens.Load(arch)
			if err != nil {
				t.Fatal(err)
			}
			g, err := frontend.Load(arch)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var w bytes.Buffer
			if err := runtime.WriteSafetensors(&w, seedweights.Tensors(g, ""), map[string]string{"arch": arch}); err != nil {
				t.Fatal(err)
			}
			wpath, in, out := filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
			os.WriteFile(wpath, w.Bytes(), 0o644)
			os.WriteFile(in, f32bytes(gold.InputData()), 0o644)
			if _, stderr, err := runCLI(t, "run", "-arch", arch, "-weights", wpath, "-input", in, "-output", out); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(raw)/4)
			for i := range got {
				got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			if err := goldens.Compare(got, want, gold.Batch); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// memWeights serves seeded tensors from memory.
type memWeights map[string][]float32

func (m memWeights) Float32(k string) ([]float32, error) { return m[k], nil }

// TestGoldensCatchMutations proves the goldens can fail: each mutation is a plausible spec bug
// that keeps the network runnable, and each must break agreement with PyTorch.
func TestGoldensCatchMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the interpreter four times")
	}
	mutations := []struct {
		arch, name string
		mutate     func(t *testing.T, g *ir.Graph)
	}{
		{"resnet18", "drop the first residual add", func(t *testing.T, g *ir.Graph) {
			for i, n := range g.Nodes {
				if n.Op == ir.OpAdd {
					for _, m := range g.Nodes {
						for k, in := range m.Inputs {
							if in == n {
								m.Inputs[k] = n.Inputs[0]
							}
						}
					}
					g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
					return
				}
			}
			t.Fatal("no add")
		}},
		{"resnet18", "stem max pool pad 1 -> 0", func(t *testing.T, g *ir.Graph) {
			ir.As[*ir.PoolAttrs](g.Node("maxpool")).Pad = [4]int{}
		}},
		{"googlenet", "maxpool1 without ceil_mode", func(t *testing.T, g *ir.Graph) {
			ir.As[*ir.PoolAttrs](g.Node("maxpool1")).CeilMode = false
		}},
		{"resnet50", "ResNet v1 bottleneck: stride on conv1, not conv2", func(t *testing.T, g *ir.Graph) {
			// torchvision is v1.5 (stride on the 3x3 conv2); v1 gives the same shapes, other numbers.
			ir.As[*ir.ConvAttrs](g.Node("layer2.0.conv1")).Stride = [2]int{2, 2}
			ir.As[*ir.ConvAttrs](g.Node("layer2.0.conv2")).Stride = [2]int{1, 1}
		}},
	}
	for _, m := range mutations {
		t.Run(m.arch+"/"+m.name, func(t *testing.T) {
			gold, want, err := goldens.Load(m.arch)
			if err != nil {
				t.Fatal(err)
			}
			g, err := frontend.Load(m.arch)
			if err != nil {
				t.Fatal(err)
			}
			m.mutate(t, g)
			if err := g.Infer(); err != nil {
				t.Fatalf("mutated graph does not infer: %v", err)
			}
			w := memWeights{}
			for _, p := range g.AllParams() {
				w[p.Key] = seedweights.Values(p.Key, p.Shape)
			}
			// One image is enough to show the disagreement.
			in := gold.InputData()[:g.Input().Shape.Size()]
			got, err := interp.Run(g, w, in, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := goldens.Compare(got, want[:gold.Classes], 1); err == nil {
				t.Fatalf("the goldens did not notice: %s", m.name)
			} else {
				t.Logf("caught: %v", err)
			}
		})
	}
}
