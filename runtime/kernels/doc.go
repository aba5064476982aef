// Package kernels is the kernel seam of cnngen: the compute routines that generated networks call
// from their fixed-shape layer functions.
//
// Every kernel works on one image. Activations are float32 in NCHW order (per image [C][H][W],
// contiguous) and live in an arena the caller preallocates, so no kernel allocates: the
// convolution's packing panel is passed in as scratch (see Conv.ScratchLen). Weights are packed
// once at load time (Conv.Pack, Linear.Pack) into an opaque layout chosen for the kernel that
// will run them, so faster kernels can change the layout without changing the API.
//
// Kernels may be called concurrently from several goroutines as long as each call has its own
// output and scratch; packed weights are read only. The kernels start no goroutines themselves:
// to spread one convolution over several cores, the caller runs Conv.RunPart for each part on its
// own goroutine with its own scratch; the parts compute exactly what Run computes, bit for bit.
//
// Numerics: storage and accumulation are float32, as in PyTorch; the transcendental functions
// (exp, tanh, pow) are evaluated in float64 and rounded, but for sigmoid and SiLU, which use a
// float32 exp (relative error below 3e-7) because they run over whole networks' activations.
// The SIMD kernels fuse each multiply-add (one rounding), so their results differ from the
// pure-Go ones in the last bits.
// Winograd convolutions (3x3, stride 1) trade about 4 bits (F(4x4)) or 1 bit (F(2x2)) of float32
// accuracy for 2-4x fewer multiplies: see TestWinogradAccuracy for the measured error.
//
// # SGEMM and instruction sets
//
// Convolutions (1x1, im2col and Winograd's per-position products, see winograd.go) run on one
// cache-blocked SGEMM (see sgemm.go): for each KC-row
// block of B, A's matching block is packed into MR-row panels (conv weights are packed whole at
// Pack), each KC x NC block of B into NR-column panels, and a micro-kernel computes one MR x NR
// tile of C over one KC block per call. The micro-kernel and the blocking are chosen per ISA
// level, as Go's crypto packages choose theirs:
//
//   - Generic: pure Go, 2x4 register tile (Go's amd64 code generator has 15 usable float
//     registers and schedules loop-carried adds late, so larger Go tiles spill). The only level
//     of builds with -tags purego and of non-amd64 builds.
//   - AVX2 (AVX2 + FMA): 6x16 tile in ymm0-ymm15 (12 accumulators), VEX encodings only.
//   - AVX512 (AVX-512 F): 14x32 tile in zmm registers (28 accumulators), C columns masked with
//     opmask registers.
//
// Each SIMD kernel exists for every row count 1..MR (a partial row tile costs what it computes)
// and masks partial column tiles; one call is a few microseconds, so goroutines stay
// preemptible. A convolution's epilogue runs in the micro-kernels: the first KC block of a tile
// starts from the bias (and residual) rather than from a pre-filled output, and the last applies
// ReLU or ReLU6 before the store, so the output is written once; other activations run on each
// block of MR rows right after its last tile, while it is in cache. Apply's activations (but
// tanh) have SIMD kernels too, a few thousand elements per call.
//
// Two kinds of convolution do not run on the SGEMM. Depthwise 3x3 and 5x5 convolutions of
// stride 1 or 2 (EfficientNet's, MobileNet's) copy each channel into a plane framed by its zero
// padding (in the scratch) and compute the whole output plane in one kernel call, four output
// rows side by side with every tap accumulated in registers (dwconv group); the other depthwise
// shapes, and those with a residual, go row by row. A 1x1 convolution of a 1x1 image
// (squeeze-and-excitation) is a matrix-vector product and runs on Linear's kernels (gemv), where
// the SGEMM would pad its single column to a whole NR-column panel.
//
// The assembly is generated with avo by the separate module in ../../_asm, one group of kernels
// per .s file:
//
//	cd _asm && go run . -set gemm -out ../runtime/kernels/sgemm_amd64.s -stubs ../runtime/kernels/sgemm_stub_amd64.go -pkg kernels
//	cd _asm && go run . -set act -out ../runtime/kernels/act_amd64.s -stubs ../runtime/kernels/act_stub_amd64.go -pkg kernels
//
// (the go:generate lines below run the same commands; avo's output is deterministic, so
// go generate reproduces the committed files byte for byte). Do not edit the .s or the stub files
// by hand. tileGo and applyGo are the pure-Go twins of the SIMD kernels; the tests compare them
// tile by tile, through the whole SGEMM and element by element, and check that the AVX2
// functions use no EVEX encoding and no register beyond ymm15.
//
// The level is detected once at package initialization with github.com/klauspost/cpuid/v2 (which
// includes the OS's support for the ymm and zmm state). The environment variable
// CNNGEN_ISA=generic|avx2|avx512 selects a lower level; asking for a level the CPU (or the build)
// lacks, or for an unknown one, never faults: the kernels run at the best supported level and
// ISAError returns the error. Generated networks check ISAError in New (and so Load) and fail with
// it, so that a setting that did not take effect is reported rather than ignored. Active, Best,
// SetISA and PeakGFLOPS serve tests, benchmarks and cnngen bench.
//
// Packed conv weights record the level they were packed for (its MR and KC shape the layout).
// Run uses that level's kernel when it is at most the active level, and otherwise the Go twin on
// the same layout (after SetISA to a lower level): the results are right either way, the speed
// is best when weights are packed at the level they run at. Conv.ScratchLen is the most any level
// needs, the same in every build, because code generators bake it into generated code.
package kernels

//go:generate go run -C ../../_asm . -set gemm -out ../runtime/kernels/sgemm_amd64.s -stubs ../runtime/kernels/sgemm_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set pool -out ../runtime/kernels/pool_amd64.s -stubs ../runtime/kernels/pool_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set gemv -out ../runtime/kernels/gemv_amd64.s -stubs ../runtime/kernels/gemv_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set dw -out ../runtime/kernels/dw_amd64.s -stubs ../runtime/kernels/dw_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set eltwise -out ../runtime/kernels/eltwise_amd64.s -stubs ../runtime/kernels/eltwise_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set act -out ../runtime/kernels/act_amd64.s -stubs ../runtime/kernels/act_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set winograd -out ../runtime/kernels/winograd_amd64.s -stubs ../runtime/kernels/winograd_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set dwconv -out ../runtime/kernels/dwconv_amd64.s -stubs ../runtime/kernels/dwconv_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set arith -out ../runtime/kernels/arith_amd64.s -stubs ../runtime/kernels/arith_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set avgpool -out ../runtime/kernels/avgpool_amd64.s -stubs ../runtime/kernels/avgpool_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set lrn -out ../runtime/kernels/lrn_amd64.s -stubs ../runtime/kernels/lrn_stub_amd64.go -pkg kernels
