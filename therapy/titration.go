package therapy

import (
	"fmt"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

// TitrationRule is one titration rule with a single bound for each part: a plan
// obeys it exactly. Either MaxStep or MaxStepPercent is set.
type TitrationRule struct {
	MaxStep        unit.DoseRate
	MaxStepPercent unit.Percent
	MinInterval    unit.Duration // between increases, and from the start
	MaxPerWeek     int64         // increases in any 7 days
	Sources        []string      // where each bound comes from
}

// RuleFrom takes from a library rule the strictest side of each part (the soft
// side where one is set: a plan needs no reason). missing names the parts the
// library leaves empty ("step", "interval", "per-week"), left zero in the rule:
// no plan is made until each has a bound.
func RuleFrom(t drug.Titration) (r TitrationRule, missing []string) {
	add := func(s string) {
		for _, x := range r.Sources {
			if x == s {
				return
			}
		}
		r.Sources = append(r.Sources, s)
	}
	if s := strictest(t.MaxStep.SoftMax, t.MaxStep.HardMax, true); s != nil {
		r.MaxStep = s.Value
		add(s.Source)
	} else if s := strictest(t.MaxStepPercent.SoftMax, t.MaxStepPercent.HardMax, true); s != nil {
		r.MaxStepPercent = s.Value
		add(s.Source)
	} else {
		missing = append(missing, "step")
	}
	if s := strictest(t.MinInterval.SoftMin, t.MinInterval.HardMin, false); s != nil {
		r.MinInterval = s.Value
		add(s.Source)
	} else {
		missing = append(missing, "interval")
	}
	if s := strictest(t.MaxPerWeek.SoftMax, t.MaxPerWeek.HardMax, true); s != nil {
		r.MaxPerWeek = s.Value
		add(s.Source)
	} else {
		missing = append(missing, "per-week")
	}
	return r, missing
}

// strictest returns the smaller (upper) or larger (lower bound) of two optional sides.
func strictest[T ~int64](a, b *drug.Sourced[T], upper bool) *drug.Sourced[T] {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case upper == (a.Value <= b.Value):
		return a
	}
	return b
}

// PlanStep is one dose of a titration plan.
type PlanStep struct {
	At   unit.Time
	Dose unit.DoseRate
	Step unit.DoseRate // the increase to this dose (0 for the start)
}

// maxPlanSteps bounds a plan: a rule whose steps are too small to reach the
// target in that many increases is refused rather than planned.
const maxPlanSteps = 200

// TitrationPlan plans the earliest titration from start to target that obeys
// rule: each increase at most the largest step, at least the interval after the
// last change, never more than MaxPerWeek increases in any 7 days.
func TitrationPlan(start, target unit.DoseRate, from unit.Time, rule TitrationRule) ([]PlanStep, error) {
	switch {
	case start <= 0:
		return nil, inputErr("start", "must be more than 0")
	case target < start:
		return nil, inputErr("target", "%v is below the start %v: a titration plan raises the dose", target, start)
	case rule.MaxStep < 0 || rule.MaxStepPercent < 0 || rule.MaxStep == 0 && rule.MaxStepPercent == 0:
		return nil, inputErr("step", "must be more than 0: the largest increase, e.g. 2.4mcg/day or 15%%")
	case rule.MinInterval <= 0:
		return nil, inputErr("interval", "must be more than 0: the shortest time between increases, e.g. 24h")
	case rule.MaxPerWeek <= 0:
		return nil, inputErr("per-week", "must be at least 1: the most increases in any 7 days")
	}
	plan := []PlanStep{{At: from, Dose: start}}
	var increases []unit.Time
	last := from
	for cur := start; cur < target; {
		if len(plan) > maxPlanSteps {
			return nil, inputErr("step", "reaching %v from %v takes more than %d increases", target, start, maxPlanSteps)
		}
		step := rule.MaxStep
		if rule.MaxStepPercent > 0 {
			step = unit.DoseRate(rule.MaxStepPercent.Of(int64(cur)))
			if step <= 0 {
				return nil, inputErr("step", "%v of %v is no step at all", rule.MaxStepPercent, cur)
			}
		}
		step = min(step, target-cur)
		at := last.Add(rule.MinInterval)
		// At most MaxPerWeek increases in (at − 7d, at]: the oldest of the last
		// MaxPerWeek must have left the window.
		if n := int64(len(increases)); n >= rule.MaxPerWeek {
			at = max(at, increases[n-rule.MaxPerWeek].Add(7*unit.Day))
		}
		cur += step
		plan = append(plan, PlanStep{At: at, Dose: cur, Step: step})
		increases = append(increases, at)
		last = at
	}
	return plan, nil
}

// Describe says the rule in words, with the drug's dose unit.
func (r TitrationRule) Describe(u unit.MassUnit) string {
	step := r.MaxStep.Format(u)
	if r.MaxStepPercent > 0 {
		step = r.MaxStepPercent.String() + " of the current dose"
	}
	return fmt.Sprintf("steps of at most %s, at least %v apart, at most %d a week", step, r.MinInterval, r.MaxPerWeek)
}
