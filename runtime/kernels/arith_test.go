package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestArithSizes runs Add (also aliased, across addChunk) and ChannelAffine (also in place) at
// every level over sizes across the vector lengths and their multiples, with guards.
func TestArithSizes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(61, 62))
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 200, 4095, 4097, 9000} {
			act := allActs[n%len(allActs)]
			_, a := randGuarded(rng, n)
			_, b := randGuarded(rng, n)
			want := make([]float64, n)
			for i := range want {
				want[i] = refAct(act, float64(a[i])+float64(b[i]))
			}
			outBuf, out := guarded(n, nil)
			Add{Act: act}.Run(out, a, b)
			name := fmt.Sprintf("Add n=%d %v", n, act)
			checkClose(t, name, out, want, nil, 2)
			checkGuards(t, name, outBuf)
			Add{Act: act}.Run(a, a, b)
			checkClose(t, name+" aliased", a, want, nil, 2)

			const c = 3
			if n < c {
				continue
			}
			hw := n / c
			_, x := randGuarded(rng, c*hw)
			scale, shift := randSlice(rng, c), randSlice(rng, c)
			want = want[:c*hw]
			for i := range want {
				want[i] = refAct(act, float64(x[i])*float64(scale[i/hw])+float64(shift[i/hw]))
			}
			outBuf, out = guarded(c*hw, nil)
			ChannelAffine(c, hw, scale, shift, x, out, act)
			name = fmt.Sprintf("ChannelAffine hw=%d %v", hw, act)
			checkClose(t, name, out, want, nil, 2)
			checkGuards(t, name, outBuf)
			ChannelAffine(c, hw, scale, shift, x, x, act)
			checkClose(t, name+" in place", x, want, nil, 2)
		}
	})
}
