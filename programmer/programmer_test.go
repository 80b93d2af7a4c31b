package programmer

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/implant/implanttest"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

var lib = drug.Default()

// bench is a pump and a programmer in session with it.
type bench struct {
	t   *testing.T
	p   *implanttest.Pump
	out *bytes.Buffer
	pr  *Programmer
	yes bool
}

func newBench(t *testing.T) *bench {
	b := &bench{t: t, p: implanttest.New(t, implanttest.Config()), out: &bytes.Buffer{}, yes: true}
	b.open()
	return b
}

// open starts a clinician session (after a contact wake).
func (b *bench) open() {
	b.t.Helper()
	b.p.Idle()
	b.p.Wake(telemetry.WakeContact)
	s, err := Open(ctx(b.t), b.p.Peer(b.p.Keys.Clinician))
	if err != nil {
		b.t.Fatal(err)
	}
	b.pr = &Programmer{S: s, Lib: lib, Out: b.out, Confirm: func(string) bool { return b.yes }, Clock: b.p.Clock.Now}
}

// reopen closes the session (leaving the pump stopped if it is) and opens another.
func (b *bench) reopen() {
	b.t.Helper()
	if err := b.pr.S.Close(true); err != nil {
		b.t.Fatal(err)
	}
	b.open()
}

// close ends the session and waits for the pump to record its end.
func (b *bench) close() {
	b.t.Helper()
	if err := b.pr.S.Close(false); err != nil {
		b.t.Fatal(err)
	}
	b.p.Idle()
}

func (b *bench) status() pumpwire.Status { return b.pr.S.Status() }

// fill records a first fill of 20 mL and programs morphine at rate with a
// patient bolus.
func (b *bench) morphine(rate unit.Rate) {
	b.t.Helper()
	if _, err := b.pr.Refill(ctx(b.t), typed("morphine", 10*unit.MilligramPerMillilitre, 0, 20*unit.Millilitre)); err != nil {
		b.t.Fatal(err)
	}
	b.pr.Reason = "opioid-tolerant patient, converted from oral morphine"
	_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Rate: rate, Bolus: &pump.PatientBolus{Volume: 25 * unit.Microlitre,
		Duration: 10 * unit.Minute, Lockout: 2 * unit.Hour, MaxPer24h: 4}})
	if err != nil {
		b.t.Fatalf("%v\n%s", err, b.out)
	}
	b.pr.Reason = ""
	b.out.Reset()
}

// typed is a refill as the nurse types it: the drug and concentration
// from the vial, typed a second time.
func typed(drugName string, c unit.Concentration, withdrawn, added unit.Volume) RefillInput {
	return RefillInput{Withdrawn: withdrawn, Added: added, Drug: drugName, Concentration: c, ConfirmDrug: drugName, ConfirmConcentration: c}
}

func (b *bench) records(k pumpwire.RecordKind) int {
	n := 0
	for _, r := range b.p.Im.Records(0) {
		if r.Kind == k {
			n++
		}
	}
	return n
}

// A change is shown old beside new, in volume and mass per day, and the pump
// runs exactly what was shown.
func TestChangeShowsOldAndNewAndPrograms(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	b.pr.Reason = "pain not controlled at 5 mg/day"
	c, err := b.pr.ChangePrescription(ctx(t), Edit{Dose: 6 * unit.DoseRate(unit.MassIn(1, unit.Milligram))})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.out)
	}
	out := b.out.String()
	for _, want := range []string{"current", "new", "0.5 mL = 5 mg", "0.6 mL = 6 mg", "0.025 mL = 0.25 mg over 10m",
		"most per day", "change: daily dose 5 mg/day → 6 mg/day (+20%)", "Drug library: no findings.", "Programmed: the pump stored"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := b.status().Rx; got != c.New || got.Rate != 600*unit.Rate(unit.Microlitre) {
		t.Errorf("pump runs %+v", got)
	}
	if c.New.Max24h != 700*unit.Microlitre { // 0.6 mL basal + 4 × 0.025 mL
		t.Errorf("cap %v", c.New.Max24h)
	}
}

