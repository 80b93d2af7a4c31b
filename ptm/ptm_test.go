package ptm

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
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

var lib = drug.Default()

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ready returns a pump filled with morphine 10 mg/mL at 0.5 mL/day with a
// patient bolus of 0.025 mL over 10 minutes, 2-hour lockout, 3 a day, set to
// UTC+01:00.
func ready(t *testing.T) *implanttest.Pump {
	p := implanttest.New(t, implanttest.Config())
	rx := pump.Prescription{Mode: pump.ModeContinuous, Rate: 500 * unit.Rate(unit.Microlitre), Max24h: 2 * unit.Millilitre,
		PatientBolus: pump.PatientBolus{Volume: 25 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 2 * unit.Hour, MaxPer24h: 3},
		Drug:         "morphine", Concentration: 10 * unit.MilligramPerMillilitre}
	p.Device(func(d *device.Device, now unit.Time) {
		c := d.Core
		d.HW.Reservoir = 20 * unit.Millilitre
		must(t, c.Refill(now, pump.Refill{Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: rx.Concentration}))
		must(t, c.Program(now, pump.NewProgram(rx, c.Status().RxHash)))
		must(t, c.SetClock(now, unit.Hour))
	})
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bolus(t *testing.T, p *implanttest.Pump) Result {
	t.Helper()
	p.Idle()
	p.Wake(telemetry.WakeRadio)
	r, err := Bolus(ctx(t), p.Peer(p.Keys.Patient))
	if err != nil {
		t.Fatal(err)
	}
	p.Idle()
	return r
}

// Given, then refused in the lockout with the time of the next one, then
// refused over the count: each said plainly.
func TestBolusMessages(t *testing.T) {
	p := ready(t)
	r := bolus(t, p)
	msg := r.Message(lib)
	if !r.Given || msg != "Bolus given: 0.025 mL (0.25 mg of morphine), over 10 minutes. Your next bolus is possible at 13:00 (in 2 hours)." {
		t.Errorf("given: %+v\n%s", r, msg)
	}
	p.Clock.Advance(40 * unit.Minute)
	r = bolus(t, p)
	msg = r.Message(lib)
	if r.Given || r.Reason != pump.ReasonLockout ||
		msg != "No bolus given: your last bolus was less than 2 hours ago (the lockout your clinic set). Your next bolus is possible at 13:00 (in 1 h 20 min)." {
		t.Errorf("lockout: %+v\n%s", r, msg)
	}
	for range 2 {
		p.Clock.Advance(2 * unit.Hour)
		if r := bolus(t, p); !r.Given {
			t.Fatalf("not given: %s", r.Message(lib))
		}
	}
	p.Clock.Advance(2 * unit.Hour)
	r = bolus(t, p)
	if msg := r.Message(lib); r.Given || !strings.HasPrefix(msg, "No bolus given: you have had the 3 boluses allowed in 24 hours. Your next bolus is possible at ") ||
		!strings.Contains(msg, "Tue 6 Jan 11:00") {
		t.Errorf("count: %s", msg)
	}
	// Every press is in the pump's log, refused ones with their reason.
	var given, refused int
	for _, rec := range p.Im.Records(0) {
		switch pump.EventKind(rec.Kind) {
		case pump.EvPatientBolusStart:
			given++
		case pump.EvPatientBolusRefused:
			refused++
		}
	}
	if given != 3 || refused != 2 {
		t.Errorf("log: %d given, %d refused", given, refused)
	}
}

func TestBolusRefusedWhenStopped(t *testing.T) {
	p := ready(t)
	p.Core(func(c *pump.Pump) { must(t, c.Stop(c.Status().At)) })
	r := bolus(t, p)
	if msg := r.Message(lib); r.Given || msg != "No bolus given: your pump is stopped and delivers no medicine. Call your clinic now." {
		t.Errorf("%s", msg)
	}
	var out bytes.Buffer
	WriteStatus(&out, lib, r.Status)
	if !strings.Contains(out.String(), "Your pump is STOPPED") || !strings.Contains(out.String(), "None possible while the pump is not delivering") {
		t.Errorf("status:\n%s", out.String())
	}
}

func TestStatusForThePatient(t *testing.T) {
	p := ready(t)
	p.Wake(telemetry.WakeRadio)
	st, err := Status(ctx(t), p.Peer(p.Keys.Patient))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteStatus(&out, lib, st)
	want := "Your pump is delivering your medicine.\nMedicine left: about 20 mL (200 mg of morphine).\n" +
		"Patient bolus: 0.025 mL (0.25 mg of morphine) each, at least 2 hours apart, at most 3 a day. Next possible now.\nAlarms: none.\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// A PTM that is not the pump's (a monitor credential, a rogue authority, the
// radio asleep) is refused, and the refusal is explained.
func TestRefusalsExplained(t *testing.T) {
	p := ready(t)
	p.Wake(telemetry.WakeRadio)
	_, err := Bolus(ctx(t), p.Peer(p.Keys.Monitor))
	if !errors.Is(err, telemetry.ErrForbidden) || !strings.Contains(peer.Explain(err), "role may not do that") {
		t.Errorf("monitor: %v: %s", err, peer.Explain(err))
	}
	p.Idle()
	p.Wake(telemetry.WakeRadio)
	_, err = Bolus(ctx(t), p.Peer(p.Keys.Forged))
	if !errors.Is(err, telemetry.ErrUntrusted) || !strings.Contains(peer.Explain(err), "does not trust") {
		t.Errorf("forged: %v: %s", err, peer.Explain(err))
	}
	p.Idle()
	p.Clock.Advance(5 * unit.Minute) // the radio goes back to sleep
	_, err = Bolus(ctx(t), p.Peer(p.Keys.Patient))
	if !errors.Is(err, telemetry.ErrNotListening) || !strings.Contains(peer.Explain(err), "asleep") {
		t.Errorf("asleep: %v: %s", err, peer.Explain(err))
	}
	if n := len(p.Im.Records(0)); n == 0 || p.Im.Records(0)[n-1].Kind == pumpwire.RecordKind(pump.EvPatientBolusStart) {
		t.Error("a refused device gave a bolus")
	}
}
