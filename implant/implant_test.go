package implant

import (
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// A clinician fills, programs, interrogates and reads the log; the patient
// gets a bolus, then is refused in the lockout and told when the next one is
// possible. Every step is in the event log with who did it.
func TestClinicianAndPatientSessions(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre)) // 0.5 mL/day
	if _, err := f.do(f.w.clinician, telemetry.Refill{Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: rx.Concentration}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.program(rx, false)
	if err != nil {
		t.Fatal(err)
	}
	ack := resp.(*telemetry.Ack)
	var prog Record
	for _, r := range f.im.Records(ack.Seq) {
		prog = r
		break
	}
	if prog.Kind != Kind(pump.EvProgram) || prog.Serial != 101 || prog.Role != pump.RoleClinician {
		t.Errorf("Ack.Seq %d is %v, want the PROGRAM record, attributed to clinician #101", ack.Seq, prog)
	}
	st := f.core()
	if st.RxHash != pump.HashOf(&rx) || !st.Delivering {
		t.Fatalf("core runs %+v", st)
	}

	// Interrogate and the log, pipelined.
	var status Status
	var recs []Record
	f.session(f.w.clinician, func(c *telemetry.Client) {
		rs, err := c.DoAll(ctx(t), telemetry.Interrogate{}, telemetry.ReadLog{From: 1})
		if err != nil {
			t.Fatal(err)
		}
		if status, err = ConsumeStatus(rs[0].(*telemetry.Status).Data); err != nil {
			t.Fatal(err)
		}
		l := rs[1].(*telemetry.Log)
		if recs, err = ConsumeRecords(l.Entries); err != nil {
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
		if r.Kind == Kind(pump.EvSessionStart) {
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
	var res [2]*telemetry.BolusResult
	for i := range res {
		if i > 0 {
			f.clock.Advance(30 * unit.Minute) // the first bolus (10 minutes) is over
		}
		r, err := f.do(f.w.patient, telemetry.PatientBolus{})
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r.(*telemetry.BolusResult)
	}
	if !res[0].Given || res[0].Volume != 25*unit.Microlitre || res[0].Reason != "" {
		t.Errorf("first bolus %+v", res[0])
	}
	if res[1].Given || res[1].Reason != "lockout" || res[1].Next.Sub(res[0].Next) != 0 || res[1].Next <= t0 {
		t.Errorf("second bolus %+v (first %+v)", res[1], res[0])
	}
	f.mustLog(Kind(pump.EvPatientBolusStart), nil)
	r := f.mustLog(Kind(pump.EvPatientBolusRefused), nil)
	if r.Reason != pump.ReasonLockout {
		t.Errorf("refusal %v", r)
	}
}

// Programming over a prescription the programmer has not seen is a conflict;
// an invalid prescription is rejected with the core's field and reason; a
// request whose decoded prescription differs from what the programmer built
// fails the core's checksum. All are in the log, none changes the pump.
func TestProgramRefusals(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	before := f.core().RxHash

	stale := rx
	stale.Rate = 600 * unit.Rate(unit.Microlitre)
	b, _ := AppendProgram(nil, ProgramRequest{Rx: stale})
	_, err := f.do(f.w.clinician, telemetry.NewProgram(pump.Hash{}, b))
	if !errors.Is(err, telemetry.ErrConflict) {
		t.Errorf("stale hash: %v", err)
	}
	bad := rx
	bad.Rate = 2 * unit.MillilitrePerHour
	if _, err := f.program(bad, false); !errors.Is(err, telemetry.ErrRejected) || !strings.Contains(err.Error(), "rate") {
		t.Errorf("invalid prescription: %v", err)
	}
	// A program request whose checksum does not match its prescription.
	b, _ = AppendProgram(nil, ProgramRequest{Rx: stale})
	b[len(b)-1] ^= 1
	if _, err := f.do(f.w.clinician, telemetry.NewProgram(before, b)); !errors.Is(err, telemetry.ErrRejected) {
		t.Errorf("checksum: %v", err)
	}
	// Bytes that are no program request at all.
	if _, err := f.do(f.w.clinician, telemetry.NewProgram(before, []byte{9, 9, 9})); !errors.Is(err, telemetry.ErrRejected) {
		t.Errorf("garbage: %v", err)
	}
	if f.core().RxHash != before {
		t.Error("a refused program changed the prescription")
	}
	reasons := map[pump.Reason]bool{}
	for _, r := range f.records(Kind(pump.EvProgramRefused)) {
		reasons[r.Reason] = true
	}
	for _, want := range []pump.Reason{pump.ReasonHashMismatch, pump.ReasonInvalid, pump.ReasonChecksum} {
		if !reasons[want] {
			t.Errorf("no PROGRAM_REFUSED %v in the log", want)
		}
	}
	f.mustLog(KindCommand, telemetry.ErrRejected) // the garbage never reached the core
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
	check := func(req telemetry.Request, want error) {
		t.Helper()
		if _, err := f.do(f.w.clinician, req); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%v: %v, want %v", req.Kind(), err, want)
		}
	}
	check(telemetry.Prime{Volume: 100 * unit.Microlitre}, telemetry.ErrRejected) // not this pump's priming volume
	check(telemetry.Prime{Volume: 360 * unit.Microlitre}, nil)
	check(telemetry.ClinicianBolus{Volume: 50 * unit.Microlitre, Duration: unit.Hour}, telemetry.ErrRejected) // priming runs
	check(telemetry.SetClock{Time: t0.Add(unit.Hour), UTCOffset: 2 * unit.Hour}, nil)
	check(telemetry.Acknowledge{Alarm: "NO_SUCH_ALARM"}, telemetry.ErrRejected)
	check(telemetry.Acknowledge{Alarm: "ALL"}, nil)
	check(telemetry.SilenceTone{}, nil)
	check(telemetry.Stop{}, nil)
	if !f.core().Alarms.Has(pump.PumpStopped) {
		t.Error("a session closed with the pump stopped did not raise PUMP_STOPPED")
	}
	check(telemetry.Resume{}, nil)
	check(telemetry.SetMinimumRate{}, nil)
	st := f.core()
	if st.Rx.Mode != pump.ModeMinimum || st.Rx.Drug != "morphine" || st.Rx.PatientBolus.Volume != 0 || st.Alarms.Has(pump.PumpStopped) {
		t.Errorf("after minimum rate: %+v", st)
	}
	if st.UTCOffset != 2*unit.Hour {
		t.Errorf("UTC offset %v", st.UTCOffset)
	}
	f.mustLog(Kind(pump.EvPrimeStart), nil)
	f.mustLog(Kind(pump.EvClinicianBolusRefused), nil)
	f.mustLog(KindClockSkew, nil)
	f.mustLog(Kind(pump.EvSetClock), nil)
	f.mustLog(Kind(pump.EvStop), nil)
	f.mustLog(Kind(pump.EvResume), nil)
	if r := f.mustLog(KindCommand, nil); telemetry.Kind(r.A) != telemetry.KindPrime || r.Serial != 101 {
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
	rep := f.session(f.w.monitor, func(c *telemetry.Client) { c.Do(ctx(t), telemetry.ReadStatus{}) })
	var now unit.Time
	f.im.Do(func(d *device.Device, t unit.Time) error { after, now = d.Core.Battery(), t; return nil })
	end := f.mustLog(Kind(pump.EvSessionEnd), nil)
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
		f.do(f.w.monitor, telemetry.ReadStatus{})
	}
	all := f.im.Records(0)
	var got []Record
	from := uint64(0)
	f.session(f.w.clinician, func(c *telemetry.Client) {
		for i := 0; i < 1000; i++ {
			r, err := c.Do(ctx(t), telemetry.ReadLog{From: from, MaxBytes: 64})
			if err != nil {
				t.Fatal(err)
			}
			l := r.(*telemetry.Log)
			if len(l.Entries) > 64 {
				t.Fatalf("page of %d bytes", len(l.Entries))
			}
			rs, err := ConsumeRecords(l.Entries)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rs...)
			from = l.Next
			if !l.More {
				return
			}
		}
	})
	if len(got) < len(all) {
		t.Fatalf("read %d records, log had %d", len(got), len(all))
	}
	for i := range all {
		if got[i] != all[i] {
			t.Fatalf("record %d: got %v, want %v", i, got[i], all[i])
		}
	}
}
