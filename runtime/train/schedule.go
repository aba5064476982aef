package train

import (
	"errors"
	"fmt"
	"math"
)

// Scheduler changes an optimizer's learning rate (and momentum) as torch.optim.lr_scheduler
// does. Like torch's, a new scheduler has already taken its initial step (last_epoch 0) and
// set the optimizer's LR; call Step after each optimizer step (OneCycleLR) or each epoch
// (StepLR, CosineAnnealingLR: whatever unit the recipe counts in). The values are torch's
// float64 arithmetic, in torch's order (the recursive "chainable" forms of StepLR and
// CosineAnnealingLR included), with a cosine as accurate as the C library's that Python
// calls (see cos), so they match torch to the last bit or so.
type Scheduler interface {
	Step()
	// LastLR is torch's get_last_lr()[0]: the LR the optimizer's next step uses.
	LastLR() float64
}

// StepLR is torch.optim.lr_scheduler.StepLR: the LR is multiplied by gamma every stepSize
// steps.
type StepLR struct {
	opt      Optimizer
	stepSize int
	gamma    float64
	last     int
}

// NewStepLR starts a StepLR at the optimizer's current LR.
func NewStepLR(opt Optimizer, stepSize int, gamma float64) (*StepLR, error) {
	if stepSize <= 0 {
		return nil, fmt.Errorf("train: StepLR: step size %d must be positive", stepSize)
	}
	return &StepLR{opt: opt, stepSize: stepSize, gamma: gamma}, nil
}

func (s *StepLR) Step() {
	s.last++
	if s.last%s.stepSize == 0 {
		s.opt.SetLR(s.opt.LR() * s.gamma)
	}
}

func (s *StepLR) LastLR() float64 { return s.opt.LR() }

// CosineAnnealingLR is torch.optim.lr_scheduler.CosineAnnealingLR: the LR follows a cosine
// from the initial LR down to etaMin over tMax steps, then back up (it is periodic, as
// torch's is when stepped past tMax).
type CosineAnnealingLR struct {
	opt    Optimizer
	tMax   int
	etaMin float64
	base   float64
	last   int
}

// NewCosineAnnealingLR starts the schedule at the optimizer's current LR.
func NewCosineAnnealingLR(opt Optimizer, tMax int, etaMin float64) (*CosineAnnealingLR, error) {
	if tMax <= 0 {
		return nil, fmt.Errorf("train: CosineAnnealingLR: T_max %d must be positive", tMax)
	}
	return &CosineAnnealingLR{opt: opt, tMax: tMax, etaMin: etaMin, base: opt.LR()}, nil
}

func (s *CosineAnnealingLR) Step() {
	s.last++
	lr, e, t := s.opt.LR(), float64(s.last), float64(s.tMax)
	if (s.last-1-s.tMax)%(2*s.tMax) == 0 {
		lr += (s.base - s.etaMin) * (1 - cos(math.Pi/t)) / 2
	} else {
		// The conversion keeps the compiler from fusing the multiply and add (arm64 would).
		lr = float64((1+cos(math.Pi*e/t))/(1+cos(math.Pi*(e-1)/t))*(lr-s.etaMin)) + s.etaMin
	}
	s.opt.SetLR(lr)
}

func (s *CosineAnnealingLR) LastLR() float64 { return s.opt.LR() }

// OneCycle holds torch.optim.lr_scheduler.OneCycleLR's arguments. Start from
// OneCycleDefaults, which has torch's defaults; the zero value is not usable.
type OneCycle struct {
	MaxLR      float64
	TotalSteps int     // epochs * steps_per_epoch
	PctStart   float64 // fraction of the steps spent warming up
	// Anneal is "cos" or "linear".
	Anneal string
	// CycleMomentum moves the optimizer's momentum (SGD) or beta1 (Adam) opposite to the LR,
	// between BaseMomentum and MaxMomentum. Like torch, it overrides the momentum the
	// optimizer was made with, even zero.
	CycleMomentum             bool
	BaseMomentum, MaxMomentum float64
	DivFactor                 float64 // initial LR = MaxLR / DivFactor
	FinalDivFactor            float64 // final LR = initial LR / FinalDivFactor
	ThreePhase                bool
}

