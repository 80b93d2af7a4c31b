package clinictest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
)

// The closed loop (issue 12): orders and their states, reconciliation of
// every report with the record, programming sessions, and the clinician's own
// programmer token.

// PumpReport is a report of pump serial running program prog, filled with
// the program's drug and concentration, read at at by source.
func PumpReport(serial, model string, at time.Time, source string, prog pump.Prescription) *clinic.Report {
	r := Report(serial, model, at, "12 mL")
	r.Source = source
	p := clinic.Program(prog)
	r.Status.Program, r.Status.PumpTime = &p, at
	r.Status.Drug, r.Status.Concentration = prog.Drug, prog.Concentration
	r.Status.Mode = prog.Mode.String()
	return r
}

// Session is a programming session of pump serial that programmed order o,
// with the report read back at at.
func Session(serial, model string, at time.Time, o *clinic.Prescription, before pump.Prescription) *clinic.SessionUpload {
	a := clinic.Program(o.Program)
	var b *clinic.Program
	if before.Mode != 0 {
		p := clinic.Program(before)
		b = &p
	}
	return &clinic.SessionUpload{
		Session: clinic.ProgrammingSession{Serial: serial, Programmer: "Dr. A. Ruiz", StartedAt: at.Add(-time.Minute), EndedAt: at,
			OrderID: o.ID, Before: b, After: &a, Outcome: "programmed",
			Steps: []clinic.SessionStep{{Action: "interrogate"}, {Action: "program", Seq: 42}, {Action: "read_back"}}},
		Report: PumpReport(serial, model, at, "programmer", o.Program),
	}
}

