package train

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/generated/lenet5"
	"github.com/cnngen/cnngen/generated/resnet18"
	rt "github.com/cnngen/cnngen/runtime"
)

// TestSaveLayoutIsTheRuntimes: the writer used when there are counters lays out float
// tensors exactly as runtime.WriteSafetensors does.
func TestSaveLayoutIsTheRuntimes(t *testing.T) {
	tensors := []rt.Tensor{
		{Name: "b<&>", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, float32(math.Inf(-1))}},
		{Name: "a\"q\n", Shape: []int{}, Data: []float32{7}},
		{Name: "z.empty", Shape: []int{0, 4}, Data: []float32{}},
	}
	for _, meta := range []map[string]string{nil, {"k": "v", "arch": "x\ty"}} {
		var want, got bytes.Buffer
		if err := rt.WriteSafetensors(&want, tensors, meta); err != nil {
			t.Fatal(err)
		}
		if err := writeWithCounters(&got, tensors, nil, meta); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("metadata %v:\n got %q\nwant %q", meta, got.Bytes(), want.Bytes())
		}
	}
}

// TestSaveMatchesTorchBytes: a BatchNorm2d's state_dict after two training batches, written
// by tools/st.py from torch (num_batches_tracked an I64 scalar), and by Save: the same bytes.
func TestSaveMatchesTorchBytes(t *testing.T) {
	g := loadGoldens(t)
	var ps Params
	_, _, rm, rv, n := ps.AddBatchNorm("bn", 3)
	last := g.Batchnorm.Steps[len(g.Batchnorm.Steps)-1]
	copy(rm.Value, f32s(last.RunningMean))
	copy(rv.Value, f32s(last.RunningVar))
	n.Value = last.NumBatchesTracked
	var got bytes.Buffer
	if err := ps.Save(&got, map[string]string{"note": "train goldens"}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/bn_state.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("Save wrote\n%q\ntorch (tools/st.py) wrote\n%q", got.Bytes(), want)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	var ps Params
	rng := NewRNG(3)
	w := ps.Add("features.0.weight", 4, 2, 3, 3)
	b := ps.Add("features.0.bias", 4)
	rng.Default(w.Value, b.Value, w.Shape)
	_, bnb, rm, rv, n := ps.AddBatchNorm("features.1", 4)
	bnb.Value[2] = -0.5
	rm.Value[1], rv.Value[3], n.Value = 0.25, 3, 1<<40+5
	fc := ps.Add("fc.weight", 3, 4)
	rng.XavierUniform(fc.Value, fc.Shape, 1)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := ps.SaveFile(path, map[string]string{"arch": "test"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := rt.OpenWeights(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), " "); got != "fc.weight features.0.bias features.0.weight features.1.bias features.1.num_batches_tracked features.1.running_mean features.1.running_var features.1.weight" {
		t.Errorf("names: %s", got)
	}
	if info, _ := f.Info("features.1.num_batches_tracked"); info.DType != "I64" || len(info.Shape) != 0 {
		t.Errorf("num_batches_tracked: %+v", info)
	}
	if f.Metadata()["arch"] != "test" {
		t.Errorf("metadata %v", f.Metadata())
	}

	// Load into a fresh network: every value, and the counter, come back.
	var back Params
	back.Add("features.0.weight", 4, 2, 3, 3)
	back.Add("features.0.bias", 4)
	back.AddBatchNorm("features.1", 4)
	back.Add("fc.weight", 3, 4)
	if err := back.Load(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps.Params {
		if !equal(p.Value, back.Params[i].Value) {
			t.Errorf("%s differs after loading", p.Name)
		}
	}
	for i, b := range ps.Buffers {
		if !equal(b.Value, back.Buffers[i].Value) {
			t.Errorf("%s differs after loading", b.Name)
		}
	}
	if back.Counters[0].Value != 1<<40+5 {
		t.Errorf("num_batches_tracked = %d", back.Counters[0].Value)
	}

	// A new head: fc is kept as initialised, and its shape may differ.
	var head Params
	head.Add("features.0.weight", 4, 2, 3, 3)
	head.Add("features.0.bias", 4)
	head.AddBatchNorm("features.1", 4)
	h := head.Add("fc.weight", 7, 4)
	h.Value[0] = 42
	if err := head.Load(bytes.NewReader(raw), "fc"); err != nil || h.Value[0] != 42 {
		t.Errorf("Load except fc: %v, fc[0] = %v", err, h.Value[0])
	}
	err = head.Load(bytes.NewReader(raw))
	if err == nil || !strings.Contains(err.Error(), "fc.weight: shape [3 4] in the file, want [7 4]") {
		t.Errorf("Load of a misshapen head: %v", err)
	}
	var short Params
	short.Add("features.0.weight", 4, 2, 3, 3)
	short.Add("extra.weight", 1)
	err = short.Load(bytes.NewReader(raw))
	for _, want := range []string{"extra.weight: missing", "fc.weight: in the file but not in the network"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load of another network: %v, want %q", err, want)
		}
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestInferencePackagesLoadSavedWeights: weights initialised and saved here load unchanged
// into the generated packages: LeNet-5 (no batch norm) and ResNet-18 (torchvision's names,
// batch norms with their running statistics and I64 num_batches_tracked), and give the
// logits of the same weights saved by the runtime's own writer.
func TestInferencePackagesLoadSavedWeights(t *testing.T) {
	var le Params
	rng := NewRNG(11)
	for _, l := range []struct {
		name  string
		shape []int
	}{{"conv1", []int{6, 1, 5, 5}}, {"conv2", []int{16, 6, 5, 5}}, {"fc1", []int{120, 400}}, {"fc2", []int{84, 120}}, {"fc3", []int{10, 84}}} {
		w, b := le.Add(l.name+".weight", l.shape...), le.Add(l.name+".bias", l.shape[0])
		if err := rng.Default(w.Value, b.Value, w.Shape); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := le.Save(&buf, nil); err != nil {
		t.Fatal(err)
	}
	net, err := lenet5.New(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	in, out := make([]float32, lenet5.InputChannels*lenet5.InputHeight*lenet5.InputWidth), make([]float32, lenet5.NumClasses)
	for i := range in {
		in[i] = float32(i%17) / 17
	}
	if err := net.Forward(in, out); err != nil || math.IsNaN(float64(out[0])) {
		t.Fatalf("Forward: %v %v", out, err)
	}

	rn := resnet18Params(NewRNG(5))
	for _, b := range rn.Buffers {
		for i := range b.Value {
			if strings.HasSuffix(b.Name, "running_mean") {
				b.Value[i] = float32(i%5) / 50
			} else {
				b.Value[i] = 1 + float32(i%3)/10
			}
		}
	}
	for _, c := range rn.Counters {
		c.Value = 7
	}
	buf.Reset()
	if err := rn.Save(&buf, map[string]string{"arch": "resnet18"}); err != nil {
		t.Fatal(err)
	}
	rnet, err := resnet18.New(bytes.NewReader(buf.Bytes()), resnet18.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	// The same tensors through runtime.WriteSafetensors (F32 only, no counters).
	var plain bytes.Buffer
	var ts []rt.Tensor
	for _, p := range rn.Params {
		ts = append(ts, rt.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	for _, b := range rn.Buffers {
		ts = append(ts, rt.Tensor{Name: b.Name, Shape: b.Shape, Data: b.Value})
	}
	if err := rt.WriteSafetensors(&plain, ts, nil); err != nil {
		t.Fatal(err)
	}
	ref, err := resnet18.New(bytes.NewReader(plain.Bytes()), resnet18.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float32, resnet18.InputChannels*resnet18.InputHeight*resnet18.InputWidth)
	for i := range img {
		img[i] = float32(i%255)/128 - 1
	}
	got, want := make([]float32, resnet18.NumClasses), make([]float32, resnet18.NumClasses)
	if err := rnet.Forward(img, got); err != nil {
		t.Fatal(err)
	}
	if err := ref.Forward(img, want); err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) {
		t.Errorf("logits differ: %v vs %v", got[:4], want[:4])
	}
}

// resnet18Params is torchvision's resnet18 state_dict, default-initialised as its
// constructor does (kaiming_normal_ fan_out relu for convolutions, BN 1 and 0, Linear's
// default).
func resnet18Params(rng *RNG) *Params {
	var ps Params
	conv := func(name string, out, in, k int) {
		w := ps.Add(name+".weight", out, in, k, k)
		rng.KaimingNormal(w.Value, w.Shape, 0, FanOut, "relu")
	}
	conv("conv1", 64, 3, 7)
	ps.AddBatchNorm("bn1", 64)
	in := 64
	for l, width := range []int{64, 128, 256, 512} {
		for blk := range 2 {
			pre := fmt.Sprintf("layer%d.%d", l+1, blk)
			conv(pre+".conv1", width, in, 3)
			ps.AddBatchNorm(pre+".bn1", width)
			conv(pre+".conv2", width, width, 3)
			ps.AddBatchNorm(pre+".bn2", width)
			if blk == 0 && l > 0 {
				conv(pre+".downsample.0", width, in, 1)
				ps.AddBatchNorm(pre+".downsample.1", width)
			}
			in = width
		}
	}
	w, b := ps.Add("fc.weight", 1000, 512), ps.Add("fc.bias", 1000)
	rng.Default(w.Value, b.Value, w.Shape)
	return &ps
}
