package runtime

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// labelFiles holds the built-in label sets, one class name a line in class
// order, written by tools/make_labels.py.
//
//go:embed labels/*.txt
var labelFiles embed.FS

// Labels returns the class names of a built-in label set, indexed by class:
//
//	imagenet        the 1000 ImageNet-1k classes of torchvision's pretrained
//	                weights (torchvision 0.14's _IMAGENET_CATEGORIES)
//	fashion-mnist   the 10 Fashion-MNIST classes
//
// The slice is the caller's to keep or change. An unknown name is an error
// that lists the known ones.
func Labels(name string) ([]string, error) {
	data, err := labelFiles.ReadFile("labels/" + name + ".txt")
	if err != nil || strings.ContainsAny(name, "/.") {
		return nil, fmt.Errorf("unknown label set %q (known: %s)", name, strings.Join(LabelSets(), ", "))
	}
	return SplitLabels(string(data)), nil
}

// MustLabels is Labels for names known to be built in, such as those in
// generated code; it panics on an unknown name.
func MustLabels(name string) []string {
	labels, err := Labels(name)
	if err != nil {
		panic("runtime.MustLabels: " + err.Error())
	}
	return labels
}

// SplitLabels splits a label file, one class name a line in class order,
// into its labels. Lines end in \n or \r\n; the last one may lack it. Empty
// lines are empty labels, except that an empty text has no labels.
func SplitLabels(text string) []string {
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return []string{}
	}
	labels := strings.Split(text, "\n")
	for i, l := range labels {
		labels[i] = strings.TrimSuffix(l, "\r")
	}
	return labels
}

// LabelSets returns the names of the built-in label sets, sorted.
func LabelSets() []string {
	files, _ := fs.Glob(labelFiles, "labels/*.txt")
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(path.Base(f), ".txt")
	}
	slices.Sort(names)
	return names
}
