package clinictest

import (
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// The clinical safety rules of issue 11 through the service, on every store.

// testNoReasonFatigue: a stable baclofen patient's change needs no stated
// reason where the library's limits are only empty (once nine "needs a
// reason" findings); where one is needed it is specific, and it is stored
// with the prescription.
func testNoReasonFatigue(t *testing.T, e *Env) {
	p := e.Patient("MRN-R", "spasticity")
	e.Implant(p, "SN-R", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	first := ContinuousRx("baclofen", "2000 mcg/mL", "400 mcg/day", "")
	first.Population = "spinal"
	e.must(e.Svc.Prescribe(e.Physician, p.ID, first))
	e.Advance(day(3))
	rx := ContinuousRx("baclofen", "2000 mcg/mL", "440 mcg/day", "")
	rx.Population = "spinal"
	e.must(e.Svc.Prescribe(e.Physician, p.ID, rx))
	for _, f := range rx.Findings {
		if f.Severity == drug.NeedsReason.String() {
			t.Errorf("a routine +10%% change asks a reason: %+v", f)
		}
	}
	// A stop needs a reason: a specific one, kept with the prescription.
	e.Advance(day(3))
	stop := ContinuousRx("baclofen", "2000 mcg/mL", "440 mcg/day", "ok")
	stop.Program.Mode, stop.Program.Rate, stop.DosePerDay, stop.ConfirmLargeChange = pump.ModeStopped, 0, 0, true
	wantErr(t, e.Svc.Prescribe(e.Physician, p.ID, stop), clinic.EINVALID, "reason")
	stop.Reason = "stopping baclofen: abrupt discontinuation, whatever the cause, has resulted in high fever"
	wantErr(t, e.Svc.Prescribe(e.Physician, p.ID, stop), clinic.EINVALID, "reason")
	stop.Reason = "pump replacement under general anaesthesia; oral baclofen bridge"
	e.must(e.Svc.Prescribe(e.Physician, p.ID, stop))
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if got := rec.Prescriptions[len(rec.Prescriptions)-1].Reason; got != stop.Reason {
		t.Errorf("stored reason %q", got)
	}
}

// testInterruption: a pump that ran empty cannot be refilled back to its
// old dose until a physician orders the restart; the order needs a reason
// (or the library's reduced restart dose); the refill then records when
// delivery stopped. A reported EMPTY_RESERVOIR counts too.
func testInterruption(t *testing.T, e *Env) {
	p := e.Patient("MRN-E", "pain")
	e.Implant(p, "SN-E", "TP-20", "morphine", "10 mg/mL", "20 mL")
	rx := ContinuousRx("morphine", "10 mg/mL", "5 mg/day", "")
	rx.Population = "opioid-tolerant"
	e.must(e.Svc.Prescribe(e.Physician, p.ID, rx))
	// 0.5 mL/day: empty after 39 days; the patient comes on day 45.
	e.Advance(day(45))
	audit0 := auditCount(t, e)
	err := e.Svc.RecordRefill(e.Nurse, p.ID, Typed("morphine", "10 mg/mL", "L1", "0.5 mL", "20 mL"))
	wantErr(t, err, clinic.EINVALID, "")
	if msg := clinic.ErrorMessage(err); !strings.Contains(msg, "delivery stopped for 6d") || !strings.Contains(msg, "physician's decision") {
		t.Errorf("refusal: %s", msg)
	}
	// The restart order: the old dose needs a reason.
	again := ContinuousRx("morphine", "10 mg/mL", "5 mg/day", "")
	again.Population = "opioid-tolerant"
	wantErr(t, e.Svc.Prescribe(e.Physician, p.ID, again), clinic.EINVALID, "reason")
	if n := auditCount(t, e); n != audit0 {
		t.Fatalf("refusals wrote %d audit entries", n-audit0)
	}
	again = ContinuousRx("morphine", "10 mg/mL", "2.5 mg/day", "ran empty 6 days: restart at half, re-titrate")
	again.Population, again.ConfirmLargeChange = "opioid-tolerant", true
	e.must(e.Svc.Prescribe(e.Physician, p.ID, again))
	rf := Typed("morphine", "10 mg/mL", "L1", "0.5 mL", "20 mL")
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
	if rf.InterruptedSince == nil || !rf.InterruptedSince.Equal(Start.Add(day(39))) {
		t.Errorf("interrupted since %v, want day 39", rf.InterruptedSince)
	}

	// A report of EMPTY_RESERVOIR, before the accounting says so.
	q := e.Patient("MRN-E2", "pain")
	e.Implant(q, "SN-E2", "TP-20", "morphine", "10 mg/mL", "20 mL")
	rx = ContinuousRx("morphine", "10 mg/mL", "2 mg/day", "")
	rx.Population = "opioid-tolerant"
	e.must(e.Svc.Prescribe(e.Physician, q.ID, rx))
	e.Advance(day(5))
	r := Report("SN-E2", "TP-20", e.Now(), "0.5 mL", "EMPTY_RESERVOIR")
	r.Status.Drug, r.Status.Concentration = "morphine", mustConc("10 mg/mL")
	_, err = e.Svc.Ingest(e.MonitorOf("SN-E2"), r)
	e.must(err)
	e.Advance(time.Hour)
	wantErr(t, e.Svc.RecordRefill(e.Nurse, q.ID, Typed("morphine", "10 mg/mL", "L2", "0.5 mL", "20 mL")), clinic.EINVALID, "")
}

// testFillFromLabel: the vial label's text confirms what was typed once.
func testFillFromLabel(t *testing.T, e *Env) {
	p := e.Patient("MRN-V", "spasticity")
	e.Implant(p, "SN-V", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "400 mcg/day", "")
	e.must(err)
	e.Advance(day(30))
	rf := &clinic.Refill{Drug: "Gablofen", Concentration: mustConc("2000 mcg/mL"), Label: "Gablofen (baclofen injection) 40 mg/20 mL (2000 mcg/mL)",
		Lot: "G1", Withdrawn: mustVol("8 mL"), Added: mustVol("20 mL")}
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
	if rf.Drug != "baclofen" {
		t.Errorf("the library's name is recorded: %q", rf.Drug)
	}
	e.Advance(day(30))
	bad := &clinic.Refill{Drug: "baclofen", Concentration: mustConc("2000 mcg/mL"), Label: "Gablofen 500 mcg/mL",
		Lot: "G2", Withdrawn: mustVol("8 mL"), Added: mustVol("20 mL")}
	wantErr(t, e.Svc.RecordRefill(e.Nurse, p.ID, bad), clinic.EINVALID, "label")
}

// testScreeningFirstDose: a first baclofen dose above twice the effective
// screening bolus needs a reason (the labels' starting dose).
func testScreeningFirstDose(t *testing.T, e *Env) {
	p := e.Patient("MRN-S", "spasticity")
	tr := &clinic.Trial{Method: "single_bolus", Drug: "baclofen", Doses: []unit.Mass{must[unit.Mass]("50 mcg"), must[unit.Mass]("75 mcg")},
		StartedAt: e.Now(), Decision: "implant"}
	e.must(e.Svc.CreateTrial(e.Physician, p.ID, tr))
	e.Advance(day(10))
	e.Implant(p, "SN-S", "TP-20", "baclofen", "500 mcg/mL", "20 mL")
	rev, err := e.Svc.ReviewPrescription(e.Physician, p.ID, ContinuousRx("baclofen", "500 mcg/mL", "200 mcg/day", ""))
	e.must(err)
	found := false
	for _, f := range rev.Findings {
		found = found || f.Kind == "screening_start" && f.Severity == drug.NeedsReason && strings.Contains(f.Message, "above 2 × the effective screening bolus 75 mcg = 150 mcg/day")
	}
	if !found {
		t.Fatalf("findings: %+v", rev.Findings)
	}
	_, err = e.Prescribe(p, "baclofen", "500 mcg/mL", "150 mcg/day", "")
	e.must(err)
}
