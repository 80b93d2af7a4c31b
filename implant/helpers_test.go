package implant

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// t0 is the tests' implant instant: 2026-01-05 10:00 UTC.
var t0 = unit.FromStd(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))

// world holds the keys: the implanting clinic's authority, a regional
// emergency authority the pump also trusts, an authority it does not, the
// pump's enrolment and one credential per role.
type world struct {
	rng       *rand.ChaCha8
	clinic    telemetry.Authority
	er        telemetry.Authority
	rogue     telemetry.Authority
	pump      telemetry.Enrolment
	clinician telemetry.Identity
	patient   telemetry.Identity
	monitor   telemetry.Identity
	emergency telemetry.Identity
	forged    telemetry.Identity // a clinician credential from the rogue authority
}

var (
	worldOnce sync.Once
	theWorld  *world
)

func testWorld() *world {
	worldOnce.Do(func() {
		w := &world{rng: rand.NewChaCha8([32]byte{'i', 'm', 'p', 'l', 'a', 'n', 't'})}
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		w.clinic, err = telemetry.NewAuthority(w.rng)
		must(err)
		w.er, err = telemetry.NewAuthority(w.rng)
		must(err)
		w.rogue, err = telemetry.NewAuthority(w.rng)
		must(err)
		w.pump, err = telemetry.Enrol(w.rng, w.clinic, 4001, "TP-20 #4001", t0.Add(-unit.Day), t0.Add(3650*unit.Day), w.er.Public)
		must(err)
		w.clinician = w.identity(w.clinic, telemetry.RoleClinician, 101, "Dr. A. Ruiz")
		w.patient = w.identity(w.clinic, telemetry.RolePatient, 201, "PTM of patient 17")
		w.monitor = w.identity(w.clinic, telemetry.RoleMonitor, 301, "Home relay 17")
		w.emergency = w.identity(w.er, telemetry.RoleEmergency, 401, "ER programmer, St. Elsewhere")
		w.forged = w.identity(w.rogue, telemetry.RoleClinician, 101, "Dr. A. Ruiz")
		theWorld = w
	})
	return theWorld
}

func (w *world) identity(a telemetry.Authority, role telemetry.Role, serial uint64, name string) telemetry.Identity {
	id, err := telemetry.NewIdentity(w.rng, a, role, serial, name, t0.Add(-unit.Day), t0.Add(365*unit.Day))
	if err != nil {
		panic(err)
	}
	return id
}

// testConfig is a TP-20 with a 50 cm catheter and both sensors.
func testConfig() pump.Config {
	return pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		PressureSensor: true, LevelSensor: true, Battery: pump.BatteryCapacity}
}

// fixture is one implant on an in-memory radio.
type fixture struct {
	t     testing.TB
	w     *world
	clock *telemetry.StepClock
	im    *Implant
	addr  int
}