// What the library refuses, what needs a reason, what the clinician does not
// confirm, what the reservoir does not hold and what the pump itself would
// refuse: nothing is sent.
func TestChangeRefusals(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	programs := b.records(pumpwire.RecordKind(pump.EvProgram))
	mcg := func(n int64) unit.DoseRate { return unit.DoseRate(unit.MassIn(n, unit.Microgram)) }

	// 21 mg/day: over the soft limit, and more than a 50% change.
	over := Edit{Rate: 2100 * unit.Rate(unit.Microlitre), Max24h: 3 * unit.Millilitre}
	var le *therapy.LargeChangeError
	if _, err := b.pr.ChangePrescription(ctx(t), over); !errors.As(err, &le) {
		t.Errorf("a large change without its second confirmation: %v", err)
	}
	// --yes does not give the second confirmation; the flag does.
	b.pr.ConfirmLargeChange = true
	if _, err := b.pr.ChangePrescription(ctx(t), over); !errors.Is(err, drug.ErrReasonRequired) {
		t.Errorf("without a reason: %v", err)
	}
	// Not confirmed.
	b.yes, b.pr.Reason = false, "cancer pain escalating, palliative"
	if _, err := b.pr.ChangePrescription(ctx(t), over); !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("not confirmed: %v", err)
	}
	b.yes = true
	// Another drug than the reservoir holds (H2).
	if _, err := b.pr.ChangePrescription(ctx(t), Edit{Drug: "baclofen", Concentration: 2 * unit.MilligramPerMillilitre, Dose: mcg(300)}); !errors.Is(err, ErrReservoirMismatch) {
		t.Errorf("other drug: %v", err)
	}
	// A rate the pump cannot run.
	if _, err := b.pr.ChangePrescription(ctx(t), Edit{Rate: 2 * unit.MillilitrePerHour}); !errors.Is(err, ErrPumpWouldRefuse) {
		t.Errorf("too fast: %v", err)
	}
	// A basal over the cap the clinician gives.
	if _, err := b.pr.ChangePrescription(ctx(t), Edit{Rate: unit.MillilitrePerDay, Max24h: 500 * unit.Microlitre}); !errors.Is(err, ErrPumpWouldRefuse) {
		t.Errorf("over the cap: %v", err)
	}
	if n := b.records(pumpwire.RecordKind(pump.EvProgram)); n != programs {
		t.Errorf("%d programs sent", n-programs)
	}
}

// A hard limit of the library refuses: ziconotide's starting dose is at most
// 2.4 mcg/day.
func TestChangeHardLimitRefused(t *testing.T) {
	b := newBench(t)
	if _, err := b.pr.Refill(ctx(t), typed("ziconotide", 25*unit.MicrogramPerMillilitre, 0, 20*unit.Millilitre)); err != nil {
		t.Fatal(err)
	}
	b.pr.Reason = "the patient insists"
	_, err := b.pr.ChangePrescription(ctx(t), Edit{Drug: "ziconotide", Concentration: 25 * unit.MicrogramPerMillilitre,
		Dose: unit.DoseRate(unit.MassIn(5, unit.Microgram))})
	if !errors.Is(err, drug.ErrRefused) {
		t.Fatalf("over the hard starting limit: %v", err)
	}
	if !strings.Contains(b.out.String(), "refused") || b.status().HasRx {
		t.Errorf("refusal not shown, or sent:\n%s", b.out)
	}
}

// Programming over a prescription that changed since the interrogation is a
// conflict the pump refuses.
func TestChangeConflict(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	stale := b.pr
	b.reopen()
	b.pr.Reason = "titration"
	if _, err := b.pr.ChangePrescription(ctx(t), Edit{Rate: 550 * unit.Rate(unit.Microlitre)}); err != nil {
		t.Fatal(err)
	}
	b.close()
	b.p.Wake(telemetry.WakeContact)
	// The first programmer's session is gone; a new one with its stale view:
	s2, err := Open(ctx(t), b.p.Peer(b.p.Keys.Clinician))
	if err != nil {
		t.Fatal(err)
	}
	s2.status = stale.S.Status()
	stale.S = s2
	stale.Reason = "titration"
	if _, err := stale.ChangePrescription(ctx(t), Edit{Rate: 600 * unit.Rate(unit.Microlitre)}); !errors.Is(err, telemetry.ErrConflict) {
		t.Errorf("stale program: %v", err)
	}
	if b.p.Status().Rx.Rate != 550*unit.Rate(unit.Microlitre) {
		t.Error("the stale program replaced the new prescription")
	}
}

