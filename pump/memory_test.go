package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

// TestMemoryPowerLossAtEveryByteOfEveryWrite cuts the power at every byte of
// every persistent-memory write of a programming sequence: the pump restarts
// with the old or the new prescription, never a mix, and never without one.
func TestMemoryPowerLossAtEveryByteOfEveryWrite(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rxs := []Prescription{continuous(halfMLPerDay, ml(0.7)), continuous(unit.MillilitrePerDay, ml(1.2)),
		flexRx(false, FlexStep{At: 0, Rate: 300_000, Days: AllDays}, FlexStep{At: 12 * unit.Hour, Rate: 600_000, Days: AllDays}),
		continuous(200_000, ml(0.3))}
	r.program(t0, rxs[0])
	cuts := 0
	for i := 1; i < len(rxs); i++ {
		now := r.at(unit.Duration(i) * unit.Hour)
		r.run(now)
		old := HashOf(&rxs[i-1])
		before := r.nvm // persistent memory before the command
		if err := r.p.Program(now, NewProgram(rxs[i], old)); err != nil {
			t.Fatal(err)
		}
		writes := append([]Write(nil), r.p.Writes()...)
		img := *r.p.Image()
		// Apply the writes in order; cut the power at every byte of each.
		mem := before
		for _, w := range writes {
			for k := 0; k <= w.Len; k++ {
				cut := mem
				copy(cut[w.Off:w.Off+k], img[w.Off:w.Off+k])
				p, err := Restore(r.cfg, cut[:], NewLog(), now)
				if err != nil {
					t.Fatal(err)
				}
				st := p.Status()
				if !st.HasRx || (st.RxHash != old && st.RxHash != HashOf(&rxs[i])) {
					t.Fatalf("program %d, write at %d cut after %d bytes: prescription %x is neither old nor new (alarms %b)", i, w.Off, k, st.RxHash[:4], st.Alarms)
				}
				if st.Alarms.Has(MemoryError) {
					t.Fatalf("memory error after a cut at byte %d", k)
				}
				cuts++
			}
			copy(mem[w.Off:w.Off+w.Len], img[w.Off:w.Off+w.Len])
		}
		r.persist()
		p, _ := Restore(r.cfg, r.nvm[:], NewLog(), now)
		if p.Status().RxHash != HashOf(&rxs[i]) {
			t.Fatal("completed write does not restore the new prescription")
		}
	}
	if cuts < 600 {
		t.Fatalf("only %d cuts", cuts)
	}
}

