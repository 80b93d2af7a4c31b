// Package device owns a running pump: the pump core together with the hardware it
// drives (here simulated: motor, reservoir, pressure and level sensors) and the
// persistent memory that keeps its image across resets. It contains no dosing
// logic: it drives what the core asks for, applies the core's memory writes, and
// injects hardware faults.
package device

import (
	"math/rand/v2"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Simulated sensor figures (device design constants, docs/pump-core.md).
const (
	NormalPressure   = 20 * unit.Kilopascal
	PressureNoise    = 2 * unit.Kilopascal
	OccludedPressure = 150 * unit.Kilopascal
	LeakPressure     = 500 * unit.Pascal
	LevelNoise       = 200 * unit.Microlitre // the level sensor reads within ±0.2 mL
)

// Hardware is the simulated pump mechanism and sensors.
type Hardware struct {
	Reservoir unit.Volume // the volume actually in the reservoir

	rng        *rand.Rand
	stallUntil unit.Time
	occlFrom   unit.Time
	occlUntil  unit.Time
	leak       bool
}

// Stall makes the motor fail every stroke in [from, until) (an MRI scan's magnetic
// field, or wear).
func (h *Hardware) Stall(until unit.Time) { h.stallUntil = max(h.stallUntil, until) }

// Occlude blocks the catheter from `from` until `until` (never, for a permanent occlusion).
func (h *Hardware) Occlude(from, until unit.Time) { h.occlFrom, h.occlUntil = from, until }

// Leak breaks the catheter for good: fluid leaves at the break, outlet pressure falls.
func (h *Hardware) Leak() { h.leak = true }

// Leaking reports whether the catheter leaks.
func (h *Hardware) Leaking() bool { return h.leak }

func (h *Hardware) occluded(t unit.Time) bool { return t >= h.occlFrom && t < h.occlUntil }

// nominal reports whether every stroke in [from, until] completes and moves
// its volume at normal outlet pressure: no stall window, occlusion or leak
// reaches into the span. The pressure noise (±2 kPa about 20 kPa) never leaves
// the core's normal band.
func (h *Hardware) nominal(from, until unit.Time) bool {
	return from >= h.stallUntil && !h.leak && (h.occlFrom > until || h.occlUntil <= from)
}

// stroke drives one stroke at t and returns the result and the volume that left
// the reservoir.
func (h *Hardware) stroke(t unit.Time, wantPressure bool) (pump.StrokeResult, unit.Volume) {
	if t < h.stallUntil {
		return pump.StrokeResult{}, 0
	}
	r := pump.StrokeResult{Completed: true}
	var moved unit.Volume
	switch {
	case h.occluded(t):
		r.Pressure = OccludedPressure
	default:
		moved = min(pump.StrokeVolume, max(h.Reservoir, 0))
		h.Reservoir -= moved
		r.Pressure = NormalPressure
		if h.leak {
			r.Pressure = LeakPressure
		}
	}
	if wantPressure && !h.leak {
		r.Pressure += unit.Pressure(h.rng.Int64N(int64(2*PressureNoise+1))) - PressureNoise
	}
	return r, moved
}

func (h *Hardware) level() unit.Volume {
	return h.Reservoir + unit.Volume(h.rng.Int64N(int64(2*LevelNoise+1))) - LevelNoise
}

// Device is a pump core with its hardware and persistent memory.
type Device struct {
	Cfg  pump.Config
	Core *pump.Pump
	Log  *pump.Log
	HW   Hardware
	NVM  [pump.ImageSize]byte

	// OnStroke, if set, is called after every completed stroke with the volume
	// that left the reservoir.
	OnStroke func(t unit.Time, moved unit.Volume)

	coastStroke func(t unit.Time) // d.coasted, bound once
	tickOnly    bool              // never coast: the stroke-by-stroke reference (tests)
}

// New returns a device fresh from the factory at now; seed drives sensor noise.
func New(cfg pump.Config, now unit.Time, seed uint64) (*Device, error) {
	d := &Device{Cfg: cfg, Log: pump.NewLog()}
	d.HW.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	core, err := pump.New(cfg, now, d.Log)
	if err != nil {
		return nil, err
	}
	d.Core = core
	d.Persist()
	return d, nil
}

// Persist copies the core's pending memory writes into persistent memory.
func (d *Device) Persist() {
	img := d.Core.Image()
	for _, w := range d.Core.Writes() {
		copy(d.NVM[w.Off:w.Off+w.Len], img[w.Off:w.Off+w.Len])
	}
	d.Core.WritesDone()
}

// Run drives the core up to and including time until. After a stroke, where
// the hardware is nominal up to until, it lets the core coast
// (pump.Pump.Coast): the same strokes, the same motor and sensor draws and
// OnStroke calls, a batch at a time instead of a Tick and a StrokeDone each.
func (d *Device) Run(until unit.Time) {
	c := d.Core
	pressure := d.Cfg.PressureSensor
	for {
		a := c.Tick(until)
		switch a.Kind {
		case pump.ActNone:
			d.Persist()
			return
		case pump.ActStroke:
			r, moved := d.HW.stroke(a.At, pressure)
			c.StrokeDone(r)
			if r.Completed && d.OnStroke != nil {
				d.OnStroke(a.At, moved)
			}
		case pump.ActReadLevel:
			c.LevelRead(d.HW.level())
		}
		if len(c.Writes()) > 0 {
			d.Persist()
		}
		if a.Kind == pump.ActStroke && !d.tickOnly && d.HW.nominal(c.Next(), until) {
			d.coast(until)
		}
	}
}

// coast lets the core deliver its nominal strokes up to until in one batch.
// Without a stroke callback or a pressure sensor a stroke only moves its volume
// out of the reservoir, which is then done for the whole batch at once.
func (d *Device) coast(until unit.Time) {
	if d.OnStroke == nil && !d.Cfg.PressureSensor {
		n := d.Core.Coast(until, nil) // hourly checkpoints included: persist them
		if d.HW.Reservoir > 0 {       // each stroke moves min(stroke, what is left)
			d.HW.Reservoir = max(d.HW.Reservoir-unit.Volume(n)*pump.StrokeVolume, 0)
		}
		if len(d.Core.Writes()) > 0 {
			d.Persist()
		}
		return
	}
	if d.coastStroke == nil {
		d.coastStroke = d.coasted
	}
	d.Core.Coast(until, d.coastStroke)
}

// coasted is one stroke of a coasting core: the motor and sensors as in Run.
func (d *Device) coasted(t unit.Time) {
	r, moved := d.HW.stroke(t, d.Cfg.PressureSensor)
	if !r.Completed || d.Cfg.PressureSensor && (r.Pressure < pump.LeakFloor || r.Pressure > pump.OcclusionPressure) {
		panic("device: a coasted stroke was not nominal") // unreachable: Run coasts only where nominal holds
	}
	if d.OnStroke != nil {
		d.OnStroke(t, moved)
	}
}

// Do runs the core to now, applies a command there and persists what it wrote.
func (d *Device) Do(now unit.Time, cmd func(c *pump.Pump) error) error {
	d.Run(now)
	err := cmd(d.Core)
	d.Persist()
	return err
}

// PowerLoss resets the pump at now (a brown-out, which takes no time): the core's
// working memory is lost and it restarts from persistent memory.
func (d *Device) PowerLoss(now unit.Time) error {
	d.Run(now)
	cfg := d.Cfg
	core, err := pump.Restore(cfg, d.NVM[:], d.Log, now)
	if err != nil {
		return err
	}
	d.Core = core
	d.Persist()
	return nil
}
