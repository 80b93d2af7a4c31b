package calc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// ScreeningInput is a screening protocol's start and the results so far.
type ScreeningInput struct {
	Drug    string
	Start   *unit.Time // optional: dates instead of "start + …"
	Results []therapy.ScreeningResult
}

func (in *ScreeningInput) Inputs() []Input {
	return []Input{
		{Name: "drug", Example: "baclofen", What: "the drug whose screening protocol is used", Default: "baclofen", Text: text(&in.Drug)},
		{Name: "start", Example: "2026-01-05T08:00:00Z", What: "when the first bolus is given", Text: optional(&in.Start)},
		{Name: "result", Example: "50mcg:none", What: "one bolus's result, in order: DOSE:none, or DOSE:how long the effect lasted (repeat)", Repeat: true, Text: each(&in.Results)},
	}
}

// Report lays out the drug's screening protocol and, from the results given
// in order, where it stands and the starting dose.
func (in *ScreeningInput) Report(lib Library) (*Report, error) {
	d, err := Lookup(lib.Library, in.Drug)
	if err != nil {
		return nil, err
	}
	if d.Screening == nil || d.ScreeningStart == nil {
		return nil, inputErr("drug", "library %s has no screening protocol for %s", lib.Version, d.Name)
	}
	s, st := d.Screening, d.ScreeningStart
	clk := newClock(in.Start, "start")
	rep := &Report{Calc: "screening", Title: "Screening: " + d.Name}
	rep.in("drug", "drug", d.Name)
	if in.Start != nil {
		rep.in("start", "start", *in.Start, clk.show(*in.Start))
	}
	u := d.DoseUnit
	plan := therapy.ScreeningPlan(s, or(in.Start))
	var protocol []map[string]any
	for _, b := range plan {
		rep.work("bolus %d: %s in %v of %s over at least %v, not before %s; observe %v to %v: until %s to %s",
			b.N, b.Dose.Format(u), b.Volume, s.Concentration().Format(u), b.Injected, clk.show(b.At), s.ObserveMin, s.ObserveMax, clk.show(b.Observe[0]), clk.show(b.Observe[1]))
		protocol = append(protocol, map[string]any{"n": b.N, "dose": b.Dose.Format(u), "volume": b.Volume.String(), "earliest": clk.json(b.At),
			"observe_from": clk.json(b.Observe[0]), "observe_to": clk.json(b.Observe[1])})
	}
	rep.work("source: %s", s.Source)
	for i, r := range in.Results {
		text := "no response"
		if r.Responded {
			text = "response lasting " + r.Lasted.String()
		}
		rep.in(fmt.Sprintf("result_%d", i+1), fmt.Sprintf("bolus %d", i+1), r.Dose.Format(u)+": "+text)
	}
	o, err := therapy.EvaluateScreening(s, st, or(in.Start), in.Results)
	if err != nil {
		return nil, err
	}
	rep.out("protocol", "protocol", protocol, fmt.Sprintf("%d boluses, %v apart", len(plan), s.Between))
	switch {
	case !o.Done:
		rep.out("status", "status", "in progress", "in progress")
		rep.out("next_bolus", "next bolus", o.Next.Dose.Format(u), fmt.Sprintf("%s in %v, from %s", o.Next.Dose.Format(u), o.Next.Volume, clk.show(o.Next.At)))
	case !o.Candidate:
		rep.out("status", "status", "not a candidate", fmt.Sprintf("NOT A CANDIDATE: no response to %s", plan[len(plan)-1].Dose.Format(u)))
	default:
		lasted := in.Results[len(in.Results)-1].Lasted
		factor := fmt.Sprintf("%d × (effect %v, not more than %v)", o.Factor, lasted, st.LongEffectOver)
		if o.Long {
			factor = fmt.Sprintf("%d × (effect %v, more than %v)", o.Factor, lasted, st.LongEffectOver)
		}
		rep.work("starting daily dose = %s × %s = %s (%s)", factor, o.Effective.Format(u), o.Start.Format(u), st.Source)
		rep.out("status", "status", "candidate", "candidate")
		rep.out("effective_dose", "effective screening dose", o.Effective.Format(u))
		rep.out("starting_dose", "starting daily dose", o.Start.Format(u), doseText(o.Start, u))
	}
	return rep, nil
}

// Step is a titration step written as a dose per day or a percentage of the
// current dose ("2.4mcg/day", "10%").
type Step struct {
	Dose    unit.DoseRate
	Percent unit.Percent
}

