package trainrun

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cnngen/cnngen/internal/dataset"
	rt "github.com/cnngen/cnngen/runtime"
)

// data is a training set and its held-out set, and the labels that name their classes.
type data struct {
	train, held           dataset.Source
	trainIdx, heldIdx     []int // nil: every sample
	labels                []string
	augment               bool
	trainDesc, heldDesc   string
	trainCount, heldCount int
}

// openData reads -data (and -val-data) for a network of m's input and class count.
func openData(m Model, o *Options) (*data, error) {
	if isIDX(o.Data) {
		return openIDX(m, o)
	}
	return openFolders(m, o)
}

// isIDX reports whether dir holds (Fashion-)MNIST training files, compressed or not.
func isIDX(dir string) bool {
	for _, ext := range []string{"", ".gz"} {
		if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte"+ext)); err == nil {
			return true
		}
	}
	return false
}

// openIDX is an IDX folder: its training set, and its test set held out (the recipe's
// evaluation), normalised with the network's mean and standard deviation.
func openIDX(m Model, o *Options) (*data, error) {
	if o.ValData != "" {
		return nil, fmt.Errorf("-val-data goes with an image folder; an IDX folder is evaluated on its test set")
	}
	if m.Input != [3]int{1, 28, 28} {
		return nil, fmt.Errorf("%s takes %dx%dx%d images; the IDX files of %s are 1x28x28", m.Arch, m.Input[0], m.Input[1], m.Input[2], o.Data)
	}
	tr, err := dataset.FashionMNISTTrain(o.Data)
	if err != nil {
		return nil, err
	}
	te, err := dataset.FashionMNISTTest(o.Data)
	if err != nil {
		return nil, err
	}
	mean, std := float32(0), float32(1)
	if len(m.Pre.Mean) == 1 && len(m.Pre.Std) == 1 {
		mean, std = m.Pre.Mean[0], m.Pre.Std[0]
	}
	for _, l := range slices.Concat(tr.Labels, te.Labels) {
		if int(l) >= m.NumClasses {
			return nil, fmt.Errorf("%s: label %d, but %s has %d classes", o.Data, l, m.Arch, m.NumClasses)
		}
	}
	d := &data{train: dataset.NewIDXSource(tr, mean, std), held: dataset.NewIDXSource(te, mean, std), labels: m.Labels,
		trainDesc: o.Data + " (training set)", heldDesc: "test set"}
	d.trainCount, d.heldCount = tr.Len(), te.Len()
	if o.Limit > 0 && o.Limit < tr.Len() {
		d.trainIdx = make([]int, o.Limit)
		for i := range d.trainIdx {
			d.trainIdx[i] = i
		}
		d.trainCount = o.Limit
	}
	return d, nil
}

// openFolders is an image folder, DIR/CLASS/*.jpg: the classes are its subfolders, named by
// -labels' order when the network has labels of its own (each folder must be one of them),
// else sorted. The held-out set is -val-data, or -val of the images drawn with -seed.
func openFolders(m Model, o *Options) (*data, error) {
	classes, items, err := dataset.Folder(o.Data)
	if err != nil {
		return nil, err
	}
	labels := classes
	if len(m.Labels) > 0 && m.CustomLabels {
		labels = m.Labels
	}
	index, err := classIndex(o.Data, classes, labels)
	if err != nil {
		return nil, err
	}
	if len(labels) != m.NumClasses {
		return nil, fmt.Errorf("%s has %d classes, %s has %d: train a new head for them with -classes %d", o.Data, len(labels), m.Arch, m.NumClasses, len(labels))
	}
	relabel(items, index)
	pre := preprocessOf(m)
	train := &dataset.FolderSource{Items: items, Pre: pre}
	if o.Augment {
		crop := dataset.DefaultRandomResizedCrop()
		train.Aug = dataset.Augment{Crop: &crop, Flip: 0.5}
	}
	d := &data{train: train, labels: labels, augment: o.Augment, trainDesc: o.Data}
	if o.ValData != "" {
		vc, vitems, err := dataset.Folder(o.ValData)
		if err != nil {
			return nil, err
		}
		vindex, err := classIndex(o.ValData, vc, labels)
		if err != nil {
			return nil, err
		}
		relabel(vitems, vindex)
		d.held, d.heldDesc, d.heldCount = &dataset.FolderSource{Items: vitems, Pre: pre}, o.ValData, len(vitems)
	} else if o.Val > 0 {
		tr, held, err := dataset.Split(len(items), o.Val, o.Seed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Data, err)
		}
		d.trainIdx, d.heldIdx = tr, held
		d.held, d.heldDesc = &dataset.FolderSource{Items: items, Pre: pre}, fmt.Sprintf("%.0f%% held out", 100*o.Val)
		d.heldCount = len(held)
	}
	d.trainCount = len(items) - d.heldCount*btoi(d.heldIdx != nil)
	if o.Limit > 0 && o.Limit < d.trainCount {
		if d.trainIdx == nil {
			d.trainIdx = make([]int, len(items))
			for i := range d.trainIdx {
				d.trainIdx[i] = i
			}
		}
		d.trainIdx, d.trainCount = d.trainIdx[:o.Limit], o.Limit
	}
	return d, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// classIndex maps a folder's sorted class subfolders to their indices in labels.
func classIndex(dir string, classes, labels []string) ([]int, error) {
	index := make([]int, len(classes))
	for i, c := range classes {
		index[i] = slices.Index(labels, c)
		if index[i] < 0 {
			return nil, fmt.Errorf("%s: class folder %q is not one of the labels (%d: %s ...)", dir, c, len(labels), labels[0])
		}
	}
	return index, nil
}

func relabel(items []dataset.Item, index []int) {
	for i := range items {
		items[i].Label = index[items[i].Label]
	}
}

// preprocessOf is the network's input preprocessing, completed with its input size.
func preprocessOf(m Model) rt.Preprocess {
	p := m.Pre
	p.Channels, p.Height, p.Width = m.Input[0], m.Input[1], m.Input[2]
	return p
}
