package kernels

import (
	"fmt"
	"math"
)

// Batch norm in training mode, over a batch in NCHW ([n][C][HW]), channel by channel (channels
// are independent: callers split them over goroutines), and the other normalizations' and
// softmax's gradients.
//
// Sums run in float32 within a plane (several partial sums) and in float64 across planes, as
// torch's kernels combine their partial sums: the statistics of a channel of 8 x 112 x 112
// values stay within a few float32 ulps of the exact ones.

// BNStats computes channels [c0, c1) of the batch's statistics: mean[c] and varSum[c], the sum
// of squared differences from the mean (the biased variance times the count), as train.BatchStats
// defines them, from n images x ([n][C][hw]).
func BNStats(mean, varSum, x []float32, c, hw, n, c0, c1 int) {
	if len(x) < n*c*hw || len(mean) < c1 || len(varSum) < c1 {
		panic("kernels: BNStats: slice too short")
	}
	rsum := kern().rsum
	count := float64(n * hw)
	for ch := c0; ch < c1; ch++ {
		s := 0.0
		for b := range n {
			s += float64(rsum(x[(b*c+ch)*hw : (b*c+ch+1)*hw]))
		}
		m := float32(s / count)
		q := 0.0
		for b := range n {
			q += float64(sumSqDiff(x[(b*c+ch)*hw:(b*c+ch+1)*hw], m))
		}
		mean[ch], varSum[ch] = m, float32(q)
	}
}

// sumSqDiff is the sum of (x[i] - m)^2 in eight partial sums.
func sumSqDiff(x []float32, m float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i:])
		for k := range 8 {
			d := v[k] - m
			s[k] += d * d
		}
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s[0] += d * d
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// BNApply computes channels [c0, c1) of out = act(x*scale[c] + shift[c] (+ res)) over n images
// ([n][C][hw]; res nil for none; out may be x or res): a batch norm with its statistics folded
// into scale and shift, a residual and an epilogue activation.
func BNApply(out, x, res, scale, shift []float32, act Act, c, hw, n, c0, c1 int) {
	if len(x) < n*c*hw || len(out) < n*c*hw || res != nil && len(res) < n*c*hw {
		panic("kernels: BNApply: slice too short")
	}
	k := kern()
	for b := range n {
		for ch := c0; ch < c1; ch++ {
			o := out[(b*c+ch)*hw : (b*c+ch+1)*hw]
			k.vmulAddC(o, x[(b*c+ch)*hw:(b*c+ch+1)*hw], scale[ch], shift[ch])
			if res != nil {
				k.vadd(o, o, res[(b*c+ch)*hw:(b*c+ch+1)*hw])
			}
			apply(act, o)
		}
	}
}

// BNBackward computes channels [c0, c1) of a training batch norm's gradients over n images:
// with xhat = (x - mean)*invStd, y = gamma*xhat + beta and N = n*hw values a channel,
//
//	dbeta = sum dy, dgamma = sum dy*xhat,
//	dx = gamma*invStd/N * (N*dy - dbeta - xhat*dgamma)
//
// dgamma and dbeta are set (nil to skip); dx is set, or added to when acc (nil to skip); dx may
// be dy.
func BNBackward(dx, dgamma, dbeta, dy, x, mean, invStd, gamma []float32, c, hw, n, c0, c1 int, acc bool) {
	if len(x) < n*c*hw || len(dy) < n*c*hw || dx != nil && len(dx) < n*c*hw {
		panic("kernels: BNBackward: slice too short")
	}
	rsum, dd := kern().rsum, kern().dotDiff
	count := float64(n * hw)
	for ch := c0; ch < c1; ch++ {
		m, inv := mean[ch], invStd[ch]
		sdy, sdyx := 0.0, 0.0
		for b := range n {
			g := dy[(b*c+ch)*hw : (b*c+ch+1)*hw]
			sdy += float64(rsum(g))
			sdyx += float64(dd(g, x[(b*c+ch)*hw:(b*c+ch+1)*hw], m))
		}
		sdyx *= float64(inv) // sum dy*xhat
		if dgamma != nil {
			dgamma[ch] = float32(sdyx)
		}
		if dbeta != nil {
			dbeta[ch] = float32(sdy)
		}
		if dx == nil {
			continue
		}
		// dx = k1*dy + k2*(x - mean) + k3 with k1 = gamma*invStd, k2 = -k1*invStd*dgamma/N,
		// k3 = -k1*dbeta/N.
		k1 := float64(gamma[ch]) * float64(inv)
		k2 := float32(-k1 * float64(inv) * sdyx / count)
		k3 := float32(-k1 * sdy / count)
		f1 := float32(k1)
		for b := range n {
			d := dx[(b*c+ch)*hw : (b*c+ch+1)*hw]
			g := dy[(b*c+ch)*hw : (b*c+ch+1)*hw]
			xs := x[(b*c+ch)*hw : (b*c+ch+1)*hw]
			g, xs = g[:len(d)], xs[:len(d)]
			if acc {
				for i := range d {
					d[i] += f1*g[i] + k2*(xs[i]-m) + k3
				}
			} else {
				for i := range d {
					d[i] = f1*g[i] + k2*(xs[i]-m) + k3
				}
			}
		}
	}
}

