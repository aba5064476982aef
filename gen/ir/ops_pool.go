package ir

// The pooling ops.
const (
	OpMaxPool         Op = "maxpool"
	OpAvgPool         Op = "avgpool"
	OpAdaptiveAvgPool Op = "adaptive_avgpool" // output size fixed, windows as PyTorch computes them
	OpGlobalAvgPool   Op = "global_avgpool"
	OpGlobalMaxPool   Op = "global_maxpool"
)

// PoolAttrs describe max pooling. Pads are top, left, bottom, right.
type PoolAttrs struct {
	Kernel   [2]int `attr:"kernel,required" onnx:"kernel_shape"`
	Stride   [2]int `attr:"stride" onnx:"strides"` // PyTorch's default is the kernel
	Pad      [4]int `attr:"pad" onnx:"pads"`
	CeilMode bool   `attr:"ceil_mode"`
}

func (a *PoolAttrs) Clone() Attrs { c := *a; return &c }

// Default makes the stride default to the kernel, as in PyTorch.
func (a *PoolAttrs) Default(field string) (any, bool) {
	if field == "stride" {
		return a.Kernel, true
	}
	return nil, false
}

// AvgPoolAttrs describe average pooling.
type AvgPoolAttrs struct {
	PoolAttrs
	CountIncludePad bool `attr:"count_include_pad"` // PyTorch's default is true, ONNX's false
}

func (a *AvgPoolAttrs) Clone() Attrs { c := *a; return &c }

// AdaptivePoolAttrs give an adaptive pool's output size.
type AdaptivePoolAttrs struct {
	Out [2]int `attr:"out,required"`
}

func (a *AdaptivePoolAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(&OpDef{
		Op:     OpMaxPool,
		Doc:    "max pooling (nn.MaxPool2d)",
		New:    func() Attrs { return &PoolAttrs{} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			return inferPool(n, in[0], As[*PoolAttrs](n))
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpAvgPool,
		Doc:    "average pooling (nn.AvgPool2d)",
		New:    func() Attrs { return &AvgPoolAttrs{CountIncludePad: true} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			return inferPool(n, in[0], &As[*AvgPoolAttrs](n).PoolAttrs)
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpAdaptiveAvgPool,
		Doc:    "adaptive average pooling to a fixed output size (nn.AdaptiveAvgPool2d)",
		New:    func() Attrs { return &AdaptivePoolAttrs{} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			if err := wantCHW(n, in[0]); err != nil {
				return nil, nil, err
			}
			o := As[*AdaptivePoolAttrs](n).Out
			if o[0] <= 0 || o[1] <= 0 {
				return nil, nil, Errf(n, "adaptive pooling needs a positive output size, got %v", o)
			}
			return Shape{in[0][0], o[0], o[1]}, nil, nil
		},
		Blocked: always,
	}, &OpDef{
		Op:      OpGlobalAvgPool,
		Doc:     "mean over each channel's plane, [C H W] -> [C 1 1]",
		Inputs:  1,
		Infer:   inferGlobalPool,
		Blocked: always,
	}, &OpDef{
		Op:      OpGlobalMaxPool,
		Doc:     "maximum over each channel's plane, [C H W] -> [C 1 1]",
		Inputs:  1,
		Infer:   inferGlobalPool,
		Blocked: always,
	})
}

func inferPool(n *Node, x Shape, a *PoolAttrs) (Shape, []Shape, error) {
	if err := wantCHW(n, x); err != nil {
		return nil, nil, err
	}
	if err := checkWindow(n, a.Kernel, a.Stride, a.Pad, [2]int{1, 1}); err != nil {
		return nil, nil, err
	}
	for i, p := range a.Pad {
		if 2*p > a.Kernel[i%2] {
			return nil, nil, Errf(n, "pad %d must be at most half the kernel %d (a window entirely in padding has no value)", p, a.Kernel[i%2])
		}
	}
	h := Window(x[1], a.Kernel[0], a.Stride[0], a.Pad[0], a.Pad[2], 1, a.CeilMode)
	w := Window(x[2], a.Kernel[1], a.Stride[1], a.Pad[1], a.Pad[3], 1, a.CeilMode)
	return Shape{x[0], h, w}, nil, nil
}

func inferGlobalPool(n *Node, in []Shape) (Shape, []Shape, error) {
	if err := wantCHW(n, in[0]); err != nil {
		return nil, nil, err
	}
	return Shape{in[0][0], 1, 1}, nil, nil
}
