package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The depthwise-convolution row kernels (set "dw"): dst[x] += sum_j w[j]*src[x*stride+j] for
// one kernel row of k = 3 or 5 taps, x < n, n a positive multiple of the vector length; the Go
// wrapper computes the tail. Each output is one chain of FMAs starting from dst, tap 0 first.

// dwPermute512 is the VPERMPD index that puts a zmm in natural order into the order of VSHUFPS's
// even/odd split; dwUnpermute512 (as unpermute512 in pool.go) puts it back.
var dwPermute512, dwUnpermute512 Mem

func dwSet() {
	dwPermute512 = GLOBL("dwPermute512", RODATA|NOPTR)
	for i, v := range []uint64{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(8*i, U64(v))
	}
	dwUnpermute512 = GLOBL("dwUnpermute512", RODATA|NOPTR)
	for i, v := range []uint64{0, 2, 4, 6, 1, 3, 5, 7} {
		DATA(8*i, U64(v))
	}
	for _, l := range []vecLevel{lvl512, lvl256} {
		for _, k := range []int{3, 5} {
			dwRowS1(l, k)
			dwRowS2(l, k)
		}
	}
}

// dwHead loads the parameters and broadcasts the k weights into regs[10:10+k].
func dwHead(l vecLevel, name string, k int) (dst, src, n Register) {
	TEXT(name, NOSPLIT, "func(dst, src, w *float32, n int)")
	Pragma("noescape")
	dst = Load(Param("dst"), GP64())
	src = Load(Param("src"), GP64())
	w := Load(Param("w"), GP64())
	n = Load(Param("n"), GP64())
	for j := range k {
		VBROADCASTSS(Mem{Base: w, Disp: 4 * j}, l.regs[10+j])
	}
	return dst, src, n
}

// dwRowS1 generates dwRow<k>S1<level>: two vectors of outputs per iteration (two independent
// chains), then one.
func dwRowS1(l vecLevel, k int) {
	name := fmt.Sprintf("dwRow%dS1%s", k, l.name)
	dst, src, n := dwHead(l, name, k)
	Doc(fmt.Sprintf("%s adds sum_j w[j]*src[x+j] (j < %d) to dst[x] for x < n (a multiple of %d).", name, k, l.vl))
	r := l.regs
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop2")
	end := GP64()
	LEAQ(Mem{Base: i, Disp: 2 * l.vl}, end)
	CMPQ(end, n)
	JG(LabelRef(name + "_one"))
	for v := range 2 {
		VMOVUPS(Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * v}, r[v])
	}
	for j := range k {
		for v := range 2 {
			VFMADD231PS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * (l.vl*v + j)}, r[10+j], r[v])
		}
	}
	for v := range 2 {
		VMOVUPS(r[v], Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * l.vl * v})
	}
	ADDQ(U8(2*l.vl), i)
	JMP(LabelRef(name + "_loop2"))

	Label(name + "_one")
	CMPQ(i, n)
	JGE(LabelRef(name + "_done"))
	VMOVUPS(Mem{Base: dst, Index: i, Scale: 4}, r[0])
	for j := range k {
		VFMADD231PS(Mem{Base: src, Index: i, Scale: 4, Disp: 4 * j}, r[10+j], r[0])
	}
	VMOVUPS(r[0], Mem{Base: dst, Index: i, Scale: 4})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// dwRowS2 generates dwRow<k>S2<level>: VSHUFPS splits two vectors of src at offsets 0, 2 (and 4)
// into even and odd elements, in an order permuted by 64-bit pairs; the accumulator is permuted
// the same way after its load and back before its store.
func dwRowS2(l vecLevel, k int) {
	name := fmt.Sprintf("dwRow%dS2%s", k, l.name)
	dst, src, n := dwHead(l, name, k)
	Doc(fmt.Sprintf("%s adds sum_j w[j]*src[2x+j] (j < %d) to dst[x] for x < n (a multiple of %d).", name, k, l.vl))
	r := l.regs
	perm, unperm := r[8], r[9]
	if l.vl == 16 {
		VMOVUPS(dwPermute512, perm)
		VMOVUPS(dwUnpermute512, unperm)
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	acc := r[0]
	VMOVUPS(Mem{Base: dst, Index: i, Scale: 4}, acc)
	if l.vl == 16 {
		VPERMPD(acc, perm, acc)
	} else {
		VPERMPD(U8(0xD8), acc, acc)
	}
	for off := 0; off < k; off += 2 {
		VMOVUPS(Mem{Base: src, Disp: 4 * off}, r[1])
		VMOVUPS(Mem{Base: src, Disp: 4 * (off + l.vl)}, r[2])
		VSHUFPS(U8(0x88), r[2], r[1], r[3])
		VFMADD231PS(r[3], r[10+off], acc)
		if off+1 < k {
			VSHUFPS(U8(0xDD), r[2], r[1], r[4])
			VFMADD231PS(r[4], r[10+off+1], acc)
		}
	}
	if l.vl == 16 {
		VPERMPD(acc, unperm, acc)
	} else {
		VPERMPD(U8(0xD8), acc, acc)
	}
	VMOVUPS(acc, Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U32(8*l.vl), src)
	ADDQ(U8(l.vl), i)
	CMPQ(i, n)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
