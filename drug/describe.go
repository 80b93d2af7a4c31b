package drug

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/thecal/thecal/unit"
)

// Describe lists the drug's entry in words, one line per figure with its
// source, then everything the library leaves empty (Gaps), said once: what
// a clinic reviews before it publishes its library (thecal calc library, the
// library page). A prescription is not asked a reason for an empty limit.
func (d *Drug) Describe() []string {
	u := d.DoseUnit
	dose := func(x unit.DoseRate) string { return x.Format(u) + " (" + x.FormatPerHour(u) + ")" }
	conc := func(x unit.Concentration) string { return x.Format(u) }
	out := []string{d.Name + " (doses in " + u.String() + ")"}
	add := func(format string, args ...any) { out = append(out, "    "+fmt.Sprintf(format, args...)) }
	if len(d.Synonyms) > 0 {
		add("also: %s", strings.Join(d.Synonyms, ", "))
	}
	if d.Labelled == nil {
		add("labelled for intrathecal pump use: not recorded")
	} else {
		add("labelled for intrathecal pump use: %s [%s]", map[bool]string{true: "yes", false: "no"}[d.Labelled.Value], d.Labelled.Source)
	}
	for _, r := range d.Risks {
		add("risk: %s [%s]", r.Value, r.Source)
	}
	if w := d.Withdrawal; w != nil {
		text, src := d.WithdrawalWarning()
		add("withdrawal warning: %s [%s]", text, src)
		if t := w.DecreaseThreshold; t != nil {
			add("withdrawal warning on a decrease of more than %v [%s]", t.Value, t.Source)
		}
	}
	if c := d.Concentrations; c != nil {
		if len(c.List) > 0 {
			var s []string
			for _, x := range c.List {
				s = append(s, conc(x))
			}
			add("concentrations: %s [%s]", strings.Join(s, ", "), c.Source)
		} else {
			add("concentrations: %s to %s [%s]", conc(c.Min), conc(c.Max), c.Source)
		}
	} else {
		add("concentrations: none listed")
	}
	if d.Diluent != nil {
		add("dilute only with %s [%s]", d.Diluent.Value, d.Diluent.Source)
	}
	out = append(out, limitLines("concentration limit", d.Concentration, conc)...)
	out = append(out, limitLines("daily dose limit", d.DailyDose, dose)...)
	if !d.Starting.Limit.Empty() {
		out = append(out, limitLines("starting dose limit", d.Starting.Limit, dose)...)
	}
	for _, r := range d.Starting.Recommended {
		add("recommended start%s: %s to %s [%s]", forPopulation(r.Population), dose(r.Min), dose(r.Max), r.Source)
	}
	for _, r := range d.Maintenance {
		add("maintenance%s: %s to %s [%s]", forPopulation(r.Population), dose(r.Min), dose(r.Max), r.Source)
	}
	for _, t := range d.Titration {
		who := "titration" + forPopulation(t.Population)
		if !t.MaxStep.Empty() {
			out = append(out, limitLines(who+", largest step", t.MaxStep, dose)...)
		}
		if !t.MaxStepPercent.Empty() {
			out = append(out, limitLines(who+", largest step", t.MaxStepPercent, unit.Percent.String)...)
		}
		out = append(out, limitLines(who+", shortest interval", t.MinInterval, unit.Duration.String)...)
		out = append(out, limitLines(who+", most increases a week", t.MaxPerWeek, func(n int64) string { return strconv.FormatInt(n, 10) })...)
	}
	for _, r := range []struct {
		what string
		s    *Sourced[unit.Duration]
	}{{"first refill within", d.Refill.FirstWithin}, {"most time between refills", d.Refill.MaxInterval}, {"most time between refills, diluted", d.Refill.MaxIntervalDiluted}} {
		if r.s != nil {
			add("%s: %v [%s]", r.what, r.s.Value, r.s.Source)
		}
	}
	if r := d.Rinse; r != nil {
		add("new pump rinse: %d × %v of %s [%s]", r.Count, r.Volume, conc(r.Concentration), r.Source)
	}
	if s := d.Screening; s != nil {
		var ds []string
		for _, m := range s.Doses {
			ds = append(ds, m.Format(u))
		}
		add("screening: %s, the first in %v, over at least %v, observed %v to %v, %v apart [%s]", strings.Join(ds, ", "), s.FirstVolume, s.MinInjection, s.ObserveMin, s.ObserveMax, s.Between, s.Source)
	}
	if s := d.ScreeningStart; s != nil {
		add("starting dose from screening: %d × the effective dose, %d × if the effect lasted more than %v [%s]", s.Multiplier, s.LongEffectMultiplier, s.LongEffectOver, s.Source)
	}
	if c := d.OralConversion; c != nil {
		add("from %s: ÷%d typical, ÷%d to ÷%d published (a suggestion) [%s]", c.From, c.Typical, c.Max, c.Min, c.Source)
	}
	if c := d.LargeChange; c != nil {
		add("large change: more than %v needs a second confirmation [%s]", c.Value, c.Source)
	}
	if i := d.Interruption.Threshold; i != nil {
		add("interruption: after more than %v without delivery, resuming is a physician's decision [%s]", i.Value, i.Source)
	}
	if r := d.Interruption.Restart; r != nil {
		add("restart after an interruption at %v of the dose before [%s]", r.Value, r.Source)
	}
	for _, b := range d.PatientBolus {
		add("patient boluses%s: %s [%s]", forPopulation(b.Population), map[bool]string{true: "allowed", false: "not allowed"}[b.Allowed], b.Source)
	}
	if gaps := d.Gaps(); len(gaps) > 0 {
		add("left empty (for the clinic to set; not asked on each prescription):")
		for _, g := range gaps {
			add("  - %s", g)
		}
	}
	return out
}

func forPopulation(p string) string {
	if p == "" {
		return ""
	}
	return " (" + p + ")"
}

// limitLines lists a limit's sides; an empty limit is among the gaps.
func limitLines[T ~int64](what string, l Limit[T], show func(T) string) []string {
	var out []string
	for _, s := range []struct {
		side string
		b    *Sourced[T]
	}{{"hard minimum", l.HardMin}, {"soft minimum", l.SoftMin}, {"soft maximum", l.SoftMax}, {"hard maximum", l.HardMax}} {
		if s.b != nil {
			out = append(out, fmt.Sprintf("    %s, %s: %s [%s]", what, s.side, show(s.b.Value), s.b.Source))
		}
	}
	return out
}