// OneCycleDefaults returns torch's defaults for the given peak LR and step count: pct_start
// 0.3, cosine annealing, momentum cycled between 0.85 and 0.95, div_factor 25,
// final_div_factor 1e4, two phases.
func OneCycleDefaults(maxLR float64, totalSteps int) OneCycle {
	return OneCycle{MaxLR: maxLR, TotalSteps: totalSteps, PctStart: 0.3, Anneal: "cos",
		CycleMomentum: true, BaseMomentum: 0.85, MaxMomentum: 0.95, DivFactor: 25, FinalDivFactor: 1e4}
}

type phase struct {
	end              float64
	startLR, endLR   float64
	startMom, endMom float64
}

// OneCycleLR is torch.optim.lr_scheduler.OneCycleLR, stepped after every optimizer step.
type OneCycleLR struct {
	opt    Optimizer
	mom    MomentumOptimizer // nil without CycleMomentum
	cfg    OneCycle
	phases []phase
	last   int
}

// NewOneCycleLR sets the optimizer's LR (and momentum) to the schedule's first values.
func NewOneCycleLR(opt Optimizer, cfg OneCycle) (*OneCycleLR, error) {
	switch {
	case cfg.TotalSteps <= 0:
		return nil, fmt.Errorf("train: OneCycleLR: total steps %d must be positive", cfg.TotalSteps)
	case !(cfg.PctStart >= 0 && cfg.PctStart <= 1):
		return nil, fmt.Errorf("train: OneCycleLR: pct_start %v must be in [0, 1]", cfg.PctStart)
	case cfg.Anneal != "cos" && cfg.Anneal != "linear":
		return nil, fmt.Errorf("train: OneCycleLR: anneal strategy %q must be cos or linear", cfg.Anneal)
	case !isFinite(cfg.MaxLR) || !isFinite(cfg.DivFactor) || !isFinite(cfg.FinalDivFactor) || cfg.DivFactor == 0 || cfg.FinalDivFactor == 0:
		return nil, errors.New("train: OneCycleLR: max LR, div factor and final div factor must be finite, the factors non-zero")
	}
	s := &OneCycleLR{opt: opt, cfg: cfg}
	if cfg.CycleMomentum {
		m, ok := opt.(MomentumOptimizer)
		if !ok {
			return nil, errors.New("train: OneCycleLR: the optimizer has no momentum to cycle")
		}
		s.mom = m
	}
	initial := cfg.MaxLR / cfg.DivFactor
	minLR := initial / cfg.FinalDivFactor
	total := float64(cfg.TotalSteps)
	lo, hi := cfg.BaseMomentum, cfg.MaxMomentum
	if cfg.ThreePhase {
		s.phases = []phase{
			{cfg.PctStart*total - 1, initial, cfg.MaxLR, hi, lo},
			{2*cfg.PctStart*total - 2, cfg.MaxLR, initial, lo, hi},
			{total - 1, initial, minLR, hi, hi},
		}
	} else {
		s.phases = []phase{
			{cfg.PctStart*total - 1, initial, cfg.MaxLR, hi, lo},
			{total - 1, cfg.MaxLR, minLR, lo, hi},
		}
	}
	s.last = -1
	s.Step() // torch's _initial_step
	return s, nil
}

// Step advances the schedule. torch raises an error past TotalSteps steps; here the last
// value is kept, since a training loop that runs a step over should not stop for it.
func (s *OneCycleLR) Step() {
	if s.last >= s.cfg.TotalSteps {
		return
	}
	s.last++
	step := float64(s.last)
	start := 0.0
	for i, ph := range s.phases {
		if step <= ph.end || i == len(s.phases)-1 {
			pct := (step - start) / (ph.end - start)
			s.opt.SetLR(s.anneal(ph.startLR, ph.endLR, pct))
			if s.mom != nil {
				s.mom.SetMomentum(s.anneal(ph.startMom, ph.endMom, pct))
			}
			return
		}
		start = ph.end
	}
}

func (s *OneCycleLR) anneal(start, end, pct float64) float64 {
	if s.cfg.Anneal == "linear" {
		return float64((end-start)*pct) + start
	}
	cosOut := cos(math.Pi*pct) + 1
	return end + float64((start-end)/2.0*cosOut)
}

func (s *OneCycleLR) LastLR() float64 { return s.opt.LR() }
