package ir

// Pooling with dilations and with pads up to the window's extent, which ONNX's MaxPool and
// AveragePool allow and PyTorch's pools do not (nn.MaxPool2d's pad is at most half the kernel,
// nn.AvgPool2d has no dilation). The window of output position o along an axis reads the input
// positions o*stride - padLo + j*dilation, j < kernel, that lie in the input; output sizes follow
// Window (ceil mode dropping a last window that starts in the end padding, as PyTorch and ONNX
// do). The ONNX front end uses maxpool and avgpool whenever they compute the same.
const (
	OpDilatedMaxPool Op = "dilated_maxpool"
	OpDilatedAvgPool Op = "dilated_avgpool"
)

// DilatedPoolAttrs are a pool's attributes and its dilation.
type DilatedPoolAttrs struct {
	PoolAttrs
	Dilation [2]int `attr:"dilation"`
}

func (a *DilatedPoolAttrs) Clone() Attrs { c := *a; return &c }

// DilatedAvgPoolAttrs add whether padded positions count in the average: with it the divisor is
// the number of window positions before the end of the padding, without it the number of input
// values the window reads (ONNX Runtime's rules).
type DilatedAvgPoolAttrs struct {
	DilatedPoolAttrs
	CountIncludePad bool `attr:"count_include_pad"`
}

func (a *DilatedAvgPoolAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(&OpDef{
		Op:     OpDilatedMaxPool,
		Doc:    "max pooling with dilation and pads up to the window's extent (ONNX MaxPool); padding never wins",
		New:    func() Attrs { return &DilatedPoolAttrs{Dilation: [2]int{1, 1}} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			return inferDilatedPool(n, in[0], As[*DilatedPoolAttrs](n))
		},
	}, &OpDef{
		Op:     OpDilatedAvgPool,
		Doc:    "average pooling with dilation and pads up to the window's extent (ONNX AveragePool)",
		New:    func() Attrs { return &DilatedAvgPoolAttrs{DilatedPoolAttrs: DilatedPoolAttrs{Dilation: [2]int{1, 1}}} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			return inferDilatedPool(n, in[0], &As[*DilatedAvgPoolAttrs](n).DilatedPoolAttrs)
		},
	})
}

func inferDilatedPool(n *Node, x Shape, a *DilatedPoolAttrs) (Shape, []Shape, error) {
	if err := wantCHW(n, x); err != nil {
		return nil, nil, err
	}
	if err := checkWindow(n, a.Kernel, a.Stride, a.Pad, a.Dilation); err != nil {
		return nil, nil, err
	}
	var out [2]int
	for i := range 2 {
		k, s, d, lo, hi := a.Kernel[i], a.Stride[i], a.Dilation[i], a.Pad[i], a.Pad[i+2]
		out[i] = Window(x[1+i], k, s, lo, hi, d, a.CeilMode)
		if out[i] == 0 {
			break // checkShape reports the empty output
		}
		// Every window must read an input value: a maximum or mean of nothing has no value. Only
		// windows reaching into the padding can miss (with a dilation, not only the first and
		// the last): those at either end, the others read their first position.
		for o := 0; o < out[i] && o*s-lo < 0; o++ {
			if err := windowReads(n, o*s-lo, k, d, x[1+i], a.Pad); err != nil {
				return nil, nil, err
			}
		}
		for o := out[i] - 1; o >= 0 && o*s-lo+(k-1)*d >= x[1+i]; o-- {
			if err := windowReads(n, o*s-lo, k, d, x[1+i], a.Pad); err != nil {
				return nil, nil, err
			}
		}
	}
	return Shape{x[0], out[0], out[1]}, nil, nil
}

func windowReads(n *Node, start, k, d, in int, pad [4]int) error {
	if !WindowReads(start, k, d, in) {
		return Errf(n, "the window starting at %d (kernel %d, dilation %d) reads no input value of %d: the padding %v is too large", start, k, d, in, pad)
	}
	return nil
}

// WindowReads reports whether the window of k positions start + j*d reads a position of [0, in).
func WindowReads(start, k, d, in int) bool {
	first := 0
	if start < 0 {
		first = (-start + d - 1) / d // the first j with start + j*d >= 0
	}
	return first < k && start+first*d < in
}
