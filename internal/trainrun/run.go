package trainrun

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/cnngen/cnngen/internal/dataset"
	"github.com/cnngen/cnngen/internal/files"
	"github.com/cnngen/cnngen/internal/gradreport"
	"github.com/cnngen/cnngen/internal/progress"
	rt "github.com/cnngen/cnngen/runtime"
	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/cnngen/cnngen/runtime/train"
	"github.com/cnngen/cnngen/runtime/trainrt"
)

// Trainer is what a generated training package's *Trainer does for the loop.
type Trainer interface {
	Init(seed uint64) error
	LoadWeights(r io.ReaderAt) error
	Freeze(prefixes ...string) error
	Step(in []float32, labels []int32) (float32, error)
	Gradients(in []float32, labels []int32) (float32, error)
	Update()
	Logits() []float32
	Eval(in, out []float32) error
	Params() *train.Params
	Optimizer() train.Optimizer
	SaveFile(path string) error
	Close()
}

// Model is a generated training package as the loop sees it.
type Model struct {
	Arch       string // the network's name
	Batch      int    // the package's Batch
	NumClasses int
	Input      [3]int // channels, height, width
	Labels     []string
	// CustomLabels: Labels came from -labels (a fine-tuned head), and name an image folder's
	// classes in order; otherwise a folder's sorted subfolders are its classes.
	CustomLabels bool
	Pre          rt.Preprocess // the network's preprocessing (size, normalisation)
	// Generate is the cnngen command that generates the inference package of the trained
	// weights, without -weights, -labels and -o (printed at the end).
	Generate string
	New      func(opts ...trainrt.Option) (Trainer, error)
}

