package runtime_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log"

	"github.com/cnngen/cnngen/runtime"
)

// Generated networks end Classify with TopK; a program that runs Forward itself can call it on
// the logits, here with the built-in Fashion-MNIST labels.
func ExampleTopK() {
	logits := []float32{0.5, -1, 2, 0, 0, 4, 0, 1, 0, 3}
	for _, p := range runtime.TopK(logits, 3, runtime.MustLabels("fashion-mnist")) {
		fmt.Printf("%d %-10s p=%.3f logit=%g\n", p.Class, p.Label, p.Prob, p.Logit)
	}
	// Output:
	// 5 Sandal     p=0.601 logit=4
	// 9 Ankle boot p=0.221 logit=3
	// 2 Pullover   p=0.081 logit=2
}

// An image whose left half is red and right half blue, shrunk to 2x2 with nearest-neighbour
// sampling, shows the CHW layout of the result: one plane per channel, each row-major, with
// ImageNet's normalization applied.
func ExamplePreprocess_Image() {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := range 4 {
		for x := range 4 {
			c := color.NRGBA{R: 255, A: 255}
			if x >= 2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	p := runtime.Preprocess{
		Channels: 3, Height: 2, Width: 2,
		Interpolation: "nearest",
		Mean:          []float32{0.485, 0.456, 0.406},
		Std:           []float32{0.229, 0.224, 0.225},
	}
	dst := make([]float32, 3*2*2)
	if err := p.Image(img, dst); err != nil {
		log.Fatal(err)
	}
	for c, name := range []string{"R", "G", "B"} {
		fmt.Printf("%s %.3f\n", name, dst[4*c:4*c+4])
	}
	// Output:
	// R [2.249 -2.118 2.249 -2.118]
	// G [-2.036 -2.036 -2.036 -2.036]
	// B [-1.804 2.640 -1.804 2.640]
}

// ResizedSize follows torchvision's Resize(int): the shorter side becomes Resize, the longer
// keeps the aspect ratio, before the center crop.
func ExamplePreprocess_ResizedSize() {
	p := runtime.Preprocess{Channels: 3, Height: 224, Width: 224, Resize: 256, Crop: 224}
	fmt.Println(p.ResizedSize(640, 480))
	fmt.Println(p.ResizedSize(480, 640))
	// Output:
	// 341 256
	// 256 341
}

// WriteSafetensors sorts the tensors by name and pads the JSON header to a multiple of 8 bytes,
// so the same tensors always give the same file.
func ExampleWriteSafetensors() {
	var buf bytes.Buffer
	err := runtime.WriteSafetensors(&buf, []runtime.Tensor{
		{Name: "fc.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "fc.bias", Shape: []int{2}, Data: []float32{0.5, -0.5}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b) // the header's length comes first
	fmt.Printf("%d bytes, header %d: %s\n", len(b), n, b[8:8+n])
	// Output:
	// 200 bytes, header 160: {"__metadata__":{"format":"pt"},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}
}

// weights writes a small safetensors file into memory, as a PyTorch export would hold it.
func weights() *bytes.Reader {
	var buf bytes.Buffer
	err := runtime.WriteSafetensors(&buf, []runtime.Tensor{
		{Name: "conv1.weight", Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
		{Name: "fc.weight", Shape: []int{10, 2}, Data: make([]float32, 20)},
		{Name: "fc.bias", Shape: []int{10}, Data: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// OpenWeights takes any io.ReaderAt (an *os.File in practice) and reads only the header;
// tensors are read when asked for.
func ExampleOpenWeights() {
	f, err := runtime.OpenWeights(weights())
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		fmt.Println(name, info.DType, info.Shape)
	}
	bias, err := f.Float32("fc.bias")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bias)
	// Output:
	// conv1.weight F32 [2 1 3 3]
	// fc.bias F32 [10]
	// fc.weight F32 [10 2]
	// [0 1 2 3 4 5 6 7 8 9]
}

// Check reports every difference between a file and the tensors a network needs at once, so a
// wrong export is fixed in one go rather than one error per attempt.
func ExampleFile_Check() {
	f, err := runtime.OpenWeights(weights())
	if err != nil {
		log.Fatal(err)
	}
	err = f.Check([]runtime.Expect{
		{Name: "conv1.weight", Shape: []int{2, 1, 3, 3}},
		{Name: "conv1.bias", Shape: []int{2}},
		{Name: "fc.weight", Shape: []int{10, 8}},
		{Name: "aux.fc.weight", Shape: []int{10, 8}, Optional: true}, // absent, and that is fine
	})
	fmt.Println(err)

	var m *runtime.MismatchError
	if errors.As(err, &m) {
		fmt.Println("missing:", m.Missing)
	}
	// Output:
	// safetensors: weights do not match the network (3 problems):
	// conv1.bias: missing from file
	// fc.bias: in file but not used by the network
	// fc.weight: shape [10 2] in file, want [10 8]
	// missing: [conv1.bias]
}

// LoadBN turns a batch norm's four tensors into the per-channel y = x*scale + shift that the
// kernels apply (or that LoadConv folds into the preceding convolution).
func ExampleLoadBN() {
	var buf bytes.Buffer
	err := runtime.WriteSafetensors(&buf, []runtime.Tensor{
		{Name: "bn.weight", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "bn.bias", Shape: []int{2}, Data: []float32{0, 1}},
		{Name: "bn.running_mean", Shape: []int{2}, Data: []float32{1, -1}},
		{Name: "bn.running_var", Shape: []int{2}, Data: []float32{4, 1}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	f, err := runtime.OpenWeights(bytes.NewReader(buf.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	bn := &runtime.BN{Weight: "bn.weight", Bias: "bn.bias", Mean: "bn.running_mean", Var: "bn.running_var"}
	affine, err := runtime.LoadBN(f, bn, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(affine.Scale, affine.Shift)
	// Output:
	// [0.5 2] [-0.5 3]
}

func ExampleLabels() {
	fmt.Println(runtime.LabelSets())
	labels, err := runtime.Labels("imagenet")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(labels), labels[0], "...", labels[999])
	_, err = runtime.Labels("cifar10")
	fmt.Println(err)
	// Output:
	// [fashion-mnist imagenet]
	// 1000 tench ... toilet tissue
	// unknown label set "cifar10" (known: fashion-mnist, imagenet)
}
