package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// radioCurrent is the current the device charges a session at.
const radioCurrent = pump.RadioCurrent

// t0 is the tests' starting instant: 2026-01-05 10:00 UTC.
var t0 = unit.FromStd(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))

// recorder is the pump's event log in tests.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// find returns the first event of kind whose Err wraps target (any Err if
// target is nil).
func (r *recorder) find(kind EventKind, target error) (Event, bool) {
	for _, e := range r.all() {
		if e.Kind == kind && (target == nil || errors.Is(e.Err, target)) {
			return e, true
		}
	}
	return Event{}, false
}

func (r *recorder) count(kind EventKind) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *recorder) dump(t testing.TB) {
	t.Helper()
	for _, e := range r.all() {
		t.Log(e)
	}
}

// mustLog fails the test unless the log holds an event of kind wrapping target.
func (r *recorder) mustLog(t testing.TB, kind EventKind, target error) Event {
	t.Helper()
	e, ok := r.find(kind, target)
	if !ok {
		r.dump(t)
		t.Fatalf("event log has no %v event with %v", kind, target)
	}
	return e
}

// device is a stand-in for the pump device: it records what reaches it and
// answers plausibly. Its prescription changes only when a whole Program
// arrives.
type device struct {
	mu       sync.Mutex
	cmds     []pump.Command
	sessions []SessionInfo
	program  pump.Program
	seq      uint64
	log      []byte
}

// standInStatus is what the stand-in device answers a status read with: a
// flex prescription, every field set.
func standInStatus() *pumpwire.Status {
	return &pumpwire.Status{At: t0, Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		PrimingVolume: 360 * unit.Microlitre, PressureSensor: true, LevelSensor: true, HasRx: true, Rx: testProgram(4).Rx,
		RxHash: pump.Hash{4}, RxSince: t0.Add(-unit.Day), Running: true, Delivering: true, Basal: 400 * unit.Rate(unit.Microlitre),
		Reservoir: 19 * unit.Millilitre, LastFill: 20 * unit.Millilitre, LastFillAt: t0.Add(-unit.Week), Delivered: 123456789,
		FillDrug: "baclofen", FillConc: 2 * unit.MilligramPerMillilitre, Battery: pump.BatteryCapacity - 5,
		ERIThreshold: 42, UTCOffset: unit.Hour, NextPatientBolus: t0.Add(unit.Hour), LogNext: 77}
}

func (d *device) Handle(s SessionInfo, c pump.Command) pumpwire.Response {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cmds = append(d.cmds, c)
	d.sessions = append(d.sessions, s)
	d.seq++
	switch r := c.(type) {
	case pump.Interrogate, pump.ReadStatus:
		return standInStatus()
	case pump.ReadLog:
		n := min(len(d.log), int(r.MaxBytes))
		return &pumpwire.Log{Next: uint64(n), More: n < len(d.log), Entries: d.log[:n]}
	case pump.Program:
		d.program = r
		return &pumpwire.Ack{Seq: d.seq}
	case pump.PatientActivation:
		return &pumpwire.BolusResult{BolusResult: pump.BolusResult{Volume: 50 * unit.Microlitre, Next: t0.Add(unit.Hour)}}
	}
	return &pumpwire.Ack{Seq: d.seq}
}

func (d *device) requests() []pump.Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]pump.Command(nil), d.cmds...)
}

func (d *device) kinds() []pump.CommandKind {
	var ks []pump.CommandKind
	for _, r := range d.requests() {
		ks = append(ks, r.Kind())
	}
	return ks
}

func (d *device) current() pump.Program {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.program
}

// world holds what outlives one pump instance: keys and credentials. Building
// them once keeps loops over thousands of sessions fast.
type world struct {
	rng       *rand.ChaCha8
	auth      Authority
	other     Authority // an authority the pump does not trust
	pump      Enrolment
	clinician Identity
	patient   Identity
	monitor   Identity
	emergency Identity
}

var (
	worldOnce sync.Once
	theWorld  *world
)

func testWorld(t testing.TB) *world {
	worldOnce.Do(func() {
		w := &world{rng: rand.NewChaCha8([32]byte{'t', 'h', 'e', 'c', 'a', 'l'})}
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		w.auth, err = NewAuthority(w.rng)
		must(err)
		w.other, err = NewAuthority(w.rng)
		must(err)
		w.pump, err = Enrol(w.rng, w.auth, 4001, "TP-20 #4001", t0.Add(-unit.Day), t0.Add(3650*unit.Day))
		must(err)
		w.clinician = w.identity(RoleClinician, 101, "Dr. Clinician")
		w.patient = w.identity(RolePatient, 201, "PTM of patient 17")
		w.monitor = w.identity(RoleMonitor, 301, "Home relay 17")
		w.emergency = w.identity(RoleEmergency, 401, "ER programmer, St. Elsewhere")
		theWorld = w
	})
	return theWorld
}

