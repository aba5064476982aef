// Package trainrun is the training loop of `cnngen train`: the program cnngen builds around a
// generated training package (cnngen -train) calls Main, which reads a data set, trains the
// network epoch by epoch with a progress bar, reports each epoch's top-1/top-5 on a held-out
// set, records the gradient report, and writes the trained weights and labels ready for
// `cnngen -arch ... -weights ... -embed`. The flags are parsed by cnngen and by the program
// alike (Options), so a mistake is reported before the build.
package trainrun

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// Options are `cnngen train`'s training flags. The defaults are the LeNet-5 recipe of
// tools/train_lenet5.py (SGD with Nesterov momentum, one-cycle schedule), so
// `cnngen train -arch lenet5 -data DIR` trains as PyTorch did.
type Options struct {
	Data    string // IDX folder (Fashion-MNIST, MNIST) or DIR/CLASS/*.jpg
	ValData string // a held-out image folder; default: the IDX test set, or -val of -data
	Val     float64
	Limit   int // train on the first N images (0: all)
	Out     string
	Weights string // start from these weights (fine-tuning); default: initialised with -init
	Freeze  string // comma-separated name prefixes

	Epochs         int
	Optimizer      string
	LR, Momentum   float64
	Nesterov       bool
	WeightDecay    float64
	NoDecayNorms   bool
	Schedule       string
	PctStart       float64
	StepEpochs     int
	Gamma          float64
	ClipNorm       float64
	ClipValue      float64
	LabelSmoothing float64
	Init           string
	Seed           uint64
	Augment        bool
	Threads        int
	Workers        int
	ISA            string

	GradReport string // CSV of per-layer gradient norms; the plot beside it as .png
	GradEvery  int

	BenchSteps int // time this many steps on random data instead of training
	CPUProfile string
}

// AddFlags defines the training flags on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Data, "data", "", "training data: a Fashion-MNIST/MNIST IDX folder, or DIR/CLASS/*.jpg")
	fs.StringVar(&o.ValData, "val-data", "", "held-out images DIR/CLASS/*.jpg (default: the IDX test set, or -val of -data)")
	fs.Float64Var(&o.Val, "val", 0.1, "with an image folder and no -val-data: the fraction of -data held out")
	fs.IntVar(&o.Limit, "limit", 0, "train on N images only (0: all)")
	fs.StringVar(&o.Out, "out", "", "folder for the trained weights and labels (default: ARCH-trained)")
	fs.StringVar(&o.Weights, "weights", "", "start from these weights (fine-tuning; a head of another class count is re-initialised)")
	fs.StringVar(&o.Freeze, "freeze", "", "comma-separated layer name prefixes that do not train (layer1,layer2)")
	fs.IntVar(&o.Epochs, "epochs", 12, "passes over the training data")
	fs.StringVar(&o.Optimizer, "optimizer", "sgd", "sgd, adam or adamw")
	fs.Float64Var(&o.LR, "lr", 0.05, "learning rate (the peak of -schedule onecycle)")
	fs.Float64Var(&o.Momentum, "momentum", 0.9, "SGD momentum")
	fs.BoolVar(&o.Nesterov, "nesterov", true, "SGD with Nesterov momentum")
	fs.Float64Var(&o.WeightDecay, "wd", 5e-4, "weight decay")
	fs.BoolVar(&o.NoDecayNorms, "no-decay-norms", false, "no weight decay on biases and batch norms")
	fs.StringVar(&o.Schedule, "schedule", "onecycle", "learning-rate schedule: onecycle, cosine, step or none")
	fs.Float64Var(&o.PctStart, "pct-start", 0.15, "onecycle: the fraction of the steps warming up")
	fs.IntVar(&o.StepEpochs, "step-epochs", 4, "step: epochs between decays")
	fs.Float64Var(&o.Gamma, "gamma", 0.1, "step: the decay factor")
	fs.Float64Var(&o.ClipNorm, "clip-norm", 0, "clip the gradients to this global L2 norm (0: no clipping)")
	fs.Float64Var(&o.ClipValue, "clip-value", 0, "clamp every gradient to [-v, v] (0: none)")
	fs.Float64Var(&o.LabelSmoothing, "label-smoothing", 0, "cross-entropy label smoothing")
	fs.StringVar(&o.Init, "init", "default", "initialisation without -weights: default (torch's), kaiming or xavier")
	fs.Uint64Var(&o.Seed, "seed", 1998, "seed of the initialisation, shuffling, augmentation and split")
	fs.BoolVar(&o.Augment, "augment", true, "image folders: random resized crop and horizontal flip")
	fs.IntVar(&o.Threads, "threads", 1, "goroutines a training step uses")
	fs.IntVar(&o.Workers, "workers", -1, "goroutines decoding images (-1: one per core)")
	fs.StringVar(&o.ISA, "isa", "auto", "kernel level: auto, avx512, avx2 or generic")
	fs.StringVar(&o.GradReport, "grad-report", "", "write per-layer gradient norms to this CSV, and plots beside it (.png by depth, -steps.png over steps)")
	fs.IntVar(&o.GradEvery, "grad-every", 10, "with -grad-report: record every N steps")
	fs.IntVar(&o.BenchSteps, "bench-steps", 0, "time N training steps on random data (after one warm-up) instead of training")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the training (or -bench-steps) to this file")
}

