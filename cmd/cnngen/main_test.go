package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The published parameter counts (torchvision's sum of p.numel() over model.parameters()).
var paramCounts = map[string][2]int64{ // params, train_params
	"lenet5":          {61706, 61706},
	"alexnet":         {61100840, 61100840},
	"alexnet2012":     {60965224, 60965224},
	"vgg16":           {138357544, 138357544},
	"vgg19":           {143667240, 143667240},
	"googlenet":       {6624904, 13004888},
	"resnet18":        {11689512, 11689512},
	"resnet34":        {21797672, 21797672},
	"resnet50":        {25557032, 25557032},
	"resnet101":       {44549160, 44549160},
	"resnet152":       {60192808, 60192808},
	"efficientnet_b0": {5288548, 5288548},
}

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli(args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestSummaryJSONParamCounts(t *testing.T) {
	for arch, want := range paramCounts {
		out, _, err := runCLI(t, "-arch", arch, "-summary", "-json")
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		var s struct {
			Name            string            `json:"name"`
			Params          int64             `json:"params"`
			TrainParams     int64             `json:"train_params"`
			MACs            int64             `json:"macs"`
			ActivationBytes int64             `json:"activation_bytes"`
			Layers          []json.RawMessage `json:"layers"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if s.Name != arch || s.Params != want[0] || s.TrainParams != want[1] {
			t.Errorf("%s: name %q params %d train_params %d, want %d %d", arch, s.Name, s.Params, s.TrainParams, want[0], want[1])
		}
		if s.MACs <= 0 || s.ActivationBytes <= 0 || len(s.Layers) == 0 {
			t.Errorf("%s: macs %d activation_bytes %d layers %d", arch, s.MACs, s.ActivationBytes, len(s.Layers))
		}
	}
}

// Numbers an architecture is known by, from ../shared/anchors.md (MACs at batch 1, MB of the
// input plus every written tensor).
func TestSummaryKnownWork(t *testing.T) {
	cases := map[string][2]int64{
		"vgg16":     {15470264320, 61050784},
		"resnet50":  {4089184256, 67950496},
		"googlenet": {1498376192, 24127072},
	}
	for arch, want := range cases {
		out, _, err := runCLI(t, "-arch", arch, "-summary", "-json")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			MACs            int64 `json:"macs"`
			ActivationBytes int64 `json:"activation_bytes"`
		}
		json.Unmarshal([]byte(out), &s)
		if s.MACs != want[0] || s.ActivationBytes != want[1] {
			t.Errorf("%s: macs %d bytes %d, want %d %d", arch, s.MACs, s.ActivationBytes, want[0], want[1])
		}
	}
}

func TestSummaryTable(t *testing.T) {
	out, _, err := runCLI(t, "-arch", "resnet18", "-summary")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"layer1.0.conv1", "[64 56 56]", "11,689,512", "fc", "[1000]"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestList(t *testing.T) {
	out, _, err := runCLI(t, "-list")
	if err != nil {
		t.Fatal(err)
	}
	for arch := range paramCounts {
		if !strings.Contains(out, arch+" ") {
			t.Errorf("-list lacks %s", arch)
		}
	}
}

func TestUserSpecFile(t *testing.T) {
	out, _, err := runCLI(t, "-arch", "../../gen/spec/testdata/tinyres.yaml", "-summary", "-json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"name": "tinyres"`) {
		t.Errorf("unexpected summary: %.200s", out)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: c, out: 4, kernal: 3}\n"), 0o644)
	short := filepath.Join(dir, "short.f32")
	os.WriteFile(short, make([]byte, 4*784+4), 0o644)
	cases := []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"-arch", "nosuchnet", "-summary"}, `no built-in architecture "nosuchnet"`, false},
		{[]string{"-arch", bad, "-summary"}, "bad.yaml:4:29: conv: unknown field \"kernal\"", false},
		{[]string{"-summary"}, "no architecture given", false},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, true},
		{[]string{"-arch", "lenet5"}, "nothing to do", true},
		{[]string{"run", "-arch", "lenet5"}, "run needs -arch, -weights, -input and -output", true},
		{[]string{"run", "-arch", "lenet5", "-weights", "w", "-input", short, "-output", "o"}, "is not a whole number of [1 28 28] float32 images", false},
		{[]string{"-arch", "lenet5", "-input-shape", "1,28,28", "-summary"}, "-input-shape is for -onnx models", true},
		{[]string{"-onnx", "m.onnx", "-input-shape", "3,x,224", "-summary"}, `-input-shape "3,x,224": want positive sizes`, true},
		{[]string{"bench", "-onnx", "m.onnx", "-input-shape", "3,0,224"}, `-input-shape "3,0,224"`, true},
	}
	for _, c := range cases {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
			continue
		}
		if _, isUsage := err.(usageError); isUsage != c.usage {
			t.Errorf("%v: usage error %v, want %v", c.args, isUsage, c.usage)
		}
	}
}