func (w *world) identity(role Role, serial uint64, name string) Identity {
	return w.identityFrom(w.auth, role, serial, name, t0.Add(-unit.Day), t0.Add(365*unit.Day))
}

func (w *world) identityFrom(a Authority, role Role, serial uint64, name string, nb, na unit.Time) Identity {
	id, err := NewIdentity(w.rng, a, role, serial, name, nb, na)
	if err != nil {
		panic(err)
	}
	return id
}

// fixture is one pump: a Server with its clock, event log and device.
type fixture struct {
	t      testing.TB
	w      *world
	clock  *StepClock
	events *recorder
	dev    *device
	srv    *Server
}

func newFixture(t testing.TB, opts ...func(*ServerConfig)) *fixture {
	t.Helper()
	w := testWorld(t)
	f := &fixture{t: t, w: w, clock: NewStepClock(t0, 10*unit.Millisecond), events: &recorder{}, dev: &device{}}
	cfg := ServerConfig{
		Enrolment:    w.pump,
		Handler:      f.dev,
		Clock:        f.clock.Now,
		Events:       f.events.add,
		RadioCurrent: radioCurrent,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func (f *fixture) wake(kind WakeKind) *fixture {
	f.t.Helper()
	if err := f.srv.Wake(kind); err != nil {
		f.t.Fatal(err)
	}
	return f
}

func (f *fixture) clientConfig(id Identity) ClientConfig {
	return ClientConfig{Identity: id, Trust: Trust{Authorities: f.w.pump.Trust.Authorities}, Clock: f.clock.Now}
}

// serve connects a new in-memory link to the pump and serves it. It returns
// the peer's end and a channel that yields the session report.
func (f *fixture) serve(addr string) (Conn, <-chan SessionReport) {
	a, b := Pipe(addr, "pump", LinkConfig{}, LinkConfig{})
	done := make(chan SessionReport, 1)
	go func() { done <- f.srv.ServeConn(context.Background(), b) }()
	return a, done
}

// dial opens an authenticated session as id over a tap, so the test can see
// and alter the peer's frames.
func (f *fixture) dial(id Identity, addr string, edit func(i int, frame []byte) [][]byte) (*Client, *Tap, <-chan SessionReport) {
	f.t.Helper()
	conn, done := f.serve(addr)
	tp := &Tap{Conn: conn, Edit: edit}
	c, err := Dial(ctx(f.t), tp, f.clientConfig(id))
	if err != nil {
		f.events.dump(f.t)
		f.t.Fatalf("dial as %v: %v", id.Credential.Role, err)
	}
	return c, tp, done
}

// report waits for the session to end.
func report(t testing.TB, done <-chan SessionReport) SessionReport {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-ctx(t).Done(): // 10 s
		t.Fatal("session did not end")
	}
	return SessionReport{}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// testProgram returns a program of a flex prescription (its steps and rates
// follow seed) replacing the prescription with hash {seed}: about 300 bytes on
// the link.
func testProgram(seed byte) pump.Program {
	rx := pump.Prescription{Mode: pump.ModeFlex, Weekly: true, FlexSteps: pump.MaxFlexSteps, Max24h: 3 * unit.Millilitre,
		LowReservoir: 3 * unit.Millilitre, Drug: "baclofen", Concentration: 2 * unit.MilligramPerMillilitre}
	for i := range rx.FlexSteps {
		rx.Flex[i] = pump.FlexStep{At: unit.Duration(i) * 90 * unit.Minute, Rate: unit.Rate(100_000 + 1000*int(seed) + i), Days: pump.AllDays}
	}
	return pump.NewProgram(rx, pump.Hash{seed})
}

// mustDo sends cmd and fails the test unless the pump carries it out.
func mustDo(t testing.TB, c *Client, cmd pump.Command) pumpwire.Response {
	t.Helper()
	r, err := c.Do(ctx(t), cmd)
	if err != nil {
		t.Fatalf("%v: %v", cmd.Kind(), err)
	}
	return r
}

// doMessage sends any message, even one no pump command encodes to, and
// waits for the answer: an attacker's or a newer peer's client.
func doMessage(t testing.TB, c *Client, m pumpwire.Message) (pumpwire.Response, error) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out, frames, err := c.ch.seal(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	_ = out
	for _, f := range frames {
		if err := c.conn.WriteFrame(ctx(t), f); err != nil {
			return nil, err
		}
	}
	r, err := c.receive(ctx(t))
	if err != nil {
		return nil, err
	}
	return r.(pumpwire.Response), AnswerErr(r.(pumpwire.Response))
}

func describe(f []byte) string { return fmt.Sprintf("%d-byte %v frame", len(f), FrameType(f[1])) }

// dialUnchecked runs the peer's handshake without checking that the identity's
// key and credential agree: an attacker's client.
func dialUnchecked(ctx context.Context, conn Conn, cfg ClientConfig) (*Client, error) {
	return handshake(ctx, conn, cfg)
}