// The session refuses to end while the pump is stopped unless the clinician
// says so; the pump raises PUMP_STOPPED when it ends stopped anyway.
func TestCloseRefusedWhileStopped(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	if err := b.pr.Stop(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.pr.S.Close(false); !errors.Is(err, ErrLeftStopped) {
		t.Fatalf("close while stopped: %v", err)
	}
	// The session is still open: resume, and it closes.
	if err := b.pr.Resume(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.pr.S.Close(false); err != nil {
		t.Fatalf("close after resume: %v", err)
	}
	b.open()
	b.pr.Stop(ctx(t))
	if err := b.pr.S.Close(true); err != nil {
		t.Fatal(err)
	}
	b.p.Idle()
	var alarms pump.Alarms
	b.p.Core(func(c *pump.Pump) { alarms = c.Alarms() })
	if !alarms.Has(pump.PumpStopped) {
		t.Error("no PUMP_STOPPED after a session left the pump stopped")
	}
}

// The refill workflow: the discrepancy check, a flagged discrepancy needing a
// reason, and a change of concentration reprogrammed with the same daily dose
// after a bridge.
func TestRefillWorkflow(t *testing.T) {
	b := newBench(t)
	b.morphine(unit.MillilitrePerDay)
	b.close()
	b.p.Clock.Advance(10 * unit.Day)
	b.open()
	st := b.status()
	if st.Reservoir > 10*unit.Millilitre+pump.StrokeVolume || st.Reservoir < 9*unit.Millilitre {
		t.Fatalf("reservoir %v after 10 days at 1 mL/day", st.Reservoir)
	}
	// 3 mL less than expected: a possible pocket fill at the last refill.
	in := typed("morphine", 10*unit.MilligramPerMillilitre, st.Reservoir-3*unit.Millilitre, 20*unit.Millilitre)
	if _, err := b.pr.Refill(ctx(t), in); !errors.Is(err, drug.ErrReasonRequired) {
		t.Fatalf("flagged discrepancy without a reason: %v\n%s", err, b.out)
	}
	if !strings.Contains(b.out.String(), "possible pocket fill") {
		t.Errorf("no warning:\n%s", b.out)
	}
	// As expected, a stronger solution, 20 mg/mL, as the physician ordered
	// (the clinic's record), the change confirmed.
	b.out.Reset()
	b.pr.Reason = "stronger solution to lengthen the refill interval"
	b.pr.Order = drug.Product{Drug: "morphine", Concentration: 20 * unit.MilligramPerMillilitre}
	b.pr.ConfirmConcentrationChange = true
	in = typed("morphine", 20*unit.MilligramPerMillilitre, st.Reservoir, 20*unit.Millilitre)
	plan, err := b.pr.Refill(ctx(t), in)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.out)
	}
	if plan.Check.Flag != therapy.WithinLimit || plan.Change == nil || !plan.Change.Bridge || plan.Bridge == nil {
		t.Fatalf("plan %+v", plan)
	}
	after := b.status()
	if !after.Bridging || after.Rx.Concentration != 20*unit.MilligramPerMillilitre || after.Rx.Rate != 500*unit.Rate(unit.Microlitre) ||
		after.Rx.PatientBolus.Volume != 12500*unit.Nanolitre || after.FillConc != 20*unit.MilligramPerMillilitre {
		t.Errorf("after the refill: %+v", after)
	}
	out := b.out.String()
	for _, want := range []string{"discrepancy", "within the limit", "morphine 10 mg/mL → morphine 20 mg/mL (2× stronger), as a physician ordered",
		"Bridge: the old morphine in tubing and catheter, 0.36 mL = 3.6 mg at 10 mg/mL", "Patient boluses are locked out during the bridge: for 8h38m", "Next refill due"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b.records(pumpwire.RecordKind(pump.EvBridgeStart)) != 1 {
		t.Error("no BRIDGE_START")
	}
}

// Priming, clinician bolus, minimum rate, acknowledgement and clock.
func TestOtherWorkflows(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	if err := b.pr.Prime(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !b.status().Priming || !strings.Contains(b.out.String(), "0.36 mL = 3.6 mg") {
		t.Errorf("priming: %+v\n%s", b.status(), b.out)
	}
	b.close()
	b.p.Clock.Advance(unit.Hour)
	b.open()
	if err := b.pr.ClinicianBolus(ctx(t), 100*unit.Microlitre, unit.Hour); err != nil {
		t.Fatalf("%v\n%s", err, b.out)
	}
	if !strings.Contains(b.out.String(), "0.1 mL = 1 mg over 1h") {
		t.Errorf("bolus output:\n%s", b.out)
	}
	// The minimum rate is a cut of 90%: a large change, confirmed.
	b.pr.ConfirmLargeChange = true
	if err := b.pr.MinimumRate(ctx(t)); err != nil {
		t.Fatalf("%v\n%s", err, b.out)
	}
	if st := b.status(); st.Rx.Mode != pump.ModeMinimum {
		t.Errorf("mode %v", st.Rx.Mode)
	}
	if err := b.pr.SetClock(ctx(t), 2*unit.Hour, "Africa/Cairo"); err != nil {
		t.Fatal(err)
	}
	if st := b.status(); st.UTCOffset != 2*unit.Hour {
		t.Errorf("offset %v", st.UTCOffset)
	}
	if err := b.pr.Acknowledge(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// The post-MRI check finds the stall and its recovery in the log, says how
// long delivery stopped, and acknowledges MOTOR_STALL once the motor runs.
func TestMRICheck(t *testing.T) {
	b := newBench(t)
	b.morphine(unit.MillilitrePerDay)
	b.close()
	b.p.Device(func(d *device.Device, now unit.Time) { d.HW.Stall(now.Add(40 * unit.Minute)) })
	b.p.Clock.Advance(20 * unit.Minute)
	b.open()
	if err := b.pr.MRICheck(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.out.String(), "has not recovered") || !b.status().Alarms.Has(pump.MotorStall) {
		t.Errorf("during the stall:\n%s", b.out)
	}
	b.close()
	b.p.Clock.Advance(2 * unit.Hour)
	b.open()
	b.out.Reset()
	if err := b.pr.MRICheck(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if out := b.out.String(); !strings.Contains(out, "recovered at") || !strings.Contains(out, "not made up") {
		t.Errorf("after the stall:\n%s", out)
	}
	if b.status().Alarms.Has(pump.MotorStall) {
		t.Error("MOTOR_STALL not acknowledged")
	}
}

func TestZoneOffset(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	off, ch := ZoneOffset(paris, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC), DSTWarning)
	if off != unit.Hour || ch == nil || !ch.At.Equal(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)) || ch.Offset != 2*unit.Hour {
		t.Errorf("March: %v %+v", off, ch)
	}
	if off, ch := ZoneOffset(paris, time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC), DSTWarning); off != unit.Hour || ch != nil {
		t.Errorf("January: %v %+v", off, ch)
	}
	lhi, _ := time.LoadLocation("Australia/Lord_Howe") // a half-hour change
	if _, ch := ZoneOffset(lhi, time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), DSTWarning); ch == nil || ch.Offset != 10*unit.Hour+30*unit.Minute {
		t.Errorf("Lord Howe: %+v", ch)
	}
}

func TestWriteStatus(t *testing.T) {
	b := newBench(t)
	b.morphine(500 * unit.Rate(unit.Microlitre))
	var out bytes.Buffer
	WriteStatus(&out, lib, 4001, b.status())
	for _, want := range []string{"DELIVERING", "morphine 10 mg/mL, continuous 0.5 mL/day", "0.5 mL = 5 mg basal", "next bolus", "reservoir", "20 mL estimated", "alarms", "none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	WriteLog(&out, b.p.Im.Records(0), Local(b.status()))
	if !strings.Contains(out.String(), "SESSION_START") || !strings.Contains(out.String(), "PROGRAM") {
		t.Errorf("log:\n%s", out.String())
	}
}
