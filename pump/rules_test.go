package pump

import (
	"errors"
	"testing"

	"github.com/thecal/thecal/unit"
)

const halfMLPerDay = unit.MillilitrePerDay / 2

// Rule 1: the core is integer; see TestCoreHasNoFloatingPoint in purity_test.go.

// Rule 2: delivery tracks the program within one stroke, over any horizon.
func TestRule2DeliveryTracksProgramWithinOneStroke(t *testing.T) {
	for _, rate := range []unit.Rate{MinRate, halfMLPerDay, 700_000, 333_333, 2_400_000, MaxRate} {
		cfg := defaultConfig()
		cfg.Model = TP40
		r := filled(t, cfg, ml(40))
		r.program(t0, continuous(rate, min(MaxRate.Over(unit.Day), (rate.Over(unit.Day)/StrokeVolume+1)*StrokeVolume)))
		// Sample many instants over 5 years (before the battery's end of service at
		// these rates) without letting the reservoir empty.
		horizon := 5 * 365 * unit.Day
		step := horizon / 997
		if rate >= 2_400_000 {
			horizon, step = 30*unit.Day, 30*unit.Day/997
		}
		for k := unit.Duration(1); k <= 997; k++ {
			now := t0.Add(k * step)
			r.run(now)
			if r.p.Reservoir() < ml(5) {
				r.fill(now, ml(40)) // a refill does not restart the program
			}
			programmed := rate.Over(now.Sub(t0))
			got := r.p.Status().Delivered
			if d := programmed - got; d < 0 || d >= StrokeVolume {
				t.Fatalf("rate %s at %s: programmed %s, delivered %s", rate, now.Sub(t0), programmed, got)
			}
		}
	}
}

// Rule 2 for boluses: a bolus delivers exactly its volume, one stroke of basal aside.
func TestRule2BolusDeliversItsVolume(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(2))
	r.program(t0, rx)
	start := r.at(unit.Day)
	r.must(start, func(now unit.Time) error { return r.p.ClinicianBolus(now, ml(0.0375), 7*unit.Minute) })
	before := r.p.Status().Delivered
	end := start.Add(10 * unit.Minute)
	r.run(end)
	programmed := ml(0.0375) + halfMLPerDay.Over(10*unit.Minute)
	got := r.p.Status().Delivered - before
	if d := programmed - got; d < -StrokeVolume || d > StrokeVolume {
		t.Fatalf("programmed %s, delivered %s", programmed, got)
	}
	ends := r.events(EvClinicianBolusEnd)
	if len(ends) != 1 || ends[0].A != int64(ml(0.0375)) || ends[0].Reason != ReasonCompleted {
		t.Fatalf("bolus end %+v", ends)
	}
	// 0.0375 mL over 7 min: the bolus ends within a millisecond of 7 minutes.
	if d := ends[0].At.Sub(start); d < 7*unit.Minute || d > 7*unit.Minute+unit.Millisecond {
		t.Fatalf("bolus took %s", d)
	}
}

// Rule 3: volume not delivered while stopped, stalled, occluded or empty is never made up.
func TestRule3NeverCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interrupt func(r *rig, at unit.Time)
		resume    func(r *rig, at unit.Time)
	}{
		{"stopped", func(r *rig, at unit.Time) { r.must(at, r.p.Stop) }, func(r *rig, at unit.Time) { r.must(at, r.p.Resume) }},
		{"stalled", func(r *rig, at unit.Time) { r.run(at); r.stall = true }, func(r *rig, at unit.Time) { r.run(at); r.stall = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
			tc.interrupt(r, r.at(2*unit.Day))
			tc.resume(r, r.at(5*unit.Day))
			atResume := r.p.Status().Delivered
			r.run(r.at(6 * unit.Day))
			// One day after the interruption ends: at most one day's volume, and the
			// first stroke after the resume comes no earlier than a full stroke interval.
			if got := r.p.Status().Delivered - atResume; got > halfMLPerDay.Over(unit.Day)+StrokeVolume {
				t.Fatalf("after resuming delivered %s in a day: caught up", got)
			}
			if got := r.p.Status().Delivered; got > halfMLPerDay.Over(3*unit.Day)+2*StrokeVolume {
				t.Fatalf("delivered %s over 3 running days", got)
			}
		})
	}
}

// Rule 3 for an empty reservoir: the volume missed while empty is not delivered after the refill.
func TestRule3NoCatchUpAfterEmpty(t *testing.T) {
	r := filled(t, defaultConfig(), ml(1.5))
	r.program(t0, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(10 * unit.Day))
	if got := r.p.Status().Delivered; got != ml(1) {
		t.Fatalf("delivered %s before empty, want 1 mL", got)
	}
	r.fill(r.at(10*unit.Day), ml(20))
	r.run(r.at(11 * unit.Day))
	if got := r.p.Status().Delivered; got != ml(1.5) {
		t.Fatalf("delivered %s a day after refill, want 1.5 mL", got)
	}
}

