package train

import "fmt"

// BatchStats computes a training-mode BatchNorm's per-channel batch statistics over x
// ([batch, channels, plane] as NCHW, plane = H*W) the way torch 1.13's CPU kernel does
// (batch_norm_cpu_collect_stats_contiguous_impl): the mean is a float64 sum divided by the
// count and rounded to float32; varSum is the float64 sum of the float32 squares of the
// float32 differences x - mean, rounded to float32. The biased variance used to normalise is
// varSum / count; UpdateRunningStats takes the unbiased one from the same sums.
func BatchStats(x []float32, batch, channels, plane int, mean, varSum []float32) error {
	if len(x) != batch*channels*plane || len(mean) != channels || len(varSum) != channels {
		return fmt.Errorf("train: batch stats: %d values for [%d, %d, %d], %d means, %d variance sums", len(x), batch, channels, plane, len(mean), len(varSum))
	}
	count := float64(batch * plane)
	for c := range channels {
		var s float64
		for b := range batch {
			for _, v := range x[(b*channels+c)*plane : (b*channels+c+1)*plane] {
				s += float64(v)
			}
		}
		m := float32(s / count)
		var q float64
		for b := range batch {
			for _, v := range x[(b*channels+c)*plane : (b*channels+c+1)*plane] {
				d := v - m
				q += float64(float32(d * d))
			}
		}
		mean[c], varSum[c] = m, float32(q)
	}
	return nil
}

// UpdateRunningStats is the running-statistics update of a training-mode BatchNorm, given
// the batch's mean and variance sum over count = batch*H*W values (BatchStats):
//
//	running_mean = momentum*mean + (1-momentum)*running_mean
//	running_var  = momentum*varSum/(count-1) + (1-momentum)*running_var
//
// with torch's mixed precision (float32 but for the unbiased variance, which is widened to
// float64 before the sum). torch's BatchNorm2d(momentum=0.1) passes 0.1; with momentum=None
// it passes 1/num_batches_tracked (a cumulative average). Either way the module adds 1 to
// num_batches_tracked first, which the caller does (Counter.Value++), as the counter is its
// state.
func UpdateRunningStats(runMean, runVar, mean, varSum []float32, count int, momentum float64) {
	m := float32(momentum)
	keep := 1 - m
	for c := range runMean {
		runMean[c] = float32(m*mean[c]) + float32(keep*runMean[c])
		unbiased := float64(varSum[c] / float32(count-1))
		runVar[c] = float32(float64(float64(m)*unbiased) + float64(float32(keep*runVar[c])))
	}
}
