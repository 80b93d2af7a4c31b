package pump

import (
	"errors"
	"testing"

	"github.com/thecal/thecal/unit"
)

func TestModeStoppedDeliversNothingAndSessionRaisesPumpStopped(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	at := r.at(unit.Day)
	r.must(at, func(now unit.Time) error { return r.p.OpenSession(now, RoleClinician) })
	r.must(at, r.p.Stop)
	before := r.p.Status().Delivered
	r.must(at, func(now unit.Time) error { return r.p.CloseSession(now, 2*unit.Minute) })
	if r.raised(PumpStopped) != at {
		t.Fatal("a session closed with the pump stopped did not raise PUMP_STOPPED")
	}
	r.run(r.at(3 * unit.Day))
	if r.p.Status().Delivered != before {
		t.Fatal("a stopped pump delivered")
	}
	// PUMP_STOPPED keeps sounding (hourly) until delivery resumes.
	_, non := r.p.Tones()
	if non < 48 {
		t.Fatalf("only %d non-critical tones in 2 days stopped", non)
	}
	r.must(r.at(3*unit.Day), r.p.Resume)
	if r.p.Alarms().Has(PumpStopped) {
		t.Fatal("PUMP_STOPPED still raised after resume")
	}
	// A prescription in stopped mode is the same: nothing, and the alarm on session close.
	r2 := running(t, defaultConfig(), Prescription{Mode: ModeStopped, Drug: "morphine", Concentration: 1})
	r2.must(t0, func(now unit.Time) error { return r2.p.OpenSession(now, RoleClinician) })
	r2.must(t0, func(now unit.Time) error { return r2.p.CloseSession(now, unit.Minute) })
	r2.run(r2.at(2 * unit.Day))
	if r2.p.Status().Delivered != 0 || !r2.p.Alarms().Has(PumpStopped) {
		t.Fatal("stopped mode delivered or did not raise PUMP_STOPPED")
	}
}

func TestModeContinuousStrokeSpacing(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	// 0.5 mL/day is 1000 strokes a day, one every 86.4 s exactly.
	if len(r.times) != 1000 {
		t.Fatalf("%d strokes in a day", len(r.times))
	}
	for i, tm := range r.times {
		if want := t0.Add(unit.Duration(i+1) * 86400); tm != want {
			t.Fatalf("stroke %d at %s, want %s", i, tm, want)
		}
	}
}

func flexRx(weekly bool, steps ...FlexStep) Prescription {
	rx := Prescription{Mode: ModeFlex, Weekly: weekly, FlexSteps: len(steps), Max24h: ml(2), Drug: "morphine", Concentration: 1}
	copy(rx.Flex[:], steps)
	return rx
}

func TestModeFlexDaily(t *testing.T) {
	cfg := defaultConfig()
	cfg.UTCOffset = 3*unit.Hour + 30*unit.Minute
	r := filled(t, cfg, ml(20))
	// 0.6 mL/day from 08:00 to 22:00 local, 0.4 otherwise: 0.6×14/24 + 0.4×10/24 = 0.51667 mL/day.
	r.program(t0, flexRx(false, FlexStep{At: 8 * unit.Hour, Rate: 600_000, Days: AllDays}, FlexStep{At: 22 * unit.Hour, Rate: 400_000, Days: AllDays}))
	if got := r.p.Status().Basal; got != 600_000 {
		t.Fatalf("at 11:30 local the basal is %s, want 0.6 mL/day", got)
	}
	r.run(r.at(10*unit.Hour + 30*unit.Minute - unit.Millisecond)) // 21:59:59.999 local
	if got := r.p.Status().Basal; got != 600_000 {
		t.Fatalf("before 22:00 local the basal is %s", got)
	}
	r.run(r.at(10*unit.Hour + 30*unit.Minute))
	if got := r.p.Status().Basal; got != 400_000 {
		t.Fatalf("at 22:00 local the basal is %s, want 0.4 mL/day", got)
	}
	before := r.p.Status().Delivered
	r.run(r.at(10*unit.Day + 10*unit.Hour + 30*unit.Minute))
	want := unit.Volume(10 * (600_000*14 + 400_000*10) / 24)
	if d := want - (r.p.Status().Delivered - before); d < 0 || d >= StrokeVolume {
		t.Fatalf("10 days delivered %s, want %s", r.p.Status().Delivered-before, want)
	}
}

