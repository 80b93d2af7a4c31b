// Package device owns a running pump: the pump core together with the hardware it
// drives (here simulated: motor, reservoir, pressure and level sensors) and the
// persistent memory that keeps its image across resets. It contains no dosing
// logic: it drives what the core asks for, applies the core's memory writes, and
// injects hardware faults.
package device

import (
	"math/bits"
	"math/rand/v2"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Simulated sensor figures (device design constants, docs/pump-core.md).
const (
	NormalPressure   = 20 * unit.Kilopascal
	PressureNoise    = 2 * unit.Kilopascal
	OccludedPressure = 150 * unit.Kilopascal
	KinkedPressure   = 80 * unit.Kilopascal // a partly blocked catheter: raised, yet under the occlusion threshold
	LeakPressure     = 500 * unit.Pascal
	LevelNoise       = 200 * unit.Microlitre // the level sensor reads within ±0.2 mL
)

// Hardware is the simulated pump mechanism and sensors.
type Hardware struct {
	Reservoir unit.Volume // the volume actually in the reservoir

	rng        *rand.Rand
	src        *rand.PCG // rng's source, jumped over the pressure draws of coasted strokes
	stallUntil unit.Time
	occlFrom   unit.Time
	occlUntil  unit.Time
	leak       bool
	kinkPct    int64 // a kinked catheter passes this percentage of each stroke (0: not kinked)
	migrated   bool
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

// Kink partly blocks the catheter for good: the outlet pressure rises to
// KinkedPressure, still under the pump's occlusion threshold, and against it
// each stroke moves only pct percent of its volume out of the reservoir (a
// peristaltic pump loses volume against back-pressure). The pump counts full
// strokes: the shortfall shows as a residual larger than expected at the next
// refill.
func (h *Hardware) Kink(pct int) { h.kinkPct = int64(max(1, min(pct, 99))) }

// Migrate moves the catheter tip out of the intrathecal space: the drug flows
// as before, at normal pressure, into tissue where it does not act. Nothing
// the pump measures changes.
func (h *Hardware) Migrate() { h.migrated = true }

// Migrated reports whether the catheter tip has migrated.
func (h *Hardware) Migrated() bool { return h.migrated }

// ReplaceCatheter is a catheter revision: a new catheter, neither occluded,
// kinked, broken nor out of place (it holds no drug until primed).
func (h *Hardware) ReplaceCatheter() {
	h.occlFrom, h.occlUntil, h.leak, h.kinkPct, h.migrated = 0, 0, false, 0, false
}

func (h *Hardware) occluded(t unit.Time) bool { return t >= h.occlFrom && t < h.occlUntil }

// nominal reports whether every stroke in [from, until] completes at an
// outlet pressure the core takes as normal: no stall window, occlusion or leak
// reaches into the span. The pressure noise (±2 kPa about 20 kPa, or about a
// kink's 80 kPa) never leaves the core's normal band; a kinked stroke moves
// less, which only the reservoir sees.
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
		moved = min(h.strokeVolume(), max(h.Reservoir, 0))
		h.Reservoir -= moved
		r.Pressure = NormalPressure
		switch {
		case h.leak:
			r.Pressure = LeakPressure
		case h.kinkPct > 0:
			r.Pressure = KinkedPressure
		}
	}
	if wantPressure && !h.leak {
		r.Pressure += h.noise()
	}
	return r, moved
}

// noise is the pressure sensor's noise, uniform over ±PressureNoise: one draw
// of the generator exactly (the high half of draw × span, which is what
// Int64N returns but for its rejection of 1 draw in 4.6×10^15), so that a
// run of strokes can skip its draws (skipNoise).
func (h *Hardware) noise() unit.Pressure {
	v, _ := bits.Mul64(h.rng.Uint64(), uint64(2*PressureNoise+1))
	return unit.Pressure(v) - PressureNoise
}

// skipNoise moves the generator on by n draws, as n strokes' pressure
// readings would: the PCG's state jumps ahead in O(log n) (Brown, "Random
// number generation with arbitrary strides", 1994).
func (h *Hardware) skipNoise(n uint64) {
	var buf [20]byte
	b, _ := h.src.AppendBinary(buf[:0])
	st := u128{beUint64(b[4:]), beUint64(b[12:])}
	for k := 0; n > 0; k, n = k+1, n>>1 {
		if n&1 == 1 {
			st = pcgJumps[k].mul.mul(st).add(pcgJumps[k].inc)
		}
	}
	h.src.Seed(st.hi, st.lo)
}

// pcgJumps[k] is 2^k steps of the PCG's state, state × mul + inc (mod 2^128,
// math/rand/v2): state_{n} = mul^n × state + inc × (mul^(n-1) + … + 1).
var pcgJumps = func() (j [64]struct{ mul, inc u128 }) {
	mul := u128{2549297995355413924, 4865540595714422341}
	inc := u128{6364136223846793005, 1442695040888963407}
	for k := range j {
		j[k].mul, j[k].inc = mul, inc
		inc = mul.add(u128{0, 1}).mul(inc)
		mul = mul.mul(mul)
	}
	return j
}()

// u128 is an unsigned 128-bit integer, arithmetic mod 2^128.
type u128 struct{ hi, lo uint64 }

