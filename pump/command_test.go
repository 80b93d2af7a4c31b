package pump

import (
	"errors"
	"fmt"
	"testing"

	"github.com/thecal/thecal/unit"
)

// TestCommandTable: every command kind has one row, named once, whose zero
// value is a command of that kind; a command some role sends over the link is
// answered, and a device command is sent by no role and answered by nothing.
func TestCommandTable(t *testing.T) {
	names := map[string]CommandKind{}
	for k := CommandKind(1); k < numCommandKinds; k++ {
		s, ok := k.Spec()
		if !ok {
			t.Errorf("kind %#02x has no row in the command table", uint8(k))
			continue
		}
		if s.Name == "" || s.Zero == nil || s.Zero.Kind() != k || k.String() != s.Name {
			t.Errorf("%#02x: row %+v", uint8(k), s)
		}
		if o, dup := names[s.Name]; dup {
			t.Errorf("%v and %#02x share the name %q", o, uint8(k), s.Name)
		}
		names[s.Name] = k
		if (s.Roles == ByDevice) != (s.Response == RespNone) {
			t.Errorf("%v: roles %b with response %d: a command on the link is answered, a device command is not", k, s.Roles, s.Response)
		}
	}
	if got := len(Commands()); got != int(numCommandKinds)-1 {
		t.Errorf("Commands() has %d rows, want %d", got, numCommandKinds-1)
	}
	if _, ok := numCommandKinds.Spec(); ok || numCommandKinds.String() != fmt.Sprintf("command-0x%x", uint8(numCommandKinds)) {
		t.Errorf("a kind past the table: %v", numCommandKinds)
	}
	for _, r := range []Role{RoleClinician, RolePatient, RoleMonitor, RoleEmergency} {
		sends := 0
		for _, s := range Commands() {
			if s.Roles.Has(r) {
				sends++
			}
		}
		if sends == 0 {
			t.Errorf("role %v sends nothing", r)
		}
	}
	if (ByClinician | ByPatient | ByMonitor | ByEmergency).Has(ReasonLockout) {
		t.Error("a reason that is not a role is in a role set")
	}
}

// TestStepCarriesOutEveryCommand: Step knows every command of the table (none
// is answered ErrUnknownCommand), and answers each with the table's Response.
func TestStepCarriesOutEveryCommand(t *testing.T) {
	r := filled(t, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.7))
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}
	r.program(t0, rx)
	now := r.at(unit.Hour)
	r.run(now)
	for _, s := range Commands() {
		res, err := r.p.Step(now, s.Zero)
		r.persist()
		if errors.Is(err, ErrUnknownCommand) {
			t.Errorf("%v: Step does not know it", s.Kind)
		}
		if s.Response == RespStatus && err == nil && res.Status.At != now {
			t.Errorf("%v: answered without a status", s.Kind)
		}
		if s.Response == RespBolus && err == nil && (res.Bolus.Volume != r.p.Status().Rx.PatientBolus.Volume || res.Bolus.Next < now) {
			t.Errorf("%v: answered %+v", s.Kind, res.Bolus)
		}
	}
	if _, err := r.p.Step(now, nil); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("a nil command: %v", err)
	}
}

// TestStepTimeOrderAndDepletedPump: a command before the core's time or past
// its next deadline is ErrTime; a depleted pump refuses every command that
// would change it, and still answers a status read.
func TestStepTimeOrderAndDepletedPump(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	r.run(r.at(unit.Hour))
	if _, err := r.p.Step(r.at(unit.Minute), Stop{}); !errors.Is(err, ErrTime) {
		t.Errorf("a command in the past: %v", err)
	}
	if _, err := r.p.Step(r.p.Next()+1, ReadStatus{}); !errors.Is(err, ErrTime) {
		t.Errorf("a command past the next deadline: %v", err)
	}
	now := r.at(2 * unit.Hour)
	r.run(now)
	r.must(now, func(now unit.Time) error { return r.p.Drain(now, r.p.Battery()+unit.MicroampHour) })
	for _, s := range Commands() {
		res, err := r.p.Step(now, s.Zero)
		switch s.Kind {
		case CmdReadStatus:
			if err != nil || res.Status.Battery != 0 || res.Status.Delivering {
				t.Errorf("read-status of a depleted pump: %+v, %v", res.Status, err)
			}
		case CmdReadLog, CmdSilenceTone:
			if err != nil {
				t.Errorf("%v: %v", s.Kind, err)
			}
		default:
			if !errors.Is(err, ErrDead) {
				t.Errorf("%v on a depleted pump: %v", s.Kind, err)
			}
		}
	}
}

