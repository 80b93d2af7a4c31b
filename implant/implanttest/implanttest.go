// Package implanttest builds virtual implants for tests of the pump's clients:
// a set of keys (clinic authority, a trusted emergency authority, a rogue one,
// the pump's enrolment and one credential per role), a fake clock, and an
// implant reachable over in-memory links. It is used by tests only.
package implanttest

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// T0 is the tests' implant instant: Monday 2026-01-05 10:00 UTC.
var T0 = unit.FromStd(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))

// Clock is the tests' fake clock: every reading advances it by its step.
type Clock = telemetry.StepClock

// NewClock returns a clock at t that advances step per reading.
func NewClock(t unit.Time, step unit.Duration) *Clock { return telemetry.NewStepClock(t, step) }

// World is a set of keys.
type World struct {
	Clinic, ER, Rogue telemetry.Authority
	Pump              telemetry.Enrolment
	Clinician         telemetry.Identity
	Patient           telemetry.Identity
	Monitor           telemetry.Identity
	Emergency         telemetry.Identity // issued by the ER authority, which the pump trusts
	Forged            telemetry.Identity // a clinician credential from the rogue authority
}

var (
	worldOnce sync.Once
	world     *World
)

// Keys returns the shared test keys (generated once, deterministically).
func Keys() *World {
	worldOnce.Do(func() {
		rng := rand.NewChaCha8([32]byte{'i', 'm', 'p', 'l', 'a', 'n', 't', 't', 'e', 's', 't'})
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		w := &World{}
		var err error
		for _, a := range []*telemetry.Authority{&w.Clinic, &w.ER, &w.Rogue} {
			*a, err = telemetry.NewAuthority(rng)
			must(err)
		}
		w.Pump, err = telemetry.Enrol(rng, w.Clinic, 4001, "TP-20 #4001", T0.Add(-unit.Day), T0.Add(3650*unit.Day), w.ER.Public)
		must(err)
		id := func(a telemetry.Authority, role telemetry.Role, serial uint64, name string) telemetry.Identity {
			i, err := telemetry.NewIdentity(rng, a, role, serial, name, T0.Add(-unit.Day), T0.Add(730*unit.Day))
			must(err)
			return i
		}
		w.Clinician = id(w.Clinic, telemetry.RoleClinician, 101, "Dr. A. Ruiz")
		w.Patient = id(w.Clinic, telemetry.RolePatient, 201, "PTM of patient 17")
		w.Monitor = id(w.Clinic, telemetry.RoleMonitor, 301, "Home relay 17")
		w.Emergency = id(w.ER, telemetry.RoleEmergency, 401, "ER programmer, St. Elsewhere")
		w.Forged = id(w.Rogue, telemetry.RoleClinician, 101, "Dr. A. Ruiz")
		world = w
	})
	return world
}

// Config is a TP-20 with a 50 cm catheter and both sensors.
func Config() pump.Config {
	return pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		PressureSensor: true, LevelSensor: true, Battery: pump.BatteryCapacity}
}

// Pump is a virtual implant on in-memory links.
type Pump struct {
	T     testing.TB
	Keys  *World
	Clock *Clock
	Im    *implant.Implant

	sessions sync.Mutex // one session at a time, as the TCP server accepts
}

// New returns a factory-fresh implant at T0 (no prescription, empty
// reservoir). opts adjust the telemetry server's configuration.
func New(t testing.TB, cfg pump.Config, opts ...func(*telemetry.ServerConfig)) *Pump {
	t.Helper()
	p := &Pump{T: t, Keys: Keys(), Clock: NewClock(T0, 10*unit.Millisecond)}
	d, err := device.New(cfg, T0, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.Im, err = implant.New(implant.Config{Device: d, Enrolment: p.Keys.Pump, Clock: p.Clock.Now,
		Server: func(c *telemetry.ServerConfig) {
			for _, o := range opts {
				o(c)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Wake wakes the radio.
func (p *Pump) Wake(k telemetry.WakeKind) {
	p.T.Helper()
	if err := p.Im.Wake(k); err != nil {
		p.T.Fatal(err)
	}
}

// Peer returns the configuration a client holding id uses to reach this pump
// over a fresh in-memory link per connection.
func (p *Pump) Peer(id telemetry.Identity) peer.Config {
	return peer.Config{
		Identity:   id,
		Trust:      telemetry.Trust{Authorities: p.Keys.Pump.Trust.Authorities[:1]},
		PumpSerial: p.Keys.Pump.Identity.Credential.Serial,
		Clock:      p.Clock.Now,
		Conn: func(ctx context.Context) (telemetry.Conn, error) {
			a, b := telemetry.Pipe("peer", "pump", telemetry.LinkConfig{}, telemetry.LinkConfig{})
			started := make(chan struct{})
			go func() {
				p.sessions.Lock()
				defer p.sessions.Unlock()
				close(started)
				p.Im.Server().ServeConn(context.Background(), b)
			}()
			select {
			case <-started:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return a, nil
		},
	}
}

// Idle waits until the session in progress, if any, has ended on the pump's
// side (its radio time charged, its end logged).
func (p *Pump) Idle() {
	p.sessions.Lock()
	p.sessions.Unlock()
}

// Core runs f on the pump core at the clock's time.
func (p *Pump) Core(f func(c *pump.Pump)) {
	p.T.Helper()
	if err := p.Im.Do(func(d *device.Device, _ unit.Time) error { f(d.Core); return nil }); err != nil {
		p.T.Fatal(err)
	}
}

// Device runs f on the device (core and simulated hardware).
func (p *Pump) Device(f func(d *device.Device, now unit.Time)) {
	p.T.Helper()
	if err := p.Im.Do(func(d *device.Device, now unit.Time) error { f(d, now); return nil }); err != nil {
		p.T.Fatal(err)
	}
}

// Status reads the implant's status.
func (p *Pump) Status() pumpwire.Status {
	p.T.Helper()
	st, err := p.Im.Status()
	if err != nil {
		p.T.Fatal(err)
	}
	return st
}

// Kinds returns the kinds of the event-log records from seq on.
func (p *Pump) Kinds(from uint64) []string {
	var out []string
	for _, r := range p.Im.Records(from) {
		out = append(out, r.Kind.String())
	}
	return out
}