// baclofenOrder is a patient (MRN-id) with a TP-20 (SN-id) on baclofen, and
// an order for 400 mcg/day.
func (e *Env) baclofenOrder(id string) (*clinic.Patient, *clinic.Prescription) {
	e.T.Helper()
	p := e.Patient("MRN-"+id, "spasticity")
	e.Implant(p, "SN-"+id, "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	o, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	e.must(err)
	return p, o
}

func (e *Env) work(kind clinic.WorkKind, patientID int64) []clinic.WorkItem {
	e.T.Helper()
	return e.Work(kind, patientID)
}

func (e *Env) order(id int64) *clinic.Prescription {
	e.T.Helper()
	v, err := e.Svc.Record(e.ReadOnly, id)
	e.must(err)
	return v.(*clinic.Prescription)
}

// testOrderStates: an order is ordered, then programmed by a programmer's
// session, then verified by a later home-monitor report, and not by an
// earlier one or by a report a nurse sends as if from a monitor; an order
// not programmed within the window is on the worklist.
func testOrderStates(t *testing.T, e *Env) {
	p, first := e.baclofenOrder("L1")
	if first.OrderState() != clinic.Ordered {
		t.Fatalf("a new order is %s", first.OrderState())
	}
	// The input cannot set the state.
	forged := ContinuousRx("baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	forged.State = clinic.Verified
	e.Advance(time.Hour)
	e.must(e.Svc.Prescribe(e.Physician, p.ID, forged))
	if forged.OrderState() != clinic.Ordered {
		t.Fatalf("a prescription posted as %q is recorded %s", clinic.Verified, forged.OrderState())
	}
	o := forged
	po, err := e.Svc.PumpOrder(e.Nurse, "SN-L1")
	e.must(err)
	if po.Order == nil || po.Order.ID != o.ID || po.PatientID != p.ID || po.Review == nil || po.Review.Refused {
		t.Fatalf("the pump's order: %+v", po)
	}
	if len(e.work(clinic.WorkOrderNotProgrammed, p.ID)) != 0 {
		t.Fatal("an order is late before its window")
	}
	e.Advance(e.Svc.Settings.ProgramWindow)
	late := e.work(clinic.WorkOrderNotProgrammed, p.ID)
	if len(late) != 1 || late[0].RecordID != o.ID || late[0].Priority != clinic.High {
		t.Fatalf("an order not programmed within the window: %+v", late)
	}
	// A programmer's session programs it.
	programmedAt := e.Now()
	up := Session("SN-L1", "TP-20", programmedAt, o, pump.Prescription{})
	res, err := e.Svc.RecordSession(e.Nurse, up)
	e.must(err)
	if res.Report.State != clinic.Programmed || res.Report.Running != o.ID || res.Session.ID == 0 || res.Session.CreatedBy != "nurse.joy" {
		t.Fatalf("session: %+v, report %+v", res.Session, res.Report)
	}
	got := e.order(o.ID)
	if got.OrderState() != clinic.Programmed || got.ProgrammedBy != "nurse.joy" || got.Session != res.Session.ID || got.ProgrammedReport != res.Report.ReportID {
		t.Fatalf("the order after the session: %+v", got.OrderStatus)
	}
	if len(e.work(clinic.WorkOrderNotProgrammed, p.ID)) != 0 {
		t.Fatal("a programmed order is still late")
	}
	// The same upload again records nothing new.
	again, err := e.Svc.RecordSession(e.Nurse, Session("SN-L1", "TP-20", programmedAt, o, pump.Prescription{}))
	e.must(err)
	if !again.Duplicate || again.Session.ID != res.Session.ID || !again.Report.Duplicate {
		t.Fatalf("the session sent twice: %+v", again)
	}
	// A home monitor's report from before the programming does not verify it.
	_, err = e.Svc.Ingest(e.MonitorOf("SN-L1"), PumpReport("SN-L1", "TP-20", programmedAt.Add(-time.Minute), "home_monitor", o.Program))
	e.must(err)
	// A nurse's report posing as a home monitor's does not either.
	e.Advance(time.Hour)
	_, err = e.Svc.Ingest(e.Nurse, PumpReport("SN-L1", "TP-20", e.Now(), "home_monitor", o.Program))
	e.must(err)
	if s := e.order(o.ID).OrderState(); s != clinic.Programmed {
		t.Fatalf("after an earlier monitor report and a nurse's: %s", s)
	}
	// A monitor token reports only as a home monitor.
	_, err = e.Svc.Ingest(e.MonitorOf("SN-L1"), PumpReport("SN-L1", "TP-20", e.Now(), "programmer", o.Program))
	wantErr(t, err, clinic.EINVALID, "source")
	e.Advance(time.Hour)
	ir, err := e.Svc.Ingest(e.MonitorOf("SN-L1"), PumpReport("SN-L1", "TP-20", e.Now(), "home_monitor", o.Program))
	e.must(err)
	got = e.order(o.ID)
	if ir.State != clinic.Verified || got.OrderState() != clinic.Verified || got.VerifiedReport != ir.ReportID {
		t.Fatalf("after the monitor's report: %+v / %+v", ir, got.OrderStatus)
	}
	// The session and the order are in the patient's record.
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.Sessions) != 1 || rec.Sessions[0].OrderID != o.ID || len(rec.Sessions[0].Steps) != 3 || rec.Sessions[0].After == nil {
		t.Fatalf("sessions in the record: %+v", rec.Sessions)
	}
	// A read-only user may not record a session.
	_, err = e.Svc.RecordSession(e.ReadOnly, Session("SN-L1", "TP-20", e.Now(), o, pump.Prescription{}))
	wantErr(t, err, clinic.EFORBIDDEN, "")
}

// testReconcile: a report that differs from the order raises a critical
// prescription_mismatch naming each differing field (the pump's clock
// included) until a report shows the pump equal, or a physician records the
// pump's program as the order; another drug or concentration in the
// reservoir than the clinic's last fill is a reservoir_mismatch; a new order
// not programmed yet is no mismatch while the pump runs the one before.
func testReconcile(t *testing.T, e *Env) {
	p, o := e.baclofenOrder("L2")
	_, err := e.Svc.RecordSession(e.Nurse, Session("SN-L2", "TP-20", e.Now(), o, pump.Prescription{}))
	e.must(err)
	e.Advance(time.Hour)
	// Reprogrammed outside the clinic: another rate and bolus; the clock 10 minutes fast.
	other := o.Program
	other.Rate = other.Rate * 3 / 2
	other.PatientBolus = pump.PatientBolus{Volume: mustVol("0.02 mL"), Duration: 10 * 60 * 1000, Lockout: 4 * 3600 * 1000, MaxPer24h: 3}
	r := PumpReport("SN-L2", "TP-20", e.Now(), "home_monitor", other)
	r.Status.PumpTime = e.Now().Add(10 * time.Minute)
	ir, err := e.Svc.Ingest(e.MonitorOf("SN-L2"), r)
	e.must(err)
	fields := map[string]bool{}
	for _, d := range ir.Program {
		fields[d.Field] = true
	}
	if len(ir.Program) != 3 || !fields["program.rate"] || !fields["program.patient_bolus"] || !fields["pump_clock"] {
		t.Fatalf("differences: %+v", ir.Program)
	}
	items := e.work(clinic.WorkPrescriptionMismatch, p.ID)
	if len(items) != 1 || items[0].Priority != clinic.Urgent || items[0].RecordID != ir.ReportID ||
		!strings.Contains(items[0].Reason, "program.rate") || !strings.Contains(items[0].Reason, "pump_clock") {
		t.Fatalf("mismatch item: %+v", items)
	}
	// A report showing the order again clears it.
	e.Advance(time.Hour)
	_, err = e.Svc.Ingest(e.MonitorOf("SN-L2"), PumpReport("SN-L2", "TP-20", e.Now(), "home_monitor", o.Program))
	e.must(err)
	if items := e.work(clinic.WorkPrescriptionMismatch, p.ID); len(items) != 0 {
		t.Fatalf("a report equal to the order leaves %+v", items)
	}
	// Reprogrammed outside again, two days on (past the titration interval);
	// the physician records the pump's program as the order.
	e.Advance(48 * time.Hour)
	ir, err = e.Svc.Ingest(e.MonitorOf("SN-L2"), PumpReport("SN-L2", "TP-20", e.Now(), "home_monitor", other))
	e.must(err)
	if len(e.work(clinic.WorkPrescriptionMismatch, p.ID)) != 1 {
		t.Fatal("no mismatch item")
	}
	_, err = e.Svc.AdoptProgram(e.Nurse, ir.ReportID, clinic.AdoptInput{Reason: "the bolus was agreed at the visit"})
	wantErr(t, err, clinic.EFORBIDDEN, "")
	_, err = e.Svc.AdoptProgram(e.Physician, ir.ReportID, clinic.AdoptInput{})
	wantErr(t, err, clinic.EINVALID, "reason")
	adopted, err := e.Svc.AdoptProgram(e.Physician, ir.ReportID, clinic.AdoptInput{Reason: "the bolus was agreed at the visit", ConfirmLargeChange: true})
	e.must(err)
	if adopted.Program != other || adopted.OrderState() != clinic.Verified || adopted.FromReport != ir.ReportID {
		t.Fatalf("adopted order: %+v", adopted)
	}
	if items := e.work(clinic.WorkPrescriptionMismatch, p.ID); len(items) != 0 {
		t.Fatalf("recording the pump's program as the order leaves %+v", items)
	}
	// A new order, not programmed yet: the pump still runs the adopted one; no mismatch.
	e.Advance(48 * time.Hour)
	next, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "500 mcg/day", "spasms at night persist")
	e.must(err)
	e.Advance(time.Hour)
	ir, err = e.Svc.Ingest(e.MonitorOf("SN-L2"), PumpReport("SN-L2", "TP-20", e.Now(), "home_monitor", other))
	e.must(err)
	if len(ir.Program) != 0 || ir.Running != adopted.ID || ir.Order != next.ID || ir.State != clinic.Ordered {
		t.Fatalf("a pending order: %+v", ir)
	}
	if items := e.work(clinic.WorkPrescriptionMismatch, p.ID); len(items) != 0 {
		t.Fatalf("a pending order is a mismatch: %+v", items)
	}
	// The reservoir holds morphine by the pump's record.
	e.Advance(time.Hour)
	r = PumpReport("SN-L2", "TP-20", e.Now(), "home_monitor", other)
	r.Status.Drug, r.Status.Concentration = "morphine", mustConc("10 mg/mL")
	ir, err = e.Svc.Ingest(e.MonitorOf("SN-L2"), r)
	e.must(err)
	res := e.work(clinic.WorkReservoirMismatch, p.ID)
	if len(ir.Reservoir) != 2 || len(res) != 1 || res[0].Priority != clinic.Urgent || !strings.Contains(res[0].Reason, "reservoir.concentration") {
		t.Fatalf("reservoir mismatch: %+v %+v", ir.Reservoir, res)
	}
}

