package drug

import (
	"fmt"
	"strings"
)

// WithdrawalWarning is what the drug's withdrawal can do, with its source:
// the library's warning (and the taper its source gives), or, for a drug
// flagged withdrawal without one, the flag's own words.
func (d *Drug) WithdrawalWarning() (text, source string) {
	w := d.Withdrawal
	if w == nil {
		return "its withdrawal can be life-threatening", d.riskSource(Withdrawal)
	}
	text = w.Warning
	switch {
	case w.TaperMin > 0 && w.TaperMin == w.TaperMax:
		text += fmt.Sprintf("; taper over %v", w.TaperMin)
	case w.TaperMax > 0:
		text += fmt.Sprintf("; taper over %v to %v", w.TaperMin, w.TaperMax)
	}
	return text, w.Source
}

// Gaps lists what the library leaves empty for the drug and what follows
// from it: the limits and rules the clinic has not set. They are reported
// once, where the clinic publishes and reviews its library (the library
// page, thecal calc library), not as a finding on every prescription.
func (d *Drug) Gaps() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if d.Labelled == nil {
		add("no label for intrathecal pump use is recorded")
	}
	if d.Concentrations == nil {
		add("no concentrations are listed: a refill is accepted only at the concentration a physician ordered")
	}
	for _, l := range []struct {
		what string
		soft bool
		hard bool
	}{
		{"concentration", d.Concentration.SoftMax != nil, d.Concentration.HardMax != nil},
		{"daily dose", d.DailyDose.SoftMax != nil, d.DailyDose.HardMax != nil},
	} {
		var missing []string
		if !l.soft {
			missing = append(missing, "soft maximum (a reason above it)")
		}
		if !l.hard {
			missing = append(missing, "hard maximum (refused above it)")
		}
		if len(missing) > 0 {
			add("no %s %s", l.what, strings.Join(missing, " and no "))
		}
	}
	if len(d.Titration) == 0 {
		add("no titration rule: increases are checked only by the large-change rule and the daily limits")
	}
	for _, t := range d.Titration {
		who := ""
		if t.Population != "" {
			who = " (" + t.Population + ")"
		}
		var missing []string
		if t.MaxStep.Empty() && t.MaxStepPercent.Empty() {
			missing = append(missing, "largest step")
		}
		if t.MinInterval.Empty() {
			missing = append(missing, "shortest interval between increases")
		}
		if t.MaxPerWeek.Empty() {
			missing = append(missing, "most increases a week")
		}
		if len(missing) > 0 {
			add("titration%s: no %s", who, strings.Join(missing, ", no "))
		}
	}
	for _, p := range d.Populations {
		if len(d.Titration) > 0 && !d.hasTitrationFor(p) {
			add("titration (%s): no rule for this population", p)
		}
	}
	if d.LargeChange == nil {
		add("no large_change: the clinic's default threshold applies")
	}
	if d.HasRisk(Withdrawal) {
		switch w := d.Withdrawal; {
		case w == nil:
			add("flagged withdrawal but no withdrawal warning: a generic warning is shown")
			add("no withdrawal decrease_threshold: the large-change threshold applies")
		case w.DecreaseThreshold == nil:
			add("no withdrawal decrease_threshold: the large-change threshold applies")
		}
	}
	if d.Interruption.Threshold == nil {
		add("no interruption threshold: after any interruption of delivery, resuming the dose before is a physician's decision")
	}
	if d.Interruption.Restart == nil {
		add("no reduced restart dose after an interruption: only a physician's order, with its reason, restarts delivery")
	}
	if len(d.PatientBolus) == 0 {
		add("whether patient boluses are allowed is not stated: they are allowed")
	}
	return out
}

// hasTitrationFor reports whether a titration rule applies to population p
// (its own or the rule for everyone).
func (d *Drug) hasTitrationFor(p string) bool {
	for _, t := range d.Titration {
		if t.Population == "" || t.Population == p {
			return true
		}
	}
	return false
}
