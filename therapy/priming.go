package therapy

import (
	"fmt"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Catheter is an implanted catheter: its length and internal volume per cm.
type Catheter struct {
	Length unit.Length
	PerCm  unit.Volume // volume of one centimetre; pump.DefaultCatheterPerCm unless measured
}

// Volume is the catheter's internal volume: length × volume per cm, for a
// catheter within the pump's bounds (check).
func (c Catheter) Volume() unit.Volume { return c.Length.VolumeFor(c.PerCm) }

// check refuses a catheter outside the pump core's bounds, which keep a priming
// bolus at or under pump.MaxPrimingVolume (hazard H5).
func (c Catheter) check() error {
	if c.Length <= 0 || c.Length > pump.MaxCatheterLength {
		return inputErr("catheter-length", "%v is outside more than 0 to %v", c.Length, pump.MaxCatheterLength)
	}
	if c.PerCm <= 0 || c.PerCm > pump.MaxCatheterPerCm {
		return inputErr("catheter-per-cm", "%v per cm is outside more than 0 to %v per cm (default %v)", c.PerCm, pump.MaxCatheterPerCm, pump.DefaultCatheterPerCm)
	}
	return nil
}

// Prime is a priming bolus: it fills pump tubing and catheter, at the maximum rate.
type Prime struct {
	Tubing, Catheter unit.Volume
	Volume           unit.Volume   // tubing + catheter
	Strokes          int64         // whole strokes that deliver at least Volume
	Duration         unit.Duration // at pump.MaxRate
}

// Priming returns the priming bolus for catheter c: volume = pump tubing volume +
// catheter volume, bounded by pump.MaxPrimingVolume.
func Priming(c Catheter) (Prime, error) {
	if err := c.check(); err != nil {
		return Prime{}, err
	}
	p := Prime{Tubing: pump.TubingVolume, Catheter: c.Volume()}
	p.Volume = p.Tubing + p.Catheter
	if p.Volume > pump.MaxPrimingVolume { // unreachable within the catheter bounds; kept as the H5 guard
		return Prime{}, inputErr("catheter-length", "priming volume %v is more than the largest priming bolus %v", p.Volume, pump.MaxPrimingVolume)
	}
	p.Strokes = strokes(p.Volume)
	p.Duration, _ = pump.MaxRate.DurationFor(p.Volume)
	return p, nil
}

// Bridge is the bridge after a refill that changes concentration: the old drug
// left in tubing and catheter is delivered at the old program's rate; when it is
// out, the new drug is at the catheter tip and the new program starts.
type Bridge struct {
	Volume       unit.Volume // tubing + catheter
	Rate         unit.Rate   // the old program's rate
	Strokes      int64
	Duration     unit.Duration // Volume ÷ Rate
	Start        unit.Time
	NewDrugAtTip unit.Time // Start + Duration
	// OldDrug is the old drug the patient receives during the bridge, at the
	// daily dose OldDose (both 0 when the old concentration is not given).
	OldDrug unit.Mass
	OldDose unit.DoseRate
}

// BridgeFor returns the bridge for catheter c after a refill at start, with the
// old program's rate and, optionally (0), the old concentration.
func BridgeFor(oldRate unit.Rate, c Catheter, start unit.Time, oldConc unit.Concentration) (Bridge, error) {
	if err := checkRate("old-rate", oldRate); err != nil {
		return Bridge{}, err
	}
	if err := c.check(); err != nil {
		return Bridge{}, err
	}
	if oldConc < 0 {
		return Bridge{}, inputErr("old-concentration", "must not be negative")
	}
	b := Bridge{Volume: pump.TubingVolume + c.Volume(), Rate: oldRate, Start: start}
	b.Strokes = strokes(b.Volume)
	b.Duration, _ = oldRate.DurationFor(b.Volume)
	var ok1, ok2, ok3 bool
	b.NewDrugAtTip, ok1 = start.AddChecked(b.Duration)
	b.OldDrug, ok2 = oldConc.OfChecked(b.Volume)
	b.OldDose, ok3 = oldConc.DoseChecked(oldRate)
	switch {
	case !ok1:
		return Bridge{}, tooLarge("start", nil, "%v + %v is after the last time", start, b.Duration)
	case !ok2 || !ok3:
		return Bridge{}, tooLarge("old-concentration", []string{"old-rate"}, "%v at %v", oldConc, oldRate)
	}
	return b, nil
}

// Text says the bridge for a person, with the old drug's name, concentration
// and dose unit, times in loc: what tubing and catheter hold, how long it
// runs at the old rate, when the new drug reaches the tip, and that patient
// boluses are locked out until then (the pump refuses a patient bolus while
// a bridge runs).
func (b Bridge) Text(oldDrug string, oldConc unit.Concentration, u unit.MassUnit, loc *time.Location) string {
	at := b.NewDrugAtTip.Std().In(loc).Format("2006-01-02 15:04 MST")
	return fmt.Sprintf("the old %s in tubing and catheter, %v = %s at %s, is delivered at the old rate %v for %v; the new drug reaches the catheter tip at %s, when the new program starts. Patient boluses are locked out during the bridge: for %v, until %s.",
		oldDrug, b.Volume, b.OldDrug.Format(u), oldConc.Format(u), b.Rate, roundTo(b.Duration, unit.Minute), at, roundTo(b.Duration, unit.Minute), at)
}

// roundTo rounds d to the nearest multiple of m, for display.
func roundTo(d, m unit.Duration) unit.Duration { return (d + m/2) / m * m }