// testOwnToken: a clinician's own programmer token acts as the clinician,
// cannot make another token, and stops working once the clinician is
// disabled.
func testOwnToken(t *testing.T, e *Env) {
	pw, err := e.Svc.Bootstrap(context.Background(), "root")
	e.must(err)
	_, secret, _, err := e.Svc.Login(context.Background(), clinic.Credentials{Username: "root", Password: pw})
	e.must(err)
	ap, _, err := e.Svc.Authenticate(context.Background(), secret)
	e.must(err)
	admin := clinic.NewContext(context.Background(), ap)
	name, role, long := "Nurse Ode", clinic.Nurse, "a long enough password"
	nu, err := e.Svc.CreateUser(admin, clinic.UserInput{Username: "ode", Name: &name, Role: &role, Password: &long})
	e.must(err)
	_, _, err = e.Svc.CreateOwnToken(admin, "programmer")
	wantErr(t, err, clinic.EFORBIDDEN, "")
	nurse := clinic.NewContext(context.Background(), &clinic.Principal{UserID: nu.ID, Name: "ode", Role: clinic.Nurse})
	_, _, err = e.Svc.CreateOwnToken(nurse, "")
	wantErr(t, err, clinic.EINVALID, "name")
	tok, tsecret, err := e.Svc.CreateOwnToken(nurse, "programmer")
	e.must(err)
	tp, err := e.Svc.AuthenticateToken(context.Background(), tsecret)
	e.must(err)
	if tp.UserID != nu.ID || tp.Name != "ode" || tp.Role != clinic.Nurse || tp.TokenID != tok.ID {
		t.Fatalf("the token's principal: %+v", tp)
	}
	_, _, err = e.Svc.CreateOwnToken(clinic.NewContext(context.Background(), tp), "another")
	wantErr(t, err, clinic.EFORBIDDEN, "")
	dis := true
	_, err = e.Svc.UpdateUser(admin, nu.ID, clinic.UserInput{Disabled: &dis, Version: nu.Version})
	e.must(err)
	_, err = e.Svc.AuthenticateToken(context.Background(), tsecret)
	wantErr(t, err, clinic.EUNAUTHORIZED, "")
}

