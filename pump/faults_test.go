package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

func TestReservoirEstimateAndRefillClearsAlarms(t *testing.T) {
	r := filled(t, defaultConfig(), ml(3))
	r.program(t0, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(2*unit.Day + unit.Hour))
	if !r.p.Alarms().Has(LowReservoir) {
		t.Fatal("no LOW_RESERVOIR at 2.0 mL")
	}
	if got := r.p.Reservoir(); got != ml(3)-halfMLPerDay.Over(2*unit.Day+unit.Hour)/StrokeVolume*StrokeVolume {
		t.Fatalf("estimate %s", got)
	}
	r.run(r.at(6 * unit.Day))
	if !r.p.Alarms().Has(EmptyReservoir) || r.p.Status().Delivering {
		t.Fatal("empty reservoir still delivering")
	}
	r.must(r.at(6*unit.Day), func(now unit.Time) error {
		return r.p.Refill(now, Refill{Withdrawn: ml(0.5), Added: ml(20), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
	})
	if r.p.Alarms().Has(EmptyReservoir) || r.p.Alarms().Has(LowReservoir) || !r.p.Status().Delivering {
		t.Fatal("refill did not clear the reservoir alarms and restart delivery")
	}
	if r.p.Reservoir() != ml(20) {
		t.Fatalf("estimate after refill %s", r.p.Reservoir())
	}
}

func TestReservoirVolumeDiscrepancyFromLevelSensor(t *testing.T) {
	cfg := sensing(false, true)
	r := newRig(t, cfg)
	actual := ml(20)
	r.level = func() unit.Volume { return actual - unit.Volume(r.strokes)*StrokeVolume }
	r.fill(t0, ml(20))
	r.program(t0, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(2 * unit.Day))
	if r.p.Alarms().Has(VolumeDiscrepancy) {
		t.Fatal("discrepancy raised with sensor agreeing")
	}
	// Pocket fill: 3 mL of the 20 mL refill went into the pocket; the post-refill check sees it.
	at := r.at(2 * unit.Day)
	actual = ml(17) + unit.Volume(r.strokes)*StrokeVolume
	r.must(at, func(now unit.Time) error {
		return r.p.Refill(now, Refill{Withdrawn: ml(19), Added: ml(20), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
	})
	r.run(at)
	if got := r.raised(VolumeDiscrepancy); got != at {
		t.Fatalf("VOLUME_DISCREPANCY at %s, want %s (the post-refill check)", got, at)
	}
}

func TestBatteryConsumptionPerDay(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(10 * unit.Day))
	// 288 µAh quiescent + 1000 strokes × 0.1 µAh = 388 µAh per day.
	if got, want := r.p.Battery(), BatteryCapacity-10*388*unit.MicroampHour; got != want {
		t.Fatalf("battery %s, want %s", got, want)
	}
}

func TestBatteryERIThenEOSNinetyDaysLater(t *testing.T) {
	cfg := defaultConfig()
	cfg.Battery = 100_000 * unit.MicroampHour
	r := running(t, cfg, continuous(halfMLPerDay, ml(0.7)))
	for d := unit.Duration(30); d <= 360 && r.raised(EOS) < 0; d += 30 {
		r.run(r.at(d * unit.Day))
		r.fill(r.at(d*unit.Day), ml(20)) // keep the reservoir off its alarms
	}
	r.run(r.at(400 * unit.Day))
	eri, eos := r.raised(ERI), r.raised(EOS)
	if eri < 0 || eos < 0 {
		t.Fatalf("ERI %s EOS %s", eri, eos)
	}
	// ERI threshold: 10,000 µAh reserve + 90 × (288 + 100 + 120) µAh = 55,720 µAh.
	if got := BatteryReserve + eriNeed(&r.p.rx); got != 55_720*unit.MicroampHour {
		t.Fatalf("ERI threshold %s", got)
	}
	// Radio sessions aside (none here but the refills, which are not sessions), EOS
	// follows ERI by 90 days to within one stroke interval (86.4 s).
	if d := eos.Sub(eri) - 90*unit.Day; d < -86400 || d > 86400 {
		t.Fatalf("EOS − ERI = %s, want 90d", eos.Sub(eri))
	}
	if r.p.Status().Delivering {
		t.Fatal("delivering after EOS")
	}
	if len(r.events(EvBatteryDepleted)) != 1 {
		t.Fatal("the reserve did not run out under EOS tones")
	}
	// Two independent computations of the ERI date agree: the closed form from
	// the starting charge, and the core's own crossing.
	perDay := 388 * unit.MicroampHour
	days := float64(cfg.Battery-55_720*unit.MicroampHour) / float64(perDay)
	if d := eri.Sub(t0) - unit.Duration(days*float64(unit.Day)); d < -unit.Hour || d > unit.Hour {
		t.Fatalf("ERI at %s, closed form says %.3f days", eri.Sub(t0), days)
	}
}

func TestMotorStallRetryRecoveryAndAcknowledge(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	r.stall = true
	r.run(r.at(unit.Day + unit.Hour))
	stall := r.raised(MotorStall)
	if want := r.at(unit.Day).Add(3 * 86400); stall != want {
		t.Fatalf("MOTOR_STALL at %s, want the third failed stroke at %s", stall, want)
	}
	r.stall = false
	r.run(r.at(unit.Day + 2*unit.Hour))
	rec := r.events(EvMotorStallRecovery)
	if len(rec) != 1 {
		t.Fatalf("%d recoveries", len(rec))
	}
	// Retries every 10 minutes from the stall: the first after the motor works again.
	if d := rec[0].At.Sub(stall); d%(10*unit.Minute) != 0 || rec[0].At < r.at(unit.Day+unit.Hour) || rec[0].At >= r.at(unit.Day+unit.Hour).Add(10*unit.Minute) {
		t.Fatalf("recovery at %s", rec[0].At)
	}
	// No catch-up: one retry stroke, then the program from the recovery.
	after := unit.Volume(0)
	for _, tm := range r.times {
		if tm > rec[0].At {
			after += StrokeVolume
		}
	}
	if want := halfMLPerDay.Over(r.at(unit.Day+2*unit.Hour).Sub(rec[0].At)) / StrokeVolume * StrokeVolume; after != want {
		t.Fatalf("after recovery %s, want %s", after, want)
	}
	if !r.p.Alarms().Has(MotorStall) {
		t.Fatal("the stall was not kept flagged after recovery")
	}
	r.must(r.at(unit.Day+2*unit.Hour), func(now unit.Time) error { return r.p.Acknowledge(now, MotorStall) })
	if r.p.Alarms().Has(MotorStall) {
		t.Fatal("acknowledge did not clear a recovered stall")
	}
}

func TestOcclusionStopsUntilResume(t *testing.T) {
	cfg := sensing(true, false)
	r := running(t, cfg, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	r.press = 150 * unit.Kilopascal
	r.run(r.at(2 * unit.Day))
	if got, want := r.raised(Occlusion), r.at(unit.Day).Add(5*86400); got != want {
		t.Fatalf("OCCLUSION at %s, want the fifth high stroke at %s", got, want)
	}
	if r.p.Status().Delivering {
		t.Fatal("delivering while occluded")
	}
	r.press = 20 * unit.Kilopascal
	r.run(r.at(3 * unit.Day))
	if r.p.Status().Delivering {
		t.Fatal("an occlusion stop ended without a clinician")
	}
	r.must(r.at(3*unit.Day), r.p.Resume)
	if r.p.Alarms().Has(Occlusion) || !r.p.Status().Delivering {
		t.Fatal("resume did not clear the occlusion")
	}
}

func TestCatheterIntegrityLowPressure(t *testing.T) {
	cfg := sensing(true, false)
	r := running(t, cfg, continuous(halfMLPerDay, ml(0.7)))
	r.press = 500 * unit.Pascal
	r.run(r.at(unit.Day))
	if got, want := r.raised(CatheterIntegrity), t0.Add(LeakStrokes*86400); got != want {
		t.Fatalf("CATHETER_INTEGRITY at %s, want %s", got, want)
	}
	if !r.p.Status().Delivering {
		t.Fatal("a non-critical alarm stopped delivery")
	}
}

func TestCriticalAndNonCriticalTones(t *testing.T) {
	r := filled(t, defaultConfig(), ml(2.6))
	r.program(t0, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(10 * unit.Day))
	// LOW at 2.0 mL (day 1.2), EMPTY at 0.5 mL (day 4.2). Non-critical: one tone at
	// the raise and one every 60 min; critical: one at the raise and every 10 min.
	low, empty := r.raised(LowReservoir), r.raised(EmptyReservoir)
	crit, non := r.p.Tones()
	wantNon := int64(r.at(10*unit.Day).Sub(low)/NonCriticalTonePeriod) + 1
	wantCrit := int64(r.at(10*unit.Day).Sub(empty)/CriticalTonePeriod) + 1
	if crit != wantCrit || non != wantNon {
		t.Fatalf("tones %d critical, %d non-critical; want %d, %d", crit, non, wantCrit, wantNon)
	}
}

func TestEventLogRingHoldsAtLeast2048(t *testing.T) {
	l := NewLog()
	for i := range 3 * LogSize {
		l.add(Entry{At: unit.Time(i), Kind: EvInterrogate})
	}
	if LogSize < 2048 {
		t.Fatal("log too small")
	}
	got := l.Since(0, nil)
	if len(got) != LogSize || got[0].Seq != uint64(2*LogSize+1) || got[len(got)-1].Seq != uint64(3*LogSize) {
		t.Fatalf("ring holds %d entries from %d", len(got), got[0].Seq)
	}
	if got := l.Since(uint64(3*LogSize-4), nil); len(got) != 5 {
		t.Fatalf("since: %d entries", len(got))
	}
}

// TestTickNeverSpinsWhileHeld forces the state no command sequence reaches — a
// stroke due, the accumulator full, delivery held, a rate left running — and
// checks Tick still returns and nothing is delivered (hazard H19).
func TestTickNeverSpinsWhileHeld(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Hour))
	p := r.p
	p.running = false
	p.rate, p.acc, p.nextStroke = halfMLPerDay, 5*strokeScaled, p.now
	before := p.Status().Delivered
	for i := 0; ; i++ {
		if a := p.Tick(r.at(2 * unit.Hour)); a.Kind == ActNone {
			break
		} else if a.Kind == ActStroke {
			t.Fatal("a stroke while delivery is held")
		} else {
			p.LevelRead(p.Reservoir())
		}
		if i > 100 {
			t.Fatal("Tick keeps returning actions at one instant")
		}
	}
	if p.Status().Delivered != before || p.acc != 0 {
		t.Fatal("held pump delivered or kept its accrual")
	}
}
