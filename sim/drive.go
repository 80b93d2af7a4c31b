package sim

import (
	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// hooks observe a run as it goes without changing what the pump does: the
// trumpet, the campaign checker, the plots and the population runner are all
// built on them. Every field is optional.
type hooks struct {
	// event is called after each scenario event has been applied.
	event func(e *scenario.Event)
	// sample is called every sampleEvery of virtual time from the start (and at
	// the end), with the core run up to that instant.
	sample      func(t unit.Time)
	sampleEvery unit.Duration
	// tick, when positive, drives the core with a Tick at every multiple of tick
	// instead of jumping from one scheduled time to the next: the plain loop the
	// event-driven simulator is measured against. It must not change any result.
	tick unit.Duration
	// stop, when set, is asked after each event whether the run may end there.
	stop func() bool
}

// newDriven prepares sc for drive: the run of Run, with the scenario's
// mechanical error model attached to the simulated hardware. stroke, if not
// nil, is called after each completed stroke with the volume the mechanism
// actually moved out of the reservoir.
func newDriven(sc *scenario.Scenario, stroke func(t unit.Time, moved unit.Volume)) (*run, error) {
	r, err := newRun(sc)
	if err != nil {
		return nil, err
	}
	if stroke != nil {
		inner := r.dev.OnStroke
		r.dev.OnRun = nil // the observer sees every stroke
		r.dev.OnStroke = func(t unit.Time, moved unit.Volume) {
			inner(t, moved)
			stroke(t, moved)
		}
	}
	return r, nil
}

// attachMechanics makes the simulated mechanism move the volumes of the
// scenario's error model (pump.stroke_spread_pct, pump.stroke_drift_pct_per_year):
// the wrapper goes outside every stroke callback, which then sees the volume moved.
func (r *run) attachMechanics() {
	p := &r.sc.Pump
	device.NewMechanics(p.StrokeSpreadPct, p.StrokeDriftPctPerYear, r.sc.Start, uint64(r.sc.Seed)).Attach(r.dev)
}

// drive runs the scenario (fill, the first prescription, the events in order,
// then to the end), calling h as it goes.
func (r *run) drive(h *hooks) error {
	if err := r.begin(); err != nil {
		return err
	}
	start := r.sc.Start
	w := walker{r: r, h: h, at: start, nextSample: start}
	if h.event != nil {
		h.event(nil) // the pump as it left the clinic
	}
	// Not a range loop: an event hook may add events ahead (insertEvent).
	for i := 0; i < len(r.sc.Events); i++ {
		e := &r.sc.Events[i]
		w.to(e.At)
		if err := r.event(e); err != nil {
			return err
		}
		if h.event != nil {
			h.event(e)
		}
		if h.stop != nil && h.stop() {
			r.dayAt(e.At)
			return nil
		}
	}
	w.to(r.sc.End())
	if r.unbridged != "" {
		r.rep.Warnings = append(r.rep.Warnings, r.unbridged)
	}
	r.dayAt(r.sc.End().Add(-unit.Millisecond)) // days run to the scenario's last day, with or without delivery
	if h.sample != nil && w.lastSample != r.sc.End() {
		h.sample(r.sc.End())
	}
	return nil
}

// begin sets the pump up as it leaves the clinic at the scenario's start: the
// fill, then the first prescription.
func (r *run) begin() error {
	d := r.dev
	start := r.sc.Start
	if err := d.Do(start, func(c *pump.Pump) error {
		return c.Refill(start, pump.Refill{Added: r.sc.Fill.Volume, Drug: r.res.Name, Concentration: r.res.Concentration})
	}); err != nil {
		return &scenario.FieldError{Field: "fill", Reason: err.Error()}
	}
	rx := rxOf(&r.sc.Prescription, r.res)
	if err := d.Do(start, func(c *pump.Pump) error { return c.Program(start, pump.NewProgram(rx, c.Status().RxHash)) }); err != nil {
		return &scenario.FieldError{Field: "prescription", Reason: err.Error()}
	}
	return nil
}

// walker moves the run forward in time, sampling and ticking as the hooks ask.
type walker struct {
	r          *run
	h          *hooks
	at         unit.Time
	nextSample unit.Time
	lastSample unit.Time
}

func (w *walker) to(t unit.Time) {
	d, h := w.r.dev, w.h
	if h.tick > 0 {
		for next := w.at - (w.at-w.r.sc.Start)%unit.Time(h.tick) + unit.Time(h.tick); next < t; next += unit.Time(h.tick) {
			w.sampleUpTo(next)
			d.Run(next)
		}
	}
	w.sampleUpTo(t)
	d.Run(t)
	w.at = t
}

// sampleUpTo takes the samples due at or before t.
func (w *walker) sampleUpTo(t unit.Time) {
	h := w.h
	if h.sample == nil || h.sampleEvery <= 0 {
		return
	}
	for w.nextSample <= t {
		w.r.dev.Run(w.nextSample)
		h.sample(w.nextSample)
		w.lastSample = w.nextSample
		w.nextSample = w.nextSample.Add(h.sampleEvery)
	}
}

// insertEvent adds e to the run's events in time order, after any event at the
// same time; an event hook may call it for a time after the current event.
func (r *run) insertEvent(e scenario.Event) {
	evs := r.sc.Events
	i := len(evs)
	for i > 0 && evs[i-1].At > e.At {
		i--
	}
	e.Index = len(evs)
	r.sc.Events = append(evs[:i:i], append([]scenario.Event{e}, evs[i:]...)...)
}
