package clinictest

import (
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
)

// testDrugMismatchUntilAgreement: a reservoir whose drug or concentration
// differs from the prescription in force is an urgent item until they agree
// (hazard H2), whichever record made them differ: a refill, a prescription
// made before the refill, a review of the refill does not clear it, nor a
// prescription that still differs.
func testDrugMismatchUntilAgreement(t *testing.T, e *Env) {
	p := e.Patient("MRN-M1", "spasticity")
	e.Implant(p, "SN-M1", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	e.must(err)
	listed := func(when string, want bool) {
		t.Helper()
		items := e.Work(clinic.WorkDrugMismatch, p.ID)
		if got := len(items) == 1 && items[0].Priority == clinic.Urgent; got != want || len(items) > 1 {
			t.Fatalf("%s: mismatch items %+v, want listed %v", when, items, want)
		}
	}
	listed("as implanted", false)
	// order records a physician's order confirmed for a large change and for
	// a change of what the reservoir holds (rules: drug.CheckFill), from start.
	order := func(conc, dose, reason string, start time.Time) {
		t.Helper()
		rx := ContinuousRx("baclofen", conc, dose, reason)
		rx.ConfirmLargeChange, rx.ConfirmConcentrationChange, rx.StartAt = true, true, start
		e.must(e.Svc.Prescribe(e.Physician, p.ID, rx))
	}
	// refill records a refill typed twice, the change of strength confirmed.
	refill := func(conc, lot, withdrawn string) *clinic.Refill {
		t.Helper()
		rf := Typed("baclofen", conc, lot, withdrawn, "20 mL")
		rf.ConfirmConcentrationChange = true
		e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
		return rf
	}
	// A prescription at another strength before any refill: the reservoir
	// still holds the first fill's.
	e.Advance(time.Hour)
	order("500 mcg/mL", "400 mcg/day", "a weaker strength for finer steps", e.Now())
	listed("prescribed 500 mcg/mL over a 2000 mcg/mL fill", true)
	// The refill with the prescribed strength: they agree.
	e.Advance(day(10))
	refill("500 mcg/mL", "M1", "18 mL")
	listed("refilled at the prescribed strength", false)
	// A refill at another strength (the one a physician ordered from a later
	// day: a refill must match the newest order); reviewing it does not clear it.
	e.Advance(day(10))
	order("2000 mcg/mL", "400 mcg/day", "back to the strong strength from next week", e.Now().Add(day(7)))
	rf2 := refill("2000 mcg/mL", "M2", "16 mL")
	listed("refilled at another strength", true)
	_, err = e.Svc.ReviewRefill(e.Nurse, rf2.ID, clinic.ReviewInput{Note: "seen by the physician", Version: rf2.Version})
	e.must(err)
	listed("the refill reviewed", true)
	// A new dose at the old strength still differs; at the reservoir's, it agrees.
	e.Advance(time.Hour)
	order("500 mcg/mL", "300 mcg/day", "less drowsy on the lower dose", e.Now())
	listed("a new dose at the wrong strength", true)
	e.Advance(time.Hour)
	order("2000 mcg/mL", "300 mcg/day", "reprogrammed for the strength in the pump", e.Now())
	listed("reprogrammed for the reservoir", false)
}