func TestModeFlexWeeklyDayMask(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	// Weekdays 0.5 mL/day; Saturday and Sunday 1.0 mL/day (t0 is Monday 08:00 UTC).
	weekdays := uint8(0b0111110)
	r.program(t0, flexRx(true, FlexStep{At: 0, Rate: 500_000, Days: weekdays}, FlexStep{At: 0, Rate: 1_000_000, Days: AllDays &^ weekdays}))
	r.run(r.at(7 * unit.Day))
	want := unit.Volume(5*500_000 + 2*1_000_000)
	if d := want - r.p.Status().Delivered; d < 0 || d >= StrokeVolume {
		t.Fatalf("a week delivered %s, want %s", r.p.Status().Delivered, want)
	}
	if got := (weekOffset(r.at(5*unit.Day-8*unit.Hour), 0)) / unit.Day; got != 6 {
		t.Fatalf("t0+5d-8h should be Saturday 00:00, weekday %d", got)
	}
}

func TestModeFlexSixteenSteps(t *testing.T) {
	var steps []FlexStep
	for i := range MaxFlexSteps {
		steps = append(steps, FlexStep{At: unit.Duration(i) * 90 * unit.Minute, Rate: unit.Rate(100_000 + 50_000*i), Days: AllDays})
	}
	rx := flexRx(false, steps...)
	if err := rx.Validate(TP20); err != nil {
		t.Fatal(err)
	}
	rx.FlexSteps = MaxFlexSteps + 1
	if err := rx.Validate(TP20); err == nil {
		t.Fatal("17 steps accepted")
	}
	rx.FlexSteps = MaxFlexSteps
	r := running(t, defaultConfig(), rx)
	r.run(r.at(unit.Day))
	var want unit.Volume
	for _, s := range steps {
		want += s.Rate.Over(90 * unit.Minute)
	}
	if d := want - r.p.Status().Delivered; d < 0 || d >= StrokeVolume {
		t.Fatalf("a day of 16 steps delivered %s, want %s", r.p.Status().Delivered, want)
	}
}

func TestModeMinimumRate(t *testing.T) {
	r := running(t, defaultConfig(), Prescription{Mode: ModeMinimum, Max24h: ml(0.048), Drug: "baclofen", Concentration: 1})
	r.run(r.at(10 * unit.Day))
	if got := r.p.Status().Delivered; got != ml(0.48) {
		t.Fatalf("10 days at minimum rate delivered %s, want 0.48 mL", got)
	}
}

func TestModeClinicianBolusRespectsMaxRate(t *testing.T) {
	r := running(t, defaultConfig(), continuous(4*unit.MillilitrePerDay, ml(10)))
	// 4 mL/day basal + 0.5 mL over 30 min (24 mL/day) exceeds 24 mL/day.
	if err := r.do(r.at(unit.Hour), func(now unit.Time) error { return r.p.ClinicianBolus(now, ml(0.5), 30*unit.Minute) }); !errors.Is(err, ErrMaxRate) {
		t.Fatalf("got %v, want ErrMaxRate", err)
	}
	r.must(r.at(unit.Hour), func(now unit.Time) error { return r.p.ClinicianBolus(now, ml(0.5), unit.Hour) })
	if err := r.do(r.at(unit.Hour+unit.Minute), func(now unit.Time) error { return r.p.ClinicianBolus(now, ml(0.1), unit.Hour) }); !errors.Is(err, ErrBolusActive) {
		t.Fatalf("second bolus: %v", err)
	}
}

