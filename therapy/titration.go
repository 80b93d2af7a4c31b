package therapy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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

// Tightening is what a clinician adds to the library's titration rule for one
// patient: each part may only make the rule stricter, and must be given where
// the library has no bound. A zero part is not given; Step and StepPercent
// are alternatives.
type Tightening struct {
	Step        unit.DoseRate // largest increase a day
	StepPercent unit.Percent  // largest increase, as a percentage of the current dose
	Interval    unit.Duration // shortest time between increases
	PerWeek     int64         // most increases in any 7 days
}

// TitrationRuleFor is the titration rule for drug d in the population (""
// when the patient's population is not known): the population's own rule in
// the library over the rule for everyone, each part at its strictest side
// (RuleFrom), then tightened by t. It is the one choice of rule: a plan, the
// clinic and the programmer all take it from here. A part the library leaves
// empty must come from t; a part of t looser than the library's is refused.
// Errors are *InputError naming "population", "step", "interval" or "per-week".
func TitrationRuleFor(d *drug.Drug, population string, t Tightening) (TitrationRule, error) {
	if population != "" && !slices.Contains(d.Populations, population) {
		return TitrationRule{}, inputErr("population", "%q is not one of %s's populations (%s)", population, d.Name, strings.Join(d.Populations, ", "))
	}
	var candidates []drug.Titration
	for _, t := range d.Titration {
		if t.Population == population || t.Population == "" {
			candidates = append(candidates, t)
		}
	}
	var r TitrationRule
	missing := []string{"step", "interval", "per-week"}
	switch {
	case len(candidates) == 0 && population == "" && len(d.Titration) > 0:
		return TitrationRule{}, inputErr("population", "%s's titration depends on the population: give one of %s", d.Name, strings.Join(d.Populations, ", "))
	case len(candidates) > 0:
		// A population's own rule wins over the rule for everyone.
		slices.SortFunc(candidates, func(a, b drug.Titration) int { return -strings.Compare(a.Population, b.Population) })
		r, missing = RuleFrom(candidates[0])
	}
	return r.tighten(missing, d.DoseUnit, t)
}

// tighten applies t to r: each part only stricter, each part in missing required.
func (r TitrationRule) tighten(missing []string, u unit.MassUnit, t Tightening) (TitrationRule, error) {
	lacks := func(part string) bool { return slices.Contains(missing, part) }
	looser := func(input string) error {
		return inputErr(input, "looser than the library's %s: a plan may only be stricter", r.Describe(u))
	}
	switch {
	case t.StepPercent != 0:
		if t.StepPercent < 0 {
			return r, inputErr("step", "%v is not a percentage more than 0", t.StepPercent)
		}
		if !lacks("step") && (r.MaxStepPercent == 0 || t.StepPercent > r.MaxStepPercent) {
			return r, looser("step")
		}
		r.MaxStep, r.MaxStepPercent = 0, t.StepPercent
	case t.Step != 0:
		if t.Step < 0 {
			return r, inputErr("step", "%v is not a dose per day more than 0", t.Step)
		}
		if !lacks("step") && (r.MaxStep == 0 || t.Step > r.MaxStep) {
			return r, looser("step")
		}
		r.MaxStep, r.MaxStepPercent = t.Step, 0
	}
	if t.Step != 0 || t.StepPercent != 0 {
		r.Sources = append(r.Sources, "step given with --step")
	}
	if t.Interval != 0 {
		if !lacks("interval") && t.Interval < r.MinInterval {
			return r, looser("interval")
		}
		r.MinInterval = t.Interval
		r.Sources = append(r.Sources, "interval given with --interval")
	}
	if t.PerWeek != 0 {
		if !lacks("per-week") && t.PerWeek > r.MaxPerWeek {
			return r, looser("per-week")
		}
		r.MaxPerWeek = t.PerWeek
		r.Sources = append(r.Sources, "increases per week given with --per-week")
	}
	given := map[string]bool{"step": t.Step != 0 || t.StepPercent != 0, "interval": t.Interval != 0, "per-week": t.PerWeek != 0}
	for _, part := range missing {
		if !given[part] {
			return r, inputErr(part, "the library has no bound for this part of the titration rule: give one")
		}
	}
	return r, nil
}

// PlanFindings checks every step of plan with the library (drug.Check), each
// against the steps before it, at concentration c in the population, and
// returns each distinct finding once, in the order first found.
func PlanFindings(lib *drug.Library, d *drug.Drug, c unit.Concentration, population string, plan []PlanStep) ([]drug.Finding, error) {
	var history []drug.Prescribed
	var findings []drug.Finding
	for _, s := range plan {
		fs, err := drug.Check(lib, drug.Proposal{Drug: d.Name, Concentration: c, Dose: s.Dose, At: s.At, Population: population}, history)
		var pe *drug.ProposalError
		if errors.As(err, &pe) {
			input := pe.Field // concentration or population; the doses are the plan's own
			if input == "dose" || strings.HasPrefix(input, "history") {
				input = "start"
			}
			return nil, inputErr(input, "%s", pe.Reason)
		} else if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if !slices.ContainsFunc(findings, func(g drug.Finding) bool { return g.Kind == f.Kind && g.Field == f.Field && g.Severity == f.Severity }) {
				findings = append(findings, f)
			}
		}
		history = append(history, drug.Prescribed{At: s.At, Drug: d.Name, Dose: s.Dose})
	}
	return findings, nil
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
			n, ok := rule.MaxStepPercent.OfChecked(int64(cur))
			if !ok {
				return nil, tooLarge("step", nil, "%v of %v", rule.MaxStepPercent, cur)
			}
			if step = unit.DoseRate(n); step <= 0 {
				return nil, inputErr("step", "%v of %v is no step at all", rule.MaxStepPercent, cur)
			}
		}
		step = min(step, target-cur)
		at, ok := last.AddChecked(rule.MinInterval)
		if !ok {
			return nil, tooLarge("interval", []string{"from"}, "%v after %v", rule.MinInterval, last)
		}
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
