//go:build !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// detectISA probes the CPU once. cpuid's feature flags include the OS's support (XCR0) for the
// ymm and zmm/opmask state, so a level reported here is safe to run.
func detectISA() ISA {
	c := &cpuid.CPU
	switch {
	case c.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F):
		return AVX512
	case c.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3):
		return AVX2
	}
	return Generic
}

// simdSets returns the AVX2 and AVX-512 kernel sets: the Generic set with the entries that have
// assembly replaced by it.
func simdSets() [numISA]*kernelSet {
	avx2 := genericSet
	avx2.isa = AVX2
	avx2.gemm = &gemmImpl{gemmShape: gemmShapes[AVX2], isa: AVX2, tile: f32GemmEpi6x16AVX2, packRow: f32PackB16AVX}
	avx2.gemv4, avx2.gemv1 = f32Gemv4AVX2, f32Gemv1AVX2
	avx2.dwConv3x3s1, avx2.dwConv3x3s2 = f32DWConv3x3s1AVX2, f32DWConv3x3s2AVX2
	avx2.dwConv5x5s1, avx2.dwConv5x5s2 = f32DWConv5x5s1AVX2, f32DWConv5x5s2AVX2
	avx2.copyPlane = f32CopyPlaneAVX2
	avx2.dwConvRow3s1, avx2.dwConvRow3s2 = f32DWConvRow3s1AVX2, f32DWConvRow3s2AVX2
	avx2.dwConvRow5s1, avx2.dwConvRow5s2 = f32DWConvRow5s1AVX2, f32DWConvRow5s2AVX2
	avx2.wino4x4 = winoXform{g: 8, in: f32WinoIn4x4AVX2, out: f32WinoOutEpi4x4AVX2}
	avx2.wino2x2 = winoXform{g: 8, in: f32WinoIn2x2AVX2, out: f32WinoOutEpi2x2AVX2}
	avx2.act[ActReLU], avx2.act[ActReLU6] = f32VReLUAVX2, f32VReLU6AVX2
	avx2.act[ActSigmoid], avx2.act[ActSiLU], avx2.act[ActTanh] = f32VSigmoidAVX2, f32VSiLUAVX2, f32VTanhAVX2
	avx2.act[ActHardSigmoid], avx2.act[ActHardSwish] = f32VHardSigmoidAVX2, f32VHardSwishAVX2
	avx2.act[ActGELU], avx2.act[ActGELUTanh] = f32VGELUAVX2, f32VGELUTanhAVX2
	avx2.raddStoreExpMinusMax, avx2.vexpMinusMaxAcc = f32RAddStoreExpMinusMaxAVX2, f32VExpMinusMaxAccAVX2
	avx2.vadd, avx2.vmulAddC, avx2.vmulChannels = f32VAddAVX2, f32VMulAddCAVX2, f32VMulChannelsAVX2
	avx2.sgdMom, avx2.sgdNesterov = f32SGDMomAVX2, f32SGDNesterovAVX2
	avx2.wgradDot, avx2.maxGrad2x2 = f32WGradDot3x4AVX2, f32MaxGrad2x2AVX2
	avx2.transpose8, avx2.dotDiff, avx2.sumSq32 = f32Transpose8x8AVX, f32DotDiffAVX2, f32SumSq32AVX2
	avx2.maxArg3x3s2, avx2.reluGrad = f32MaxArg3x3s2AVX, f32ReLUGradAVX2
	avx2.vgatherS2, avx2.rsum = f32VGatherS2AVX2, f32RSumAVX2
	avx2.lrnSqAcc, avx2.lrnNorm75 = f32LRNSqAccAVX2, f32LRNNorm75AVX2
	avx2.maxPoolV2, avx2.maxPoolV3 = f32MaxPoolV2AVX2, f32MaxPoolV3AVX2
	avx2.maxPoolH3s1, avx2.maxPoolH2s2, avx2.maxPoolH3s2 = f32MaxPoolH3s1AVX2, f32MaxPoolH2s2AVX2, f32MaxPoolH3s2AVX2
	avx2.avgPoolH2s1, avx2.avgPoolH3s1, avx2.avgPoolH5s1 = f32AvgPoolH2s1AVX2, f32AvgPoolH3s1AVX2, f32AvgPoolH5s1AVX2
	avx2.avgPoolH2s2, avx2.avgPoolH3s2 = f32AvgPoolH2s2AVX2, f32AvgPoolH3s2AVX2
	avx2.maxPool16c, avx2.avgPool16c = f32MaxPool16cAVX2, f32AvgPool16cAVX2
	avx2.vmulAdd16c, avx2.vmul16c = f32VMulAdd16cAVX2, f32VMul16cAVX2
	avx2.toBlocked16c, avx2.fromBlocked16c = f32ToBlocked16cAVX2, f32FromBlocked16cAVX2
	avx2.winoIn16c, avx2.winoOut16c = f32WinoIn16cAVX2, f32WinoOutEpi16cAVX2
	avx2.conv16c = &conv16cImpl{p: [5]int{0, 6}, f: 1, tile: f32Conv16cEpi6x16AVX2}
	avx2.lrnSqSum16c = f32LRNSqSum16cAVX2
	avx2.dw16c = dw16cImpl{p: 6, tile: f32DWConv16cEpi6AVX2}
	avx2.fmaPeak, avx2.peakFlops = f32FMAPeakAVX2, 12*8*2

	avx512 := genericSet
	avx512.isa = AVX512
	avx512.gemm = &gemmImpl{gemmShape: gemmShapes[AVX512], isa: AVX512, tile: f32GemmEpi14x32AVX512, packRow: f32PackB32AVX}
	avx512.gemv4, avx512.gemv1 = f32Gemv4AVX512, f32Gemv1AVX512
	avx512.dwConv3x3s1, avx512.dwConv3x3s2 = f32DWConv3x3s1AVX512, f32DWConv3x3s2AVX512
	avx512.dwConv5x5s1, avx512.dwConv5x5s2 = f32DWConv5x5s1AVX512, f32DWConv5x5s2AVX512
	avx512.copyPlane = f32CopyPlaneAVX512
	avx512.dwConvRow3s1, avx512.dwConvRow3s2 = f32DWConvRow3s1AVX512, f32DWConvRow3s2AVX512
	avx512.dwConvRow5s1, avx512.dwConvRow5s2 = f32DWConvRow5s1AVX512, f32DWConvRow5s2AVX512
	avx512.wino4x4 = winoXform{g: 16, in: f32WinoIn4x4AVX512, out: f32WinoOutEpi4x4AVX512}
	avx512.wino2x2 = winoXform{g: 16, in: f32WinoIn2x2AVX512, out: f32WinoOutEpi2x2AVX512}
	avx512.act[ActReLU], avx512.act[ActReLU6] = f32VReLUAVX512, f32VReLU6AVX512
	avx512.act[ActSigmoid], avx512.act[ActSiLU], avx512.act[ActTanh] = f32VSigmoidAVX512, f32VSiLUAVX512, f32VTanhAVX512
	avx512.act[ActHardSigmoid], avx512.act[ActHardSwish] = f32VHardSigmoidAVX512, f32VHardSwishAVX512
	avx512.act[ActGELU], avx512.act[ActGELUTanh] = f32VGELUAVX512, f32VGELUTanhAVX512
	avx512.raddStoreExpMinusMax, avx512.vexpMinusMaxAcc = f32RAddStoreExpMinusMaxAVX512, f32VExpMinusMaxAccAVX512
	avx512.vadd, avx512.vmulAddC, avx512.vmulChannels = f32VAddAVX512, f32VMulAddCAVX512, f32VMulChannelsAVX512
	avx512.sgdMom, avx512.sgdNesterov = f32SGDMomAVX512, f32SGDNesterovAVX512
	avx512.wgradDot, avx512.maxGrad2x2 = f32WGradDot3x4AVX512, f32MaxGrad2x2AVX512
	avx512.transpose8, avx512.dotDiff, avx512.sumSq32 = f32Transpose8x8AVX, f32DotDiffAVX512, f32SumSq32AVX512
	avx512.maxArg3x3s2, avx512.reluGrad = f32MaxArg3x3s2AVX, f32ReLUGradAVX512
	avx512.vgatherS2, avx512.rsum = f32VGatherS2AVX512, f32RSumAVX512
	avx512.lrnSqAcc, avx512.lrnNorm75 = f32LRNSqAccAVX512, f32LRNNorm75AVX512
	avx512.maxPoolV2, avx512.maxPoolV3 = f32MaxPoolV2AVX512, f32MaxPoolV3AVX512
	avx512.maxPoolH3s1, avx512.maxPoolH2s2, avx512.maxPoolH3s2 = f32MaxPoolH3s1AVX512, f32MaxPoolH2s2AVX512, f32MaxPoolH3s2AVX512
	avx512.avgPoolH2s1, avx512.avgPoolH3s1, avx512.avgPoolH5s1 = f32AvgPoolH2s1AVX512, f32AvgPoolH3s1AVX512, f32AvgPoolH5s1AVX512
	avx512.avgPoolH2s2, avx512.avgPoolH3s2 = f32AvgPoolH2s2AVX512, f32AvgPoolH3s2AVX512
	avx512.maxPool16c, avx512.avgPool16c = f32MaxPool16cAVX512, f32AvgPool16cAVX512
	avx512.vmulAdd16c, avx512.vmul16c = f32VMulAdd16cAVX512, f32VMul16cAVX512
	avx512.toBlocked16c, avx512.fromBlocked16c = f32ToBlocked16cAVX512, f32FromBlocked16cAVX512
	avx512.winoIn16c, avx512.winoOut16c = f32WinoIn16cAVX512, f32WinoOutEpi16cAVX512
	avx512.lrnSqSum16c = f32LRNSqSum16cAVX512
	avx512.dw16c = dw16cImpl{p: 16, tile: f32DWConv16cEpi16AVX512}
	avx512.conv16c = &conv16cImpl{p: [5]int{0, 14, 12, 8, 6}, f: 4, tile: f32Conv16cEpi6x64AVX512}
	avx512.fmaPeak, avx512.peakFlops = f32FMAPeakAVX512, 24*16*2

	return [numISA]*kernelSet{AVX2: &avx2, AVX512: &avx512}
}