func (a u128) mul(b u128) u128 {
	hi, lo := bits.Mul64(a.lo, b.lo)
	return u128{hi + a.hi*b.lo + a.lo*b.hi, lo}
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// strokeVolume is what a stroke moves out of the reservoir when it can.
func (h *Hardware) strokeVolume() unit.Volume {
	if h.kinkPct > 0 {
		return pump.StrokeVolume * unit.Volume(h.kinkPct) / 100
	}
	return pump.StrokeVolume
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

	// OnStroke, if set, is called after every completed stroke with the volume
	// that left the reservoir — unless OnRun is set, which then takes the
	// strokes the core delivers in closed form (Coast) a run at a time, and
	// OnStroke only the others. With OnStroke alone, Run delivers stroke by
	// stroke wherever OnStroke would be called.
	OnStroke func(t unit.Time, moved unit.Volume)
	// OnRun, if set, is called after a run of completed strokes that each
	// moved the same volume out of the reservoir.
	OnRun func(r pump.StrokeRun, moved unit.Volume)

	// Lazy, if set, makes Persist a promise rather than a copy: persistent
	// memory is brought up to date only when something needs it (PowerLoss,
	// Sync). A simulation reads it only at a power loss, which takes no time,
	// so what it holds then is what eager copying would have left; and the
	// core encodes the state records it would otherwise encode for every
	// copy only for those that survive to a read. A real device, or anything
	// reading NVM between calls (the implant's store), leaves it unset.
	Lazy bool

	coastStroke func(t unit.Time) // d.coasted, bound once
	tickOnly    bool              // never coast: the stroke-by-stroke reference (tests)

	// NVM is the persistent memory (last: it holds no pointer).
	NVM [pump.ImageSize]byte
}

// New returns a device fresh from the factory at now; seed drives sensor noise.
func New(cfg pump.Config, now unit.Time, seed uint64) (*Device, error) {
	d := &Device{Cfg: cfg, Log: pump.NewLog()}
	d.HW.src = rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	d.HW.rng = rand.New(d.HW.src)
	core, err := pump.New(cfg, now, d.Log)
	if err != nil {
		return nil, err
	}
	d.Core = core
	d.Persist()
	return d, nil
}

// Persist copies the core's pending memory writes into persistent memory (or,
// Lazy, leaves them to Sync).
func (d *Device) Persist() {
	if !d.Lazy {
		d.Sync()
	}
}

// Sync copies the core's pending memory writes into persistent memory.
func (d *Device) Sync() {
	img := d.Core.Image()
	for _, w := range d.Core.Writes() {
		copy(d.NVM[w.Off:w.Off+w.Len], img[w.Off:w.Off+w.Len])
	}
	d.Core.WritesDone()
}

// Run drives the core up to and including time until. Wherever the hardware
// is nominal (or the core will not stroke) it lets the core advance in closed
// form (pump.Pump.Coast): the same strokes, tones and checkpoints, in time that
// does not grow with their number. Only a stroke observer without OnRun (or a
// mechanical error model, which draws a volume per stroke) makes the core
// deliver stroke by stroke, with the same motor and sensor draws.
func (d *Device) Run(until unit.Time) {
	c := d.Core
	pressure := d.Cfg.PressureSensor
	for {
		if !d.tickOnly && c.Next() <= until {
			d.coast(until)
		}
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
	}
}

// coast lets the core advance up to until in closed form where the hardware
// allows it: nominal for every stroke in the span, or no strokes to come.
func (d *Device) coast(until unit.Time) {
	c := d.Core
	if c.Delivering() && !d.HW.nominal(c.Next(), until) {
		return
	}
	if d.OnStroke != nil && d.OnRun == nil {
		if d.coastStroke == nil {
			d.coastStroke = d.coasted
		}
		c.Coast(until, d.coastStroke)
		return
	}
	d.delivered(c.Coast(until, nil))
	if len(c.Writes()) > 0 {
		d.Persist()
	}
}

// delivered drives the motor and sensors for a run of coasted strokes: each
// moves min(stroke, what is left) out of the reservoir, and the pressure
// sensor draws its noise for each.
func (d *Device) delivered(r pump.StrokeRun) {
	n := r.Len()
	if n == 0 {
		return
	}
	if d.Cfg.PressureSensor && !d.HW.leak {
		d.HW.skipNoise(uint64(n))
	}
	v := d.HW.strokeVolume()
	full := n
	if res := max(d.HW.Reservoir, 0); res < unit.Volume(n)*v {
		full = int(res / v)
	}
	d.HW.Reservoir -= unit.Volume(full) * v
	if d.OnRun != nil && full > 0 {
		d.OnRun(r.Sub(0, full), v)
	}
	if full == n {
		return
	}
	part := max(d.HW.Reservoir, 0)
	d.HW.Reservoir -= part
	if d.OnRun != nil {
		d.OnRun(r.Sub(full, 1), part)
		if full+1 < n {
			d.OnRun(r.Sub(full+1, n-full-1), 0)
		}
	}
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
	d.Sync()
	cfg := d.Cfg
	core, err := pump.Restore(cfg, d.NVM[:], d.Log, now)
	if err != nil {
		return err
	}
	d.Core = core
	d.Persist()
	return nil
}
