package therapy

import (
	"errors"
	"fmt"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// ReviewChange is the one review of a proposed prescription that every path
// calls (the clinic's API and pages, the programmer): the drug library's
// findings with everything the pump may give counted (drug.Check), the
// change of daily dose against the large-change threshold (CheckDoseChange),
// the withdrawal warning of a cut, a stop or the minimum rate, a restart
// after an interruption of delivery, a first baclofen dose against the
// screening result, and an order for another drug or concentration than the
// reservoir holds. Decide turns the review into the verdict.

// Finding kinds the review adds to the library's.
const (
	// KindInterruption: delivery stopped longer than the drug's threshold;
	// resuming the dose before is a physician's decision.
	KindInterruption drug.Kind = "interruption"
	// KindScreeningStart: a first dose above what the screening result gives.
	KindScreeningStart drug.Kind = "screening_start"
	// KindFillChange: another drug or concentration than the reservoir holds:
	// an order for a change of fill, confirmed explicitly.
	KindFillChange = drug.FillChange
)

// Interruption is a time delivery stopped (the reservoir ran empty, the pump
// reported it empty or stopped) that the clinic or the pump knows of.
type Interruption struct {
	Since unit.Time // delivery stopped at the latest then
	Until unit.Time // and stayed stopped at least until then
	Why   string    // how it is known, for a person
}

// Duration is how long delivery stopped.
func (i Interruption) Duration() unit.Duration { return i.Until.Sub(i.Since) }

// Beyond reports whether the interruption is longer than drug d's threshold;
// without one in the library, any interruption is (spec/drugs.md: an empty
// limit is never read as no limit). It returns the threshold's words.
func (i Interruption) Beyond(d *drug.Drug) (bool, string) {
	if d != nil && d.Interruption.Threshold != nil {
		t := d.Interruption.Threshold
		return i.Duration() > t.Value, fmt.Sprintf("longer than %v (%s)", t.Value, t.Source)
	}
	return i.Duration() > 0, "the library sets no interruption threshold for this drug: every interruption counts"
}

// Screening is the result of a patient's screening trial: the bolus that
// worked and, when recorded, how long its effect lasted.
type Screening struct {
	Effective unit.Mass
	Lasted    unit.Duration // 0: not recorded
}

// ChangeInput is a proposed prescription and what it is reviewed against.
type ChangeInput struct {
	Library  *drug.Library
	Running  *pump.Prescription // the prescription in force; nil when there is none
	Proposed pump.Prescription
	// History is every earlier prescription of the patient, oldest first (the
	// titration rules count increases in it).
	History    []drug.Prescribed
	Population string
	At         unit.Time
	Settings   Settings
	// Reservoir is what the pump holds (zero when not known). A proposal of
	// another drug or concentration is an order for a change of fill.
	Reservoir drug.Product
	// Interruption, when set, is a stop of delivery since the prescription
	// before.
	Interruption *Interruption
	// Screening, when set, is the screening result a first dose of the drug
	// is checked against (drug.ScreeningStart).
	Screening *Screening
}

// ChangeReview is a proposed prescription as ReviewChange found it.
type ChangeReview struct {
	Drug *drug.Drug // nil when the library does not know the drug
	Unit unit.MassUnit
	// Dose is the basal daily dose (DailyDose); Most everything the pump may
	// give in a day: the basal and every allowed patient bolus, within max_24h.
	Dose, Most unit.DoseRate
	Findings   []drug.Finding
	Change     DoseChange
	// FillChange says a change of drug or concentration from the reservoir
	// ("morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker)"); "" when none.
	FillChange string
}

// ReviewChange reviews a proposed prescription. An error is a proposal or
// history the checks cannot take (a *drug.ProposalError); everything the
// rules find is in the review.
func ReviewChange(in ChangeInput) (*ChangeReview, error) {
	p := &in.Proposed
	r := &ChangeReview{Unit: unit.Milligram, Dose: DailyDose(p)}
	r.Most = p.Concentration.Dose(unit.Rate(DailyOf(p).Total()))
	d, known := in.Library.Lookup(p.Drug)
	if known {
		r.Drug, r.Unit = d, d.DoseUnit
	}
	var old unit.DoseRate
	same := false
	if in.Running != nil {
		old = DailyDose(in.Running)
		od, ok := in.Library.Lookup(in.Running.Drug)
		same = ok && known && od == d
	}
	r.Change = CheckDoseChange(d, same, old, r.Dose, in.Settings)
	fs, err := drug.Check(in.Library, drug.Proposal{Drug: p.Drug, Concentration: p.Concentration, Dose: r.Dose, Most: r.Most,
		PatientBolus: p.PatientBolus.Volume > 0, Minimum: p.Mode == pump.ModeMinimum, At: in.At, Population: in.Population,
		DecreaseThreshold: r.Change.Threshold, DecreaseSource: r.Change.Source}, in.History)
	if err != nil {
		return nil, err
	}
	r.Findings = fs
	if !known {
		return r, nil
	}
	first := len(drug.Run(in.Library, d, in.History)) == 0
	if i := in.Interruption; i != nil && r.Dose > 0 {
		r.interruption(d, *i, in.History)
	}
	if s := in.Screening; s != nil && first && r.Dose > 0 {
		r.screening(d, *s)
	}
	if res := in.Reservoir; !res.IsZero() {
		rd, ok := in.Library.Lookup(res.Drug)
		if !ok || rd != d || res.Concentration != p.Concentration {
			fr, err := drug.CheckFill(in.Library, drug.Fill{Drug: p.Drug, Concentration: p.Concentration,
				ConfirmDrug: p.Drug, ConfirmConcentration: p.Concentration, Running: res, Ordered: drug.Product{Drug: p.Drug, Concentration: p.Concentration}})
			if err == nil {
				r.FillChange = fr.Change
				r.Findings = append(r.Findings, drug.Finding{Kind: KindFillChange, Severity: drug.Info, Field: "concentration",
					Message: fmt.Sprintf("%s: this order changes what the reservoir holds: the reservoir is emptied and refilled with it, and the old drug in tubing and catheter is bridged", fr.Change)})
			}
		}
	}
	return r, nil
}

// interruption: after delivery stopped beyond the drug's threshold, a dose
// above the library's reduced restart dose (or any dose, without one) is a
// physician's decision: it needs a reason.
func (r *ChangeReview) interruption(d *drug.Drug, i Interruption, history []drug.Prescribed) {
	beyond, limit := i.Beyond(d)
	if !beyond {
		return
	}
	var before unit.DoseRate
	for _, h := range history {
		if h.Dose > 0 {
			before = h.Dose
		}
	}
	u := d.DoseUnit
	what := fmt.Sprintf("delivery stopped for %v from %s (%s), %s", i.Duration(), i.Since.Format("2006-01-02 15:04 MST"), i.Why, limit)
	if rs := d.Interruption.Restart; rs != nil && before > 0 {
		reduced := unit.DoseRate(rs.Value.Of(int64(before)))
		if r.Dose <= reduced {
			r.Findings = append(r.Findings, drug.Finding{Kind: KindInterruption, Severity: drug.Info, Field: "interruption.restart", Source: rs.Source,
				Message: fmt.Sprintf("%s: a restart at %s, within the reduced restart dose %s (%v of %s, %s)", what, r.Dose.Format(u), reduced.Format(u), rs.Value, before.Format(u), rs.Source)})
			return
		}
		r.Findings = append(r.Findings, drug.Finding{Kind: KindInterruption, Severity: drug.NeedsReason, Field: "interruption.restart", Source: rs.Source,
			Message: fmt.Sprintf("%s: tolerance may be lost; resuming %s is a physician's decision: state the reason, or restart at the reduced dose %s (%v of %s, %s)",
				what, r.Dose.Format(u), reduced.Format(u), rs.Value, before.Format(u), rs.Source)})
		return
	}
	r.Findings = append(r.Findings, drug.Finding{Kind: KindInterruption, Severity: drug.NeedsReason, Field: "interruption",
		Message: fmt.Sprintf("%s: tolerance may be lost; resuming %s is a physician's decision: state the reason (the library sets no reduced restart dose)", what, r.Dose.Format(u))})
}

// screening checks a first dose against the screening result: the label's
// starting dose is a multiple of the effective screening bolus a day (two
// times, or one when its effect lasted long).
func (r *ChangeReview) screening(d *drug.Drug, s Screening) {
	st := d.ScreeningStart
	if st == nil || s.Effective <= 0 {
		return
	}
	u := d.DoseUnit
	factor := st.Multiplier
	if s.Lasted > st.LongEffectOver {
		factor = st.LongEffectMultiplier
	}
	start := unit.Mass(int64(s.Effective) * factor).PerDay()
	switch {
	case r.Most > start:
		r.Findings = append(r.Findings, drug.Finding{Kind: KindScreeningStart, Severity: drug.NeedsReason, Field: "screening_start", Source: st.Source,
			Message: fmt.Sprintf("first dose %s is above %d × the effective screening bolus %s = %s (%s)", r.Most.Format(u), factor, s.Effective.Format(u), start.Format(u), st.Source)})
	case s.Lasted == 0 && st.LongEffectMultiplier < factor:
		long := unit.Mass(int64(s.Effective) * st.LongEffectMultiplier).PerDay()
		if r.Most > long {
			r.Findings = append(r.Findings, drug.Finding{Kind: KindScreeningStart, Severity: drug.Info, Field: "screening_start", Source: st.Source,
				Message: fmt.Sprintf("first dose %s: if the screening bolus's effect lasted more than %v, the start is %d × %s = %s (%s)",
					r.Most.Format(u), st.LongEffectOver, st.LongEffectMultiplier, s.Effective.Format(u), long.Format(u), st.Source)})
		}
	}
}

// Refused reports whether a finding refuses the proposal.
func (r *ChangeReview) Refused() bool { return drug.Worst(r.Findings) == drug.Refused }

// NeedsReason reports whether a finding needs a stated reason.
func (r *ChangeReview) NeedsReason() bool { return drug.Worst(r.Findings) == drug.NeedsReason }

// ErrFillChange is wrapped by the refusal of an unconfirmed change of drug or
// concentration from the reservoir (a *FillChangeError).
var ErrFillChange = errors.New("therapy: a change of drug or concentration needs an explicit confirmation")

// FillChangeError refuses a change of drug or concentration made without its
// confirmation.
type FillChangeError struct{ Change string }

func (e *FillChangeError) Error() string {
	return fmt.Sprintf("%s: an explicit confirmation of the change is required", e.Change)
}
func (e *FillChangeError) Unwrap() error { return ErrFillChange }

// ConfirmFill applies the rule for a change of drug or concentration: it goes
// ahead only when confirmed.
func ConfirmFill(change string, confirmed bool) error {
	if change != "" && !confirmed {
		return &FillChangeError{Change: change}
	}
	return nil
}

// Decide is the verdict on a review, in the order every path gives it: a
// refusal (drug.ErrRefused), an unconfirmed large change (*LargeChangeError),
// an unconfirmed change of fill (*FillChangeError), a missing or vague reason
// (drug.ErrReasonRequired, *drug.ReasonError); nil when it may go ahead.
func (r *ChangeReview) Decide(reason string, confirmLarge, confirmFill bool) error {
	if r.Refused() {
		return drug.ErrRefused
	}
	if err := r.Change.Confirm(confirmLarge, r.Unit); err != nil {
		return err
	}
	if err := ConfirmFill(r.FillChange, confirmFill); err != nil {
		return err
	}
	return drug.Decide(r.Findings, reason)
}
