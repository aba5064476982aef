package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
)

// limitFlags are the -max-* flags that raise (or lower) ir.DefaultLimits, and -input-shape, which
// every command that reads a graph shares with them.
type limitFlags struct {
	nodes             int
	activationMB, wMB int64
	inputShape        string // -input-shape: an ONNX model's image shape, for its dynamic dimensions
}

const mb = 1 << 20

func addLimitFlags(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{}
	d := ir.DefaultLimits
	fs.IntVar(&l.nodes, "max-nodes", d.MaxNodes, "refuse networks of more layers (after lowering)")
	fs.Int64Var(&l.activationMB, "max-activation-mb", d.MaxActivationBytes/mb, "refuse networks whose layers write more MiB per image")
	fs.Int64Var(&l.wMB, "max-weights-mb", d.MaxWeightBytes/mb, "refuse networks that declare more MiB of weights")
	fs.StringVar(&l.inputShape, "input-shape", "", "with -onnx: one image's shape C,H,W (e.g. 3,224,224) for a model exported with a dynamic height and width")
	return l
}

// shape parses -input-shape: nil if not given.
func (l *limitFlags) shape() ([]int, error) {
	if l.inputShape == "" {
		return nil, nil
	}
	var dims []int
	for _, f := range strings.Split(l.inputShape, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > 1<<20 {
			return nil, usageError{fmt.Sprintf("-input-shape %q: want positive sizes separated by commas, e.g. 3,224,224", l.inputShape)}
		}
		dims = append(dims, v)
	}
	return dims, nil
}

func (l *limitFlags) limits() (ir.Limits, error) {
	if l.nodes < 1 || l.activationMB < 1 || l.wMB < 1 {
		return ir.Limits{}, usageError{"-max-nodes, -max-activation-mb and -max-weights-mb must be at least 1"}
	}
	return ir.Limits{MaxNodes: l.nodes, MaxActivationBytes: ir.SatMul(l.activationMB, mb), MaxWeightBytes: ir.SatMul(l.wMB, mb)}, nil
}

// loadGraph reads -arch or -onnx within the limits; ONNX models bring their weights.
func loadGraph(arch, onnxPath string, lf *limitFlags) (*ir.Graph, map[string]onnx.Tensor, error) {
	l, err := lf.limits()
	if err != nil {
		return nil, nil, err
	}
	shape, err := lf.shape()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case arch != "" && onnxPath != "":
		return nil, nil, usageError{"give -arch or -onnx, not both"}
	case onnxPath != "":
		return frontend.ONNXShaped(onnxPath, l, shape)
	case shape != nil:
		return nil, nil, usageError{"-input-shape is for -onnx models (a spec gives its input)"}
	}
	g, err := frontend.LoadLimits(arch, l)
	return g, nil, err
}

// checkBatch bounds what the reference interpreter holds for a batch: every layer's output of
// every image, in float64.
func checkBatch(g *ir.Graph, batch int, lf *limitFlags) error {
	l, err := lf.limits()
	if err != nil {
		return err
	}
	var perImage int64
	for _, n := range g.Nodes {
		if !ir.Def(n.Op).Is(ir.View) {
			perImage = ir.SatAdd(perImage, ir.SatMul(8, int64(n.Shape.Size())))
		}
	}
	if need := ir.SatMul(perImage, int64(batch)); need > l.MaxActivationBytes {
		return fmt.Errorf("too large: a batch of %d needs %d bytes of float64 activations in the interpreter > max %d (run fewer images, or raise -max-activation-mb)",
			batch, need, l.MaxActivationBytes)
	}
	return nil
}

// layoutFlag is -layout: the memory layout of the feature maps whose ops can run it.
type layoutFlag struct{ l ir.Layout }

// defaultLayout is NCHW16c: blocked feature maps ran every built-in network but LeNet-5 10-33%
// faster than NCHW at AVX-512 and AVX2 (same runs), and no slower in pure Go.
const defaultLayout = ir.NCHW16c

func addLayoutFlag(fs *flag.FlagSet) *layoutFlag {
	f := &layoutFlag{l: defaultLayout}
	fs.Var(f, "layout", "feature maps' layout: nchw16c (blocked channels, for the ops that can run it) or nchw")
	return f
}

func (f *layoutFlag) String() string { return f.l.String() }

func (f *layoutFlag) Set(s string) error {
	switch s {
	case "nchw":
		f.l = ir.NCHW
	case "nchw16c":
		f.l = ir.NCHW16c
	default:
		return fmt.Errorf("want nchw or nchw16c, got %q", s)
	}
	return nil
}
