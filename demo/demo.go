// Package demo builds the demonstration clinic of `thecal demo`: users, a drug
// library, patients at different stages of intrathecal therapy recorded
// through the clinic services, and the real system around them (pumps.go):
// each implanted patient's pump a virtual implant on the telemetry protocol
// over loopback, programmed through telemetry, with a home monitor posting
// through the clinic's HTTP API, all on the clinic's faster clock. It holds
// no clinical rule: every number is computed by clinic, therapy, drug and
// pump.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Clock is the demonstration's time: it stands still while the clinic is
// seeded and then runs Speed times faster than the wall clock.
type Clock struct {
	mu    sync.Mutex
	sim   time.Time // simulated time at real
	real  time.Time
	speed float64
	wall  func() time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock {
	return &Clock{sim: t.UTC(), real: time.Now(), wall: time.Now}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at(c.wall())
}

func (c *Clock) at(real time.Time) time.Time {
	return c.sim.Add(time.Duration(float64(real.Sub(c.real)) * c.speed))
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sim, c.real, c.speed = t.UTC(), c.wall(), 0
}

// Run lets the clock run from where it stands at speed simulated seconds
// per real second (0 stops it).
func (c *Clock) Run(speed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.wall()
	c.sim, c.real, c.speed = c.at(now), now, speed
}

// Speed is how many simulated seconds pass in one real second.
func (c *Clock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

// ReportEvery is how often, in simulated time, each pump's home monitor reads
// it (a home monitor's nightly interrogation, more often for the
// demonstration): the pumps open a scheduled window every ReportEvery of the
// clinic's clock, at its speed when the pumps start.
const ReportEvery = 6 * time.Hour

// Login is a demonstration user's sign-in.
type Login struct {
	Username, Password, Name string
	Role                     clinic.Role
}

// Patient names a seeded patient and the stage of therapy it shows.
type Patient struct {
	ID    int64
	Name  string
	MRN   string
	Stage string
}

// Clinic is a seeded demonstration clinic.
type Clinic struct {
	Svc      *clinic.Service
	Clock    *Clock
	Logins   []Login
	Patients []Patient
	// Pumps are the implanted patients' pumps, once Start runs them.
	Pumps []*Pump
	// Begin is the simulated time at which the seeding ended and pumps started.
	Begin time.Time
	// Dir holds the pumps' state directories, the monitors' queues, the
	// keys and demo.json.
	Dir string
	// MonitorEvery is how often, in real time, the pumps open a window for
	// their home monitors (ReportEvery of simulated time).
	MonitorEvery time.Duration

	logger *slog.Logger
	keys   *keys
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// Login returns the sign-in of the demo user with the role.
func (c *Clinic) Login(role clinic.Role) Login {
	for _, l := range c.Logins {
		if l.Role == role {
			return l
		}
	}
	return Login{}
}

// PatientByStage returns the seeded patient showing the stage.
func (c *Clinic) PatientByStage(stage string) Patient {
	for _, p := range c.Patients {
		if p.Stage == stage {
			return p
		}
	}
	return Patient{}
}

// Stages, one per seeded patient.
const (
	StageTrial    = "in trial"
	StagePriming  = "newly implanted, priming"
	StageStable   = "stable"
	StageOverdue  = "refill overdue"
	StageERI      = "ERI reached"
	StageCritical = "baclofen, critical alarm"
)

// system is the principal seeding runs as.
func system(ctx context.Context) context.Context { return clinic.NewContext(ctx, clinic.System) }

// must wraps a seeding error with what was being done.
func must(what string, err error) error {
	if err != nil {
		return fmt.Errorf("demo: %s: %w", what, err)
	}
	return nil
}
