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
// input (opset 12+) must be absent or a constant false, unless the ratio is a constant 0.
// Older opsets' is_test attribute and mask outputs do not change the first output at inference.
func (l *lowerer) trainingDropout(pb *onnxpb.NodeProto) string {
	in := pb.GetInput()
	if pb.GetOpType() != "Dropout" || len(in) < 3 || in[2] == "" {
		return ""
	}
	konst := func(name string) (float64, bool) {
		t := l.m.inits[name]
		switch {
		case t == nil || t.size() != 1:
			return 0, false
		case len(t.f) == 1:
			return float64(t.f[0]), true
		}
		return float64(t.i[0]), true
	}
	if v, ok := konst(in[2]); ok && v == 0 {
		return ""
	}
	if len(in) > 1 && in[1] != "" {
		if r, ok := konst(in[1]); ok && r == 0 {
			return ""
		}
	}
	return "training_mode is not a constant false: dropout would be random"
}
