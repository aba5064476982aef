package onnx

import "github.com/cnngen/cnngen/gen/onnx/onnxpb"

// Identity and Dropout (the identity at inference) are not lowered: every name they output
// stands for their input's value, resolved before lowering.

// resolver returns the function mapping a value name to the one it stands for through chains
// of Identity and Dropout nodes (alias maps each one's output to its input). Every name a
// resolution walks through is memoized with the answer, so resolving all the names of a chain
// of n nodes takes O(n) steps, not O(n²), however long a (generated or hostile) model makes
// them. A name on a cycle resolves to a name of the cycle, which no node produces, and is
// reported as such.
func resolver(alias map[string]string) func(string) string {
	done := map[string]string{}
	walking := map[string]bool{}
	return func(s string) string {
		var path []string
		for {
			if r, ok := done[s]; ok {
				s = r
				break
			}
			next, ok := alias[s]
			if !ok || walking[s] {
				break
			}
			walking[s] = true
			path = append(path, s)
			s = next
		}
		for _, p := range path {
			done[p] = s
			delete(walking, p)
		}
		return s
	}
}

// trainingDropout explains why a Dropout is not the identity, or returns "": a training_mode
// input (opset 12+) must be absent or a constant false, unless the ratio is a constant 0 (ONNX:
// the output is then a copy of the input). Older opsets' is_test attribute and mask outputs do
// not change the first output at inference. The constants are initializers or Constant nodes
// (consts: each Constant node by its output), which torch.onnx writes for F.dropout(p=0.0,
// training=True), as in torchvision's Swin attention; they are read here, before folding,
// because a Dropout's output is resolved to its input before any node is lowered.
func (l *lowerer) trainingDropout(pb *onnxpb.NodeProto, consts map[string]*onnxpb.NodeProto) string {
	in := pb.GetInput()
	if pb.GetOpType() != "Dropout" || len(in) < 3 || in[2] == "" {
		return ""
	}
	if v, ok := l.scalarConst(in[2], consts); ok && v == 0 {
		return ""
	}
	if in[1] != "" {
		if r, ok := l.scalarConst(in[1], consts); ok && r == 0 {
			return ""
		}
	}
	return "training_mode is not a constant false and the ratio is not a constant 0: dropout would be random"
}

// scalarConst is the value of a one-element initializer or Constant node, if name is one.
func (l *lowerer) scalarConst(name string, consts map[string]*onnxpb.NodeProto) (float64, bool) {
	t := l.m.inits[name]
	if c := consts[name]; t == nil && c != nil {
		for _, a := range c.GetAttribute() {
			switch a.GetName() {
			case "value":
				if a.GetType() == onnxpb.AttributeProto_TENSOR && a.GetT() != nil {
					t, _ = decodeTensor(a.GetT(), &externalFiles{}) // inline only; nil when invalid
				}
			case "value_float":
				return float64(a.GetF()), a.GetType() == onnxpb.AttributeProto_FLOAT
			case "value_int":
				return float64(a.GetI()), a.GetType() == onnxpb.AttributeProto_INT
			}
		}
	}
	switch {
	case t == nil || t.size() != 1:
		return 0, false
	case len(t.f) == 1:
		return float64(t.f[0]), true
	}
	return float64(t.i[0]), true
}
