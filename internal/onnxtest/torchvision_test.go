package onnxtest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/internal/gentest"
)

// family is a torchvision architecture and its sizes; ci is what `go test` checks of it: one
// small model at one opset (two for ConvNeXt, whose LayerNorm is one operator from opset 17 and
// a pattern of seven before), the opsets spread so that CI sees every one from 9 to 17 and both
// batch forms (tools/export_torchvision.py exports a dynamic batch at odd opsets, a static one at
// even opsets).
type family struct {
	names []string
	ci    []string // NAME@OPSET
}

var families = []family{
	{[]string{"lenet5"}, []string{"lenet5@13"}},
	{[]string{"alexnet"}, []string{"alexnet@9"}},
	{[]string{"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"}, []string{"vgg11_bn@10"}},
	{[]string{"googlenet"}, []string{"googlenet@13"}},
	{[]string{"inception_v3"}, []string{"inception_v3@12"}},
	{[]string{"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}, []string{"resnet18@17"}},
	{[]string{"resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"}, nil},
	{[]string{"wide_resnet50_2", "wide_resnet101_2"}, nil},
	{[]string{"densenet121", "densenet161", "densenet169", "densenet201"}, []string{"densenet121@11"}},
	{[]string{"squeezenet1_0", "squeezenet1_1"}, []string{"squeezenet1_1@14"}},
	{[]string{"mobilenet_v2"}, []string{"mobilenet_v2@15"}},
	{[]string{"mobilenet_v3_small", "mobilenet_v3_large"}, []string{"mobilenet_v3_small@16"}},
	{[]string{"mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"}, []string{"mnasnet0_5@9"}},
	{[]string{"shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"}, []string{"shufflenet_v2_x0_5@10", "shufflenet_v2_x0_5@11"}},
	{[]string{"efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7"}, []string{"efficientnet_b0@13"}},
	{[]string{"efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"}, nil},
	{[]string{"regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"}, []string{"regnet_x_400mf@12"}},
	{[]string{"regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf"}, []string{"regnet_y_400mf@15"}},
	{[]string{"convnext_tiny", "convnext_small", "convnext_base", "convnext_large"}, []string{"convnext_tiny@13", "convnext_tiny@17"}},
}

// modelResult is the outcome of one export of one model.
type modelResult struct {
	name    string
	opset   int
	status  string // pass, FAIL, skipped (the exporter refuses the opset)
	why     string
	interp  float64 // max |logit - torch| through the interpreter
	gen     float64 // ... and through generated code
	nodes   int
	same    string // the opset whose identical graph was checked instead ("": checked itself)
	elapsed time.Duration
}

// TestModels exports torchvision's classifiers with tools/export_torchvision.py (seeded weights,
// a batch of 2 images, torch's logits computed in float64), imports them, and checks the logits
// of the interpreter and of generated code against torch's by goldens.Compare. By default the
// CI selection of families runs (-short: LeNet-5 only); CNNGEN_ONNX_ALL=1 runs every model of
// every family at every opset from 9 to 17 (sweep_test.go has the options). An export whose
// imported graph equals one already checked (same ops, attributes, shapes and weight values, in
// order; names aside) is not run again: it computes the same values.
func TestModels(t *testing.T) {
	needTorch(t)
	script := findUp(filepath.Join("tools", "export_torchvision.py"))
	if script == "" {
		t.Fatal("tools/export_torchvision.py not found")
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	dir := cacheDir(t, "cnngen-onnx-tv-", src)
	if os.Getenv("CNNGEN_ONNX_ALL") == "1" {
		sweep(t, script, dir)
		return
	}
	var specs []string
	for _, f := range families {
		specs = append(specs, f.ci...)
	}
	if testing.Short() {
		specs = specs[:1]
	}
	exportMu.Lock()
	runExport(t, 30*time.Minute, append([]string{script, dir}, specs...)...)
	exportMu.Unlock()
	for _, spec := range specs {
		name, op, _ := strings.Cut(spec, "@")
		opset, _ := strconv.Atoi(op)
		t.Run(spec, func(t *testing.T) {
			r := checkModel(t, filepath.Join(dir, name), name, opset, nil)
			if r.status != pass {
				t.Errorf("%s at opset %d: %s: %s", name, opset, r.status, r.why)
			}
		})
	}
}

// checkModel imports mdir/opK/model.onnx and compares the interpreter's and generated code's
// logits with torch's. seen maps the fingerprints of graphs already checked to their results.
func checkModel(t *testing.T, mdir, name string, opset int, seen map[string]*modelResult) *modelResult {
	start := time.Now()
	r := &modelResult{name: name, opset: opset, status: fail}
	defer func() { r.elapsed = time.Since(start) }()
	odir := filepath.Join(mdir, fmt.Sprintf("op%d", opset))
	if b, err := os.ReadFile(filepath.Join(odir, "skip.txt")); err == nil {
		r.status, r.why = "skipped", "torch.onnx: "+shorten(string(b), 140)
		t.Log(r.why)
		return r
	}
	m, err := onnx.Load(filepath.Join(odir, "model.onnx"))
	if err != nil {
		r.why = err.Error()
		return r
	}
	g, w, err := m.Graph(name)
	if err != nil {
		r.why = shortError(err)
		t.Log(err)
		return r
	}
	r.nodes = len(g.Nodes)
	in, inShape, err := readNpy(filepath.Join(mdir, "input.npy"))
	if err != nil {
		r.why = err.Error()
		return r
	}
	want, _, err := readNpy(filepath.Join(mdir, "output.npy"))
	if err != nil {
		r.why = err.Error()
		return r
	}
	batch := inShape[0]
	if !g.Input().Shape.Equal(shapeOf(toInt64(inShape[1:]))) {
		r.why = fmt.Sprintf("imported input %v, torch's input is %v", g.Input().Shape, inShape)
		return r
	}
	fp := fingerprint(g, w)
	if prev := seen[fp]; prev != nil {
		*r = *prev
		r.opset, r.same = opset, strconv.Itoa(prev.opset)
		t.Logf("the same graph as at opset %d: %s", prev.opset, prev.status)
		return r
	}
	got, err := interp.Run(g, weights(w), in, batch)
	if err != nil {
		r.why = "interpreter: " + err.Error()
		return r
	}
	tInterp := time.Since(start)
	if r.interp, err = compareLogits(got, want, batch); err != nil {
		r.why = "interpreter: " + err.Error()
		return r
	}
	gen, err := gentest.Run(g, weights(w).flat(), in)
	if err != nil {
		r.why = "generated code: " + shorten(err.Error(), 300)
		return r
	}
	if r.gen, err = compareLogits(gen, want, batch); err != nil {
		r.why = "generated code: " + err.Error()
		return r
	}
	r.status = pass
	if seen != nil {
		seen[fp] = r
	}
	t.Logf("%d IR nodes; max |diff| interpreter %.3g, generated code %.3g (tolerance %.3g); import+interpreter %s, total %s",
		r.nodes, r.interp, r.gen, 1e-4*max(1, maxAbs(want)), tInterp.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return r
}

// fingerprint hashes what the graph computes: each node's op, attributes, shape, inputs (by
// position) and weight values, in order. Names and weight keys, which differ between exports of
// one model, are left out.
func fingerprint(g *ir.Graph, w map[string]onnx.Tensor) string {
	h := sha256.New()
	pos := map[*ir.Node]int{}
	buf := make([]byte, 0, 1<<16)
	for i, n := range g.Nodes {
		pos[n] = i
		fmt.Fprintf(h, "%s %v %+v <", n.Op, n.Shape, n.Attrs)
		for _, in := range n.Inputs {
			fmt.Fprintf(h, "%d ", pos[in])
		}
		for _, p := range n.Params {
			fmt.Fprintf(h, "|%v:", p.Shape)
			for _, v := range w[p.Key].Data {
				if len(buf) == cap(buf) {
					h.Write(buf)
					buf = buf[:0]
				}
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			h.Write(buf)
			buf = buf[:0]
		}
		fmt.Fprintf(h, ">\n")
	}
	fmt.Fprintf(h, "out %d", pos[g.Output])
	return hex.EncodeToString(h.Sum(nil))
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
