package therapy

import (
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

func continuous(drugName, c, r string) pump.Prescription {
	p := pump.Prescription{Drug: drugName, Concentration: conc(c), Mode: pump.ModeContinuous, Rate: rate(r)}
	p.Max24h = AutoCap(&p)
	return p
}

// findingOf returns the first finding of kind k, or nil.
func findingOf(r *ChangeReview, k drug.Kind) *drug.Finding {
	for i := range r.Findings {
		if r.Findings[i].Kind == k {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestReviewChange: the one review of a proposed prescription, each rule of
// issue 11 that it carries.
func TestReviewChange(t *testing.T) {
	lib := drug.Default()
	t0 := mustTime("2026-01-05T08:00:00Z")
	base := ChangeInput{Library: lib, At: t0.Add(2 * unit.Day), Settings: DefaultSettings}

	t.Run("ziconotide 2.4 mcg/day basal + 8 boluses of 1 mcg is 10.4 mcg/day, over the starting limit", func(t *testing.T) {
		in := base
		in.Proposed = continuous("ziconotide", "25 mcg/mL", "0.096 mL/day")
		in.Proposed.PatientBolus = pump.PatientBolus{Volume: vol("0.04 mL"), Duration: 10 * unit.Minute, Lockout: 3 * unit.Hour, MaxPer24h: 8}
		in.Proposed.Max24h = AutoCap(&in.Proposed)
		r, err := ReviewChange(in)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "basal", r.Dose, dose("2.4 mcg/day"))
		eq(t, "most", r.Most, dose("10.4 mcg/day"))
		f := findingOf(r, drug.StartingDose)
		if f == nil || f.Severity != drug.Refused || !strings.Contains(f.Message, "10.4 mcg/day") {
			t.Fatalf("findings: %v", r.Findings)
		}
		if !errors.Is(r.Decide("a reason long enough", true, true), drug.ErrRefused) {
			t.Error("not refused")
		}
	})

	t.Run("a 90% baclofen decrease shows the withdrawal warning and needs a reason", func(t *testing.T) {
		in := base
		old := continuous("baclofen", "2000 mcg/mL", "0.2 mL/day") // 400 mcg/day
		in.Running, in.History = &old, []drug.Prescribed{{At: t0, Drug: "baclofen", Dose: dose("400 mcg/day")}}
		in.Proposed = continuous("baclofen", "2000 mcg/mL", "0.02 mL/day")
		r, err := ReviewChange(in)
		if err != nil {
			t.Fatal(err)
		}
		f := findingOf(r, drug.WithdrawalRisk)
		if f == nil || f.Severity != drug.NeedsReason || !strings.Contains(f.Message, "(−90%) is more than 50% (the clinic's default") || !strings.Contains(f.Message, "rebound spasticity") {
			t.Fatalf("findings: %v", r.Findings)
		}
		// The order of the verdict: the large change first, then the reason.
		var le *LargeChangeError
		if err := r.Decide("", false, false); !errors.As(err, &le) {
			t.Errorf("unconfirmed: %v", err)
		}
		if err := r.Decide("typo", true, false); !errors.Is(err, drug.ErrReasonRequired) {
			t.Errorf("a vague reason: %v", err)
		}
		if err := r.Decide("intolerable weakness after the fall; taper agreed", true, false); err != nil {
			t.Errorf("a specific reason: %v", err)
		}
	})

	t.Run("the minimum rate of baclofen shows the withdrawal warning", func(t *testing.T) {
		in := base
		old := continuous("baclofen", "2000 mcg/mL", "0.05 mL/day")
		in.Running, in.History = &old, []drug.Prescribed{{At: t0, Drug: "baclofen", Dose: dose("100 mcg/day")}}
		in.Proposed = pump.Prescription{Drug: "baclofen", Concentration: conc("2000 mcg/mL"), Mode: pump.ModeMinimum, Max24h: vol("0.1 mL")}
		r, err := ReviewChange(in)
		if err != nil {
			t.Fatal(err)
		}
		if f := findingOf(r, drug.WithdrawalRisk); f == nil || !strings.Contains(f.Message, "the minimum rate") {
			t.Fatalf("findings: %v", r.Findings)
		}
	})

	t.Run("after an interruption longer than the threshold, resuming is a physician's decision", func(t *testing.T) {
		lib, err := drug.Load([]byte(strings.Replace(string(drug.DefaultJSON()), `"name": "morphine",`,
			`"name": "morphine", "interruption": {"threshold": {"value": "2d", "source": "clinic's choice"}, "restart": {"value": "50%", "source": "clinic's choice"}},`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		in := base
		in.Library = lib
		old := continuous("morphine", "10 mg/mL", "0.5 mL/day") // 5 mg/day
		in.Running, in.History = &old, []drug.Prescribed{{At: t0, Drug: "morphine", Dose: dose("5 mg/day")}}
		in.Proposed = old
		for _, c := range []struct {
			stopped unit.Duration
			dose    string
			sev     drug.Severity
			found   bool
		}{
			{36 * unit.Hour, "0.5 mL/day", 0, false},             // within the threshold
			{5 * unit.Day, "0.5 mL/day", drug.NeedsReason, true}, // the old dose
			{5 * unit.Day, "0.25 mL/day", drug.Info, true},       // the reduced restart dose
		} {
			in.Proposed.Rate = rate(c.dose)
			in.Interruption = &Interruption{Since: in.At.Add(-c.stopped), Until: in.At, Why: "the reservoir ran empty"}
			r, err := ReviewChange(in)
			if err != nil {
				t.Fatal(err)
			}
			f := findingOf(r, KindInterruption)
			if (f != nil) != c.found || f != nil && f.Severity != c.sev {
				t.Errorf("stopped %v, %s: %v", c.stopped, c.dose, r.Findings)
			}
		}
		// Without a threshold in the library, any interruption counts, and
		// without a restart dose only a reason lets the dose resume.
		in.Library = drug.Default()
		in.Proposed.Rate = rate("0.25 mL/day")
		in.Interruption = &Interruption{Since: in.At.Add(-unit.Hour), Until: in.At, Why: "EMPTY_RESERVOIR reported"}
		r, err := ReviewChange(in)
		if err != nil {
			t.Fatal(err)
		}
		if f := findingOf(r, KindInterruption); f == nil || f.Severity != drug.NeedsReason || !strings.Contains(f.Message, "every interruption counts") {
			t.Errorf("default library: %v", r.Findings)
		}
	})

	t.Run("a first baclofen dose against the screening result", func(t *testing.T) {
		in := base
		in.Screening = &Screening{Effective: mass("50 mcg")}
		for _, c := range []struct {
			rate   string
			lasted unit.Duration
			sev    drug.Severity
			found  bool
		}{
			{"0.05 mL/day", 0, drug.Info, true},                     // 100 mcg/day = 2 × 50
			{"0.06 mL/day", 0, drug.NeedsReason, true},              // 120 > 100
			{"0.05 mL/day", 10 * unit.Hour, drug.NeedsReason, true}, // effect over 8 h: 1 × 50
			{"0.04 mL/day", 0, drug.Info, true},                     // 80: 2× allows it, 1× would not
			{"0.025 mL/day", 0, 0, false},                           // 50: within both
		} {
			in.Proposed = continuous("baclofen", "2000 mcg/mL", c.rate)
			in.Screening.Lasted = c.lasted
			r, err := ReviewChange(in)
			if err != nil {
				t.Fatal(err)
			}
			f := findingOf(r, KindScreeningStart)
			if (f != nil) != c.found || f != nil && f.Severity != c.sev {
				t.Errorf("%s, lasted %v: %v", c.rate, c.lasted, r.Findings)
			}
		}
	})

	t.Run("an order for the other strength is a change of fill, confirmed", func(t *testing.T) {
		in := base
		old := continuous("morphine", "25 mg/mL", "0.2 mL/day")
		in.Running, in.History = &old, []drug.Prescribed{{At: t0, Drug: "morphine", Dose: dose("5 mg/day")}}
		in.Reservoir = drug.Product{Drug: "morphine", Concentration: conc("25 mg/mL")}
		in.Proposed = continuous("morphine", "10 mg/mL", "0.5 mL/day")
		r, err := ReviewChange(in)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "fill change", r.FillChange, "morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker)")
		var fe *FillChangeError
		if err := r.Decide("", false, false); !errors.As(err, &fe) || !errors.Is(err, ErrFillChange) {
			t.Errorf("unconfirmed: %v", err)
		}
		if err := r.Decide("", false, true); err != nil {
			t.Errorf("confirmed: %v", err)
		}
	})
}
