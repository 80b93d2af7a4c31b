package therapy

import (
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Dosing is a daily dose and the volume rate that gives it at a concentration:
// dose/day = rate (mL/day) × concentration.
type Dosing struct {
	Concentration unit.Concentration
	Rate          unit.Rate
	// Dose is what Rate delivers at Concentration, exactly.
	Dose unit.DoseRate
	// Requested is the dose asked for (DosingForDose); the rate is rounded to the
	// nearest nL/day, so Dose differs from it by at most half a nL/day of drug.
	Requested unit.DoseRate
	// StrokeDose is the drug in one stroke.
	StrokeDose unit.Mass
}

// DosingForRate returns the daily dose rate r gives at concentration c.
func DosingForRate(r unit.Rate, c unit.Concentration) (Dosing, error) {
	if c <= 0 {
		return Dosing{}, inputErr("concentration", "must be more than 0, e.g. \"10 mg/mL\"")
	}
	if err := checkRate("rate", r); err != nil {
		return Dosing{}, err
	}
	d := c.Dose(r)
	return Dosing{Concentration: c, Rate: r, Dose: d, Requested: d, StrokeDose: c.Of(pump.StrokeVolume)}, nil
}

// DosingForDose returns the rate that gives daily dose d at concentration c.
func DosingForDose(d unit.DoseRate, c unit.Concentration) (Dosing, error) {
	if c <= 0 {
		return Dosing{}, inputErr("concentration", "must be more than 0, e.g. \"10 mg/mL\"")
	}
	if d <= 0 {
		return Dosing{}, inputErr("dose", "must be more than 0, e.g. \"5 mg/day\"")
	}
	r := c.RateFor(d)
	if r < pump.MinRate || r > pump.MaxRate {
		return Dosing{}, inputErr("dose", "%v at %v needs %v, outside what the pump delivers (%v to %v): change the concentration",
			d, c, r, pump.MinRate, pump.MaxRate)
	}
	return Dosing{Concentration: c, Rate: r, Dose: c.Dose(r), Requested: d, StrokeDose: c.Of(pump.StrokeVolume)}, nil
}