func TestMemoryErrorWhenNoValidSlot(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.program(t0, continuous(400_000, ml(0.7)))
	img := r.nvm
	img[rxBase+10] ^= 0xff
	img[rxBase+rxSlot+10] ^= 0xff
	p, err := Restore(r.cfg, img[:], NewLog(), r.at(unit.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alarms().Has(MemoryError) || p.Status().Delivering {
		t.Fatal("no MEMORY_ERROR, or delivering, with both prescription slots corrupt")
	}
	// One good slot is enough: the newest valid one wins.
	img = r.nvm
	img[rxBase+rxSlot+10] ^= 0xff // the second program went to slot 1
	p, _ = Restore(r.cfg, img[:], NewLog(), r.at(unit.Hour))
	if p.Alarms().Has(MemoryError) || p.Status().Rx.Rate != halfMLPerDay {
		t.Fatalf("with slot 1 corrupt the pump should run slot 0's 0.5 mL/day, runs %s", p.Status().Rx.Rate)
	}
}

// TestResetCountsTimeSinceCheckpointAtHighestRate checks the conservative reset:
// the estimate errs low, by at most an hour of delivery at the highest rate.
func TestResetCountsTimeSinceCheckpointAtHighestRate(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(1))
	rx.PatientBolus = PatientBolus{Volume: ml(0.1), Duration: 30 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 6}
	r.program(t0, rx)
	at := r.at(unit.Day + 50*unit.Minute) // 50 min after the last hourly checkpoint
	r.run(at)
	truth := r.p.Reservoir()
	p, err := Restore(r.cfg, r.nvm[:], r.log, at)
	if err != nil {
		t.Fatal(err)
	}
	est := p.Reservoir()
	if est > truth {
		t.Fatalf("estimate after reset %s is above the truth %s", est, truth)
	}
	// Highest rate: 0.5 mL/day basal + 0.1 mL per 30 min = 5.3 mL/day; 50 min of it.
	worst := unit.Rate(halfMLPerDay + 4_800_000).Over(50 * unit.Minute)
	if truth-est > worst+StrokeVolume {
		t.Fatalf("estimate %s errs low by %s, more than 50 min at the highest rate (%s)", est, truth-est, worst)
	}
	if len(r.events(EvReset)) != 1 {
		t.Fatal("no RESET in the log")
	}
	// The lockout survives a reset: a bolus given before it still locks out after it.
	r2 := running(t, defaultConfig(), rx)
	r2.must(r2.at(unit.Hour), func(now unit.Time) error { _, err := r2.p.PatientBolus(now); return err })
	p2, _ := Restore(r2.cfg, r2.nvm[:], r2.log, r2.at(unit.Hour+10*unit.Minute))
	if why, _ := p2.PatientBolus(r2.at(unit.Hour + 10*unit.Minute)); why != ReasonLockout {
		t.Fatalf("after a reset a press in lockout was %q", why)
	}
}

func TestStateImageFits4KiB(t *testing.T) {
	// The largest records: a 16-step weekly flex with a patient bolus, and a state
	// with a full patient-bolus history and the longest drug name.
	rx := flexRx(true)
	rx.FlexSteps = MaxFlexSteps
	rx.Drug = "abcdefghijklmnopqrstuvwx"
	rx.PatientBolus = PatientBolus{Volume: 1, Duration: 1, Lockout: 1, MaxPer24h: 1}
	if n := len(appendRx(nil, &rx)); slotHead+n+4 > rxSlot || n > rxEncodedMax {
		t.Fatalf("prescription record %d bytes does not fit its %d-byte slot", n, rxSlot)
	}
	p := newCore(defaultConfig(), t0, NewLog())
	p.pbN = MaxPatientBolusesPer24h
	p.fillDrug = rx.Drug
	if n := len(p.appendState(nil)); slotHead+n+4 > stSlot {
		t.Fatalf("state record %d bytes does not fit its %d-byte slot", n, stSlot)
	}
	if 2*rxSlot+2*stSlot > ImageSize || ImageSize > 4096 {
		t.Fatal("image larger than 4 KiB")
	}
}

// TestResetKeepsTheOldestHourOfTheWindow: a 24 h window touches 25 clock hours;
// after a reset, strokes in the oldest (partial) hour still count. Found by the
// property test: with only 24 hours kept, a bolus after a reset was let through
// and a 97th stroke entered a 96-stroke cap.
func TestResetKeepsTheOldestHourOfTheWindow(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(MinRate, ml(0.048))
	rx.PatientBolus = PatientBolus{Volume: StrokeVolume, Duration: unit.Minute, Lockout: unit.Minute, MaxPer24h: 1}
	r.program(t0.Add(15), rx)
	at := t0.Add(unit.Day)
	r.run(at)
	p, _ := Restore(r.cfg, r.nvm[:], r.log, at)
	r.p = p
	if why, _ := p.PatientBolus(at); why == ReasonNone {
		r.persist()
	}
	r.run(at.Add(unit.Day))
	r.checkCap(t, rx.Max24h)
}

// TestResetRebuildsSteadyBasalWindowExactly: a basal at exactly max_24h keeps
// running across a reset — the window is regenerated exactly, not overcounted.
func TestResetRebuildsSteadyBasalWindowExactly(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.5)))
	at := r.at(unit.Day + 30*unit.Minute)
	r.run(at)
	p, _ := Restore(r.cfg, r.nvm[:], r.log, at)
	r.p = p
	r.run(r.at(3 * unit.Day))
	if n := len(r.events(EvCapFault)); n != 0 {
		t.Fatalf("%d strokes refused by the cap after the reset", n)
	}
	r.checkCap(t, ml(0.5))
	// Delivery after the reset restarts its accumulator (at most one stroke lost).
	if got := unit.Volume(len(r.times)) * StrokeVolume; got < ml(1.5)-StrokeVolume {
		t.Fatalf("delivered %s in 3 days, want 1.5 mL within a stroke", got)
	}
}

