package runtime

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// OpenWeights opens the weights file behind r, finding its size from r itself (Size or Stat,
// as *bytes.Reader, *io.SectionReader and *os.File provide, or by probing with ReadAt), and
// its format from its first bytes: a PyTorch checkpoint (a zip, as torch.save writes since
// torch 1.6, or the legacy format's magic pickle) is read by OpenPth, anything else by
// OpenSafetensors. Either way every tensor is checked before any is read.
func OpenWeights(r io.ReaderAt) (*File, error) {
	size, err := sizeOf(r)
	if err != nil {
		return nil, err
	}
	// Neither prefix can begin a valid safetensors file (see isZip and isLegacyPth).
	head := make([]byte, min(size, 32))
	if err := readFullAt(r, head, 0); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if isZip(head) || isLegacyPth(head) {
		return OpenPth(r, size)
	}
	if !jsonHeaderStart(head) {
		// Any other file (an ONNX model, an image) would otherwise be reported by the length its
		// first 8 bytes happen to spell.
		return nil, fmt.Errorf("weights: neither safetensors (an 8-byte length, then a JSON header) nor a PyTorch checkpoint (a zip or a legacy pickle); its first bytes are % x", head[:min(len(head), 16)])
	}
	return OpenSafetensors(r, size)
}

// jsonHeaderStart reports whether head, a file's first bytes, can begin a safetensors file: its
// JSON header, after the 8-byte length, opens with '{' (after any whitespace). Files too short
// to tell are left to OpenSafetensors.
func jsonHeaderStart(head []byte) bool {
	if len(head) <= 8 {
		return true
	}
	for _, b := range head[8:] {
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b == '{'
	}
	return true
}

