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
	// A prescription at another strength before any refill: the reservoir
	// still holds the first fill's.
	e.Advance(time.Hour)
	_, err = e.PrescribeConfirmed(p, "baclofen", "500 mcg/mL", "400 mcg/day", "a weaker strength for finer steps")
	e.must(err)
	listed("prescribed 500 mcg/mL over a 2000 mcg/mL fill", true)
	// The refill with the prescribed strength: they agree.
	e.Advance(day(10))
	rf := &clinic.Refill{Drug: "baclofen", Concentration: mustConc("500 mcg/mL"), Lot: "M1", Withdrawn: mustVol("18 mL"), Added: mustVol("20 mL")}
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
	listed("refilled at the prescribed strength", false)
	// A refill at another strength; reviewing it does not clear it.
	e.Advance(day(10))
	rf2 := &clinic.Refill{Drug: "baclofen", Concentration: mustConc("2000 mcg/mL"), Lot: "M2", Withdrawn: mustVol("16 mL"), Added: mustVol("20 mL")}
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf2))
	listed("refilled at another strength", true)
	_, err = e.Svc.ReviewRefill(e.Nurse, rf2.ID, clinic.ReviewInput{Note: "seen by the physician", Version: rf2.Version})
	e.must(err)
	listed("the refill reviewed", true)
	// A new dose at the old strength still differs; at the reservoir's, it agrees.
	e.Advance(time.Hour)
	_, err = e.PrescribeConfirmed(p, "baclofen", "500 mcg/mL", "300 mcg/day", "less drowsy")
	e.must(err)
	listed("a new dose at the wrong strength", true)
	e.Advance(time.Hour)
	_, err = e.PrescribeConfirmed(p, "baclofen", "2000 mcg/mL", "300 mcg/day", "reprogrammed for the strength in the pump")
	e.must(err)
	listed("reprogrammed for the reservoir", false)
}
