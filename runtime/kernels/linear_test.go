package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestLinear(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, in := range []int{1, 2, 3, 5, 8, 17, 64, 129} {
			for _, out := range []int{1, 2, 3, 4, 5, 7, 10, 33} {
				for _, act := range []Act{ActNone, ActReLU, allActs[(in+out)%len(allActs)]} {
					l := Linear{In: in, Out: out, Act: act}
					name := fmt.Sprintf("%+v", l)
					w := randSlice(rng, in*out)
					var bias []float32
					if out%2 == 1 {
						bias = randSlice(rng, out)
					}
					pw, err := l.Pack(w, bias)
					if err != nil {
						t.Fatal(err)
					}
					inBuf, x := randGuarded(rng, in)
					outBuf, y := guarded(out, nil)
					want, mag := refLinear(&l, x, w, bias)
					l.Run(y, x, pw)
					checkClose(t, name, y, want, mag, in)
					checkGuards(t, name+" out", outBuf)
					checkGuards(t, name+" in", inBuf)
				}
			}
		}
		l := Linear{In: 3, Out: 2}
		if _, err := l.Pack(make([]float32, 5), nil); err == nil {
			t.Error("Pack accepted short weights")
		}
		if _, err := (&Linear{In: 0, Out: 2}).Pack(nil, nil); err == nil {
			t.Error("Pack accepted In=0")
		}
	})
}

// TestLinearRunRows splits Linears into random row ranges at every level: the ranges must
// reproduce Run bit for bit and leave the other outputs alone, and Run must match the reference
// across the SIMD kernels' column and row tails.
func TestLinearRunRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, in := range []int{15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 300, 1027} {
			for _, out := range []int{1, 3, 4, 5, 9, 18} {
				l := Linear{In: in, Out: out, Act: ActReLU}
				w, bias := randSlice(rng, in*out), randSlice(rng, out)
				pw, err := l.Pack(w, bias)
				if err != nil {
					t.Fatal(err)
				}
				x := randSlice(rng, in)
				name := fmt.Sprintf("%+v", l)
				outBuf, whole := guarded(out, nil)
				l.Run(whole, x, pw)
				checkGuards(t, name, outBuf)
				want, mag := refLinear(&l, x, w, bias)
				checkClose(t, name, whole, want, mag, in)
				for range 5 {
					partBuf, parts := guarded(out, nil)
					for o0 := 0; o0 < out; {
						o1 := o0 + 1 + rng.IntN(out-o0)
						l.RunRows(o0, o1, parts, x, pw)
						for i := o1; i < out; i++ {
							if math.Float32bits(parts[i]) != math.Float32bits(sentinel) {
								t.Fatalf("%s: RunRows(%d, %d) wrote output %d", name, o0, o1, i)
							}
						}
						o0 = o1
					}
					checkGuards(t, name+" parts", partBuf)
					for i := range whole {
						if math.Float32bits(parts[i]) != math.Float32bits(whole[i]) {
							t.Fatalf("%s: split output %d = %v, Run %v", name, i, parts[i], whole[i])
						}
					}
				}
			}
		}
		l := Linear{In: 4, Out: 3}
		pw, _ := l.Pack(make([]float32, 12), nil)
		mustPanic(t, "RunRows past Out", func() { l.RunRows(2, 4, make([]float32, 3), make([]float32, 4), pw) })
		mustPanic(t, "RunRows backwards", func() { l.RunRows(2, 1, make([]float32, 3), make([]float32, 4), pw) })
	})
}
