package implant

import (
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// A clinician fills, programs, interrogates and reads the log; the patient
// gets a bolus, then is refused in the lockout and told when the next one is
// possible. Every step is in the event log with who did it.
func TestClinicianAndPatientSessions(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre)) // 0.5 mL/day
	if _, err := f.do(f.w.clinician, pump.Refill{Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: rx.Concentration}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.program(rx, false)
	if err != nil {
		t.Fatal(err)
	}
	ack := resp.(*pumpwire.Ack)
	var prog pumpwire.Record
	for _, r := range f.im.Records(ack.Seq) {
		prog = r
		break
	}
	if prog.Kind != pumpwire.RecordKind(pump.EvProgram) || prog.Serial != 101 || prog.Role != pump.RoleClinician {
		t.Errorf("Ack.Seq %d is %v, want the PROGRAM record, attributed to clinician #101", ack.Seq, prog)
	}
	st := f.core()
	if st.RxHash != pump.HashOf(&rx) || !st.Delivering {
		t.Fatalf("core runs %+v", st)
	}

	// Interrogate and the log, pipelined.
	var status pumpwire.Status
	var recs []pumpwire.Record
	f.session(f.w.clinician, func(c *telemetry.Client) {
		rs, err := c.DoAll(ctx(t), pump.Interrogate{}, pump.ReadLog{From: 1})
		if err != nil {
			t.Fatal(err)
		}
		status = *rs[0].(*pumpwire.Status)
		l := rs[1].(*pumpwire.Log)
		if recs, err = pumpwire.ConsumeRecords(l.Entries); err != nil {
			t.Fatal(err)
		}
		if l.More || l.Next != recs[len(recs)-1].Seq+1 {
			t.Errorf("log next %d more %v after %d records", l.Next, l.More, len(recs))
		}
	})
	if status.Rx != rx || status.RxHash != pump.HashOf(&rx) || status.Reservoir != 20*unit.Millilitre ||
		status.LastFill != 20*unit.Millilitre || status.RxSince != prog.At || status.PrimingVolume != 360*unit.Microlitre {
		t.Errorf("status %+v", status)
	}
	var starts int
	for _, r := range recs {
		if r.Kind == pumpwire.RecordKind(pump.EvSessionStart) {
			starts++
			if r.Serial != 101 || r.Name != "Dr. A. Ruiz" || telemetry.WakeKind(r.A) != telemetry.WakeContact {
				t.Errorf("session start not annotated with the peer: %v", r)
			}
		}
	}
	if starts != 3 {
		t.Errorf("%d SESSION_START records, want 3 (refill, program, interrogation)", starts)
	}

	// The patient: one bolus, then the lockout.
	var res [2]*pumpwire.BolusResult
	for i := range res {
		if i > 0 {
			f.clock.Advance(30 * unit.Minute) // the first bolus (10 minutes) is over
		}
		r, err := f.do(f.w.patient, pump.PatientActivation{})
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r.(*pumpwire.BolusResult)
	}
	if !res[0].Given() || res[0].Volume != 25*unit.Microlitre || res[0].Reason != pump.ReasonNone {
		t.Errorf("first bolus %+v", res[0])
	}
	if res[1].Given() || res[1].Reason != pump.ReasonLockout || res[1].Next.Sub(res[0].Next) != 0 || res[1].Next <= t0 {
		t.Errorf("second bolus %+v (first %+v)", res[1], res[0])
	}
	f.mustLog(pumpwire.RecordKind(pump.EvPatientBolusStart), nil)
	r := f.mustLog(pumpwire.RecordKind(pump.EvPatientBolusRefused), nil)
	if r.Reason != pump.ReasonLockout {
		t.Errorf("refusal %v", r)
	}
}