func sizeOf(r io.ReaderAt) (int64, error) {
	switch s := r.(type) {
	case interface{ Size() int64 }:
		return s.Size(), nil
	case interface{ Stat() (os.FileInfo, error) }:
		st, err := s.Stat()
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	// Probe: the largest offset at which one byte can be read, by doubling then bisecting.
	var b [1]byte
	readable := func(off int64) bool {
		n, err := r.ReadAt(b[:], off)
		return n == 1 && (err == nil || errors.Is(err, io.EOF))
	}
	if !readable(0) {
		return 0, fmt.Errorf("weights reader is empty")
	}
	lo, hi := int64(0), int64(1)
	for readable(hi) {
		lo, hi = hi, hi*2
		// 64 TiB, far past any weights file, bounds the doubling to 47 reads of a reader that
		// never ends (a device, a generated stream).
		if hi > 1<<46 {
			return 0, fmt.Errorf("weights reader has no end")
		}
	}
	for hi-lo > 1 { // readable(lo), !readable(hi)
		mid := lo + (hi-lo)/2
		if readable(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, nil
}

// BN names a batch norm's tensors (weight, bias, running_mean, running_var) and its eps.
type BN struct {
	Weight, Bias, Mean, Var string
	Eps                     float64
}

// scaleShift reads a batch norm as y = x*scale + shift per channel.
func (bn *BN) scaleShift(f *File, c int) (scale, shift []float32, err error) {
	var t [4][]float32
	for i, key := range []string{bn.Weight, bn.Bias, bn.Mean, bn.Var} {
		if t[i], err = f.Float32(key); err != nil {
			return nil, nil, err
		}
		if len(t[i]) != c {
			return nil, nil, fmt.Errorf("%s: %d values, want %d", key, len(t[i]), c)
		}
	}
	scale, shift = make([]float32, c), make([]float32, c)
	for i := 0; i < c; i++ {
		v := float64(t[3][i]) + bn.Eps
		if !(v > 0) {
			return nil, nil, fmt.Errorf("%s: running variance %g + eps is not positive (channel %d)", bn.Var, t[3][i], i)
		}
		s := float64(t[0][i]) / math.Sqrt(v)
		scale[i] = float32(s)
		shift[i] = float32(float64(t[1][i]) - float64(t[2][i])*s)
	}
	return scale, shift, nil
}

// LoadBN reads a batch norm that could not be folded into a conv as a per-channel affine map.
func LoadBN(f *File, bn *BN, c int) (ChannelAffine, error) {
	scale, shift, err := bn.scaleShift(f, c)
	return ChannelAffine{Scale: scale, Shift: shift}, err
}

// rawBufs are the buffers weights are read into before packing (see weightAndBias).
var rawBufs = sync.Pool{New: func() any { return new([]float32) }}

// weightAndBias reads a layer's weight and, when biasKey is not "", its bias.
//
// The weight is read into buf (grown as needed): it only lives until it is packed, and reusing
// one buffer per loading goroutine spares Load the zeroing, page faults and garbage of a fresh
// copy of every tensor (a third of ResNet-50's load time).
func weightAndBias(f *File, weightKey, biasKey string, buf *[]float32) (w, b []float32, err error) {
	t, ok := f.tensors[weightKey]
	if !ok || t.count > math.MaxInt {
		w, err = f.Float32(weightKey) // the error, or a tensor too large to pool
	} else {
		if cap(*buf) < int(t.count) {
			*buf = make([]float32, t.count)
		}
		w = (*buf)[:t.count]
		err = f.ReadFloat32(weightKey, w)
	}
	if err != nil {
		return nil, nil, err
	}
	if biasKey != "" {
		if b, err = f.Float32(biasKey); err != nil {
			return nil, nil, err
		}
	}
	return w, b, nil
}

// LoadConv reads a convolution's weight and optional bias (biasKey ""), folds a batch norm into
// them when bn is not nil, and packs them for c's kernel. Folding is done in float64.
func LoadConv(f *File, c *kernels.Conv, weightKey, biasKey string, bn *BN) (*kernels.ConvWeights, error) {
	buf := rawBufs.Get().(*[]float32)
	defer rawBufs.Put(buf)
	w, b, err := weightAndBias(f, weightKey, biasKey, buf)
	if err != nil {
		return nil, err
	}
	if bn != nil {
		scale, shift, err := bn.scaleShift(f, c.OutC)
		if err != nil {
			return nil, err
		}
		per := len(w) / c.OutC
		nb := make([]float32, c.OutC)
		for o := 0; o < c.OutC; o++ {
			for i := o * per; i < (o+1)*per; i++ {
				w[i] = float32(float64(w[i]) * float64(scale[o]))
			}
			bias := 0.0
			if b != nil {
				bias = float64(b[o])
			}
			nb[o] = float32(bias*float64(scale[o]) + float64(shift[o]))
		}
		b = nb
	}
	cw, err := c.Pack(w, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", weightKey, err)
	}
	return cw, nil
}

// Gemm is ONNX's generalization of a linear layer: y = Alpha*W x + Beta*b, W stored [in, out]
// when TransW. Loading turns it into the kernel's [out, in] weights and a plain bias.
type Gemm struct {
	Alpha, Beta float64
	TransW      bool
}

// LoadLinear reads a linear layer's weight and optional bias (biasKey ""), applies g when not
// nil, and packs them.
func LoadLinear(f *File, l *kernels.Linear, weightKey, biasKey string, g *Gemm) (*kernels.LinearWeights, error) {
	buf := rawBufs.Get().(*[]float32)
	defer rawBufs.Put(buf)
	w, b, err := weightAndBias(f, weightKey, biasKey, buf)
	if err != nil {
		return nil, err
	}
	if g != nil {
		if len(w) != l.In*l.Out || b != nil && len(b) != l.Out {
			return nil, fmt.Errorf("%s: %d weights, want %d", weightKey, len(w), l.In*l.Out)
		}
		if g.TransW {
			t := make([]float32, len(w))
			for i := 0; i < l.In; i++ {
				for o := 0; o < l.Out; o++ {
					t[o*l.In+i] = w[i*l.Out+o]
				}
			}
			w = t
		}
		for i := range w {
			w[i] = float32(g.Alpha * float64(w[i]))
		}
		for i := range b {
			b[i] = float32(g.Beta * float64(b[i]))
		}
	}
	lw, err := l.Pack(w, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", weightKey, err)
	}
	return lw, nil
}

// ConvScratch is the scratch the given convolutions' kernels, and the fused pairs', need at most:
// one arena's worth, as layers run one after another.
func ConvScratch(convs []*kernels.Conv, fused ...kernels.ExpandDW) int {
	n := 0
	for _, c := range convs {
		n = max(n, c.ScratchLen())
	}
	for _, f := range fused {
		n = max(n, f.ScratchLen())
	}
	return n
}

// LoadParallel runs the loaders of a network's layers, up to threads at a time (each reads,
// folds and packs one layer, so memory grows by at most threads unpacked tensors), and returns
// the error of the first loader in order that failed.
func LoadParallel(threads int, loaders []func() error) error {
	errs := make([]error, len(loaders))
	var next atomic.Int64
	var failed atomic.Bool
	work := func() {
		for !failed.Load() { // after a failure the remaining layers are not worth loading
			i := int(next.Add(1) - 1)
			if i >= len(loaders) {
				return
			}
			if errs[i] = loaders[i](); errs[i] != nil {
				failed.Store(true)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(threads, len(loaders)) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
