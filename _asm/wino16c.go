package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The blocked Winograd transforms of the f32conv16c group (runtime/kernels/winograd16c.go):
// f32WinoIn16c (V = B^T d B) and f32WinoOutEpi16c (Y = A^T M A, then bias, residual and ReLU or
// ReLU6) of F(4x4, 3x3) on 16-channel vectors: each lane is one channel of the same tile, so
// the arithmetic of winograd.go's in4 and out4 (the Go twins' operations, in their order, no
// fused multiply-adds) runs on whole vectors with no transposes. A tile a loop iteration, rows
// first through a stack buffer of 36 (24) vectors, then columns; AVX2 runs each tile twice,
// once per 8-channel half.

func wino16cSet() {
	winoConst("winoC4", func(int) Constant { return U32(math.Float32bits(4)) })
	winoConst("winoC5", func(int) Constant { return U32(math.Float32bits(5)) })
	winoConst("winoC8", func(int) Constant { return U32(math.Float32bits(8)) })
	winoConst("winoC6", func(int) Constant { return U32(math.Float32bits(6)) })
	for _, l := range levels {
		winoIn16c(l)
		winoOut16c(l)
	}
}

func winoIn16c(l *level) {
	name := "f32WinoIn16c" + l.name
	TEXT(name, 0, "func(dst, src []float32, n, ldr, ldd int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoIn16cGo with %s: V = B^T d B of n tiles of one channel block, tile k's", name, isaName(l)),
		"input vectors at src[k*64 + i*ldr + j*16:], position xi of tile k at dst[xi*ldd + k*16:].")
	halves, bytes := 16/l.vl, 4*l.vl
	v := l.regs
	tmp := AllocLocal(36 * bytes)
	slot := func(i int) Mem { return tmp.Offset(i * bytes) }
	src, dst := loadBase("src"), loadBase("dst")
	n := Load(Param("n"), GP64())
	ldr := Load(Param("ldr"), GP64())
	SHLQ(U8(2), ldr)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	s6 := GP64()
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, s6)
	SHLQ(U8(1), s6)
	row, p, q := GP64(), GP64(), GP64()
	Label(name + "_tile")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	for h := range halves {
		MOVQ(src, row)
		for i := range 6 {
			for j := range 6 {
				VMOVUPS(Mem{Base: row, Disp: 64*j + bytes*h}, v[j])
			}
			in4(v[0:6], v[6:10], func(r int, x VecPhysical) { VMOVUPS(x, slot(i*6+r)) })
			if i < 5 {
				ADDQ(ldr, row)
			}
		}
		MOVQ(dst, p)
		if h > 0 {
			ADDQ(U8(bytes*h), p)
		}
		for j := range 6 {
			for r := range 6 {
				VMOVUPS(slot(r*6+j), v[r])
			}
			addr := stridePtrs(p, q, s6)
			in4(v[0:6], v[6:10], func(r int, x VecPhysical) { VMOVUPS(x, addr[r]) })
			if j < 5 {
				ADDQ(ldd, p)
			}
		}
	}
	ADDQ(U32(4*64), src)
	ADDQ(U8(64), dst)
	DECQ(n)
	JMP(LabelRef(name + "_tile"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func winoOut16c(l *level) {
	name := "f32WinoOutEpi16c" + l.name
	TEXT(name, 0, "func(dst, src []float32, n, ss, ldd int, flags uint, bias, res []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is f32WinoOutEpi16cGo with %s: Y = A^T M A of n tiles of one channel block,", name, isaName(l)),
		"position xi of tile k at src[xi*ss + k*16:], pixel (r, c) of tile k, (y + bias) (+ res), then",
		"ReLU or ReLU6 as flags say, at dst[r*ldd + (4k+c)*16:].")
	halves, bytes := 16/l.vl, 4*l.vl
	v := l.regs
	tmp := AllocLocal(24 * bytes)
	slot := func(i int) Mem { return tmp.Offset(i * bytes) }
	src, dst, res, bias := loadBase("src"), loadBase("dst"), loadBase("res"), loadBase("bias")
	n := Load(Param("n"), GP64())
	flags := Load(Param("flags"), GP64())
	ss := Load(Param("ss"), GP64())
	SHLQ(U8(2), ss)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	s6 := GP64()
	LEAQ(Mem{Base: ss, Index: ss, Scale: 2}, s6)
	SHLQ(U8(1), s6)
	p, q, dr, rr := GP64(), GP64(), GP64(), GP64()
	zero, six := v[15], v[14]
	l.zero(zero)
	VMOVUPS(winoConsts["winoC6"], six)
	Label(name + "_tile")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	for h := range halves {
		lab := fmt.Sprintf("%s_h%d", name, h)
		MOVQ(src, p)
		if h > 0 {
			ADDQ(U8(bytes*h), p)
		}
		for j := range 6 {
			addr := stridePtrs(p, q, s6)
			for i := range 6 {
				VMOVUPS(addr[i], v[i])
			}
			out4(v[0:6], v[6:10], v[10:14])
			for r := range 4 {
				VMOVUPS(v[10+r], slot(r*6+j))
			}
			if j < 5 {
				ADDQ(ss, p)
			}
		}
		MOVQ(dst, dr)
		MOVQ(res, rr)
		for r := range 4 {
			for i := range 6 {
				VMOVUPS(slot(r*6+i), v[i])
			}
			out4(v[0:6], v[6:10], v[10:14])
			y := v[10:14]
			at := func(b Register, c int) Mem { return Mem{Base: b, Disp: 64*c + bytes*h} }
			for c := range 4 {
				VADDPS(Mem{Base: bias, Disp: bytes * h}, y[c], y[c])
			}
			lr := fmt.Sprintf("%s_r%d", lab, r)
			TESTQ(U32(epiRes), flags)
			JZ(LabelRef(lr + "_nores"))
			for c := range 4 {
				VADDPS(at(rr, c), y[c], y[c])
			}
			Label(lr + "_nores")
			TESTQ(U32(epiReLU|epiReLU6), flags)
			JZ(LabelRef(lr + "_store"))
			for c := range 4 {
				VMAXPS(y[c], zero, y[c])
			}
			TESTQ(U32(epiReLU6), flags)
			JZ(LabelRef(lr + "_store"))
			for c := range 4 {
				VMINPS(y[c], six, y[c])
			}
			Label(lr + "_store")
			for c := range 4 {
				VMOVUPS(y[c], at(dr, c))
			}
			if r < 3 {
				ADDQ(ldd, dr)
				ADDQ(ldd, rr)
			}
		}
	}
	ADDQ(U8(64), src)
	ADDQ(U32(4*64), dst)
	ADDQ(U32(4*64), res)
	DECQ(n)
	JMP(LabelRef(name + "_tile"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
