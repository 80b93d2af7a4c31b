package clinictest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// FlexProgram is a weekly flex program of morphine 10 mg/mL with a patient
// bolus and its own low-reservoir threshold: 0.6 mL/day from 07:00 on
// weekdays (0.4 mL/day at weekends), 0.3 mL/day from 22:00 every day.
func FlexProgram() pump.Prescription {
	p := pump.Prescription{Mode: pump.ModeFlex, Weekly: true, FlexSteps: 3, Drug: "morphine", Concentration: mustConc("10 mg/mL"),
		LowReservoir: mustVol("3 mL"),
		PatientBolus: pump.PatientBolus{Volume: mustVol("0.05 mL"), Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4}}
	p.Flex[0] = pump.FlexStep{At: 7 * unit.Hour, Rate: mustRate("0.6 mL/day"), Days: 0b0111110}
	p.Flex[1] = pump.FlexStep{At: 7 * unit.Hour, Rate: mustRate("0.4 mL/day"), Days: 0b1000001}
	p.Flex[2] = pump.FlexStep{At: 22 * unit.Hour, Rate: mustRate("0.3 mL/day"), Days: pump.AllDays}
	p.Max24h = therapy.AutoCap(&p)
	return p
}

// testFlexProgram: the clinic records every mode the pump runs, a weekly
// flex program with its patient bolus and low-reservoir threshold included,
// and gives it back exactly; the pump's validation names the program's field.
func testFlexProgram(t *testing.T, e *Env) {
	p := e.Patient("MRN-F", "pain")
	e.Implant(p, "SN-F", "TP-20", "morphine", "10 mg/mL", "20 mL")
	rx := &clinic.Prescription{Program: FlexProgram(), Population: "opioid-tolerant", Reason: "day and night pain pattern"}
	rx.Program.Drug = "Morphine" // the library's name is recorded
	e.must(e.Svc.Prescribe(e.Physician, p.ID, rx))
	want := FlexProgram()
	if rx.Program != want {
		t.Fatalf("program as recorded:\n%+v\nwant\n%+v", rx.Program, want)
	}
	if rx.DosePerDay != therapy.DailyDose(&want) || rx.DosePerDay != mustDose("4.875 mg/day") {
		t.Errorf("dose per day %v, want the most any day gives: 4.875 mg/day (a weekday)", rx.DosePerDay)
	}
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.Prescriptions) != 1 || rec.Prescriptions[0].Program != want {
		t.Fatalf("program read back from the store:\n%+v\nwant\n%+v", rec.Prescriptions[0].Program, want)
	}
	// The JSON form gives back the same program.
	b, err := json.Marshal(rec.Prescriptions[0])
	e.must(err)
	var back clinic.Prescription
	e.must(json.Unmarshal(b, &back))
	if back.Program != want || !strings.Contains(string(b), `{"at":"07:00","rate":"0.6 mL/day","days":["mon","tue","wed","thu","fri"]}`) {
		t.Fatalf("JSON round trip: %s", b)
	}

	// A daily flex program: its steps run every day.
	daily := clinic.Prescription{Program: pump.Prescription{Mode: pump.ModeFlex, FlexSteps: 2, Drug: "morphine", Concentration: mustConc("10 mg/mL"),
		Max24h: mustVol("1 mL")}, Reason: "daily pattern"}
	daily.Program.Flex[0] = pump.FlexStep{At: 8 * unit.Hour, Rate: mustRate("0.6 mL/day"), Days: pump.AllDays}
	daily.Program.Flex[1] = pump.FlexStep{At: 20 * unit.Hour, Rate: mustRate("0.3 mL/day"), Days: pump.AllDays}
	e.Advance(day(1))
	e.must(e.Svc.Prescribe(e.Physician, p.ID, &daily))
	if daily.DosePerDay != mustDose("4.5 mg/day") {
		t.Errorf("daily flex: %v, want 4.5 mg/day", daily.DosePerDay)
	}

	// The pump's own validation refuses, naming the program's field; nothing is written.
	before, err := e.Svc.Audit(e.Admin, 0, 1000)
	e.must(err)
	clash := FlexProgram()
	clash.Flex[1].Days = 0b0000010 // Monday 07:00 twice
	stoppedBolus := pump.Prescription{Mode: pump.ModeStopped, Drug: "morphine", Concentration: mustConc("10 mg/mL"),
		PatientBolus: FlexProgram().PatientBolus}
	slow := FlexProgram()
	slow.Flex[2].Rate = 1 // under the pump's minimum rate
	for _, c := range []struct {
		field string
		p     pump.Prescription
	}{
		{"program.flex[1].at", clash},
		{"program.patient_bolus", stoppedBolus},
		{"program.flex[2].rate", slow},
	} {
		err := e.Svc.Prescribe(e.Physician, p.ID, &clinic.Prescription{Program: c.p, Reason: "x", ConfirmLargeChange: true})
		wantErr(t, err, clinic.EINVALID, c.field)
	}
	err = e.Svc.Prescribe(e.Physician, p.ID, &clinic.Prescription{Program: FlexProgram(), DosePerDay: mustDose("5 mg/day"), Reason: "x"})
	wantErr(t, err, clinic.EINVALID, "dose_per_day")
	after, err := e.Svc.Audit(e.Admin, 0, 1000)
	e.must(err)
	if len(after) != len(before) {
		t.Errorf("refused prescriptions wrote %d audit entries", len(after)-len(before))
	}
}