// TestSetMinimumRate: the core builds the minimum prescription from the one
// running (same drug, concentration and low-reservoir threshold, no patient
// bolus, a cap no lower than a day at the minimum rate), stores and logs it as
// a program, and keeps a clinician's stop in force.
func TestSetMinimumRate(t *testing.T) {
	r := newRig(t, defaultConfig())
	if _, err := r.p.Step(t0, SetMinimumRate{}); !errors.Is(err, ErrNoRx) {
		t.Fatalf("without a prescription: %v", err)
	}
	r.fill(t0, ml(20))
	// A cap below a day at the minimum rate.
	rx := Prescription{Mode: ModeStopped, Max24h: ml(0.02), LowReservoir: ml(3), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre}
	r.program(t0, rx)
	r.must(r.at(unit.Hour), func(now unit.Time) error { return r.p.Stop(now) })
	programs := len(r.events(EvProgram))
	r.must(r.at(2*unit.Hour), func(now unit.Time) error { _, err := r.p.Step(now, SetMinimumRate{}); return err })
	st := r.p.Status()
	want := Prescription{Mode: ModeMinimum, Max24h: MinRate.Over(unit.Day), LowReservoir: ml(3), Drug: rx.Drug, Concentration: rx.Concentration}
	if st.Rx != want {
		t.Fatalf("minimum prescription %+v, want %+v", st.Rx, want)
	}
	if len(r.events(EvProgram)) != programs+1 || st.Running || st.Delivering {
		t.Fatalf("programs %d, running %v, delivering %v: logged as a program, the stop kept", len(r.events(EvProgram)), st.Running, st.Delivering)
	}
	rx = continuous(halfMLPerDay, ml(0.7))
	rx.PatientBolus = PatientBolus{Volume: ml(0.01), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 2}
	r.program(r.at(3*unit.Hour), rx)
	r.must(r.at(4*unit.Hour), func(now unit.Time) error { _, err := r.p.Step(now, SetMinimumRate{}); return err })
	if got := r.p.Status().Rx; got.Max24h != ml(0.7) || got.PatientBolus.Volume != 0 {
		t.Fatalf("a cap above a day at the minimum rate is kept, the patient bolus goes: %+v", got)
	}
}

// TestCapFor: a cap in whole strokes, never below one.
func TestCapFor(t *testing.T) {
	for _, c := range []struct{ v, want unit.Volume }{
		{0, StrokeVolume}, {1, StrokeVolume}, {StrokeVolume, StrokeVolume}, {StrokeVolume + 1, 2 * StrokeVolume},
		{MinRate.Over(unit.Day), MinRate.Over(unit.Day)}, {ml(0.6) - 1, ml(0.6)},
	} {
		if got := CapFor(c.v); got != c.want {
			t.Errorf("CapFor(%s) = %s, want %s", c.v, got, c.want)
		}
	}
}

// TestPrimeNamesItsVolume: a Prime carrying a volume other than the pump's
// own is refused whole (nothing starts, nothing is logged); zero and the
// pump's own start priming.
func TestPrimeNamesItsVolume(t *testing.T) {
	r := running(t, defaultConfig(), continuous(halfMLPerDay, ml(0.7)))
	before := r.log.Next()
	_, err := r.p.Step(t0, Prime{Volume: r.cfg.PrimingVolume() + StrokeVolume})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "volume" || r.log.Next() != before || r.p.Status().Priming {
		t.Fatalf("another priming volume: %v", err)
	}
	if _, err := r.p.Step(t0, Prime{Volume: r.cfg.PrimingVolume()}); err != nil || !r.p.Status().Priming {
		t.Fatalf("the pump's own priming volume: %v", err)
	}
}

