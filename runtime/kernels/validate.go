package kernels

import "fmt"

// Validate methods of the settings types whose Run has no other precondition than positive
// sizes and a layout the type supports (see Layout).

// Validate reports whether the settings are usable.
func (g GlobalPool) Validate() error {
	if g.C <= 0 || g.HW <= 0 {
		return fmt.Errorf("kernels: global pool %+v: sizes must be positive", g)
	}
	return checkLayout("global pool", g.Layout, true)
}

// Validate reports whether the settings are usable.
func (a AdaptiveAvgPool) Validate() error {
	if a.C <= 0 || a.InH <= 0 || a.InW <= 0 || a.OutH <= 0 || a.OutW <= 0 {
		return fmt.Errorf("kernels: adaptive avg pool %+v: sizes must be positive", a)
	}
	return checkLayout("adaptive avg pool", a.Layout, true)
}

// Validate reports whether the settings are usable: positive sizes, an epilogue activation.
func (f Affine) Validate() error {
	switch {
	case f.C <= 0 || f.HW <= 0:
		return fmt.Errorf("kernels: affine %+v: sizes must be positive", f)
	case !f.Act.Epilogue():
		return fmt.Errorf("kernels: affine %+v: activation %v needs Eltwise's parameters", f, f.Act)
	}
	return checkLayout("affine", f.Layout, true)
}

// Validate reports whether the settings are usable.
func (m Mul) Validate() error {
	if m.C <= 0 || m.HW <= 0 {
		return fmt.Errorf("kernels: mul %+v: sizes must be positive", m)
	}
	return checkLayout("mul", m.Layout, true)
}

// Validate reports whether the settings are usable: positive sizes, non-negative padding.
func (p Pad) Validate() error {
	switch {
	case p.C <= 0 || p.H <= 0 || p.W <= 0:
		return fmt.Errorf("kernels: pad %+v: sizes must be positive", p)
	case p.Top < 0 || p.Left < 0 || p.Bottom < 0 || p.Right < 0:
		return fmt.Errorf("kernels: pad %+v: negative padding", p)
	}
	return checkLayout("pad", p.Layout, true)
}

// Validate reports whether the settings are usable: positive sizes and window.
func (l LRN) Validate() error {
	if l.C <= 0 || l.HW <= 0 || l.Size <= 0 {
		return fmt.Errorf("kernels: lrn %+v: sizes must be positive", l)
	}
	return checkLayout("lrn", l.Layout, true)
}

// mustLayout panics unless l is a layout the op's Run supports (Validate's check, for the
// callers that did not validate).
func mustLayout(op string, l Layout, blocked bool) {
	if err := checkLayout(op, l, blocked); err != nil {
		panic(err)
	}
}