// testAlarmToldTwice: an alarm raise told by the home monitor and by a
// programmer, each dating it by its own clock, is one alarm.
func testAlarmToldTwice(t *testing.T, e *Env) {
	p, o := e.baclofenOrder("L3")
	e.Advance(time.Hour)
	r := PumpReport("SN-L3", "TP-20", e.Now(), "home_monitor", o.Program)
	r.Status.ActiveAlarms = []string{"OCCLUSION"}
	r.Alarms = []clinic.ReportAlarm{{Code: "OCCLUSION", RaisedAt: e.Now().Add(-30 * time.Minute)}}
	first, err := e.Svc.Ingest(e.MonitorOf("SN-L3"), r)
	e.must(err)
	e.Advance(time.Minute)
	r2 := PumpReport("SN-L3", "TP-20", e.Now(), "programmer", o.Program)
	r2.Status.ActiveAlarms = []string{"OCCLUSION"}
	r2.Alarms = []clinic.ReportAlarm{{Code: "OCCLUSION", RaisedAt: e.Now().Add(-31*time.Minute - 2*time.Second)}}
	second, err := e.Svc.Ingest(e.Nurse, r2)
	e.must(err)
	if len(first.Alarms) != 1 || len(second.Alarms) != 0 || len(e.work(clinic.WorkCriticalAlarm, p.ID)) != 1 {
		t.Fatalf("one raise told twice: %v then %v; items %+v", first.Alarms, second.Alarms, e.work(clinic.WorkCriticalAlarm, p.ID))
	}
}
