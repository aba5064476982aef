package runtime

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// softmax64 is a straightforward float64 softmax for reference.
func softmax64(logits []float32) []float64 {
	hi := math.Inf(-1)
	for _, l := range logits {
		hi = max(hi, float64(l))
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		p[i] = math.Exp(float64(l) - hi)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// naiveTopK sorts every class: by logit descending, ties by lower class.
func naiveTopK(logits []float32, k int, labels []string) []Prediction {
	p := softmax64(logits)
	all := make([]Prediction, len(logits))
	for c, l := range logits {
		all[c] = Prediction{Class: c, Logit: l, Prob: float32(p[c])}
		if c < len(labels) {
			all[c].Label = labels[c]
		}
	}
	slices.SortStableFunc(all, func(a, b Prediction) int { return cmp.Compare(b.Logit, a.Logit) })
	return all[:max(0, min(k, len(all)))]
}

func TestTopK(t *testing.T) {
	labels := []string{"a", "b", "c", "d"}
	got := TopK([]float32{1, 3, 2, 0.5}, 2, labels)
	e := []float64{math.Exp(1), math.Exp(3), math.Exp(2), math.Exp(0.5)}
	sum := e[0] + e[1] + e[2] + e[3]
	want := []Prediction{
		{Class: 1, Label: "b", Prob: float32(e[1] / sum), Logit: 3},
		{Class: 2, Label: "c", Prob: float32(e[2] / sum), Logit: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("TopK = %+v, want %+v", got, want)
	}

	// Probabilities over all classes sum to one.
	all := TopK([]float32{1, 3, 2, 0.5}, 10, labels)
	var total float64
	for _, p := range all {
		total += float64(p.Prob)
	}
	if len(all) != 4 || math.Abs(total-1) > 1e-6 {
		t.Errorf("TopK(k=10) has %d classes summing to %v", len(all), total)
	}
}

func TestTopKClip(t *testing.T) {
	logits := []float32{0.1, 0.2, 0.3}
	for _, c := range []struct{ k, n int }{{-1, 0}, {0, 0}, {1, 1}, {3, 3}, {4, 3}, {1 << 30, 3}} {
		if got := TopK(logits, c.k, nil); len(got) != c.n {
			t.Errorf("TopK(k=%d) has %d classes, want %d", c.k, len(got), c.n)
		}
	}
	if got := TopK(nil, 5, nil); len(got) != 0 {
		t.Errorf("TopK(nil) = %v", got)
	}
	if got := TopKInto(make([]Prediction, 5), logits, nil); len(got) != 3 {
		t.Errorf("TopKInto with 5 slots and 3 logits gave %d", len(got))
	}
}

func TestTopKLabels(t *testing.T) {
	logits := []float32{5, 4, 3, 2}
	for _, labels := range [][]string{nil, {}, {"x", "y"}} {
		got := TopK(logits, 4, labels)
		for _, p := range got {
			want := ""
			if p.Class < len(labels) {
				want = labels[p.Class]
			}
			if p.Label != want {
				t.Errorf("labels %q: class %d has label %q, want %q", labels, p.Class, p.Label, want)
			}
		}
	}
	// Stale labels in a reused dst are cleared.
	dst := []Prediction{{Label: "stale"}, {Label: "stale"}}
	for _, p := range TopKInto(dst, logits, []string{"x"}) {
		if p.Class != 0 && p.Label != "" {
			t.Errorf("class %d kept label %q", p.Class, p.Label)
		}
	}
}

func TestTopKTies(t *testing.T) {
	got := TopK([]float32{1, 2, 2, 0, 2, 1}, 6, nil)
	var classes []int
	for _, p := range got {
		classes = append(classes, p.Class)
	}
	if want := []int{1, 2, 4, 0, 5, 3}; !slices.Equal(classes, want) {
		t.Errorf("classes %v, want %v", classes, want)
	}
	if got[0].Prob != got[1].Prob || got[1].Prob != got[2].Prob {
		t.Errorf("tied logits have probabilities %v %v %v", got[0].Prob, got[1].Prob, got[2].Prob)
	}
}

// TestTopKStable: large logits neither overflow nor underflow to NaN.
func TestTopKStable(t *testing.T) {
	got := TopK([]float32{1000, 999, -1000, -3e38, 3e38 - 1e32}, 5, nil)
	for _, p := range got {
		if math.IsNaN(float64(p.Prob)) || p.Prob < 0 || p.Prob > 1 {
			t.Errorf("class %d: prob %v", p.Class, p.Prob)
		}
	}
	if got[0].Class != 4 || got[0].Prob != 1 {
		t.Errorf("top class %d prob %v, want 4 with 1", got[0].Class, got[0].Prob)
	}
	got = TopK([]float32{1000, 999, -1000}, 3, nil)
	if want := float32(1 / (1 + math.Exp(-1))); got[0].Prob != want {
		t.Errorf("prob of 1000 against 999 = %v, want %v", got[0].Prob, want)
	}
	if got[2].Prob != 0 {
		t.Errorf("prob of -1000 = %v, want 0", got[2].Prob)
	}
}

// TestTopKNonFinite follows torch.softmax: NaN or +Inf anywhere, or all
// -Inf, gives NaN probabilities; -Inf among finite logits gives 0.
func TestTopKNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	got := TopK([]float32{1, float32(math.Inf(-1)), 2}, 3, nil)
	if got[2].Class != 1 || got[2].Prob != 0 || got[0].Class != 2 {
		t.Errorf("with -Inf: %+v", got)
	}
	for _, logits := range [][]float32{{1, nan, 2}, {nan, nan}, {1, inf, 2}, {-inf, -inf}} {
		got := TopK(logits, len(logits), nil)
		for _, p := range got {
			if !math.IsNaN(float64(p.Prob)) {
				t.Errorf("%v: class %d has prob %v, want NaN", logits, p.Class, p.Prob)
			}
		}
	}
	got = TopK([]float32{nan, 1, nan, 2, -inf}, 5, nil)
	var classes []int
	for _, p := range got {
		classes = append(classes, p.Class)
	}
	if want := []int{3, 1, 4, 0, 2}; !slices.Equal(classes, want) {
		t.Errorf("NaN ranks: classes %v, want %v", classes, want)
	}
}

func TestTopKRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	labels := make([]string, 500)
	for i := range labels {
		labels[i] = string(rune('A' + i%26))
	}
	for range 200 {
		n := 1 + r.IntN(1000)
		logits := make([]float32, n)
		for i := range logits {
			// Few distinct values, so ties are common.
			logits[i] = float32(r.IntN(50)) / 4
			if r.IntN(2) == 0 {
				logits[i] = float32(r.NormFloat64() * 10)
			}
		}
		k := r.IntN(n + 3)
		got, want := TopK(logits, k, labels), naiveTopK(logits, k, labels)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d: TopK differs from a full sort:\n%+v\n%+v", n, k, got, want)
		}
	}
}

func TestTopKIntoAllocs(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	labels := make([]string, 1000)
	dst := make([]Prediction, 5)
	if n := testing.AllocsPerRun(100, func() { TopKInto(dst, logits, labels) }); n != 0 {
		t.Errorf("TopKInto allocates %v times", n)
	}
}

func BenchmarkTopKInto(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	dst := make([]Prediction, 5)
	for b.Loop() {
		TopKInto(dst, logits, nil)
	}
}
