package ir

// Ops that move values without computing new ones, beyond views: a channel shuffle (ShuffleNet's
// interleaving of the channel groups) and a narrowing to a range of one dimension (the halves
// torch.chunk and x[:, a:b] take).
const (
	OpChannelShuffle Op = "channel_shuffle"
	OpNarrow         Op = "narrow"
)

// ChannelShuffleAttrs give the number of channel groups: the C channels, seen as Groups rows of
// C/Groups, are read column by column (nn.ChannelShuffle).
type ChannelShuffleAttrs struct {
	Groups int `attr:"groups,required"`
}

func (a *ChannelShuffleAttrs) Clone() Attrs { c := *a; return &c }

// NarrowAttrs keep Length values of per-image dim Axis from Start (torch.narrow).
type NarrowAttrs struct {
	Axis   int `attr:"axis"`
	Start  int `attr:"start"`
	Length int `attr:"length,required"`
}

func (a *NarrowAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(&OpDef{
		Op:     OpChannelShuffle,
		Doc:    "channel shuffle (nn.ChannelShuffle): output channel i*groups + j is input channel j*(C/groups) + i",
		New:    func() Attrs { return &ChannelShuffleAttrs{} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x, g := in[0], As[*ChannelShuffleAttrs](n).Groups
			if len(x) < 2 {
				return nil, nil, Errf(n, "channel_shuffle needs channels and at least one more dim, got %v", x)
			}
			if g <= 0 || x[0]%g != 0 {
				return nil, nil, Errf(n, "channel_shuffle needs groups dividing the %d channels, got %d", x[0], g)
			}
			return x, nil, nil
		},
	}, &OpDef{
		Op:     OpNarrow,
		Doc:    "values [start, start+length) of per-image dim axis (torch.narrow, a copy)",
		New:    func() Attrs { return &NarrowAttrs{} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x, a := in[0], As[*NarrowAttrs](n)
			if a.Axis < 0 || a.Axis >= len(x) || a.Start < 0 || a.Length <= 0 || a.Start > x[a.Axis]-a.Length {
				return nil, nil, Errf(n, "narrow of dim %d to [%d, %d+%d) does not fit %v", a.Axis, a.Start, a.Start, a.Length, x)
			}
			out := append(Shape(nil), x...)
			out[a.Axis] = a.Length
			return out, nil, nil
		},
	})
}
