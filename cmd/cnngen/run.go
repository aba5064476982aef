package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/interp"
	"github.com/cnngen/cnngen/gen/weights"
	"github.com/cnngen/cnngen/internal/files"
)

// runCmd runs the reference interpreter: the oracle every generated network is checked against,
// exposed for debugging a spec or a weights file by hand.
func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnngen run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "built-in architecture name or path to a YAML spec")
	onnxPath := fs.String("onnx", "", "an ONNX model instead of -arch (its own weights unless -weights)")
	wpath := fs.String("weights", "", "the network's weights, safetensors or a PyTorch checkpoint (.pth) with torchvision state_dict names")
	inPath := fs.String("input", "", "raw little-endian float32 NCHW input, any batch size")
	outPath := fs.String("output", "", "where to write the raw float32 logits")
	lf := addLimitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *wpath == "" && *onnxPath == "" || *inPath == "" || *outPath == "" || fs.NArg() > 0 {
		return usageError{"run needs -arch, -weights, -input and -output (or -onnx, -input and -output)\n" + usage}
	}
	for _, in := range []string{*inPath, *wpath, *onnxPath, *arch} {
		if in != "" && files.Same(*outPath, in) {
			return usageError{fmt.Sprintf("-output %s is one of the inputs: it would be overwritten", *outPath)}
		}
	}
	g, onnxWeights, err := loadGraph(*arch, *onnxPath, lf)
	if err != nil {
		return err
	}
	// The input is read only as far as the interpreter may run it: its size decides the batch.
	per := g.Input().Shape.Size()
	st, err := files.CheckRegular(*inPath)
	if err != nil {
		return err
	}
	if st.Size() == 0 || st.Size()%int64(4*per) != 0 {
		return fmt.Errorf("%s: %d bytes is not a whole number of %v float32 images (%d bytes each)", *inPath, st.Size(), g.Input().Shape, 4*per)
	}
	batch := int(min(st.Size()/int64(4*per), math.MaxInt32))
	if err := checkBatch(g, batch, lf); err != nil {
		return err
	}
	raw, err := files.Read(*inPath, int64(batch)*int64(4*per))
	if err != nil {
		return err
	}
	in := make([]float32, len(raw)/4)
	for i := range in {
		in[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	var w interp.Weights = frontend.Weights(onnxWeights)
	if *wpath != "" {
		f, err := weights.Open(*wpath, g)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	out, err := interp.Run(g, w, in, batch)
	if err != nil {
		return err
	}
	buf := make([]byte, 4*len(out))
	for i, v := range out {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := files.Write(*outPath, buf); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: batch %d, wrote %d logits to %s\n", g.Name, batch, len(out), *outPath)
	return nil
}