// Programming over a prescription the programmer has not seen is a conflict;
// an invalid prescription is rejected with the core's field and reason; a
// program whose prescription differs from what the programmer checksummed
// fails the core's checksum. All are in the log, none changes the pump. (A
// program whose bytes do not decode never reaches the device: telemetry's
// TestPumpRoleAndUnknownCommand.)
func TestProgramRefusals(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	before := f.core().RxHash

	stale := rx
	stale.Rate = 600 * unit.Rate(unit.Microlitre)
	_, err := f.do(f.w.clinician, pump.NewProgram(stale, pump.Hash{}))
	if !errors.Is(err, telemetry.ErrConflict) {
		t.Errorf("stale hash: %v", err)
	}
	bad := rx
	bad.Rate = 2 * unit.MillilitrePerHour
	if _, err := f.program(bad, false); !errors.Is(err, telemetry.ErrRejected) || !strings.Contains(err.Error(), "rate") {
		t.Errorf("invalid prescription: %v", err)
	}
	// A program whose checksum does not match its prescription.
	p := pump.NewProgram(stale, before)
	p.Checksum ^= 1
	if _, err := f.do(f.w.clinician, p); !errors.Is(err, telemetry.ErrRejected) {
		t.Errorf("checksum: %v", err)
	}
	if f.core().RxHash != before {
		t.Error("a refused program changed the prescription")
	}
	reasons := map[pump.Reason]bool{}
	for _, r := range f.records(pumpwire.RecordKind(pump.EvProgramRefused)) {
		reasons[r.Reason] = true
	}
	for _, want := range []pump.Reason{pump.ReasonHashMismatch, pump.ReasonInvalid, pump.ReasonChecksum} {
		if !reasons[want] {
			t.Errorf("no PROGRAM_REFUSED %v in the log", want)
		}
	}
}

// Every other clinician command reaches the core; refusals carry the core's
// reason; the virtual refill fills the simulated reservoir.
func TestCommandsReachTheCore(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	if f.im.dev.HW.Reservoir != 20*unit.Millilitre {
		t.Errorf("simulated reservoir %v after the refill", f.im.dev.HW.Reservoir)
	}
	check := func(req pump.Command, want error) {
		t.Helper()
		if _, err := f.do(f.w.clinician, req); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%v: %v, want %v", req.Kind(), err, want)
		}
	}
	check(pump.Prime{Volume: 100 * unit.Microlitre}, telemetry.ErrRejected) // not this pump's priming volume
	check(pump.Prime{Volume: 360 * unit.Microlitre}, nil)
	check(pump.ClinicianBolus{Volume: 50 * unit.Microlitre, Duration: unit.Hour}, telemetry.ErrRejected) // priming runs
	check(pump.SetClock{SenderClock: t0.Add(unit.Hour), UTCOffset: 2 * unit.Hour}, nil)
	check(pump.Acknowledge{Alarm: pump.MotorStall}, nil) // not raised: nothing to acknowledge
	check(pump.Acknowledge{}, nil)
	check(pump.SilenceTone{}, nil)
	check(pump.Stop{}, nil)
	if !f.core().Alarms.Has(pump.PumpStopped) {
		t.Error("a session closed with the pump stopped did not raise PUMP_STOPPED")
	}
	check(pump.Resume{}, nil)
	check(pump.SetMinimumRate{}, nil)
	st := f.core()
	if st.Rx.Mode != pump.ModeMinimum || st.Rx.Drug != "morphine" || st.Rx.PatientBolus.Volume != 0 || st.Alarms.Has(pump.PumpStopped) {
		t.Errorf("after minimum rate: %+v", st)
	}
	if st.UTCOffset != 2*unit.Hour {
		t.Errorf("UTC offset %v", st.UTCOffset)
	}
	f.mustLog(pumpwire.RecordKind(pump.EvPrimeStart), nil)
	f.mustLog(pumpwire.RecordKind(pump.EvClinicianBolusRefused), nil)
	f.mustLog(pumpwire.RecClockSkew, nil)
	f.mustLog(pumpwire.RecordKind(pump.EvSetClock), nil)
	f.mustLog(pumpwire.RecordKind(pump.EvStop), nil)
	f.mustLog(pumpwire.RecordKind(pump.EvResume), nil)
	if r := f.mustLog(pumpwire.RecCommand, nil); pump.CommandKind(r.A) != pump.CmdPrime || r.Serial != 101 {
		t.Errorf("first COMMAND record %v", r)
	}
}

