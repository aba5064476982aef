// Package kernels is the kernel seam of cnngen: the compute routines that generated networks call
// from their fixed-shape layer functions.
//
// Every kernel works on one image. Activations are float32 in NCHW order (per image [C][H][W],
// contiguous), or for the settings types with a Layout field set to NCHW16c in blocks of 16
// channels ([C/16][H][W][16], see Layout and Reorder), and live in an arena the caller preallocates, so no kernel allocates: the
// convolution's packing panel is passed in as scratch (see Conv.ScratchLen), and Pool and the
// row-by-row depthwise convolution take their few-KiB row buffers from a free list that grows,
// at warm-up, to one buffer per goroutine running them at once (rowbuf.go). Weights are packed
// once at load time (Conv.Pack, Linear.Pack) into an opaque layout chosen for the kernel that
// will run them, so faster kernels can change the layout without changing the API.
//
// Kernels may be called concurrently from several goroutines as long as each call has its own
// output and scratch; packed weights are read only. The kernels start no goroutines themselves:
// to spread one convolution over several cores, the caller runs Conv.RunPart for each part on its
// own goroutine with its own scratch; the parts compute exactly what Run computes, bit for bit.
//
// Numerics: storage and accumulation are float32, as in PyTorch. The activations with an exp
// (sigmoid, SiLU, tanh, the GELUs) and softmax run over whole networks' activations, so they
// compute in float32: the SIMD kernels with a table and a degree-2 or 3 polynomial for exp and
// a reciprocal estimate refined by Newton-Raphson for division (../../_asm/vexp.go), the Go
// twins with Cephes' degree-7 polynomial and exact division (tanh in float64). act.go states
// the error bounds against float64, the same at every level (relative: 3e-7 for sigmoid, SiLU
// and tanh, 6e-7 for GELU; NaN stays NaN), and TestActAccuracy checks them over every float32
// exponent. The SIMD kernels fuse each multiply-add (one rounding), so their results differ
// from the pure-Go ones in the last bits (TestKernelTwins states each routine's bound).
// Winograd convolutions (3x3, stride 1) trade about 4 bits (F(4x4)) or 1 bit (F(2x2)) of float32
// accuracy for 2-4x fewer multiplies: see TestWinogradAccuracy for the measured error.
//
// # SGEMM and instruction sets
//
// Convolutions (1x1, im2col and Winograd's per-position products, see winograd.go) run on one
// cache-blocked SGEMM (see gemm.go): for each KC-row block of B, A's matching block is packed
// into MR-row panels (conv weights are packed whole at Pack), each KC x NC block of B into
// NR-column panels, and a micro-kernel computes one MR x NR tile of C over one KC block per call.
// The micro-kernel and the blocking are chosen per ISA level, as Go's crypto packages choose
// theirs:
//
//   - Generic: pure Go, 2x4 register tile (Go's amd64 code generator has 15 usable float
//     registers and schedules loop-carried adds late, so larger Go tiles spill). The only level
//     of builds with -tags purego and of non-amd64 builds.
//   - AVX2 (AVX2 + FMA): 6x16 tile in ymm0-ymm15 (12 accumulators), VEX encodings only.
//   - AVX512 (AVX-512 F): 14x32 tile in zmm registers (28 accumulators), C columns masked with
//     opmask registers.
//
// Each SIMD micro-kernel has a body for every row count 1..MR (a partial row tile costs what it
// computes) and masks partial column tiles; one call is a few microseconds, so goroutines stay
// preemptible. A convolution's epilogue runs in the micro-kernels: the first KC block of a tile
// starts from the bias (and residual) rather than from a pre-filled output, and the last applies
// ReLU or ReLU6 before the store, so the output is written once; other activations run on each
// block of MR rows right after its last tile, while it is in cache.
//
// Two kinds of convolution do not run on the SGEMM. Depthwise 3x3 and 5x5 convolutions of
// stride 1 or 2 (EfficientNet's, MobileNet's) copy each channel into a plane framed by its zero
// padding (in the scratch) and compute the whole output plane in one kernel call, four output
// rows side by side with every tap accumulated in registers (f32DWConv); the other depthwise
// shapes, and those with a residual, go row by row (f32DWConvRow). A 1x1 convolution of a 1x1
// image (squeeze-and-excitation) is a matrix-vector product and runs on Linear's kernels
// (f32Gemv), where the SGEMM would pad its single column to a whole NR-column panel.
//
// # The blocked layout
//
// With Layout NCHW16c (layout.go) a feature map is [C/16][H][W][16]: a pixel's 16 channels of a
// block are one zmm (two ymm), and no kernel packs activations. Convolutions (conv16c.go) run
// on one direct micro-kernel, MLAS's NCHWc scheme: up to 24 vector accumulators for a few output
// pixels of one row times up to 4 output channel blocks, each input value broadcast against the
// 16-channel weight vectors, summed over a chunk of input channel blocks and the kernel's taps
// (f32Conv16c: 6x64 at AVX-512, 6x16 at AVX2), with the GEMM's epilogue flags; a pointwise
// convolution is one row of all the pixels (a strided one with short rows reads a gathered copy
// of its pixels as one), horizontal padding is read from a zero-framed copy of a band of rows;
// grouped convolutions run as super-groups of whole blocks (block-diagonal weights for groups
// of fewer than 16 channels). 3x3 stride-1 layers of 14x14 outputs and more run Winograd F(4x4, 3x3)
// (winograd16c.go): its transforms work on 16-channel vectors and its 36 products are pointwise
// convolutions on the direct kernel. Depthwise convolutions have a vector kernel of their own
// (dwconv16c.go), pools a window's vectors (pool16c.go), the per-channel operations 16-channel
// factors (eltwise16c.go); Reorder converts at the edges of the blocked part of a graph. The
// padding lanes of a last partial block are finite and ignored: zero weights, no reductions
// over them, explicit zeros where a result would mix them in (GlobalPool, LRN, Pad).
//
// # Kernel sets and twins
//
// Each level's routines form one kernelSet (dispatch.go), a table of func values built once; the
// operators load the active set once per call and call through it (an indirect call per row,
// plane or micro-tile), so no wrapper asks which level is active. The SIMD sets hold the
// assembly; the Generic set holds the pure-Go twins, which have the assembly's names with Go for
// the instruction set, its signatures and its semantics (as Go crypto's sha256block.go beside
// sha256block_amd64.s), in files built on every platform (f32gemm.go beside f32gemm_amd64.s).
// The routines take slices cut to what they read and compute every element: the assembly runs
// a partial last vector under masks, so a value's result does not depend on where it falls in a
// slice, and the operators need no tail loops. TestKernelTwins walks the sets' fields and runs
// every SIMD routine against its twin over swept lengths and start offsets, with guard bands;
// TestKernelNames checks the names below against the generated files and the sets.
//
// # Names
//
// The routines are named after XNNPACK's scheme, the parts in this order (f32GemmEpi14x32AVX512:
// f32 GEMM with an epilogue, 14x32 tile, AVX-512):
//
//	part       meaning                            values
//	datatype   element type                       f32
//	operation  what it computes                   Gemm, Gemv, DWConv (a plane), DWConvRow (a
//	                                              kernel row over an output row), WinoIn,
//	                                              WinoOut (Winograd transforms), V<act> (VReLU,
//	                                              VSigmoid, ...: element-wise activations), VAdd,
//	                                              VMulAddC (x*s+b, s and b constants),
//	                                              VMulChannels (x*s[channel]), VGatherS2
//	                                              (stride-2 gather), RSum (reduce-sum),
//	                                              RAddStoreExpMinusMax (exp(x - max) stored
//	                                              and summed), VExpMinusMaxAcc (stored and
//	                                              added to sums),
//	                                              LRNSqAcc, LRNNorm75, MaxPoolV (rows),
//	                                              MaxPoolH, AvgPoolH (a row's windows),
//	                                              PackB (B panels), CopyPlane, FMAPeak;
//	                                              on NCHW16c: Conv16c (direct convolution),
//	                                              DWConv16c (depthwise), MaxPool16c,
//	                                              AvgPool16c, VMulAdd16c (x*s+b, s and b
//	                                              16-channel vectors), VMul16c, ToBlocked16c,
//	                                              FromBlocked16c (Reorder's blocks),
//	                                              LRNSqSum16c (LRN's sums across blocks)
//	                                              SGDMom, SGDNesterov (an optimizer's update),
//	                                              WGradDot (a weight gradient's shifted dot
//	                                              products), MaxGrad2x2 (a 2x2 max pooling's
//	                                              gradient, a row of windows), Transpose8x8,
//	                                              DotDiff (batch norm's backward sum),
//	                                              SumSq (clipping's sums of squares)
//	epilogue   fused after the operation          Epi (bias, residual, ReLU/ReLU6 by flags)
//	tile       the block a call's loop computes   14x32, 6x16, 2x4 (GEMM rows x columns); 3x3s1
//	                                              (kernel, stride); 3s2 (taps, stride); H3s2
//	                                              (window width, stride); V3 (rows); 4 (GEMV
//	                                              rows); 4x4 (Winograd output tile); 32 (PackB
//	                                              columns); 6x64 (Conv16c: pixels x output
//	                                              channels); 16, 6 (DWConv16c: pixels)
//	ISA        instruction set                    AVX512 (AVX-512 F), AVX2 (AVX2 + FMA, VEX, Y0-15),
//	                                              AVX (AVX only: both levels), Go (the twin)
//
// A kernel group (-set) of the generator is one .s file, one stub file, one twin file, and one
// file of ../../_asm: f32gemm (GEMM micro-kernels, B-panel copy, FMA peak), f32gemv, f32dwconv
// (planes and their copy), f32dwconvrow, f32winograd, f32vact (activations), f32vexp (softmax's
// exps), f32varith (VAdd, VMulAddC, VMulChannels, VGatherS2, RSum), f32lrn and f32pool (max and
// average passes).
//
// The NCHW16c kernels are two more groups: f32conv16c (the direct and the depthwise
// convolutions) and f32ops16c (pools, per-channel arithmetic and Reorder's blocks).
//
// f32train is training's: the SGD update of a tensor with momentum and weight decay, each of
// torch's multiply-adds one float32 FMA, bit for bit torch's (its twins use the exact FMA32),
// the blocks of dot products of a few-channel layer's direct weight gradient (bwd_wgrad.go) and
// the 2x2 max pooling's gradient (bwd_pool.go) and the 8 x 8 blocks of the channels-last
// transposes (bwd_conv.go).
//
// The assembly is generated with avo by the separate module in ../../_asm; the go:generate
// lines below run it, and the first line of each .s and stub file is the command that made it
// (run from this directory). avo's output is deterministic, so go generate reproduces the
// committed files byte for byte. Do not edit the .s or the stub files by hand. The tests also
// check that the AVX2 routines use no EVEX encoding and no register beyond ymm15.
//
// The level is detected once at package initialization with github.com/klauspost/cpuid/v2 (which
// includes the OS's support for the ymm and zmm state). The environment variable
// CNNGEN_ISA=generic|avx2|avx512 selects a lower level; asking for a level the CPU (or the build)
// lacks, or for an unknown one, never faults: the kernels run at the best supported level and
// ISAError returns the error. Generated networks check ISAError in New (and so Load) and fail with
// it, so that a setting that did not take effect is reported rather than ignored. Active, Best,
// SetISA (which swaps the active kernel set atomically) and PeakGFLOPS serve tests, benchmarks
// and cnngen bench.
//
// Packed conv weights record the level they were packed for (its MR and KC shape the layout).
// Run uses that level's kernel when it is at most the active level, and otherwise the Go twin on
// the same layout (after SetISA to a lower level): the results are right either way, the speed
// is best when weights are packed at the level they run at. Conv.ScratchLen is the most any level
// needs, the same in every build, because code generators bake it into generated code.
package kernels