// testLargeChange: a change of the daily dose beyond the drug's threshold
// (50% where the library is silent) needs the second confirmation, up or
// down, a stop included; without it nothing is written. The review shows it
// before anything is recorded.
func testLargeChange(t *testing.T, e *Env) {
	p := e.Patient("MRN-L", "spasticity")
	e.Implant(p, "SN-L", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	first, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	e.must(err)
	e.Advance(day(2))
	count := func() (int, int) {
		t.Helper()
		es, err := e.Svc.Audit(e.Admin, 0, 1000)
		e.must(err)
		if len(es) == 1000 {
			t.Fatal("more audit entries than one page")
		}
		changes := 0
		for _, a := range es {
			if a.Action != "patient.read" { // a clinician's read (a review too) is audited
				changes++
			}
		}
		rec, err := e.Svc.PatientRecord(clinic.NewContext(t.Context(), clinic.System), p.ID)
		e.must(err)
		return changes, len(rec.Prescriptions)
	}
	audit0, rxs0 := count()
	// Reviewed first: the change is shown as large; nothing is written (the
	// review is audited as a read of the record).
	rev, err := e.Svc.ReviewPrescription(e.Physician, p.ID, ContinuousRx("baclofen", "2000 mcg/mL", "800 mcg/day", ""))
	e.must(err)
	if !rev.Change.Large || rev.Change.Change != 100*unit.OnePercent || rev.Change.Threshold != 50*unit.OnePercent ||
		rev.Current == nil || rev.Current.ID != first.ID || rev.Unit != unit.Microgram {
		t.Fatalf("review: %+v", rev)
	}
	stop := &clinic.Prescription{Program: pump.Prescription{Mode: pump.ModeStopped, Drug: "baclofen", Concentration: mustConc("2000 mcg/mL")},
		Reason: "planned surgery"}
	for _, c := range []struct {
		name string
		rx   *clinic.Prescription
	}{
		{"doubled", ContinuousRx("baclofen", "2000 mcg/mL", "800 mcg/day", "spasticity worse")},
		{"cut by 55%", ContinuousRx("baclofen", "2000 mcg/mL", "180 mcg/day", "too weak")},
		{"stopped", stop},
	} {
		err := e.Svc.Prescribe(e.Physician, p.ID, c.rx)
		wantErr(t, err, clinic.EINVALID, "confirm_large_change")
		if msg := clinic.ErrorMessage(err); !strings.Contains(msg, "400 mcg/day →") || !strings.Contains(msg, "more than 50%") {
			t.Errorf("%s: message %q", c.name, msg)
		}
	}
	if a, n := count(); a != audit0 || n != rxs0 {
		t.Fatalf("refused large changes wrote: audit %d → %d, prescriptions %d → %d", audit0, a, rxs0, n)
	}
	// Within the threshold no confirmation is asked.
	rx, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "480 mcg/day", "spasticity worse")
	e.must(err)
	for _, f := range rx.Findings {
		if f.Kind == clinic.KindLargeChange {
			t.Errorf("a +20%% change has a large-change finding: %+v", f)
		}
	}
	// Confirmed, it is recorded with the finding that says so.
	e.Advance(day(2))
	rx, err = e.PrescribeConfirmed(p, "baclofen", "2000 mcg/mL", "960 mcg/day", "spasticity much worse")
	e.must(err)
	found := false
	for _, f := range rx.Findings {
		found = found || f.Kind == clinic.KindLargeChange && f.Severity == "confirmed" && strings.Contains(f.Message, "+100%")
	}
	if !found || !rx.ConfirmLargeChange {
		t.Fatalf("confirmed change: %+v", rx.Findings)
	}
	// Another drug is not compared by mass: its own starting limits apply.
	rev, err = e.Svc.ReviewPrescription(e.Physician, p.ID, ContinuousRx("morphine", "10 mg/mL", "1 mg/day", ""))
	e.must(err)
	if rev.Change.Comparable || rev.Change.Large {
		t.Errorf("a change of drug compared by mass: %+v", rev.Change)
	}
}