// TestPrescriptionCodec: the exported codec is the core's (hash and checksum
// are over its bytes), refuses what it cannot carry exactly, and decodes only
// its canonical form.
func TestPrescriptionCodec(t *testing.T) {
	rx := flexRx(true, FlexStep{At: 8 * unit.Hour, Rate: 500_000, Days: 0b0111110}, FlexStep{At: 20 * unit.Hour, Rate: 300_000, Days: AllDays})
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}
	b, err := AppendPrescription([]byte{0xee}, &rx)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := ConsumePrescription(append(b[1:], 0xff))
	if err != nil || got != rx || n != len(b)-1 {
		t.Fatalf("decoded %+v (%d bytes), %v", got, n, err)
	}
	if Checksum(&rx) != checksumInto(new([rxEncodedMax]byte), &got) || HashOf(&rx) != HashOf(&got) {
		t.Fatal("hash or checksum differ after a round trip")
	}
	bad := []func(*Prescription){
		func(p *Prescription) { p.FlexSteps = MaxFlexSteps + 1 },
		func(p *Prescription) { p.FlexSteps = -1 },
		func(p *Prescription) { p.Flex[0].At = 8*unit.Hour + 1 },
		func(p *Prescription) { p.Flex[0].At = unit.Day },
		func(p *Prescription) { p.PatientBolus.MaxPer24h = 256 },
		func(p *Prescription) { p.Drug = "a drug name longer than 24 bytes" },
		func(p *Prescription) { p.Drug = "morphine\n" },
	}
	for i, f := range bad {
		x := rx
		f(&x)
		if _, err := AppendPrescription(nil, &x); !errors.Is(err, ErrEncoding) {
			t.Errorf("case %d: encoded %+v", i, x)
		}
		Checksum(&x) // never panics
	}
	weekly := b[1:]
	weekly[10] = 2
	if _, _, err := ConsumePrescription(weekly); !errors.Is(err, ErrEncoding) {
		t.Error("a weekly byte of 2 decoded")
	}
	for i := range len(b) - 1 {
		if _, _, err := ConsumePrescription(b[1 : 1+i]); !errors.Is(err, ErrEncoding) {
			t.Errorf("%d of %d bytes decoded", i, len(b)-1)
		}
	}
	if err := (&Prescription{Mode: ModeStopped, Drug: "mor\x00phine", Concentration: 1}).Validate(TP20); err == nil {
		t.Error("a drug name with a NUL validated")
	}
}

// TestProgramKeepsAllDeliveryWithinMaxRate: a new prescription whose highest
// basal leaves no room for the bolus still running ends that bolus (as a stop
// would), so the pump never runs above 1 mL/h, and a reset right after
// restores the prescription (a state record above the maximum rate would be
// refused as corrupt: MEMORY_ERROR). Found by TestCoreAgainstModel.
func TestProgramKeepsAllDeliveryWithinMaxRate(t *testing.T) {
	rx := continuous(MinRate, 96*StrokeVolume)
	rx.PatientBolus = PatientBolus{Volume: 60 * StrokeVolume, Duration: 2 * unit.Minute, Lockout: unit.Minute, MaxPer24h: 1}
	r := running(t, defaultConfig(), rx)
	r.must(t0, func(now unit.Time) error { _, err := r.p.PatientBolus(now); return err })
	fast := continuous(MaxRate-unit.RateOf(rx.PatientBolus.Volume, rx.PatientBolus.Duration)+1, ml(2.401))
	r.program(t0, fast)
	if r.p.rate > MaxRate || r.p.pbolus.active {
		t.Fatalf("running at %s, patient bolus still running: %v", r.p.rate, r.p.pbolus.active)
	}
	if e := r.events(EvPatientBolusEnd); len(e) != 1 || e[0].Reason != ReasonInterrupted {
		t.Fatalf("the bolus did not end as interrupted: %+v", e)
	}
	p, err := Restore(r.cfg, r.nvm[:], NewLog(), t0)
	if err != nil || p.Alarms().Has(MemoryError) || p.Status().Rx != fast {
		t.Fatalf("reset after the change: %v, alarms %b", err, p.Alarms())
	}
	// A new prescription that leaves room keeps the bolus running.
	r = running(t, defaultConfig(), rx)
	r.must(t0, func(now unit.Time) error { _, err := r.p.PatientBolus(now); return err })
	slow := continuous(halfMLPerDay, ml(0.7))
	slow.PatientBolus = rx.PatientBolus
	r.program(t0, slow)
	if !r.p.pbolus.active {
		t.Fatal("a bolus that fits under the new basal ended")
	}
}