//go:generate go run -C ../../_asm . -set f32gemm -out ../runtime/kernels/f32gemm_amd64.s -stubs ../runtime/kernels/f32gemm_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32gemv -out ../runtime/kernels/f32gemv_amd64.s -stubs ../runtime/kernels/f32gemv_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32dwconv -out ../runtime/kernels/f32dwconv_amd64.s -stubs ../runtime/kernels/f32dwconv_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32dwconvrow -out ../runtime/kernels/f32dwconvrow_amd64.s -stubs ../runtime/kernels/f32dwconvrow_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32winograd -out ../runtime/kernels/f32winograd_amd64.s -stubs ../runtime/kernels/f32winograd_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32vact -out ../runtime/kernels/f32vact_amd64.s -stubs ../runtime/kernels/f32vact_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32vexp -out ../runtime/kernels/f32vexp_amd64.s -stubs ../runtime/kernels/f32vexp_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32varith -out ../runtime/kernels/f32varith_amd64.s -stubs ../runtime/kernels/f32varith_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32lrn -out ../runtime/kernels/f32lrn_amd64.s -stubs ../runtime/kernels/f32lrn_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32pool -out ../runtime/kernels/f32pool_amd64.s -stubs ../runtime/kernels/f32pool_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32conv16c -out ../runtime/kernels/f32conv16c_amd64.s -stubs ../runtime/kernels/f32conv16c_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32ops16c -out ../runtime/kernels/f32ops16c_amd64.s -stubs ../runtime/kernels/f32ops16c_stub_amd64.go -pkg kernels
//go:generate go run -C ../../_asm . -set f32train -out ../runtime/kernels/f32train_amd64.s -stubs ../runtime/kernels/f32train_stub_amd64.go -pkg kernels
