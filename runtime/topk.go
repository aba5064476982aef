package runtime

import "math"

// Prediction is one class of a classification result.
type Prediction struct {
	Class int     // index into the network's output
	Label string  // the class's name, "" when unknown
	Prob  float32 // softmax probability over all classes
	Logit float32 // the network's raw output for the class
}

// TopK returns the k most probable classes of logits, most probable first,
// with softmax probabilities computed over all the logits and labels[Class]
// as Label ("" when labels is nil or too short). k is clipped to
// [0, len(logits)]. Classes are ordered by logit, which orders them by
// probability with no float32 rounding in the way; equal logits go lower
// class first. Like torch.softmax, any NaN or +Inf logit, or all logits
// -Inf, makes every probability NaN; NaN logits rank last.
func TopK(logits []float32, k int, labels []string) []Prediction {
	k = max(0, min(k, len(logits)))
	return TopKInto(make([]Prediction, k), logits, labels)
}

// TopKInto is TopK with k = len(dst) that fills dst[:k] and returns it
// instead of allocating.
func TopKInto(dst []Prediction, logits []float32, labels []string) []Prediction {
	k := min(len(dst), len(logits))
	dst = dst[:k]
	if k == 0 {
		return dst
	}
	// Keep dst[:n] sorted best first while scanning: a class enters when it
	// beats the current k-th, by binary search and a shift.
	n := 0
	for c, l := range logits {
		if n == k && !better(l, c, dst[k-1].Logit, dst[k-1].Class) {
			continue
		}
		lo, hi := 0, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if better(l, c, dst[m].Logit, dst[m].Class) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		if n < k {
			n++
		}
		copy(dst[lo+1:n], dst[lo:n-1])
		dst[lo] = Prediction{Class: c, Logit: l}
	}

	// Softmax in float64, shifted by the largest logit so exp cannot
	// overflow.
	hi := math.Inf(-1)
	for _, l := range logits {
		hi = max(hi, float64(l)) // max propagates NaN
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - hi)
	}
	for i := range dst {
		d := &dst[i]
		d.Prob = float32(math.Exp(float64(d.Logit)-hi) / sum)
		d.Label = ""
		if d.Class < len(labels) {
			d.Label = labels[d.Class]
		}
	}
	return dst
}

// better reports whether logit a of class ca ranks before logit b of class
// cb: larger first, NaN last, ties by lower class.
func better(a float32, ca int, b float32, cb int) bool {
	switch {
	case a > b:
		return true
	case a < b:
		return false
	case a == b:
		return ca < cb
	}
	// At least one is NaN.
	an, bn := a != a, b != b
	if an != bn {
		return bn
	}
	return ca < cb
}
