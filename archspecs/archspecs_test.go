package archspecs

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	for name, want := range map[string]string{
		"resnet50": "resnet50", "ResNet-50": "resnet50", "resnet_50": "resnet50", "RESNET50": "resnet50",
		"EfficientNet-B0": "efficientnet_b0", "efficientnetb0": "efficientnet_b0", "LeNet-5": "lenet5",
		"VGG-16": "vgg16", "AlexNet-2012": "alexnet2012", "GoogLeNet": "googlenet",
		"resnet5": "", "mobilenet_v2": "", "": "", "resnet50 ": "", "res-net-50": "resnet50",
	} {
		if got := Canonical(name); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", name, got, want)
		}
	}
	src, path, err := Source("ResNet-18")
	if err != nil || path != "archspecs/resnet18.yaml" || !strings.Contains(string(src), "name: resnet18") {
		t.Errorf("Source(ResNet-18) = %d bytes, %q, %v", len(src), path, err)
	}
	if _, _, err := Source("mobilenet_v2"); err == nil || !strings.Contains(err.Error(), "-onnx") {
		t.Errorf("Source(mobilenet_v2): err = %v, want the -onnx hint", err)
	}
}
