package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// Batch norm in training mode and the backward of local response normalization.

// bnSaved is what a training batch norm's backward needs: per channel, the batch mean and
// 1/sqrt(var+eps).
type bnSaved struct{ mean, invStd []float64 }

func init() {
	// nn.BatchNorm2d (and 1d on [C]) in training mode: each channel is normalized by the mean and
	// the biased variance of its N = batch*H*W values; the running statistics become
	// (1-m)*running + m*statistic, with the unbiased variance var*N/(N-1), as torch does.
	trainEvals[ir.OpBatchNorm] = func(c *fctx) ([]float64, any, error) {
		if err := checkShape(c.Node, c.in); err != nil {
			return nil, nil, err
		}
		eps := ir.As[*ir.BatchNormAttrs](c.Node).Eps
		C := c.in[0]
		plane := c.in.Size() / C
		count := c.batch * plane
		if count < 2 {
			// torch refuses too: the unbiased variance of one value is undefined.
			return nil, nil, nodeErr(c.Node, "batch norm in training needs more than one value per channel, got %d (batch %d x %v)", count, c.batch, c.in)
		}
		gamma, beta, rm, rv := c.ws[0], c.ws[1], c.ws[2], c.ws[3]
		x := c.x()
		out := make([]float64, len(x))
		s := bnSaved{mean: make([]float64, C), invStd: make([]float64, C)}
		newMean, newVar := make([]float64, C), make([]float64, C)
		m := c.t.opts.momentum()
		for ch := range C {
			sum := 0.0
			for b := range c.batch {
				for _, v := range x[(b*C+ch)*plane:][:plane] {
					sum += v
				}
			}
			mean := sum / float64(count)
			ss := 0.0
			for b := range c.batch {
				for _, v := range x[(b*C+ch)*plane:][:plane] {
					ss += (v - mean) * (v - mean)
				}
			}
			variance := ss / float64(count)
			inv := 1 / math.Sqrt(variance+eps)
			s.mean[ch], s.invStd[ch] = mean, inv
			for b := range c.batch {
				i0 := (b*C + ch) * plane
				for i := i0; i < i0+plane; i++ {
					out[i] = (x[i]-mean)*inv*gamma[ch] + beta[ch]
				}
			}
			newMean[ch] = (1-m)*rm[ch] + m*mean
			newVar[ch] = (1-m)*rv[ch] + m*variance*float64(count)/float64(count-1)
		}
		c.t.res.Running[c.Params[2].Key] = newMean
		c.t.res.Running[c.Params[3].Key] = newVar
		return out, s, nil
	}
	// With xhat = (x-mean)*invStd and y = gamma*xhat + beta, per channel over its N values:
	// dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma*invStd/N * (N*dy - dbeta - xhat*dgamma).
	backwards[ir.OpBatchNorm] = func(c *bctx) error {
		s := c.saved.(bnSaved)
		C := c.in[0]
		plane := c.in.Size() / C
		n := float64(c.batch * plane)
		x, dx, gamma := c.x(), c.dx(), c.ws[0]
		for ch := range C {
			mean, inv := s.mean[ch], s.invStd[ch]
			sdy, sdyx := 0.0, 0.0
			for b := range c.batch {
				i0 := (b*C + ch) * plane
				for i := i0; i < i0+plane; i++ {
					sdy += c.dy[i]
					sdyx += c.dy[i] * (x[i] - mean) * inv
				}
			}
			c.dws[0][ch] += sdyx
			c.dws[1][ch] += sdy
			k := gamma[ch] * inv / n
			for b := range c.batch {
				i0 := (b*C + ch) * plane
				for i := i0; i < i0+plane; i++ {
					dx[i] += k * (n*c.dy[i] - sdy - (x[i]-mean)*inv*sdyx)
				}
			}
		}
		return nil
	}
	backwards[ir.OpLRN] = backwardLRN
}

// backwardLRN: with D_c = k + alpha/size * sum_{c' in W(c)} x_c'^2 and y_c = x_c * D_c^-beta,
// dx_j = dy_j * D_j^-beta - 2*alpha*beta/size * x_j * sum_{c: j in W(c)} dy_c * x_c * D_c^(-beta-1),
// W(c) = [c-Lo, c-Lo+size-1] clipped to the channels, so j is in W(c) for c in
// [j+Lo-size+1, j+Lo].
func backwardLRN(c *bctx) error {
	a := ir.As[*ir.LRNAttrs](c.Node)
	C, plane := c.in[0], c.in[1]*c.in[2]
	x, dx := c.x(), c.dx()
	alpha := a.Alpha / float64(a.Size)
	parallelFor(c.batch, func(b int) {
		img := x[b*C*plane : (b+1)*C*plane]
		// d[c] = D_c and r[c] = dy_c * x_c * D_c^(-beta-1), per pixel.
		d := make([]float64, C*plane)
		r := make([]float64, C*plane)
		for ch := range C {
			lo, hi := max(0, ch-a.Lo), min(C-1, ch-a.Lo+a.Size-1)
			for cc := lo; cc <= hi; cc++ {
				for p, v := range img[cc*plane : (cc+1)*plane] {
					d[ch*plane+p] += v * v
				}
			}
			for p := ch * plane; p < (ch+1)*plane; p++ {
				d[p] = a.Bias + alpha*d[p]
				r[p] = c.dy[b*C*plane+p] * img[p] * math.Pow(d[p], -a.Beta-1)
			}
		}
		for j := range C {
			lo, hi := max(0, j+a.Lo-a.Size+1), min(C-1, j+a.Lo)
			for p := j * plane; p < (j+1)*plane; p++ {
				s := 0.0
				for cc := lo; cc <= hi; cc++ {
					s += r[cc*plane+p-j*plane]
				}
				i := b*C*plane + p
				dx[i] += c.dy[i]*math.Pow(d[p], -a.Beta) - 2*alpha*a.Beta*img[p]*s
			}
		}
	})
	return nil
}