// Regression tests for defects the fault campaign found (docs/simulator.md).

// An alarm raised since the last hourly checkpoint survives a reset.
func TestResetKeepsAlarmsRaisedSinceTheCheckpoint(t *testing.T) {
	cfg := sensing(true, false)
	r := running(t, cfg, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	r.press = 150 * unit.Kilopascal
	r.run(r.at(unit.Day + 20*unit.Minute)) // OCCLUSION at the fifth stroke, 7.2 min in
	r.stall = true                         // a MOTOR_STALL would need strokes: the pump is held
	p, _ := Restore(r.cfg, r.nvm[:], r.log, r.at(unit.Day+30*unit.Minute))
	if !p.Alarms().Has(Occlusion) || p.Status().Delivering {
		t.Fatal("an occlusion raised since the checkpoint was forgotten by the reset")
	}
	// A stall raised on the third failed stroke, likewise.
	r2 := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r2.run(r2.at(unit.Day))
	r2.stall = true
	r2.run(r2.at(unit.Day + 5*unit.Minute))
	p2, _ := Restore(r2.cfg, r2.nvm[:], r2.log, r2.at(unit.Day+5*unit.Minute))
	if !p2.Alarms().Has(MotorStall) {
		t.Fatal("a stall raised since the checkpoint was forgotten by the reset")
	}
}

// A depleted battery stays depleted across a reset, and depletion is logged once.
func TestResetDoesNotReviveADepletedPump(t *testing.T) {
	cfg := defaultConfig()
	cfg.Battery = 10_050 * unit.MicroampHour // just above the reserve: EOS, then depletion
	r := running(t, cfg, continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(30 * unit.Day))
	if n := len(r.events(EvBatteryDepleted)); n != 1 {
		t.Fatalf("BATTERY_DEPLETED logged %d times", n)
	}
	p, _ := Restore(r.cfg, r.nvm[:], r.log, r.at(30*unit.Day))
	if p.Battery() != 0 || p.Status().Delivering {
		t.Fatalf("after a reset the depleted pump has %s and delivers %v", p.Battery(), p.Status().Delivering)
	}
	if n := len(r.events(EvBatteryDepleted)); n != 1 {
		t.Fatalf("BATTERY_DEPLETED logged %d times after the reset", n)
	}
}

// A stroke due at the checkpoint's own instant is written by that checkpoint,
// so the reset's estimate still errs low.
func TestResetEstimateErrsLowWithAStrokeAtTheCheckpoint(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	r.program(t0, continuous(halfMLPerDay, ml(0.7))) // strokes every 86.4 s: one falls on t0+1h+...
	for h := unit.Duration(1); h <= 30; h++ {
		at := r.at(h * unit.Hour)
		r.run(at)
		p, _ := Restore(r.cfg, r.nvm[:], NewLog(), at)
		if p.Reservoir() > r.p.Reservoir() {
			t.Fatalf("at %s the reset's estimate %s is above the truth %s", at, p.Reservoir(), r.p.Reservoir())
		}
	}
}

// A restart whose clock reads earlier than the last checkpoint assumes no time
// passed, rather than an unsigned multiplication of a negative gap.
func TestResetWithClockBehindCheckpoint(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Day))
	p, err := Restore(r.cfg, r.nvm[:], NewLog(), r.at(unit.Day-3*unit.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Reservoir(), r.p.Reservoir(); got != want {
		t.Fatalf("estimate %s after a restart with the clock behind, want %s", got, want)
	}
}
