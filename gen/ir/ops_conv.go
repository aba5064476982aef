package ir

// OpConv is a 2-D convolution (nn.Conv2d).
const OpConv Op = "conv"

// ConvAttrs describe a 2-D convolution. Pads are top, left, bottom, right.
type ConvAttrs struct {
	Out      int    `attr:"out,required"`
	Kernel   [2]int `attr:"kernel,required" onnx:"kernel_shape"`
	Stride   [2]int `attr:"stride" onnx:"strides"`
	Pad      [4]int `attr:"pad" onnx:"pads"`
	Dilation [2]int `attr:"dilation" onnx:"dilations"`
	Groups   int    `attr:"groups" onnx:"group"`
	Bias     bool   `attr:"bias"`
}

func (a *ConvAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(&OpDef{
		Op:     OpConv,
		Doc:    "2-D convolution with optional bias (nn.Conv2d); weights [out, in/groups, kh, kw]",
		New:    func() Attrs { return &ConvAttrs{Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1, Bias: true} },
		Inputs: 1,
		Params: func(a Attrs) []string { return weightAndBias(a.(*ConvAttrs).Bias) },
		Infer:  inferConv,
		// Blocked kernels exist for the groups BlockedConvGroups takes; other groups stay NCHW.
		Blocked: func(n *Node) bool {
			a := As[*ConvAttrs](n)
			return BlockedConvGroups(n.Inputs[0].Shape[0], a.Out, a.Groups)
		},
		MACs: func(n *Node) int64 {
			w := n.Params[0].Shape
			// Each factor is at most MaxElems (checkShape): the product fits an int64.
			return int64(n.Shape.Size()) * int64(w[1]*w[2]*w[3])
		},
	})
}

// BlockedConvGroups reports whether a convolution of inC to outC channels in groups has a
// blocked kernel: one group, depthwise, groups whose channels fill whole blocks of 16 in and
// out, or groups of the same 1, 2, 4 or 8 channels in and out. It is kernels.BlockedGroups,
// which ir cannot import (gen/emit's tests check that they agree).
func BlockedConvGroups(inC, outC, groups int) bool {
	if groups == 1 || groups == inC && groups == outC {
		return true
	}
	if groups < 1 || inC%groups != 0 || outC%groups != 0 {
		return false
	}
	cg, og := inC/groups, outC/groups
	return cg%16 == 0 && og%16 == 0 || cg == og && 16%cg == 0
}

func weightAndBias(bias bool) []string {
	if bias {
		return []string{"weight", "bias"}
	}
	return []string{"weight"}
}

func inferConv(n *Node, in []Shape) (Shape, []Shape, error) {
	x := in[0]
	if err := wantCHW(n, x); err != nil {
		return nil, nil, err
	}
	a := As[*ConvAttrs](n)
	if err := checkWindow(n, a.Kernel, a.Stride, a.Pad, a.Dilation); err != nil {
		return nil, nil, err
	}
	if a.Out <= 0 || a.Out > MaxElems {
		return nil, nil, Errf(n, "conv needs out in [1, %d] channels, got %d", MaxElems, a.Out)
	}
	if a.Groups <= 0 {
		return nil, nil, Errf(n, "groups must be positive, got %d", a.Groups)
	}
	if x[0]%a.Groups != 0 || a.Out%a.Groups != 0 {
		return nil, nil, Errf(n, "groups=%d must divide input channels %d and output channels %d", a.Groups, x[0], a.Out)
	}
	h := Window(x[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], a.Dilation[0], false)
	w := Window(x[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], a.Dilation[1], false)
	params := []Shape{{a.Out, x[0] / a.Groups, a.Kernel[0], a.Kernel[1]}}
	if a.Bias {
		params = append(params, Shape{a.Out})
	}
	return Shape{a.Out, h, w}, params, nil
}
