package train

import (
	"fmt"
	"math"
)

// CrossEntropy is torch.nn.functional.cross_entropy(logits, labels,
// label_smoothing=smoothing) with the mean over the batch: logits is [n, classes] (n =
// len(labels)), labels are class indices. When dlogits is not nil it receives the gradient
// of the loss with respect to the logits, (softmax - target) / n with target the smoothed
// one-hot ((1-smoothing) on the label plus smoothing/classes everywhere), which is where a
// backward pass starts.
//
// The log-softmax is computed in float64 and rounded to float32 where torch keeps float32
// values (the loss, each gradient), so both agree with torch's float32 to about an ulp.
// It allocates nothing.
func CrossEntropy(logits []float32, labels []int32, classes int, smoothing float64, dlogits []float32) (float32, error) {
	n := len(labels)
	if classes <= 0 || len(logits) != n*classes || dlogits != nil && len(dlogits) != len(logits) {
		return 0, fmt.Errorf("train: cross entropy: %d logits, %d gradients for %d labels of %d classes", len(logits), len(dlogits), n, classes)
	}
	if n == 0 {
		return float32(math.NaN()), nil // torch's mean over nothing
	}
	var total float64
	inv := 1 / float64(n)
	for i, label := range labels {
		if label < 0 || int(label) >= classes {
			return 0, fmt.Errorf("train: cross entropy: label %d of image %d is outside the %d classes", label, i, classes)
		}
		row := logits[i*classes : (i+1)*classes]
		hi := math.Inf(-1)
		for _, v := range row {
			hi = max(hi, float64(v))
		}
		var sum, all float64
		for _, v := range row {
			sum += math.Exp(float64(v) - hi)
			all += float64(v)
		}
		lse := hi + math.Log(sum)
		nll := lse - float64(row[label])
		// The smoothing term is the mean of -log p over the classes.
		smooth := lse - all/float64(classes)
		total += (1-smoothing)*nll + smoothing*smooth
		if dlogits != nil {
			d := dlogits[i*classes : (i+1)*classes]
			for c, v := range row {
				t := smoothing / float64(classes)
				if c == int(label) {
					t += 1 - smoothing
				}
				d[c] = float32((math.Exp(float64(v)-lse) - t) * inv)
			}
		}
	}
	return float32(total * inv), nil
}

// Meter accumulates a running loss and top-1/top-5 accuracy over batches: what a progress
// bar shows per batch and an epoch's summary reports. The zero value is ready; it allocates
// nothing but Suffix's string.
type Meter struct {
	N          int     // images counted
	LossSum    float64 // sum of per-image losses (batch mean times batch size)
	Top1, Top5 int     // images whose label is the best logit, or among the best five
	lossN      int     // images with a loss (Count adds none)
}

// Add counts a batch: its mean loss and its logits ([len(labels), classes]).
func (m *Meter) Add(loss float32, logits []float32, labels []int32, classes int) {
	m.LossSum += float64(loss) * float64(len(labels))
	m.lossN += len(labels)
	m.Count(logits, labels, classes)
}

// Count counts a batch's top-1/top-5 hits without a loss (evaluation).
func (m *Meter) Count(logits []float32, labels []int32, classes int) {
	for i, label := range labels {
		r := Rank(logits[i*classes:(i+1)*classes], int(label))
		if r == 0 {
			m.Top1++
		}
		if r < 5 {
			m.Top5++
		}
	}
	m.N += len(labels)
}

// Rank is how many classes rank before label: those with a larger logit, or an equal one
// and a lower index (runtime.TopK's order). A NaN logit of the label ranks last.
func Rank(row []float32, label int) int {
	t := row[label]
	if t != t {
		return len(row)
	}
	r := 0
	for c, v := range row {
		if v > t || v == t && c < label {
			r++
		}
	}
	return r
}

// Reset empties the meter.
func (m *Meter) Reset() { *m = Meter{} }

// Loss is the mean loss per image so far.
func (m *Meter) Loss() float64 { return m.LossSum / float64(max(1, m.lossN)) }

// Acc1 and Acc5 are the top-1 and top-5 accuracies so far, in [0, 1].
func (m *Meter) Acc1() float64 { return float64(m.Top1) / float64(max(1, m.N)) }
func (m *Meter) Acc5() float64 { return float64(m.Top5) / float64(max(1, m.N)) }

// Suffix is the text a progress bar shows after itself (internal/progress's Bar.Suffix).
func (m *Meter) Suffix() string {
	if m.lossN == 0 {
		return fmt.Sprintf("top-1 %.2f%% top-5 %.2f%%", 100*m.Acc1(), 100*m.Acc5())
	}
	return fmt.Sprintf("loss %.4f top-1 %.2f%%", m.Loss(), 100*m.Acc1())
}
