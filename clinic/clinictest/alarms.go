package clinictest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/unit"
)

// Written is what a test compares to show that nothing was written: the
// audit trail's length and every record of a patient (read as the server
// itself, which is not audited).
type Written struct {
	Audit   int
	Records string
}

// WrittenFor reads what is written for a patient.
func (e *Env) WrittenFor(patientID int64) Written {
	e.T.Helper()
	rec, err := e.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), patientID)
	e.must(err)
	rec.Worklist, rec.Dates = nil, clinic.Dates{} // computed, not written
	b, err := json.Marshal(rec)
	e.must(err)
	return Written{Audit: auditCount(e.T, e), Records: string(b)}
}

// Active makes the report show alarms active, raised before (not in its
// list of alarms raised since the last report).
func Active(r *clinic.Report, alarms ...string) *clinic.Report {
	r.Status.ActiveAlarms = alarms
	return r
}

// testCriticalAlarm: acknowledging a critical alarm needs what was done (a
// refusal writes nothing), creates the follow-up the alarm calls for, and the
// alarm stays on the worklist, marked acknowledged, until a report no longer
// shows it (issue 11 item 6).
func testCriticalAlarm(t *testing.T, e *Env) {
	p := e.Patient("MRN-A1", "spasticity")
	e.Implant(p, "SN-A1", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	e.must(err)
	e.Advance(day(2))
	_, err = e.Svc.Ingest(e.MonitorOf("SN-A1"), Report("SN-A1", "TP-20", e.Now(), "19 mL", "OCCLUSION"))
	e.must(err)
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	a := rec.Alarms[0]

	// Refused without a real statement of what was done; nothing written.
	for _, note := range []string{"", "   ", "ok", "seen", "OCCLUSION acknowledged", "alarm ack", "done."} {
		before := e.WrittenFor(p.ID)
		_, err := e.Svc.AckAlarm(e.Nurse, a.ID, clinic.AckInput{Note: note, Version: a.Version})
		wantErr(t, err, clinic.EINVALID, "note")
		if after := e.WrittenFor(p.ID); after != before {
			t.Fatalf("acknowledgement %q refused but something was written", note)
		}
	}
	if items := e.Work(clinic.WorkCriticalAlarm, p.ID); len(items) != 1 || items[0].Acknowledged {
		t.Fatalf("before the acknowledgement: %+v", items)
	}

	// Acknowledged with what was done: the follow-up is created.
	got, err := e.Svc.AckAlarm(e.Nurse, a.ID, clinic.AckInput{Note: "catheter access port aspirated, no flow; neurosurgery called", Version: a.Version})
	e.must(err)
	rec, err = e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	var fu *clinic.FollowUp
	for _, f := range rec.FollowUps {
		if f.ID == got.FollowUpID {
			fu = f
		}
	}
	if fu == nil || fu.Type != "catheter_investigation" || fu.AlarmID != a.ID || !fu.Due.Equal(e.Now().Add(24*time.Hour)) ||
		!strings.Contains(fu.Notes, "neurosurgery called") {
		t.Fatalf("follow-up of the occlusion: %+v", fu)
	}
	listed := false
	for _, w := range e.Work(clinic.WorkFollowUp, p.ID) {
		listed = listed || w.RecordID == fu.ID && w.Priority == clinic.High && strings.Contains(w.Reason, "after alarm OCCLUSION")
	}
	if !listed {
		t.Fatalf("the follow-up is not on the worklist: %+v", e.Work(clinic.WorkFollowUp, p.ID))
	}
	// Acknowledged but active: listed, marked, with who and what was done.
	items := e.Work(clinic.WorkCriticalAlarm, p.ID)
	if len(items) != 1 || !items[0].Acknowledged || items[0].Priority != clinic.Urgent ||
		!strings.Contains(items[0].Reason, "acknowledged by nurse.joy") || !strings.Contains(items[0].Reason, "neurosurgery called") ||
		!strings.Contains(items[0].Reason, "catheter investigation") {
		t.Fatalf("acknowledged, still active: %+v", items)
	}
	// A second acknowledgement is refused.
	_, err = e.Svc.AckAlarm(e.Nurse, a.ID, clinic.AckInput{Note: "catheter checked again", Version: got.Version})
	wantErr(t, err, clinic.ECONFLICT, "id")

	// A report still showing it: still listed.
	e.Advance(6 * time.Hour)
	_, err = e.Svc.Ingest(e.MonitorOf("SN-A1"), Active(Report("SN-A1", "TP-20", e.Now(), "19 mL"), "OCCLUSION"))
	e.must(err)
	if items := e.Work(clinic.WorkCriticalAlarm, p.ID); len(items) != 1 {
		t.Fatalf("still active: %+v", items)
	}
	// A report that no longer shows it: gone from the worklist, cleared.
	e.Advance(6 * time.Hour)
	_, err = e.Svc.Ingest(e.MonitorOf("SN-A1"), Report("SN-A1", "TP-20", e.Now(), "18.9 mL"))
	e.must(err)
	if items := e.Work(clinic.WorkCriticalAlarm, p.ID); len(items) != 0 {
		t.Fatalf("cleared and acknowledged, still listed: %+v", items)
	}
	rec, err = e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if c := rec.Alarms[0]; c.ClearedAt == nil || !c.ClearedAt.Equal(e.Now()) || c.ClearedBy == 0 {
		t.Fatalf("cleared alarm: %+v", c)
	}

	// Back again: a new alarm. Cleared before anyone acknowledged it: listed
	// as cleared, not acknowledged, until acknowledged; its follow-up is the
	// one open already.
	e.Advance(time.Hour)
	_, err = e.Svc.Ingest(e.MonitorOf("SN-A1"), Report("SN-A1", "TP-20", e.Now(), "18.8 mL", "OCCLUSION"))
	e.must(err)
	e.Advance(time.Hour)
	_, err = e.Svc.Ingest(e.MonitorOf("SN-A1"), Report("SN-A1", "TP-20", e.Now(), "18.7 mL"))
	e.must(err)
	items = e.Work(clinic.WorkCriticalAlarm, p.ID)
	if len(items) != 1 || items[0].Acknowledged || !strings.Contains(items[0].Reason, "cleared by the pump's report") {
		t.Fatalf("cleared, not acknowledged: %+v", items)
	}
	second, err := e.Svc.Record(e.ReadOnly, items[0].RecordID)
	e.must(err)
	a2 := second.(*clinic.Alarm)
	got2, err := e.Svc.AckAlarm(e.Physician, a2.ID, clinic.AckInput{Note: "catheter patent on aspiration; watch", Version: a2.Version})
	e.must(err)
	if got2.FollowUpID != fu.ID {
		t.Fatalf("a second occlusion made follow-up %d, not the open %d", got2.FollowUpID, fu.ID)
	}
	if items := e.Work(clinic.WorkCriticalAlarm, p.ID); len(items) != 0 {
		t.Fatalf("cleared and acknowledged: %+v", items)
	}

	// What each alarm calls for (docs/clinic.md, "Alarms").
	for _, tc := range []struct{ alarm, followUp string }{
		{"EMPTY_RESERVOIR", "refill_visit"}, {"ERI", "replacement_planning"}, {"MOTOR_STALL", "pump_check"},
	} {
		q := e.Patient("MRN-A-"+tc.alarm, "pain")
		serial := "SN-" + tc.alarm
		e.Implant(q, serial, "TP-40", "morphine", "10 mg/mL", "40 mL")
		e.Advance(time.Hour)
		r := Report(serial, "TP-40", e.Now(), "30 mL", tc.alarm)
		r.Status.Battery = unit.Charge(900_000) * unit.MicroampHour
		_, err := e.Svc.Ingest(e.MonitorOf(serial), r)
		e.must(err)
		rec, err := e.Svc.PatientRecord(e.ReadOnly, q.ID)
		e.must(err)
		al := rec.Alarms[0]
		got, err := e.Svc.AckAlarm(e.Nurse, al.ID, clinic.AckInput{Note: "patient called, visit booked today", Version: al.Version})
		e.must(err)
		rec, err = e.Svc.PatientRecord(e.ReadOnly, q.ID)
		e.must(err)
		found := false
		for _, f := range rec.FollowUps {
			found = found || f.ID == got.FollowUpID && f.Type == tc.followUp
		}
		if !found {
			t.Errorf("%s: no %s follow-up: %+v", tc.alarm, tc.followUp, rec.FollowUps)
		}
	}
}
