package spec

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// labelSets are the runtime's built-in label sets (runtime/labels/*.txt) by name, with their
// sizes: a spec's `labels` must name one, of as many labels as the network has classes, or every
// program importing the generated package would panic at init (runtime.MustLabels) or label its
// classes wrongly. gen/spec does not import the runtime, which would bring in the kernels;
// TestLabelSetsMatchRuntime keeps this table true to the files.
var labelSets = map[string]int{
	"fashion-mnist": 10,
	"imagenet":      1000,
}

// LabelSets returns the names of the built-in label sets a spec's `labels` may name, sorted.
func LabelSets() []string {
	names := make([]string, 0, len(labelSets))
	for k := range labelSets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// LabelSetSize returns the number of labels of a built-in label set, and whether it is one. A
// graph whose class count changes (cnngen -classes) must drop or replace a set of another size.
func LabelSetSize(name string) (int, bool) {
	n, ok := labelSets[name]
	return n, ok
}

// checkLabels checks the spec's `labels` (at ln) against the built-in sets and the network's
// output, once shapes are inferred; cn is the `classes` field, nil when absent.
func (b *builder) checkLabels(ln, cn *yaml.Node) error {
	name := b.g.Labels
	size, ok := labelSets[name]
	if !ok {
		return b.errAt(ln, "labels: unknown label set %q (known: %s)", name, strings.Join(LabelSets(), ", "))
	}
	out := b.g.Output.Shape
	switch {
	case cn != nil && b.g.Classes != size:
		return b.errAt(ln, "labels: %s has %d labels, but classes is %d", name, size, b.g.Classes)
	case out.Size() != size:
		return b.errAt(ln, "labels: %s has %d labels, but the network's output %v has %d values (one label per class)", name, size, out, out.Size())
	}
	return nil
}

// checkLabelSet is Write's check of a graph's label set.
func checkLabelSet(name string, classes int) error {
	if name == "" {
		return nil
	}
	size, ok := labelSets[name]
	if !ok {
		return fmt.Errorf("unknown label set %q (known: %s)", name, strings.Join(LabelSets(), ", "))
	}
	if classes != size {
		return fmt.Errorf("label set %s has %d labels, but the network has %d classes", name, size, classes)
	}
	return nil
}
