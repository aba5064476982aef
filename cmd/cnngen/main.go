// Command cnngen turns a CNN architecture (a built-in one or a YAML spec) into a specialized Go
// package, and inspects and runs architectures on the way there.
//
//	cnngen -list
//	cnngen -arch NAME|spec.yaml -summary [-json]
//	cnngen run -arch NAME|spec.yaml -weights W.safetensors|W.pth -input IN.f32 -output OUT.f32
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/passes"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/gen/report"
	"github.com/cnngen/cnngen/gen/spec"
)

func main() {
	err := cli(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintln(os.Stderr, "cnngen:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "cnngen:", err)
	os.Exit(1)
}

// usageError marks mistakes in the command line itself (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `usage:
  cnngen -list                                      list the built-in architectures
  cnngen -arch NAME|spec.yaml -summary [-json]      per-layer table: shapes, params, MACs, activations
         (everywhere -arch is accepted, -onnx model.onnx works too; its weights come with it)
  cnngen -arch NAME|spec.yaml -o DIR/FILE.go [-pkg NAME] [-weights W.safetensors|W.pth [-embed]]
         [-classes N] [-labels FILE]                write the network as a Go package
  cnngen -arch NAME|spec.yaml -train -batch B -o DIR/FILE.go [-pkg NAME] [-classes N] [-labels FILE]
                                                    write its training package (docs/training.md)
         (-weights everywhere: a safetensors file or a PyTorch checkpoint as torch.save writes it,
         float32, float16, bfloat16 or float64)
         (everywhere a network is read: -max-nodes N, -max-activation-mb N, -max-weights-mb N
         raise the limits that refuse networks too large to be real, see README)
  cnngen run -arch NAME|spec.yaml -weights W.safetensors|W.pth -input IN.f32 -output OUT.f32
                                                    run the float64 reference interpreter on raw
                                                    little-endian float32 NCHW input (any batch size)
  cnngen import model.onnx -o spec.yaml [-weights-out weights.safetensors]
                                                    an ONNX model as a spec and its weights
  cnngen eval -arch NAME [-weights W.safetensors|W.pth] -data DIR [-limit N]
                                                    top-1/top-5 error of the generated code over
                                                    Fashion-MNIST IDX files or DIR/CLASS/*.jpg
  cnngen train -arch NAME|spec.yaml -data DIR [-epochs N] [-batch B] [-lr LR] [-threads N] [-out DIR]
         [-weights W -classes N -labels FILE -freeze PREFIXES] [-grad-report G.csv] [-bench-steps N]
                                                    train the generated training code on an IDX folder
                                                    or DIR/CLASS/*.jpg (docs/training.md; -h: every
                                                    flag); writes weights and labels for -embed
  cnngen bench -arch NAME|spec.yaml [-weights W] [-threads N] [-batch B] [-callers C]
         [-isa auto|avx512|avx2|generic] [-seconds S] [-layers] [-cpuprofile F] [-json] [-keep DIR]
                                                    time the generated code on seeded weights (or W,
                                                    or an ONNX model's own with -onnx); a spec file
                                                    or a model is built with the go command in a
                                                    temporary module (kept in DIR with -keep)
`

func cli(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "run":
			return runCmd(args[1:], stdout, stderr)
		case "eval":
			return evalCmd(args[1:], stdout, stderr)
		case "bench":
			return benchCmd(args[1:], stdout, stderr)
		case "import":
			return importCmd(args[1:], stdout, stderr)
		case "train":
			return trainCmd(args[1:], stdout, stderr)
		case "help":
			fmt.Fprint(stdout, usage)
			return nil
		}
		return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
	}
	fs := flag.NewFlagSet("cnngen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	list := fs.Bool("list", false, "list the built-in architectures")
	arch := fs.String("arch", "", "built-in architecture name or path to a YAML spec")
	onnxPath := fs.String("onnx", "", "an ONNX model instead of -arch (its weights come with it)")
	summary := fs.Bool("summary", false, "print the per-layer summary")
	asJSON := fs.Bool("json", false, "with -summary: print one JSON object")
	var gf genFlags
	fs.StringVar(&gf.out, "o", "", "write the generated Go package to this file (DIR/FILE.go)")
	fs.StringVar(&gf.pkg, "pkg", "", "package name (default: the architecture's name without underscores)")
	fs.StringVar(&gf.weights, "weights", "", "weights to check at generation time (and to embed with -embed): safetensors or a PyTorch checkpoint (.pth)")
	fs.BoolVar(&gf.embed, "embed", false, "with -weights: embed the weights in the package (LoadEmbedded)")
	fs.IntVar(&gf.classes, "classes", 0, "replace the classifier head's class count (a fine-tuned network)")
	fs.StringVar(&gf.labels, "labels", "", "a file of class labels, one per line, embedded in the package")
	fs.StringVar(&gf.weightsOut, "weights-out", "", "with -onnx: write the model's weights as safetensors")
	trainPkg := fs.Bool("train", false, "with -o: write the training package (a Trainer) instead")
	batch := fs.Int("batch", 32, "with -train: the most images a training step takes")
	lf := addLimitFlags(fs)
	layout := addLayoutFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q\n%s", fs.Arg(0), usage)}
	}
	if *list {
		return listArchs(stdout)
	}
	if !*summary && gf.out == "" {
		return usageError{"nothing to do\n" + usage}
	}
	g, onnxWeights, err := loadGraph(*arch, *onnxPath, lf)
	if err != nil {
		return err
	}
	gf.onnx = onnxWeights
	gf.layout = layout.l
	if gf.weightsOut != "" {
		if onnxWeights == nil {
			return usageError{"-weights-out goes with -onnx"}
		}
		if err := writeWeights(gf.weightsOut, onnxWeights); err != nil {
			return err
		}
	}
	if err := setClasses(g, gf.classes, gf.labels, lf); err != nil {
		return err
	}
	if gf.out != "" && *trainPkg {
		if err := generateTrain(g, gf, *batch, args, stderr); err != nil {
			return err
		}
	} else if gf.out != "" {
		if err := generate(g, gf, args, stderr); err != nil {
			return err
		}
	}
	if *summary {
		s := report.Summarize(g)
		pl, err := pipeline.Plan(g)
		if err != nil {
			return err
		}
		s.ArenaBytes, s.MaxLiveBytes = 4*int64(pl.Plan.Arena), 4*int64(pl.Plan.MaxLive)
		if *asJSON {
			return report.WriteJSON(stdout, s)
		}
		return report.WriteTable(stdout, s)
	}
	return nil
}

// setClasses gives g a head of classes classes (-classes; 0 leaves it), whose labels come from
// a -labels file when the network's own label set names another number of classes.
func setClasses(g *ir.Graph, classes int, labels string, lf *limitFlags) error {
	if classes == 0 {
		return nil
	}
	if err := passes.SetClasses(g, classes); err != nil {
		return err
	}
	if n, ok := spec.LabelSetSize(g.Labels); ok && n != classes {
		if labels == "" {
			return usageError{fmt.Sprintf("-classes %d: %s's labels (%s) name %d classes: give the new classes' labels with -labels FILE", classes, g.Name, g.Labels, n)}
		}
		g.Labels = "" // -labels replaces them
	}
	l, err := lf.limits()
	if err != nil {
		return err
	}
	return g.Check(l) // a huge head adds weights nobody has checked yet
}

func listArchs(w io.Writer) error {
	for _, name := range archspecs.Names() {
		g, err := frontend.Load(name)
		if err != nil {
			return err
		}
		t := g.Totals()
		fmt.Fprintf(w, "%-16s %12s params %9.3f GMACs  %s\n", name, report.Group(t.Params), float64(t.MACs)/1e9, firstLine(g.Description))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