// Validate reports a mistake in the options themselves, before any work.
func (o *Options) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.Data == "" && o.BenchSteps == 0:
		return errors.New("-data is required (or -bench-steps)")
	case o.Epochs < 1:
		return fmt.Errorf("-epochs %d: want at least 1", o.Epochs)
	case o.Limit < 0 || o.BenchSteps < 0:
		return errors.New("-limit and -bench-steps must not be negative")
	case !(o.Val >= 0 && o.Val < 1):
		return fmt.Errorf("-val %v: want a fraction in [0, 1)", o.Val)
	case !(o.LR >= 0) || !finite(o.LR) || !(o.Momentum >= 0) || !finite(o.Momentum) || !(o.WeightDecay >= 0) || !finite(o.WeightDecay):
		return errors.New("-lr, -momentum and -wd must be finite and not negative")
	case !(o.PctStart >= 0 && o.PctStart <= 1):
		return fmt.Errorf("-pct-start %v: want a fraction in [0, 1]", o.PctStart)
	case o.StepEpochs < 1 || !(o.Gamma > 0) || !finite(o.Gamma):
		return errors.New("-step-epochs must be at least 1 and -gamma positive")
	case o.Threads < 1:
		return fmt.Errorf("-threads %d: want at least 1", o.Threads)
	case o.GradEvery < 1:
		return fmt.Errorf("-grad-every %d: want at least 1", o.GradEvery)
	case o.GradReport != "" && !strings.HasSuffix(strings.ToLower(o.GradReport), ".csv"):
		return fmt.Errorf("-grad-report %s: name a .csv file (the plot is written beside it as .png)", o.GradReport)
	}
	switch o.Optimizer {
	case "sgd", "adam", "adamw":
	default:
		return fmt.Errorf("-optimizer %q: want sgd, adam or adamw", o.Optimizer)
	}
	switch o.Schedule {
	case "onecycle", "cosine", "step", "none":
	default:
		return fmt.Errorf("-schedule %q: want onecycle, cosine, step or none", o.Schedule)
	}
	if o.ISA != "auto" {
		if _, err := kernels.ParseISA(o.ISA); err != nil {
			return fmt.Errorf("-isa: %v", err)
		}
	}
	return nil
}

// Args are the options as flags, for the program cnngen builds: every flag, so the program
// needs no defaults of its own to agree with cnngen's.
func (o Options) Args() []string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c := o
	c.AddFlags(fs)
	// AddFlags reset c to the defaults; put o's values back before reading them.
	c = o
	var args []string
	fs.VisitAll(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
	return args
}
