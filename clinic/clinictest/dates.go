package clinictest

import (
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/unit"
)

// workDue returns the due date of the patient's worklist item of a kind, as
// the worklist shows it.
func (e *Env) workDue(kind clinic.WorkKind, patientID int64) (time.Time, string, bool) {
	e.T.Helper()
	rec, err := e.Svc.PatientRecord(e.ReadOnly, patientID)
	e.must(err)
	for _, w := range rec.Worklist {
		if w.Kind == kind {
			return w.Due, w.Reason, true
		}
	}
	return time.Time{}, "", false
}

// Dates returns the patient's dates as the API answers them.
func (e *Env) Dates(patientID int64) clinic.Dates {
	e.T.Helper()
	rec, err := e.Svc.PatientRecord(e.ReadOnly, patientID)
	e.must(err)
	return rec.Dates
}

// testDatesOneSource: the next refill and replacement dates the worklist
// shows are the record's (issue 11 item 9), before the first refill too (a
// chart once said "—" where the worklist said 29 May); a refill's own next
// due date is the same; the dates follow every program since the fill; a
// refill due after end of service shows the replacement first; a past date
// reads "overdue: call the clinic".
func testDatesOneSource(t *testing.T, e *Env) {
	p := e.Patient("MRN-D1", "spasticity")
	e.Implant(p, "SN-D1", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "1000 mcg/day", "maintenance from screening")
	e.must(err)
	agree := func(when string) clinic.Dates {
		t.Helper()
		d := e.Dates(p.ID)
		due, _, ok := e.workDue(clinic.WorkRefill, p.ID)
		if d.NextRefill == nil || !ok || !due.Equal(d.NextRefill.Date) {
			t.Fatalf("%s: worklist refill due %v (%v), record %+v", when, due, ok, d.NextRefill)
		}
		rdue, _, ok := e.workDue(clinic.WorkReplacement, p.ID)
		if d.Replacement == nil || !ok || !rdue.Equal(d.Replacement.By) {
			t.Fatalf("%s: worklist replacement due %v (%v), record %+v", when, rdue, ok, d.Replacement)
		}
		return d
	}
	// Before any refill: from the implant's fill. 18 mL to the 2 mL threshold
	// at 0.5 mL/day is 36 days, less the 7-day margin.
	d := agree("before the first refill")
	if want := Start.Add(day(36) - day(7)); !d.NextRefill.Date.Equal(want) || !d.LowReservoir.Date.Equal(Start.Add(day(36))) {
		t.Fatalf("next refill %v, low %v; want %v and day 36", d.NextRefill.Date, d.LowReservoir.Date, want)
	}
	if !d.Empty.Date.Equal(Start.Add(day(39))) { // 19.5 mL at 0.5 mL/day
		t.Fatalf("empty %v, want day 39", d.Empty.Date)
	}
	// A refill: its own next due date is the record's and the worklist's.
	e.Advance(day(20))
	rf := Typed("baclofen", "2000 mcg/mL", "L1", "10 mL", "20 mL")
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
	d = agree("after a refill")
	if rf.NextDue == nil || !rf.NextDue.Equal(d.NextRefill.Date) {
		t.Fatalf("the refill says next due %v, the record %v", rf.NextDue, d.NextRefill.Date)
	}
	// A dose lowered 10 days after the fill: 5 mL used at 0.5 mL/day leaves
	// 15 mL; 13 mL to the threshold at 0.25 mL/day is 52 days: low on day 62
	// from the fill (the new rate taken from the fill would say day 72).
	e.Advance(day(10))
	_, err = e.PrescribeConfirmed(p, "baclofen", "2000 mcg/mL", "500 mcg/day", "spasticity controlled; too drowsy")
	e.must(err)
	d = agree("after a decrease")
	if want := rf.At.Add(day(62)); !d.LowReservoir.Date.Equal(want) {
		t.Fatalf("low reservoir %v after the decrease, want %v", d.LowReservoir.Date, want)
	}
	if d.NextRefill.Past || strings.Contains(d.NextRefill.Say(), "overdue") {
		t.Fatalf("a future refill reads %q", d.NextRefill.Say())
	}
	// Time passes: the date is past and reads "overdue: call the clinic".
	e.Advance(day(60))
	d = e.Dates(p.ID)
	if !d.NextRefill.Past || d.NextRefill.Say() != "overdue: call the clinic (due "+clinic.DateText(d.NextRefill.Date)+")" {
		t.Fatalf("a past refill reads %q", d.NextRefill.Say())
	}
	if items := e.Work(clinic.WorkRefill, p.ID); len(items) != 1 || items[0].Status != "overdue" {
		t.Fatalf("worklist: %+v", items)
	}

	// A pump at its replacement indicator whose refill falls after end of
	// service: the replacement comes first.
	q := e.Patient("MRN-D2", "pain")
	e.Implant(q, "SN-D2", "TP-40", "morphine", "25 mg/mL", "40 mL")
	_, err = e.Prescribe(q, "morphine", "25 mg/mL", "4 mg/day", "opioid-tolerant")
	e.must(err)
	e.Advance(day(1))
	r := Report("SN-D2", "TP-40", e.Now(), "39.8 mL", "ERI")
	r.Status.Battery = unit.Charge(48_000) * unit.MicroampHour
	_, err = e.Svc.Ingest(e.MonitorOf(r.Serial), r)
	e.must(err)
	d = e.Dates(q.ID)
	if d.NextRefill == nil || d.EOS == nil || !d.NextRefill.AfterEOS || !d.NextRefill.Date.After(d.EOS.Date) {
		t.Fatalf("a refill after end of service: %+v, EOS %+v", d.NextRefill, d.EOS)
	}
	if s := d.RefillSay(); !strings.HasPrefix(s, "replace the pump first") || !strings.Contains(s, "falls after its end of service") {
		t.Fatalf("the refill after EOS reads %q", s)
	}
	if d.Replacement == nil || !d.Replacement.AtERI || !d.Replacement.By.Equal(d.EOS.Date) {
		t.Fatalf("replacement at ERI: %+v", d.Replacement)
	}
	_, reason, _ := e.workDue(clinic.WorkRefill, q.ID)
	if !strings.Contains(reason, "the replacement comes first") {
		t.Fatalf("the worklist's refill reason: %q", reason)
	}
	due, _, _ := e.workDue(clinic.WorkReplacement, q.ID)
	if !due.Equal(d.EOS.Date) {
		t.Fatalf("replacement due %v on the worklist, EOS %v", due, d.EOS.Date)
	}
}