// Radio time is charged to the battery: an authenticated session by the
// core's CloseSession, an unauthenticated connection by a drain.
func TestRadioTimeChargedToBattery(t *testing.T) {
	f := newFixture(t)
	var before, after unit.Charge
	var start unit.Time
	f.im.Do(func(d *device.Device, now unit.Time) error { before, start = d.Core.Battery(), now; return nil })
	rep := f.session(f.w.monitor, func(c *telemetry.Client) { c.Do(ctx(t), pump.ReadStatus{}) })
	var now unit.Time
	f.im.Do(func(d *device.Device, t unit.Time) error { after, now = d.Core.Battery(), t; return nil })
	end := f.mustLog(pumpwire.RecordKind(pump.EvSessionEnd), nil)
	if unit.Duration(end.A) != rep.Radio || rep.Radio <= 0 {
		t.Errorf("SESSION_END radio %v, session report %v", unit.Duration(end.A), rep.Radio)
	}
	drop := before - after
	radio := pump.RadioCurrent.Over(rep.Radio)
	// Besides the radio: quiescent drain and the PUMP_STOPPED tone of a pump
	// with no prescription.
	other := pump.QuiescentCurrent.Over(now.Sub(start)) + pump.ToneCharge
	if drop < radio || drop > radio+other {
		t.Errorf("battery dropped %d for a session of %v (radio %d, other %d)", drop, rep.Radio, radio, other)
	}
}

// The log is served in pages that fit MaxBytes, contiguous, from any point.
func TestReadLogPages(t *testing.T) {
	f := newFixture(t)
	f.ready(morphine(500 * unit.Rate(unit.Microlitre)))
	for range 20 {
		f.do(f.w.monitor, pump.ReadStatus{})
	}
	f.readsBack(64)
}

// TestDispatchCoversTheTable walks the pump's command table: every command a
// peer may send reaches the core and is answered with the message the table
// names (or the core's own refusal), never as unknown or as an internal
// error. A command added to the table that the implant could not answer
// fails here.
func TestDispatchCoversTheTable(t *testing.T) {
	f := newFixture(t)
	f.ready(morphine(500 * unit.Rate(unit.Microlitre)))
	ids := []struct {
		role pump.Role
		id   telemetry.Identity
	}{{pump.RoleClinician, f.w.clinician}, {pump.RolePatient, f.w.patient}, {pump.RoleMonitor, f.w.monitor}, {pump.RoleEmergency, f.w.emergency}}
	for _, s := range pump.Commands() {
		if s.Roles == pump.ByDevice {
			continue
		}
		for _, x := range ids {
			if !s.Roles.Has(x.role) {
				continue
			}
			resp, err := f.do(x.id, s.Zero)
			switch {
			case errors.Is(err, telemetry.ErrUnknownCommand), errors.Is(err, telemetry.ErrInternal), errors.Is(err, telemetry.ErrForbidden):
				t.Errorf("%v by %v: %v", s.Kind, x.role, err)
			case err != nil && !errors.Is(err, telemetry.ErrRejected) && !errors.Is(err, telemetry.ErrConflict):
				t.Errorf("%v by %v: %v, not the core's refusal", s.Kind, x.role, err)
			case err == nil && resp.Kind() != pumpwire.ResponseKind(s.Kind):
				t.Errorf("%v by %v answered %v, the table says %v", s.Kind, x.role, resp.Kind(), pumpwire.ResponseKind(s.Kind))
			}
		}
	}
}
