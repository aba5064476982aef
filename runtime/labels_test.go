package runtime

import (
	"slices"
	"strings"
	"testing"
)

func TestLabelsImageNet(t *testing.T) {
	labels, err := Labels("imagenet")
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 1000 {
		t.Fatalf("%d imagenet labels, want 1000", len(labels))
	}
	// From torchvision 0.14's torchvision.models._meta._IMAGENET_CATEGORIES.
	for i, want := range map[int]string{0: "tench", 1: "goldfish", 2: "great white shark", 207: "golden retriever", 281: "tabby", 999: "toilet tissue"} {
		if labels[i] != want {
			t.Errorf("imagenet label %d = %q, want %q", i, labels[i], want)
		}
	}
	for i, l := range labels {
		if l == "" || l != strings.TrimSpace(l) {
			t.Errorf("imagenet label %d is %q", i, l)
		}
	}
}

func TestLabelsFashionMNIST(t *testing.T) {
	labels, err := Labels("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	if !slices.Equal(labels, want) {
		t.Errorf("fashion-mnist labels %q, want %q", labels, want)
	}
}

func TestLabelsUnknown(t *testing.T) {
	for _, name := range []string{"", "imagenet1k", "IMAGENET", "../labels/imagenet", "imagenet.txt", "*"} {
		_, err := Labels(name)
		if err == nil {
			t.Errorf("Labels(%q) did not fail", name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "known: fashion-mnist, imagenet") {
			t.Errorf("Labels(%q): %v, want the known sets listed", name, err)
		}
	}
	if got := LabelSets(); !slices.Equal(got, []string{"fashion-mnist", "imagenet"}) {
		t.Errorf("LabelSets() = %q", got)
	}
}

// TestLabelsCopy: callers may change the returned slice.
func TestLabelsCopy(t *testing.T) {
	a, _ := Labels("fashion-mnist")
	a[0] = "changed"
	b, _ := Labels("fashion-mnist")
	if b[0] != "T-shirt/top" {
		t.Errorf("Labels returned a shared slice: %q", b[0])
	}
}

func TestSplitLabels(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"", []string{}},
		{"\n", []string{}},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\nb c\n", []string{"a", "b c"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"a\n\nc", []string{"a", "", "c"}},
		{"a\n\n", []string{"a", ""}},
	} {
		if got := SplitLabels(c.text); !slices.Equal(got, c.want) {
			t.Errorf("SplitLabels(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestMustLabels(t *testing.T) {
	if got := MustLabels("fashion-mnist"); len(got) != 10 {
		t.Errorf("MustLabels(fashion-mnist) has %d labels", len(got))
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unknown label set") {
			t.Errorf("MustLabels(nope) panicked with %v", r)
		}
	}()
	MustLabels("nope")
}
