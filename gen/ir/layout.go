package ir

// Layout is how a feature map's values lie in memory. Front ends leave every node in NCHW;
// gen/passes.ChooseLayout moves the ops that can run blocked to NCHW16c and puts reorders where a
// blocked tensor meets an op that cannot. Shapes (per image, [C H W]) do not change with it.
type Layout uint8

const (
	// NCHW is row-major [C][H][W]: PyTorch's layout, every op's.
	NCHW Layout = iota
	// NCHW16c is [ceil(C/16)][H][W][16]: channel c of pixel p at ((c/16)*H*W + p)*16 + c%16, so
	// a vector of 16 channels is one load (one zmm register; two ymm). The padding channels up
	// to a multiple of 16 hold finite values that no op reads as data.
	NCHW16c
)

// BlockC is the channel block of NCHW16c.
const BlockC = 16

func (l Layout) String() string {
	if l == NCHW16c {
		return "nchw16c"
	}
	return "nchw"
}

// PhysicalSize is how many float32s n's output occupies in its layout: its Size, or for a
// blocked feature map the channels rounded up to a block.
func (n *Node) PhysicalSize() int {
	if n.Layout == NCHW16c && len(n.Shape) == 3 {
		return (n.Shape[0] + BlockC - 1) / BlockC * BlockC * n.Shape[1] * n.Shape[2]
	}
	return n.Shape.Size()
}

// CanBlock reports whether n can run with its feature maps in NCHW16c: its OpDef says so
// (Blocked), or it is an elementwise activation, which runs on whole buffers whatever their
// layout.
func CanBlock(n *Node) bool {
	d := Def(n.Op)
	if d == nil || len(n.Shape) != 3 {
		return false
	}
	if d.Blocked != nil {
		return d.Blocked(n)
	}
	return d.Act != nil
}

// OpReorder converts a feature map between layouts; the passes insert it, no front end does.
const OpReorder Op = "reorder"

// ReorderAttrs give the layout a reorder writes; it reads its input's.
type ReorderAttrs struct {
	To string `attr:"to" values:"nchw,nchw16c"`
}

func (a *ReorderAttrs) Clone() Attrs { c := *a; return &c }

// ToLayout is the layout a reorder writes.
func (a *ReorderAttrs) ToLayout() Layout {
	if a.To == "nchw16c" {
		return NCHW16c
	}
	return NCHW
}

func init() {
	register(&OpDef{
		Op:     OpReorder,
		Doc:    "the same feature map in another memory layout (inserted by the layout pass)",
		New:    func() Attrs { return &ReorderAttrs{To: "nchw"} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			if err := wantCHW(n, in[0]); err != nil {
				return nil, nil, err
			}
			return in[0], nil, nil
		},
	})
}

// always is the Blocked of ops whose kernels take any feature map in NCHW16c.
func always(*Node) bool { return true }