// Main runs the loop with the program's arguments and exits: 0 on success, 2 on a usage
// error, 1 otherwise.
func Main(m Model) {
	os.Exit(runMain(m, os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(m Model, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(m.Arch+" train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	err := o.Validate()
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s train: %v\n", m.Arch, err)
		return 2
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s train: -cpuprofile: %v\n", m.Arch, err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if o.BenchSteps > 0 {
		err = Bench(m, &o, stdout)
	} else {
		err = Run(m, &o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s train: %v\n", m.Arch, err)
		return 1
	}
	return 0
}

// newTrainer makes m's Trainer as o says, on o's ISA level: initialised from o.Seed or loaded
// from o.Weights, with o.Freeze applied. stepsPerEpoch sizes the schedule.
func newTrainer(m Model, o *Options, stepsPerEpoch int) (Trainer, error) {
	if o.ISA != "auto" {
		l, _ := kernels.ParseISA(o.ISA)
		if err := kernels.SetISA(l); err != nil {
			return nil, err
		}
	}
	opts := []trainrt.Option{trainrt.WithThreads(o.Threads), trainrt.WithClipNorm(o.ClipNorm), trainrt.WithClipValue(o.ClipValue),
		trainrt.WithLabelSmoothing(o.LabelSmoothing), trainrt.WithInit(o.Init), trainrt.WithDropoutSeed(o.Seed)}
	switch o.Optimizer {
	case "sgd":
		opts = append(opts, trainrt.WithSGD(train.SGDConfig{LR: o.LR, Momentum: o.Momentum, Nesterov: o.Nesterov && o.Momentum > 0, WeightDecay: o.WeightDecay}))
	case "adam", "adamw":
		a := train.AdamDefaults()
		a.LR, a.WeightDecay = o.LR, o.WeightDecay
		if o.Optimizer == "adam" {
			opts = append(opts, trainrt.WithAdam(a))
		} else {
			opts = append(opts, trainrt.WithAdamW(a))
		}
	}
	if o.NoDecayNorms {
		opts = append(opts, trainrt.WithNoDecayNorms())
	}
	total := o.Epochs * stepsPerEpoch
	switch o.Schedule {
	case "onecycle":
		// tools/train_lenet5.py's: warm-up from lr/10, cosine down to lr/1000, the momentum
		// left as it is.
		opts = append(opts, trainrt.WithSchedule(func(opt train.Optimizer) (train.Scheduler, error) {
			c := train.OneCycleDefaults(o.LR, total)
			c.PctStart, c.DivFactor, c.FinalDivFactor, c.CycleMomentum = o.PctStart, 10, 100, false
			return train.NewOneCycleLR(opt, c)
		}))
	case "cosine":
		opts = append(opts, trainrt.WithSchedule(func(opt train.Optimizer) (train.Scheduler, error) {
			return train.NewCosineAnnealingLR(opt, total, 0)
		}))
	case "step":
		opts = append(opts, trainrt.WithSchedule(func(opt train.Optimizer) (train.Scheduler, error) {
			return train.NewStepLR(opt, o.StepEpochs*stepsPerEpoch, o.Gamma)
		}))
	}
	t, err := m.New(opts...)
	if err != nil {
		return nil, err
	}
	if o.Weights != "" {
		err = loadWeights(t, o.Weights)
	} else {
		err = t.Init(o.Seed)
	}
	if err == nil && o.Freeze != "" {
		err = t.Freeze(train.ParsePrefixes(o.Freeze)...)
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func loadWeights(t Trainer, path string) error {
	f, _, err := files.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.LoadWeights(f)
}

// Run trains m as o says, printing a line per epoch to w and a progress bar on a terminal,
// and writes the weights and labels to o.Out.
func Run(m Model, o *Options, w io.Writer) error {
	d, err := openData(m, o)
	if err != nil {
		return err
	}
	loader, err := dataset.NewLoader(d.train, d.trainIdx, dataset.Config{BatchSize: m.Batch, Shuffle: true, Augment: d.augment, Seed: o.Seed, Workers: o.Workers})
	if err != nil {
		return err
	}
	defer loader.Close()
	var held *dataset.Loader
	if d.held != nil {
		if held, err = dataset.NewLoader(d.held, d.heldIdx, dataset.Config{BatchSize: m.Batch, Workers: o.Workers}); err != nil {
			return err
		}
		defer held.Close()
	}
	t, err := newTrainer(m, o, loader.Steps())
	if err != nil {
		return err
	}
	defer t.Close()
	var report *gradreport.Report
	if o.GradReport != "" {
		if report, err = gradreport.Create(o.GradReport); err != nil {
			return err
		}
		defer report.Close()
	}
	out := o.Out
	if out == "" {
		out = strings.ReplaceAll(m.Arch, "/", "_") + "-trained"
	}
	all, trainable := t.Params().Count()
	fmt.Fprintf(w, "%s: %d training images (%s), %d held out (%s); %d of %d parameters train; %d epochs x %d steps of %d, %s, %d thread(s)\n",
		m.Arch, d.trainCount, d.trainDesc, d.heldCount, d.heldDesc, trainable, all, o.Epochs, loader.Steps(), m.Batch, kernels.Active(), o.Threads)
	l := &loop{t: t, o: o, report: report, norms: make([]train.LayerNorm, 0, len(t.Params().Layers())), depth: weightLayers(t.Params())}
	start := time.Now()
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		t0 := time.Now()
		loader.Epoch(epoch - 1)
		if err := l.epoch(epoch, loader); err != nil {
			return err
		}
		line := fmt.Sprintf("epoch %2d/%d: train loss %.4f acc %.4f", epoch, o.Epochs, l.loss/float64(l.seen), float64(l.correct)/float64(l.seen))
		if held != nil {
			top1, top5, err := evaluate(t, held, m.NumClasses, fmt.Sprintf("  held-out %d/%d", epoch, o.Epochs))
			if err != nil {
				return err
			}
			line += fmt.Sprintf("  held-out top-1 %.4f top-5 %.4f", top1, top5)
		}
		fmt.Fprintf(w, "%s  lr %.5f  %.1fs\n", line, t.Optimizer().LR(), time.Since(t0).Seconds())
	}
	if report != nil {
		if err := report.Close(); err != nil {
			return err
		}
		base := strings.TrimSuffix(o.GradReport, filepath.Ext(o.GradReport))
		if err := report.SavePNG(base+".png", 800, 500); err != nil {
			return err
		}
		if err := report.SaveStepsPNG(base+"-steps.png", 800, 400); err != nil {
			return err
		}
		fmt.Fprintf(w, "gradient report: %s, plots %s.png (by depth) and %s-steps.png (over steps)\n", o.GradReport, base, base)
	}
	return save(m, t, d.labels, out, time.Since(start), w)
}

// loop is an epoch's training and its running loss and accuracy.
type loop struct {
	t        Trainer
	o        *Options
	report   *gradreport.Report
	norms    []train.LayerNorm
	depth    map[string]int // the report's layers and their depths
	step     int            // steps over all epochs
	loss     float64
	correct  int
	seen     int
	lastLoss float32
}

func (l *loop) epoch(epoch int, loader *dataset.Loader) error {
	l.loss, l.correct, l.seen = 0, 0, 0
	bar := progress.New(fmt.Sprintf("epoch %d/%d", epoch, l.o.Epochs), loader.Len())
	bar.Suffix(func() string {
		return fmt.Sprintf("loss %.4f acc %.4f", l.loss/float64(max(1, l.seen)), float64(l.correct)/float64(max(1, l.seen)))
	})
	for {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		in, labels := b.X, b.Labels
		var loss float32
		if l.report != nil && l.step%l.o.GradEvery == 0 {
			// The norms before clipping and the update: what the gradients are, not what
			// the optimizer was allowed to use.
			if loss, err = l.t.Gradients(in, labels); err == nil {
				err = l.record(epoch)
				l.t.Update()
			}
		} else {
			loss, err = l.t.Step(in, labels)
		}
		if err != nil {
			return err
		}
		l.step++
		l.loss += float64(loss) * float64(b.N)
		l.seen += b.N
		l.correct += hits(l.t.Logits(), labels, 1)
		bar.Add(b.N)
	}
	bar.Done()
	return nil
}

// record adds the step's norms of the weight layers to the report.
func (l *loop) record(epoch int) error {
	kept := l.norms[:0]
	for _, n := range l.t.Params().LayerNorms(l.norms) {
		if d, ok := l.depth[n.Layer]; ok {
			n.Depth = d
			kept = append(kept, n)
		}
	}
	l.norms = kept
	return l.report.Record(epoch, l.step, kept)
}

// weightLayers numbers the layers with a weight of two or more dimensions (convolutions,
// linear layers) in network order: the report's depths. Normalisation layers are left out:
// their few scale and shift values have gradients of another scale, and plotted between the
// convolutions they turn the curve of gradient against depth into a zigzag.
func weightLayers(ps *train.Params) map[string]int {
	depth := map[string]int{}
	for _, name := range ps.Layers() {
		for _, p := range ps.Params {
			if train.LayerOf(p.Name) == name && len(p.Shape) >= 2 {
				depth[name] = len(depth)
				break
			}
		}
	}
	return depth
}

// evaluate is the top-1 and top-5 accuracy over the held-out loader's samples, in
// evaluation mode, with a progress bar.
func evaluate(t Trainer, held *dataset.Loader, classes int, label string) (top1, top5 float64, err error) {
	held.Epoch(0)
	bar := progress.New(label, held.Len())
	out := make([]float32, 0)
	n, h1, h5 := 0, 0, 0
	for {
		b, err := held.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		if cap(out) < b.N*classes {
			out = make([]float32, b.N*classes)
		}
		out = out[:b.N*classes]
		if err := t.Eval(b.X, out); err != nil {
			return 0, 0, err
		}
		h1 += hits(out, b.Labels, 1)
		h5 += hits(out, b.Labels, 5)
		n += b.N
		bar.Add(b.N)
	}
	bar.Done()
	return float64(h1) / float64(max(n, 1)), float64(h5) / float64(max(n, 1)), nil
}

// hits counts the images whose class is among their k highest logits. A tie with the class's
// logit counts against it, so a constant output scores nothing, and so does a NaN anywhere in
// the row: a diverged network (a NaN compares false with everything) must not look perfect.
func hits(logits []float32, labels []int32, k int) int {
	classes := len(logits) / max(len(labels), 1)
	n := 0
	for i, c := range labels {
		row := logits[i*classes : (i+1)*classes]
		above := 0
		for j, v := range row {
			if !(v < row[c]) && j != int(c) {
				above++
			}
		}
		if above < k && row[c] == row[c] {
			n++
		}
	}
	return n
}

// save writes the weights and labels to dir and says how to generate the inference package.
func save(m Model, t Trainer, labels []string, dir string, took time.Duration, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	wpath := filepath.Join(dir, "weights.safetensors")
	if err := t.SaveFile(wpath); err != nil {
		return err
	}
	gen := m.Generate
	if len(labels) > 0 {
		lpath := filepath.Join(dir, "labels.txt")
		if err := files.Write(lpath, []byte(strings.Join(labels, "\n")+"\n")); err != nil {
			return err
		}
		gen += " -labels " + lpath
	}
	fmt.Fprintf(w, "trained in %.0fs; wrote %s\ngenerate the inference package: %s -weights %s -embed -o %s/%s.go\n",
		took.Seconds(), dir, gen, wpath, pkgDir(m.Arch), pkgDir(m.Arch))
	return nil
}

// pkgDir is a folder name for the network's package.
func pkgDir(arch string) string {
	base := strings.TrimSuffix(filepath.Base(arch), filepath.Ext(arch))
	return strings.ReplaceAll(base, "-", "")
}
