package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// builder assembles small ONNX models in tests.
type builder struct {
	m *onnxpb.ModelProto
	g *onnxpb.GraphProto
	n int // node counter, for names
}

// newBuilder starts a model at opset with one float input; a negative dim is dynamic ("N").
func newBuilder(opset int64, input string, dims ...int64) *builder {
	g := &onnxpb.GraphProto{Name: proto.String("test")}
	b := &builder{
		m: &onnxpb.ModelProto{
			IrVersion:    proto.Int64(7),
			ProducerName: proto.String("cnngen-test"),
			OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
			Graph:        g,
		},
		g: g,
	}
	if input != "" {
		g.Input = append(g.Input, valueInfo(input, onnxpb.TensorProto_FLOAT, dims...))
	}
	return b
}

func valueInfo(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(dt)), Shape: shape,
		}}},
	}
}

// floatTensor is a FLOAT TensorProto in raw_data.
func floatTensor(name string, dims []int64, vals []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(tFloat), RawData: raw}
}

func intTensor(name string, vals ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(vals))}, DataType: proto.Int32(tInt64), Int64Data: vals}
}

// init adds a float initializer; nil vals are filled with a deterministic ramp.
func (b *builder) init(name string, dims []int64, vals []float32) string {
	if vals == nil {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		vals = ramp(n, len(b.g.Initializer))
	}
	b.g.Initializer = append(b.g.Initializer, floatTensor(name, dims, vals))
	return name
}

func (b *builder) initInts(name string, vals ...int64) string {
	b.g.Initializer = append(b.g.Initializer, intTensor(name, vals...))
	return name
}

// constInt adds a Constant node holding the INT64 scalar v as a value tensor (the form every
// version of Constant has; value_int came with Constant-12).
func (b *builder) constInt(v int64) string {
	t := &onnxpb.TensorProto{Dims: []int64{}, DataType: proto.Int32(tInt64), Int64Data: []int64{v}}
	return b.node("Constant", nil, aTensor("value", t))
}

// ramp is n small distinct values, different per seed.
func ramp(n, seed int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i*7+seed*13+1))) * 0.5
	}
	return v
}

// node adds a node named after its output and returns the output name.
func (b *builder) node(op string, ins []string, attrs ...*onnxpb.AttributeProto) string {
	b.n++
	out := fmt.Sprintf("/%s_%d_output_0", op, b.n)
	b.nodeOut(op, ins, []string{out}, attrs...)
	return out
}

func (b *builder) nodeOut(op string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{Name: proto.String(fmt.Sprintf("/%s_%d", op, len(b.g.Node))), OpType: proto.String(op), Input: ins, Output: outs, Attribute: attrs}
	b.g.Node = append(b.g.Node, n)
	return n
}

func (b *builder) output(name string) *builder {
	b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name)})
	return b
}

func (b *builder) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := proto.Marshal(b.m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (b *builder) model(t testing.TB) *Model {
	t.Helper()
	m, err := Parse(b.bytes(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// graph lowers the model, failing the test on error.
func (b *builder) graph(t testing.TB) (*ir.Graph, map[string]Tensor) {
	t.Helper()
	g, w, err := b.model(t).Graph("test")
	if err != nil {
		t.Fatal(err)
	}
	return g, w
}

// graphErr lowers the model and returns the error, failing the test when there is none.
func (b *builder) graphErr(t testing.TB) error {
	t.Helper()
	_, _, err := b.model(t).Graph("test")
	if err == nil {
		t.Fatal("lowering succeeded, want an error")
	}
	return err
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func aString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func aTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// ops lists the graph's nodes as "op[shape]" in order.
func ops(g *ir.Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, fmt.Sprintf("%s%v", n.Op, n.Shape))
	}
	return strings.Join(s, " ")
}

// mapWeights serves a Graph's weights to the interpreter.
type mapWeights map[string]Tensor

func (m mapWeights) Float32(key string) ([]float32, error) {
	t, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return t.Data, nil
}
