package telemetry

import (
	"sync"

	"github.com/thecal/thecal/unit"
)

// StepClock is a clock for tests and simulations of the link, to hand to a
// ServerConfig or ClientConfig as Now: every reading advances it by its step,
// so sessions have a non-zero, reproducible radio time. It is safe for
// concurrent use.
type StepClock struct {
	mu   sync.Mutex
	t    unit.Time
	step unit.Duration
}

// NewStepClock returns a clock at t that advances step per reading.
func NewStepClock(t unit.Time, step unit.Duration) *StepClock {
	return &StepClock{t: t, step: step}
}

// Now reads the clock, and advances it by its step.
func (c *StepClock) Now() unit.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// Advance moves the clock on by d.
func (c *StepClock) Advance(d unit.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
