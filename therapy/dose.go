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
	d, ok := c.DoseChecked(r)
	if !ok {
		return Dosing{}, tooLarge("concentration", []string{"rate"}, "%v at %v is a daily dose over %v", c, r, maxDose)
	}
	return Dosing{Concentration: c, Rate: r, Dose: d, Requested: d, StrokeDose: strokeDose(c)}, nil
}

// maxDose is about the largest daily dose a DoseRate holds: 9.2 kg a day.
var maxDose = unit.DoseRate(9_200 * 1_000 * unit.MassIn(1, unit.Milligram))

// strokeDose is the drug in one stroke at c, which fits whenever the dose
// of the pump's smallest rate at c fits.
func strokeDose(c unit.Concentration) unit.Mass {
	m, _ := c.OfChecked(pump.StrokeVolume)
	return m
}

// DosingForDose returns the rate that gives daily dose d at concentration c.
func DosingForDose(d unit.DoseRate, c unit.Concentration) (Dosing, error) {
	if c <= 0 {
		return Dosing{}, inputErr("concentration", "must be more than 0, e.g. \"10 mg/mL\"")
	}
	if d <= 0 {
		return Dosing{}, inputErr("dose", "must be more than 0, e.g. \"5 mg/day\"")
	}
	r, _ := c.RateForChecked(d) // c > 0 and d > 0: it always rounds
	if r < pump.MinRate || r > pump.MaxRate {
		return Dosing{}, inputErr("dose", "%v at %v needs %v, outside what the pump delivers (%v to %v): change the concentration",
			d, c, r, pump.MinRate, pump.MaxRate)
	}
	got, ok := c.DoseChecked(r)
	if !ok {
		return Dosing{}, tooLarge("dose", []string{"concentration"}, "%v at %v, rounded to %v, is a daily dose over %v", d, c, r, maxDose)
	}
	return Dosing{Concentration: c, Rate: r, Dose: got, Requested: d, StrokeDose: strokeDose(c)}, nil
}