func newFixture(t testing.TB, opts ...func(*telemetry.ServerConfig)) *fixture {
	t.Helper()
	w := testWorld()
	f := &fixture{t: t, w: w, clock: telemetry.NewStepClock(t0, 10*unit.Millisecond)}
	d, err := device.New(testConfig(), t0, 7)
	if err != nil {
		t.Fatal(err)
	}
	f.im, err = New(Config{Device: d, Enrolment: w.pump, Clock: f.clock.Now, Server: func(c *telemetry.ServerConfig) {
		for _, o := range opts {
			o(c)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) wake(k telemetry.WakeKind) *fixture {
	f.t.Helper()
	if err := f.im.Wake(k); err != nil {
		f.t.Fatal(err)
	}
	return f
}

// serve connects a new in-memory link from addr to the pump and serves it.
func (f *fixture) serve(addr string) (telemetry.Conn, <-chan telemetry.SessionReport) {
	a, b := telemetry.Pipe(addr, "pump", telemetry.LinkConfig{}, telemetry.LinkConfig{})
	done := make(chan telemetry.SessionReport, 1)
	go func() { done <- f.im.Server().ServeConn(context.Background(), b) }()
	return a, done
}

func (f *fixture) clientConfig(id telemetry.Identity) telemetry.ClientConfig {
	return telemetry.ClientConfig{Identity: id, Trust: telemetry.Trust{Authorities: f.w.pump.Trust.Authorities[:1]},
		PumpSerial: 4001, Clock: f.clock.Now}
}

// dial opens a session as id over a tap, which records the peer's frames and
// lets edit change them.
func (f *fixture) dial(id telemetry.Identity, addr string, edit func(i int, frame []byte) [][]byte) (*telemetry.Client, *telemetry.Tap, <-chan telemetry.SessionReport) {
	f.t.Helper()
	conn, done := f.serve(addr)
	tp := &telemetry.Tap{Conn: conn, Edit: edit}
	c, err := telemetry.Dial(ctx(f.t), tp, f.clientConfig(id))
	if err != nil {
		f.dump()
		f.t.Fatalf("dial as %v: %v", id.Credential.Role, err)
	}
	return c, tp, done
}

// session runs f in a session as id and closes it cleanly.
func (f *fixture) session(id telemetry.Identity, fn func(c *telemetry.Client)) telemetry.SessionReport {
	f.t.Helper()
	f.wake(telemetry.WakeContact)
	c, _, done := f.dial(id, "programmer", nil)
	fn(c)
	c.Close()
	return report(f.t, done)
}

// do sends one request in a fresh clinician session.
func (f *fixture) do(id telemetry.Identity, req pump.Command) (pumpwire.Response, error) {
	var resp pumpwire.Response
	var err error
	f.session(id, func(c *telemetry.Client) { resp, err = c.Do(ctx(f.t), req) })
	return resp, err
}

// program sends rx as a Program (or a Bridge) replacing the running
// prescription.
func (f *fixture) program(rx pump.Prescription, bridge bool) (pumpwire.Response, error) {
	f.t.Helper()
	p := pump.NewProgram(rx, f.status().RxHash)
	if bridge {
		return f.do(f.w.clinician, pump.Bridge(p))
	}
	return f.do(f.w.clinician, p)
}

// status reads the implant's status.
func (f *fixture) status() pumpwire.Status {
	f.t.Helper()
	st, err := f.im.Status()
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// ready fills the pump and programs rx (a clinician session each).
func (f *fixture) ready(rx pump.Prescription) {
	f.t.Helper()
	if _, err := f.do(f.w.clinician, pump.Refill{Added: 20 * unit.Millilitre, Drug: rx.Drug, Concentration: rx.Concentration}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.program(rx, false); err != nil {
		f.t.Fatal(err)
	}
}

// records returns the implant's log records of kind k.
func (f *fixture) records(k pumpwire.RecordKind) []pumpwire.Record {
	var out []pumpwire.Record
	for _, r := range f.im.Records(0) {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

// mustLog fails unless the log has a record of kind k with error code for
// target (any code if target is nil) and returns the first. For the summaries
// of peers that opened no session, it has the implant write those of the
// listen window under way first.
func (f *fixture) mustLog(k pumpwire.RecordKind, target error) pumpwire.Record {
	f.t.Helper()
	if k.Unauthenticated() {
		if err := f.im.Flush(); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, r := range f.records(k) {
		if target == nil || r.B == int64(telemetry.CodeOf(target)) {
			return r
		}
	}
	f.dump()
	f.t.Fatalf("event log has no %v record with %v", k, target)
	return pumpwire.Record{}
}

// readsBack reads the whole log over the link in a clinician's session, a
// page of at most maxBytes at a time, and fails unless it begins with the
// records the implant held before.
func (f *fixture) readsBack(maxBytes uint32) {
	f.t.Helper()
	held := f.im.Records(0)
	var got []pumpwire.Record
	from := uint64(0)
	f.session(f.w.clinician, func(c *telemetry.Client) {
		for l := (&pumpwire.Log{More: true}); l.More; {
			r, err := c.Do(ctx(f.t), pump.ReadLog{From: from, MaxBytes: maxBytes})
			if err != nil {
				f.t.Fatal(err)
			}
			l = r.(*pumpwire.Log)
			if len(l.Entries) > int(maxBytes) {
				f.t.Fatalf("page of %d bytes", len(l.Entries))
			}
			rs, err := pumpwire.ConsumeRecords(l.Entries)
			if err != nil {
				f.t.Fatal(err)
			}
			got, from = append(got, rs...), l.Next
		}
	})
	if len(got) < len(held) {
		f.t.Fatalf("read %d records, the log held %d", len(got), len(held))
	}
	for i := range held {
		if got[i] != held[i] {
			f.t.Fatalf("record %d: read %v, held %v", i, got[i], held[i])
		}
	}
}

func (f *fixture) dump() {
	f.t.Helper()
	for _, r := range f.im.Records(0) {
		f.t.Logf("#%d %v %v %s", r.Seq, r.At, r.Kind, telemetry.Describe(&r))
	}
}

func (f *fixture) core() pump.Status {
	var st pump.Status
	f.im.Do(func(d *device.Device, now unit.Time) error { st = d.Core.Status(); return nil })
	return st
}

// morphine is a continuous morphine prescription with a patient bolus.
func morphine(rate unit.Rate) pump.Prescription {
	return pump.Prescription{Mode: pump.ModeContinuous, Rate: rate, Max24h: 2 * unit.Millilitre,
		PatientBolus: pump.PatientBolus{Volume: 25 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 2 * unit.Hour, MaxPer24h: 4},
		Drug:         "morphine", Concentration: 10 * unit.MilligramPerMillilitre}
}

func report(t testing.TB, done <-chan telemetry.SessionReport) telemetry.SessionReport {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	return telemetry.SessionReport{}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func isErr(err, target error) bool { return errors.Is(err, target) }