func (s *Step) UnmarshalText(b []byte) error {
	text := string(b)
	if strings.HasSuffix(strings.TrimSpace(text), "%") {
		p, err := unit.ParsePercent(text)
		if err != nil || p <= 0 {
			return fmt.Errorf("%q is not a percentage more than 0", text)
		}
		*s = Step{Percent: p}
		return nil
	}
	var d Dose
	if err := d.UnmarshalText(b); err != nil || d.Value <= 0 {
		return fmt.Errorf("%q is not a dose per day more than 0, nor a percentage", text)
	}
	*s = Step{Dose: d.Value}
	return nil
}

// TitrationInput is a titration to plan, and what tightens the library's rule.
type TitrationInput struct {
	Drug          string
	Start, Target Dose
	Concentration Concentration
	From          *unit.Time // optional: dates instead of "start + …"
	Population    string
	Step          *Step
	Interval      *unit.Duration
	PerWeek       *Count
}

func (in *TitrationInput) Inputs() []Input {
	return []Input{
		{Name: "drug", Example: "ziconotide", What: "the drug", Required: true, Text: text(&in.Drug)},
		{Name: "start", Example: "2.4mcg/day", What: "the starting daily dose", Required: true, Text: &in.Start},
		{Name: "target", Example: "19.2mcg/day", What: "the target daily dose", Required: true, Text: &in.Target},
		{Name: "concentration", Example: "25mcg/mL", What: "the concentration, to show each rate and check each step", Required: true, Text: &in.Concentration},
		{Name: "from", Example: "2026-01-05T08:00:00Z", What: "when the starting dose begins", Text: optional(&in.From)},
		{Name: "population", Example: "cerebral", What: "the patient's population, where the library's rules differ", Text: text(&in.Population)},
		{Name: "step", Example: "2.4mcg/day", What: "a smaller largest step: a dose per day, or a percentage like 10%", Text: optional(&in.Step)},
		{Name: "interval", Example: "72h", What: "a longer shortest interval between increases", Text: optional(&in.Interval)},
		{Name: "per-week", Example: "2", What: "fewer increases in any 7 days", Text: optional(&in.PerWeek)},
	}
}

// Report plans the earliest titration from start to target that obeys the
// library's rule, tightened as given, and checks every step with the
// library. The report is Refused when a step is.
func (in *TitrationInput) Report(lib Library) (*Report, error) {
	d, err := Lookup(lib.Library, in.Drug)
	if err != nil {
		return nil, err
	}
	u := d.DoseUnit
	t := therapy.Tightening{Step: or(in.Step).Dose, StepPercent: or(in.Step).Percent, Interval: or(in.Interval), PerWeek: int64(or(in.PerWeek))}
	rule, err := therapy.TitrationRuleFor(d, in.Population, t)
	if err != nil {
		return nil, err
	}
	from := or(in.From)
	plan, err := therapy.TitrationPlan(in.Start.Value, in.Target.Value, from, rule)
	if err != nil {
		return nil, err
	}
	c := in.Concentration.Value
	clk := newClock(in.From, "start")
	rep := &Report{Calc: "titration", Title: "Titration plan: " + d.Name}
	rep.in("drug", "drug", d.Name)
	rep.in("start", "start", in.Start.Value.Format(u), doseText(in.Start.Value, u))
	rep.in("target", "target", in.Target.Value.Format(u), doseText(in.Target.Value, u))
	rep.in("concentration", "concentration", c.Format(u))
	if in.Population != "" {
		rep.in("population", "population", in.Population)
	}
	rep.work("rule: %s", rule.Describe(u))
	for _, s := range rule.Sources {
		rep.work("source: %s", s)
	}
	day := func(t unit.Time) string {
		return strconv.FormatFloat(float64(t.Sub(from))/float64(unit.Day), 'f', -1, 64)
	}
	var steps []map[string]any
	for _, s := range plan {
		r, err := therapy.DosingForDose(s.Dose, c)
		if err != nil {
			return nil, err
		}
		rep.work("day %-5s %s  %-28s rate %s", day(s.At), clk.show(s.At), doseText(s.Dose, u), rateText(r.Rate))
		steps = append(steps, map[string]any{"at": clk.json(s.At), "day": float64(s.At.Sub(from)) / float64(unit.Day), "dose": s.Dose.Format(u),
			"per_hour": s.Dose.FormatPerHour(u), "step": s.Step.Format(u), "rate": r.Rate.String()})
	}
	findings, err := therapy.PlanFindings(lib.Library, d, c, in.Population, plan)
	if err != nil {
		return nil, err
	}
	last := plan[len(plan)-1]
	rep.out("steps", "steps", steps, fmt.Sprintf("%d increases", len(plan)-1))
	rep.out("reaches_target", "reaches the target", clk.json(last.At), fmt.Sprintf("%s (day %s)", clk.show(last.At), day(last.At)))
	for _, f := range findings {
		rep.note("%s", f)
		rep.Refused = rep.Refused || f.Severity == drug.Refused
	}
	return rep, nil
}