func TestModePrimingBolus(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.5))
	r.program(t0, rx)
	r.must(t0, r.p.Prime)
	// 0.25 mL tubing + 50 cm × 0.0022 mL/cm = 0.36 mL, at 1 mL/h: 21.6 min.
	r.run(t0.Add(21*unit.Minute + 36*unit.Second))
	ends := r.events(EvPrimeEnd)
	if len(ends) != 1 || ends[0].At != t0.Add(21*unit.Minute+36*unit.Second) || ends[0].A != int64(ml(0.36)) {
		t.Fatalf("prime end %+v", ends)
	}
	if got := r.p.Status().Delivered; got != ml(0.36) {
		t.Fatalf("priming delivered %s", got)
	}
	// Priming is excluded from max_24h: the full 0.5 mL/day basal follows under a 0.5 mL cap.
	r.run(t0.Add(unit.Day + 21*unit.Minute + 36*unit.Second))
	if got := r.p.Status().Delivered; got != ml(0.86) || len(r.events(EvCapFault)) != 0 {
		t.Fatalf("after priming + 1 day delivered %s with %d cap faults", got, len(r.events(EvCapFault)))
	}
}

func TestModeBridgeRunsOldRateThenNew(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	at := r.at(10 * unit.Day)
	r.must(at, func(now unit.Time) error {
		return r.p.Refill(now, Refill{Withdrawn: ml(15), Added: ml(20), Drug: "morphine", Concentration: 25 * unit.MilligramPerMillilitre})
	})
	next := continuous(200_000, ml(0.3))
	next.Concentration = 25 * unit.MilligramPerMillilitre
	r.must(at, func(now unit.Time) error { return r.p.Bridge(now, NewProgram(next, r.p.Status().RxHash)) })
	// 0.36 mL at the old 0.5 mL/day: 0.72 days.
	r.run(at.Add(unit.Day))
	ends := r.events(EvBridgeEnd)
	wantEnd := at.Add(unit.Duration(0.72 * float64(unit.Day)))
	if len(ends) != 1 || ends[0].At != wantEnd {
		t.Fatalf("bridge end %+v, want at %s", ends, wantEnd)
	}
	if got := r.p.Status().Basal; got != 200_000 {
		t.Fatalf("after the bridge the basal is %s", got)
	}
	if r.p.Status().RxHash != HashOf(&next) {
		t.Fatal("the new prescription is not the one of record")
	}
}

func TestModePatientBolusLockoutCountAndCap(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.6))
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 3}
	r.program(t0, rx)
	press := func(at unit.Time) Reason {
		var why Reason
		r.must(at, func(now unit.Time) error { var err error; why, err = r.p.PatientBolus(now); return err })
		return why
	}
	base := r.at(2 * unit.Day)
	steps := []struct {
		at   unit.Duration
		want Reason
	}{
		{0, ReasonNone},
		{5 * unit.Minute, ReasonBolusActive},
		{3 * unit.Hour, ReasonLockout},
		{4*unit.Hour - unit.Millisecond, ReasonLockout},
		{4 * unit.Hour, ReasonNone}, // exactly at the end of the lockout: allowed
		{8 * unit.Hour, ReasonNone},
		{12 * unit.Hour, ReasonMaxCount},
		{24 * unit.Hour, ReasonNone}, // the first has left the 24 h window
	}
	for _, s := range steps {
		if got := press(base.Add(s.at)); got != s.want {
			t.Errorf("press at +%s: got %q, want %q", s.at, got, s.want)
		}
	}
	if n := len(r.events(EvPatientBolusRefused)); n != 4 {
		t.Errorf("%d refusals logged, want 4", n)
	}
	// Refused presses do not count: 4 given, 4 refused, and the count cap counted only given ones.
	if n := len(r.events(EvPatientBolusStart)); n != 4 {
		t.Errorf("%d boluses given, want 4", n)
	}
	// max_24h: basal 0.5 in the window + 0.02 per bolus; a cap of 0.53 allows one bolus, not two.
	r2 := filled(t, defaultConfig(), ml(20))
	rx.Max24h = ml(0.53)
	rx.PatientBolus.Lockout = 20 * unit.Minute
	r2.program(t0, rx)
	r2.run(r2.at(2 * unit.Day))
	var whys []Reason
	for _, d := range []unit.Duration{0, 30 * unit.Minute} {
		r2.must(r2.at(2*unit.Day+d), func(now unit.Time) error { w, err := r2.p.PatientBolus(now); whys = append(whys, w); return err })
	}
	if whys[0] != ReasonNone || whys[1] != ReasonMax24h {
		t.Fatalf("got %v, want [none max_24h]", whys)
	}
}

