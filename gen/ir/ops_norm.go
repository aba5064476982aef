package ir

// The normalizations and per-channel affine maps.
const (
	OpBatchNorm Op = "bn"
	OpLRN       Op = "lrn"
	OpAffine    Op = "affine" // per-channel x*scale+shift with constant scale/shift (torchvision's transform_input)
)

// BatchNormAttrs describe an inference batch norm over channels.
type BatchNormAttrs struct {
	Eps float64 `attr:"eps" onnx:"epsilon"`
}

func (a *BatchNormAttrs) Clone() Attrs { c := *a; return &c }

// LRNAttrs follow PyTorch/ONNX: b = a / (k + alpha/size * sum(a^2))^beta over size channels,
// the window [c-Lo, c-Lo+size). Lo is size/2 in PyTorch and (size-1)/2 in ONNX: they differ
// for even sizes.
type LRNAttrs struct {
	Size  int     `attr:"size,required"`
	Alpha float64 `attr:"alpha"`
	Beta  float64 `attr:"beta"`
	Bias  float64 `attr:"k" onnx:"bias"`
	Lo    int     `attr:"lo"`
}

func (a *LRNAttrs) Clone() Attrs { c := *a; return &c }

// Default puts the window's start size/2 channels before c, as PyTorch does.
func (a *LRNAttrs) Default(field string) (any, bool) {
	if field == "lo" {
		return a.Size / 2, true
	}
	return nil, false
}

// AffineAttrs hold constant per-channel scale and shift (one value: every channel).
type AffineAttrs struct {
	Scale []float64 `attr:"scale,required"`
	Shift []float64 `attr:"shift,required"`
}

func (a *AffineAttrs) Clone() Attrs {
	return &AffineAttrs{Scale: append([]float64(nil), a.Scale...), Shift: append([]float64(nil), a.Shift...)}
}

func init() {
	register(&OpDef{
		Op:     OpBatchNorm,
		Doc:    "batch norm with running statistics (nn.BatchNorm2d in eval mode); folded into the conv before it",
		New:    func() Attrs { return &BatchNormAttrs{Eps: 1e-5} },
		Inputs: 1,
		Params: func(Attrs) []string { return []string{"weight", "bias", "running_mean", "running_var"} },
		Flags:  Elementwise,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x := in[0]
			if len(x) != 3 && len(x) != 1 {
				return nil, nil, Errf(n, "bn needs [C H W] or [C], got %v", x)
			}
			if eps := As[*BatchNormAttrs](n).Eps; !(eps > 0) || !finite(eps) {
				return nil, nil, Errf(n, "bn eps must be positive, got %g", eps)
			}
			c := Shape{x[0]}
			return x, []Shape{c, c, c, c}, nil
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpLRN,
		Doc:    "local response normalization across channels (nn.LocalResponseNorm)",
		New:    func() Attrs { return &LRNAttrs{Alpha: 1e-4, Beta: 0.75, Bias: 1} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			if err := wantCHW(n, in[0]); err != nil {
				return nil, nil, err
			}
			a := As[*LRNAttrs](n)
			if a.Size <= 0 || a.Size > MaxElems {
				return nil, nil, Errf(n, "lrn size must be in [1, %d], got %d", MaxElems, a.Size)
			}
			if a.Lo < 0 || a.Lo >= a.Size {
				return nil, nil, Errf(n, "lrn window start %d must be in [0, size)", a.Lo)
			}
			if !finite(a.Alpha) || !finite(a.Beta) || !finite(a.Bias) || a.Beta < 0 || a.Bias <= 0 && a.Alpha <= 0 {
				return nil, nil, Errf(n, "lrn needs beta >= 0 and a positive k or alpha")
			}
			return in[0], nil, nil
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpAffine,
		Doc:    "x*scale[c] + shift[c] with constant per-channel values",
		New:    func() Attrs { return &AffineAttrs{} },
		Inputs: 1,
		Flags:  Elementwise,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			a, c := As[*AffineAttrs](n), in[0][0]
			for _, v := range append(append([]float64(nil), a.Scale...), a.Shift...) {
				if !finite(v) {
					return nil, nil, Errf(n, "affine values must be finite")
				}
			}
			if len(a.Scale) != c && len(a.Scale) != 1 || len(a.Shift) != c && len(a.Shift) != 1 {
				return nil, nil, Errf(n, "affine needs 1 or %d scale and shift values (one per channel), got %d and %d", c, len(a.Scale), len(a.Shift))
			}
			return in[0], nil, nil
		},
		Blocked: always,
	})
}
