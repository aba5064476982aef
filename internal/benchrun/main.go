package benchrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Main is the main function of a benchmark program: `cnngen bench` writes one around a generated
// package (see cmd/cnngen/bench_module.go) and runs it as
//
//	PROGRAM -weights W [-threads N] [-batch B] [-callers C] [-isa L] [-seconds S] [-layers] [-cpuprofile F] [-json]
//
// It prints what `cnngen bench` prints. With -json a failure is the object {"error": "..."}
// on stdout, so that cnngen reports the program's own error, not just its exit status.
func Main(m Model) {
	os.Exit(runMain(m, os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(m Model, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(m.Arch+" bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	o.AddFlags(fs)
	weights := fs.String("weights", "", "the network's weights: safetensors or a PyTorch checkpoint (.pth)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	err := o.Validate()
	if err == nil && (*weights == "" || fs.NArg() > 0) {
		err = errors.New("usage: -weights FILE [cnngen bench's timing flags]")
	}
	var r Result
	if err == nil {
		r, err = Run(m, *weights, o)
	}
	if err == nil {
		err = Write(stdout, r, o.JSON)
	}
	if err == nil {
		return 0
	}
	if o.JSON {
		json.NewEncoder(stdout).Encode(wire{Error: err.Error()})
	} else {
		fmt.Fprintf(stderr, "%s bench: %v\n", m.Arch, err)
	}
	return 1
}

// wire is what a benchmark program prints with -json: a Result, or an error.
type wire struct {
	Result
	Error string `json:"error,omitempty"`
}

// Decode reads a benchmark program's -json output: its result, or the error it reported.
// ok is false when the output is neither (the program died before it could write one).
func Decode(out []byte) (r Result, ok bool, err error) {
	var w wire
	d := json.NewDecoder(bytes.NewReader(out))
	d.DisallowUnknownFields()
	if d.Decode(&w) != nil {
		return Result{}, false, nil
	}
	if w.Error != "" {
		return Result{}, true, errors.New(w.Error)
	}
	return w.Result, true, nil
}