func TestModePatientBolusRefusedWhenStoppedOrInAlarm(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.7))
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}
	r.program(t0, rx)
	r.must(r.at(unit.Hour), r.p.Stop)
	if why, _ := r.p.PatientBolus(r.at(unit.Hour)); why != ReasonStopped {
		t.Fatalf("stopped: %s", why)
	}
	r.must(r.at(2*unit.Hour), r.p.Resume)
	r.stall = true
	r.run(r.at(3 * unit.Hour))
	if why, _ := r.p.PatientBolus(r.at(3 * unit.Hour)); why != ReasonAlarm {
		t.Fatalf("stalled: %s", why)
	}
}

// A second bridge while one runs is refused: the old program lives in the other
// memory slot, which it would overwrite (a campaign finding).
func TestModeBridgeRefusedDuringABridge(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	next := continuous(200_000, ml(0.3))
	r.must(r.at(unit.Day), func(now unit.Time) error { return r.p.Bridge(now, NewProgram(next, r.p.Status().RxHash)) })
	other := continuous(300_000, ml(0.4))
	err := r.do(r.at(unit.Day+unit.Hour), func(now unit.Time) error { return r.p.Bridge(now, NewProgram(other, r.p.Status().RxHash)) })
	if !errors.Is(err, ErrBridge) {
		t.Fatalf("second bridge: %v", err)
	}
}

// Stall retries wait while the pump is also stopped (a campaign finding).
func TestModeStallRetriesWaitWhileStopped(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	r.stall = true
	r.run(r.at(unit.Day + 10*unit.Minute))
	r.must(r.at(unit.Day+10*unit.Minute), r.p.Stop)
	r.stall = false
	before := r.p.Status().Delivered
	r.run(r.at(2 * unit.Day))
	if r.p.Status().Delivered != before || len(r.events(EvMotorStallRecovery)) != 0 {
		t.Fatal("a stopped pump ran its stall retry")
	}
}

// PUMP_STOPPED guards a clinician leaving a programmed pump stopped; a patient's
// session or a pump never programmed raises nothing.
func TestModePumpStoppedOnlyForClinicSessionsOnProgrammedPumps(t *testing.T) {
	r := newRig(t, defaultConfig())
	r.must(t0, func(now unit.Time) error { return r.p.OpenSession(now, RoleClinician) })
	r.must(t0, func(now unit.Time) error { return r.p.CloseSession(now, unit.Minute) })
	if r.p.Alarms().Has(PumpStopped) {
		t.Fatal("a factory pump raised PUMP_STOPPED")
	}
	r.fill(t0, ml(20))
	r.program(t0, continuous(halfMLPerDay, ml(0.7)))
	r.must(t0, r.p.Stop)
	r.must(t0, func(now unit.Time) error { return r.p.OpenSession(now, RolePatient) })
	r.must(t0, func(now unit.Time) error { return r.p.CloseSession(now, 10*unit.Second) })
	if r.p.Alarms().Has(PumpStopped) {
		t.Fatal("a patient's session raised PUMP_STOPPED")
	}
	r.must(t0, func(now unit.Time) error { return r.p.OpenSession(now, RoleEmergency) })
	r.must(t0, func(now unit.Time) error { return r.p.CloseSession(now, unit.Minute) })
	if !r.p.Alarms().Has(PumpStopped) {
		t.Fatal("an emergency stop session left no PUMP_STOPPED")
	}
}