// f32DotDiffGo is the sum of g[i]*(x[i] - m) for i < len(g), in eight partial sums (the
// assembly keeps two vectors of them).
func f32DotDiffGo(g, x []float32, m float32) float32 {
	x = x[:len(g)]
	var s [8]float32
	i := 0
	for ; i+8 <= len(g); i += 8 {
		gv, xv := (*[8]float32)(g[i:]), (*[8]float32)(x[i:])
		for k := range 8 {
			s[k] += gv[k] * (xv[k] - m)
		}
	}
	for ; i < len(g); i++ {
		s[0] += g[i] * (x[i] - m)
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// LRNBackward computes one image's input gradient of a local response normalization: with
// D_c = K + Alpha/Size * sum_{c' in W(c)} x_c'^2 and y_c = x_c * D_c^-Beta,
//
//	dx_j = dy_j * D_j^-Beta - 2*Alpha*Beta/Size * x_j * sum_{c: j in W(c)} dy_c * x_c * D_c^(-Beta-1)
//
// in float64 per pixel. dx is set, or added to when acc. tmp holds 2*C*HW values.
func (l LRN) LRNBackward(dx, dy, x, tmp []float32, acc bool) {
	c, hw := l.C, l.HW
	if len(x) < c*hw || len(dy) < c*hw || len(dx) < c*hw || len(tmp) < 2*c*hw {
		panic(fmt.Sprintf("kernels: LRN.LRNBackward: slice too short for %d x %d", c, hw))
	}
	d, r := tmp[:c*hw], tmp[c*hw:2*c*hw]
	alpha, beta, k := float64(l.Alpha)/float64(l.Size), float64(l.Beta), float64(l.K)
	for ch := range c {
		lo, hi := max(0, ch-l.Lo), min(c-1, ch-l.Lo+l.Size-1)
		for p := range hw {
			s := 0.0
			for cc := lo; cc <= hi; cc++ {
				v := float64(x[cc*hw+p])
				s += v * v
			}
			den := k + alpha*s
			i := ch*hw + p
			d[i] = float32(math.Pow(den, -beta))
			r[i] = float32(float64(dy[i]) * float64(x[i]) * math.Pow(den, -beta-1))
		}
	}
	for j := range c {
		lo, hi := max(0, j+l.Lo-l.Size+1), min(c-1, j+l.Lo)
		for p := range hw {
			s := 0.0
			for cc := lo; cc <= hi; cc++ {
				s += float64(r[cc*hw+p])
			}
			i := j*hw + p
			g := float32(float64(dy[i])*float64(d[i]) - 2*alpha*beta*float64(x[i])*s)
			if acc {
				dx[i] += g
			} else {
				dx[i] = g
			}
		}
	}
}

// Backward computes the input gradient of the softmax from its output y and the output
// gradient dy: dx = y*(dy - sum(dy*y)) per block, or for the log-softmax dx = dy -
// exp(y)*sum(dy). dx is set, or added to when acc; dx may be dy.
func (s Softmax) Backward(dx, dy, y []float32, acc bool) {
	n := s.Outer * s.Block * s.Inner
	if len(dx) < n || len(dy) < n || len(y) < n {
		panic("kernels: Softmax.Backward: slice too short")
	}
	for o := range s.Outer {
		for j := range s.Inner {
			base := o*s.Block*s.Inner + j
			sum := 0.0
			for k := range s.Block {
				i := base + k*s.Inner
				if s.Log {
					sum += float64(dy[i])
				} else {
					sum += float64(dy[i]) * float64(y[i])
				}
			}
			for k := range s.Block {
				i := base + k*s.Inner
				var g float32
				if s.Log {
					g = dy[i] - float32(math.Exp(float64(y[i]))*sum)
				} else {
					g = y[i] * (dy[i] - float32(sum))
				}
				if acc {
					dx[i] += g
				} else {
					dx[i] = g
				}
			}
		}
	}
}
