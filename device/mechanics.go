package device

import (
	"math"
	"math/rand/v2"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Mechanics is the error model of the simulated pump mechanism: the volume a
// completed stroke actually moves is the nominal stroke volume × (1 + e), with
//
//	e = SpreadPct/100 × z + DriftPctPerYear/100 × age in years
//
// where z is a standard normal drawn per stroke from the model's own seeded
// generator (so a model never disturbs the sensor noise of the hardware) and
// age is the time since Epoch (the implant). Volumes are rounded to the nL. The
// pump core never sees any of this: it counts nominal strokes, which is how a
// real pump's mechanism adds error the software cannot see. The zero value (and
// a nil *Mechanics) is an ideal mechanism.
type Mechanics struct {
	SpreadPct       float64   // 1 SD of the per-stroke volume error, in %
	DriftPctPerYear float64   // systematic change of the stroke volume per year of age, in %
	Epoch           unit.Time // age origin

	rng *rand.Rand
}

// NewMechanics returns the error model with the given spread and drift, its
// random draws seeded by seed.
func NewMechanics(spreadPct, driftPctPerYear float64, epoch unit.Time, seed uint64) *Mechanics {
	return &Mechanics{SpreadPct: spreadPct, DriftPctPerYear: driftPctPerYear, Epoch: epoch,
		rng: rand.New(rand.NewPCG(seed^0x6d656368616e6963, seed+0x5eed))}
}

// Ideal reports whether every stroke moves exactly the nominal volume.
func (m *Mechanics) Ideal() bool { return m == nil || m.SpreadPct == 0 && m.DriftPctPerYear == 0 }

// Stroke returns the volume one stroke at t moves.
func (m *Mechanics) Stroke(t unit.Time) unit.Volume {
	if m.Ideal() {
		return pump.StrokeVolume
	}
	e := m.DriftPctPerYear / 100 * float64(t-m.Epoch) / float64(365*unit.Day+unit.Day/4)
	if m.SpreadPct != 0 {
		if m.rng == nil {
			m.rng = rand.New(rand.NewPCG(1, 2))
		}
		e += m.SpreadPct / 100 * m.rng.NormFloat64()
	}
	v := math.Round(float64(pump.StrokeVolume) * (1 + e))
	return unit.Volume(max(v, 0))
}

// Attach makes d's completed strokes move the volumes m draws instead of the
// nominal stroke: it wraps d.OnStroke (so set OnStroke first; OnRun is
// cleared, as every stroke now draws its own volume), puts the
// difference back into, or takes it from, the simulated reservoir, and passes
// the volume actually moved on. A stroke that moved nothing (an occluded
// catheter) still moves nothing. Attaching an ideal model changes nothing.
func (m *Mechanics) Attach(d *Device) {
	if m.Ideal() {
		return
	}
	inner := d.OnStroke
	d.OnRun = nil // a volume drawn per stroke: the device delivers stroke by stroke
	d.OnStroke = func(t unit.Time, moved unit.Volume) {
		if moved > 0 {
			avail := d.HW.Reservoir + moved
			actual := min(m.Stroke(t), max(avail, 0))
			d.HW.Reservoir = avail - actual
			moved = actual
		}
		if inner != nil {
			inner(t, moved)
		}
	}
}
