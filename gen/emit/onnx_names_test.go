package emit_test

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
	"github.com/cnngen/cnngen/internal/gentest"
	"github.com/cnngen/cnngen/internal/goldens"
	"github.com/cnngen/cnngen/internal/seedweights"
)

// TestONNXNodeNamesCannotCollide imports an ONNX model whose nodes are named like the generated
// package's own identifiers and Go keywords, then builds and runs its generated code.
func TestONNXNodeNamesCannotCollide(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	names := []string{"w", "pre", "Net", "load", "Forward", "func", "runner", "cfg", "layers", "loadWeights", "x/Conv_1Off"}
	g := &onnxpb.GraphProto{Name: proto.String("clash")}
	g.Input = append(g.Input, valueInfo("input", 1, 2, 5, 5))
	prev := "input"
	for i, name := range names {
		out := "t" + string(rune('a'+i))
		if i%2 == 0 {
			w := name + ".weight"
			g.Initializer = append(g.Initializer, floatTensor(w, []int64{2, 2, 3, 3}, seedweights.Values(w, []int{2, 2, 3, 3})))
			g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String("Conv"),
				Input: []string{prev, w}, Output: []string{out},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1, 1, 1}}}})
		} else {
			g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String("Tanh"), Input: []string{prev}, Output: []string{out}})
		}
		prev = out
	}
	g.Output = append(g.Output, valueInfo(prev, 1, 2, 5, 5))
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(7), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	model, err := onnx.Parse(data, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ig, tensors, err := model.Graph("clash")
	if err != nil {
		t.Fatal(err)
	}
	w := map[string][]float32{}
	for k, v := range onnx.KeyByNode(ig, tensors) {
		w[k] = v.Data
	}
	const batch = 2
	in := seedweights.Input(batch, ig.Input().Shape)
	want, err := interp.Run(ig, mapWeights(w), in, batch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gentest.Run(ig, w, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := goldens.Compare(got, want, batch); err != nil {
		t.Fatal(err)
	}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

func floatTensor(name string, dims []int64, vals []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
}
