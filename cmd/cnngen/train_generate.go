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
	code, labels, err := trainPackage(g, pkg, batch, f.labels, "cnngen "+strings.Join(args, " "))
	if err != nil {
		return err
	}
	outs := []output{{path: f.out, data: code.Code}}
	if labels != nil {
		outs = append(outs, output{path: filepath.Join(dir, trainLabelsFile), data: labels})
	}
	if err := writeAll(dir, outs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cnngen: wrote %s (package %s, training arena %.2f MB for %d images)\n", f.out, pkg, float64(code.ArenaBytes)/1e6, batch)
	return nil
}

// trainLabelsFile is the labels file a training package embeds, beside it.
const trainLabelsFile = "labels.txt"

// trainPackage is g's training package for batches of batch images, and the labels it embeds
// (nil without a -labels file, which must name g's classes).
func trainPackage(g *ir.Graph, pkg string, batch int, labelsPath, command string) (*emit.Result, []byte, error) {
	o := emit.TrainOptions{Package: pkg, Command: command, Batch: batch}
	var text []byte
	if labelsPath != "" {
		var err error
		if text, err = files.Read(labelsPath, maxLabelsBytes); err != nil {
			return nil, nil, err
		}
		if n := len(runtime.SplitLabels(string(text))); n != g.Classes {
			return nil, nil, fmt.Errorf("-labels %s has %d labels, the network has %d classes", labelsPath, n, g.Classes)
		}
		o.Labels = trainLabelsFile
	}
	res, err := pipeline.GenerateTrain(g, o)
	if err != nil {
		return nil, nil, err
	}
	return res, text, nil
}
