package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/internal/files"
	"github.com/cnngen/cnngen/runtime"
)

// maxTrainBatch bounds -batch: a batch's activations and gradients live in one arena.
const maxTrainBatch = 1 << 16

// generateTrain writes the training package of g (cnngen -train): a package of its own, named
// after the network with "train" appended unless -pkg says otherwise, beside its labels file.
func generateTrain(g *ir.Graph, f genFlags, batch int, args []string, stderr io.Writer) error {
	if err := checkGoFile(f.out); err != nil {
		return err
	}
	if batch < 1 || batch > maxTrainBatch {
		return usageError{fmt.Sprintf("-batch %d: want 1 to %d images", batch, maxTrainBatch)}
	}
	if f.embed || f.weights != "" {
		return usageError{"-train: the training package loads weights at run time (Trainer.Load); -weights and -embed are for inference packages"}
	}
	dir := filepath.Dir(f.out)
	pkg := f.pkg
	if pkg == "" {
		pkg = strings.ReplaceAll(g.Name, "_", "") + "train"
	}
	if err := emit.CheckPackage(pkg); err != nil {
		if f.pkg == "" {
			return fmt.Errorf("%w: name the package with -pkg", err)
		}
		return usageError{"-pkg: " + err.Error()}
	}
	o := emit.TrainOptions{Package: pkg, Command: "cnngen " + strings.Join(args, " "), Batch: batch}
	var outs []output
	if f.labels != "" {
		text, err := files.Read(f.labels, maxLabelsBytes)
		if err != nil {
			return err
		}
		if n := len(runtime.SplitLabels(string(text))); n != g.Classes {
			return fmt.Errorf("-labels %s has %d labels, the network has %d classes", f.labels, n, g.Classes)
		}
		o.Labels = "labels.txt"
		outs = append(outs, output{path: filepath.Join(dir, o.Labels), data: text})
	}
	res, err := pipeline.GenerateTrain(g, o)
	if err != nil {
		return err
	}
	outs = append(outs, output{path: f.out, data: res.Code})
	if err := writeAll(dir, outs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cnngen: wrote %s (package %s, training arena %.2f MB for %d images)\n", f.out, pkg, float64(res.ArenaBytes)/1e6, batch)
	return nil
}