// Rule 4: programming whose basal could exceed max_24h is rejected.
func TestRule4CapRejectsBasalOverCap(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(700_001, ml(0.7))
	err := r.do(t0, func(now unit.Time) error { return r.p.Program(now, NewProgram(rx, Hash{})) })
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "max_24h" {
		t.Fatalf("got %v, want max_24h refusal", err)
	}
	// A weekly flex whose Saturday-to-Sunday window is higher than any calendar day.
	flex := Prescription{Mode: ModeFlex, Weekly: true, FlexSteps: 3, Max24h: ml(0.7), Drug: "morphine", Concentration: 1,
		Flex: [MaxFlexSteps]FlexStep{
			{At: 0, Rate: 400_000, Days: AllDays},
			{At: 12 * unit.Hour, Rate: 1_000_000, Days: 1 << 6}, // Saturday afternoon
			{At: 0, Rate: 1_000_000, Days: 1 << 0},              // Sunday morning... all Sunday
		}}
	flex.Flex[0].Days = AllDays &^ (1 << 0)
	if err := flex.Validate(TP20); err == nil {
		t.Fatal("weekly schedule with a 1.0 mL window under a 0.7 mL cap was accepted")
	}
	flex.Max24h = ml(1)
	if err := flex.Validate(TP20); err != nil {
		t.Fatalf("same schedule under a 1.0 mL cap: %v", err)
	}
}

// Rule 4: the executor refuses strokes over max_24h (defence in depth), logged as a fault.
func TestRule4ExecutorRefusesStrokeOverCap(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.7))
	rx.PatientBolus = PatientBolus{Volume: ml(0.4), Duration: unit.Hour, Lockout: unit.Hour, MaxPer24h: 2}
	r.program(t0, rx)
	r.must(r.at(unit.Day+12*unit.Hour), r.p.Stop)
	r.must(r.at(2*unit.Day), r.p.Resume)
	// At day 2 06:00 the window holds 6 h + 6 h of basal (0.25 mL): a 0.4 mL bolus fits.
	why := ReasonNone
	r.must(r.at(2*unit.Day+6*unit.Hour), func(now unit.Time) error { var err error; why, err = r.p.PatientBolus(now); return err })
	if why != ReasonNone {
		t.Fatalf("bolus refused: %s", why)
	}
	// From day 2 12:00 nothing leaves the window (the stop) while basal adds: the
	// window reaches 0.7 mL and the executor refuses strokes until the bolus leaves.
	r.run(r.at(3*unit.Day + 12*unit.Hour))
	if len(r.events(EvCapFault)) == 0 || !r.p.Alarms().Has(DailyCap) {
		t.Fatal("no cap fault")
	}
	r.checkCap(t, ml(0.7))
}

// checkCap verifies from the recorded stroke times that no rolling 24 h window
// holds more than cap.
func (r *rig) checkCap(t *testing.T, cap unit.Volume) {
	t.Helper()
	n := int(cap / StrokeVolume)
	for i := n; i < len(r.times); i++ {
		if r.times[i].Sub(r.times[i-n]) < unit.Day {
			t.Fatalf("%d strokes within 24 h ending %s", n+1, r.times[i])
		}
	}
}

// Rule 4: a new, lower cap never pauses a basal rate that fits it.
func TestRule4NewLowerCapDoesNotPauseBasal(t *testing.T) {
	r := running(t, defaultConfig(), continuous(unit.MillilitrePerDay, ml(1)))
	r.program(r.at(2*unit.Day), continuous(300_000, ml(0.3)))
	r.run(r.at(3 * unit.Day))
	if n := len(r.events(EvCapFault)); n != 0 {
		t.Fatalf("%d cap faults under a basal that fits the new cap", n)
	}
	if got := r.p.Status().Delivered; got != ml(2.3) {
		t.Fatalf("delivered %s, want 2.3 mL", got)
	}
}

// Rule 5: alarms are raised at the stroke that crosses the threshold.
func TestRule5ReservoirAlarmsOnTime(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(40 * unit.Day))
	// 18 mL at 0.5 mL/day: 36 days; 19.5 mL: 39 days. Strokes fall exactly on those instants.
	if got, want := r.raised(LowReservoir), r.at(36*unit.Day); got != want {
		t.Errorf("LOW_RESERVOIR at %s, want %s", got, want)
	}
	if got, want := r.raised(EmptyReservoir), r.at(39*unit.Day); got != want {
		t.Errorf("EMPTY_RESERVOIR at %s, want %s", got, want)
	}
}

// Rule 6: a prescription is accepted only whole, with the right checksum and the
// hash of the one it replaces, and stored before it takes effect.
func TestRule6ValidatedAtomicProgramming(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	old := r.p.Status().RxHash
	next := continuous(unit.MillilitrePerDay, ml(1.2))
	cases := []struct {
		name string
		cmd  Program
		want error
	}{
		{"stale hash", NewProgram(next, Hash{1}), ErrHashMismatch},
		{"bad checksum", Program{Rx: next, Checksum: Checksum(&next) ^ 1, Replaces: old}, ErrChecksum},
		{"field out of range", NewProgram(continuous(30*unit.MillilitrePerDay, ml(1.2)), old), nil},
	}
	for _, tc := range cases {
		r.persist()
		err := r.p.Program(r.p.now, tc.cmd)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if r.p.Status().RxHash != old || len(r.p.Writes()) != 0 {
			t.Errorf("%s: refused program changed state or memory", tc.name)
		}
	}
	if err := r.p.Program(r.p.now, NewProgram(next, old)); err != nil {
		t.Fatal(err)
	}
	// Stored before it takes effect: the write is pending before any stroke runs.
	if len(r.p.Writes()) == 0 {
		t.Fatal("program took effect with nothing to store")
	}
	r.persist()
	p2, err := Restore(r.cfg, r.nvm[:], NewLog(), r.p.now)
	if err != nil || p2.Status().RxHash != HashOf(&next) {
		t.Fatalf("stored prescription does not restore: %v", err)
	}
}
