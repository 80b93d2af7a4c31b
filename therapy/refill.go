package therapy

import (
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// RefillInput is what a refill nurse knows before withdrawing the residual.
type RefillInput struct {
	Model     pump.Model
	LastFill  unit.Volume   // in the reservoir after the last refill
	Rate      unit.Rate     // the programmed basal rate since (the average, for a flex program)
	Since     unit.Duration // since the last refill
	Boluses   unit.Volume   // bolus volume the pump reports given since (0 if none)
	Withdrawn unit.Volume   // withdrawn from the reservoir now
}

// Discrepancy classifies the difference between withdrawn and expected volume.
type Discrepancy uint8

const (
	// WithinLimit: the residual is what the program predicts, within the model's limit.
	WithinLimit Discrepancy = iota
	// LessThanExpected: less came back than the program leaves. Possible pocket
	// fill at the last refill (drug injected into the tissue, not the reservoir) or
	// a pump delivering more than programmed.
	LessThanExpected
	// MoreThanExpected: more came back than the program leaves. The pump delivered
	// less than programmed: possible catheter occlusion or kink, or a pump fault.
	MoreThanExpected
)

func (d Discrepancy) String() string {
	switch d {
	case LessThanExpected:
		return "less than expected: possible pocket fill at the last refill, or the pump delivering more than programmed (pump fault)"
	case MoreThanExpected:
		return "more than expected: the pump delivered less than programmed: possible catheter problem (occlusion, kink) or pump fault"
	}
	return "within the limit"
}

// RefillCheck is the accounting of one refill.
type RefillCheck struct {
	Programmed unit.Volume // rate × since + boluses
	// Expected is the residual the program leaves: last fill − programmed, but
	// never below the empty-reservoir volume, where delivery stops.
	Expected    unit.Volume
	RanEmpty    bool          // the program would have taken the reservoir to empty
	EmptyAfter  unit.Duration // when RanEmpty: at the latest this long after the last refill
	Discrepancy unit.Volume   // withdrawn − expected
	Limit       unit.Volume   // the model's limit, ±
	Flag        Discrepancy
}

// CheckRefill does the refill accounting of spec/drugs.md: expected residual =
// volume after the last refill − programmed volume delivered since; discrepancy =
// withdrawn − expected, flagged beyond ±1.0 mL (TP-20) or ±2.0 mL (TP-40).
func CheckRefill(in RefillInput) (RefillCheck, error) {
	if err := checkVolume("last-fill", in.LastFill, in.Model, false); err != nil {
		return RefillCheck{}, err
	}
	if err := checkVolume("withdrawn", in.Withdrawn, in.Model, true); err != nil {
		return RefillCheck{}, err
	}
	if in.Withdrawn > in.LastFill {
		return RefillCheck{}, inputErr("withdrawn", "%v is more than the last fill %v: the reservoir cannot hold more than was put in", in.Withdrawn, in.LastFill)
	}
	if in.Rate != 0 {
		if err := checkRate("rate", in.Rate); err != nil {
			return RefillCheck{}, err
		}
	}
	if in.Since <= 0 || in.Since > 1000*unit.Day {
		return RefillCheck{}, inputErr("since", "%v is outside more than 0 to 1000d", in.Since)
	}
	if in.Boluses < 0 || in.Boluses > in.LastFill {
		return RefillCheck{}, inputErr("boluses", "%v is outside 0 to the last fill %v", in.Boluses, in.LastFill)
	}
	basal, _ := in.Rate.OverChecked(in.Since) // within the pump's rates and 1000 days: at most 24 L
	c := RefillCheck{Programmed: basal + in.Boluses, Limit: in.Model.DiscrepancyLimit()}
	c.Expected = in.LastFill - c.Programmed
	if c.Expected < pump.EmptyVolume {
		c.Expected, c.RanEmpty = pump.EmptyVolume, true
		if in.Rate > 0 {
			// Boluses only bring empty sooner: the basal rate alone gives the latest time.
			c.EmptyAfter, _ = in.Rate.DurationFor(in.LastFill - pump.EmptyVolume)
		}
	}
	c.Discrepancy = in.Withdrawn - c.Expected
	c.Flag = Classify(in.Model, c.Discrepancy)
	return c, nil
}

// Classify flags a refill discrepancy (withdrawn − expected residual) beyond the
// model's limit: ±1.0 mL on a TP-20, ±2.0 mL on a TP-40.
func Classify(m pump.Model, discrepancy unit.Volume) Discrepancy {
	switch lim := m.DiscrepancyLimit(); {
	case discrepancy < -lim:
		return LessThanExpected
	case discrepancy > lim:
		return MoreThanExpected
	}
	return WithinLimit
}

// PatientBolus is a prescription's patient bolus: volume per activation, lockout
// from the start of one to the next, and most activations in any 24 h.
type PatientBolus struct {
	Volume    unit.Volume
	Lockout   unit.Duration
	MaxPer24h int64
}

// RefillDateInput is what the next refill date depends on.
type RefillDateInput struct {
	Model        pump.Model
	Filled       unit.Time
	Volume       unit.Volume   // in the reservoir after the refill
	Rate         unit.Rate     // basal (the average, for a flex program)
	Bolus        *PatientBolus // nil: no patient bolus
	Max24h       unit.Volume   // the prescription's max_24h; 0 if not given
	LowThreshold unit.Volume   // the low-reservoir alarm threshold
	Stability    unit.Duration // the drug's longest time between refills; 0 if none in the library
	Margin       unit.Duration
}

// RefillDate is the next refill date and how it was reached.
type RefillDate struct {
	BolusPerDay unit.Rate // every allowed patient bolus, as a daily volume
	Use         unit.Rate // basal + BolusPerDay
	DailyUse    unit.Rate // Use, capped by max_24h: the worst case
	LowAt       unit.Time // the low-reservoir alarm at DailyUse
	EmptyAt     unit.Time // the empty-reservoir alarm at DailyUse: delivery stops
	StableUntil unit.Time // Filled + stability; 0 when the library has none
	ByStability bool      // the stability limit comes before the low-reservoir alarm
	Earliest    unit.Time // the earlier of LowAt and StableUntil
	Due         unit.Time // Earliest − margin
	// NoMargin: the margin reaches back to the fill itself; the refill interval
	// is shorter than the margin (a larger reservoir fill or a stronger
	// concentration is needed).
	NoMargin bool
}

// NextRefill returns the next refill date: the earliest of the low-reservoir
// alarm date, assuming every allowed patient bolus is used, and the drug's
// stability limit, minus the safety margin.
func NextRefill(in RefillDateInput) (RefillDate, error) {
	if err := checkVolume("volume", in.Volume, in.Model, false); err != nil {
		return RefillDate{}, err
	}
	if err := checkRate("rate", in.Rate); err != nil {
		return RefillDate{}, err
	}
	if in.LowThreshold < pump.LowReservoirMin || in.LowThreshold > pump.LowReservoirMax {
		return RefillDate{}, inputErr("low-threshold", "%v is outside %v to %v", in.LowThreshold, pump.LowReservoirMin, pump.LowReservoirMax)
	}
	if in.Volume <= in.LowThreshold {
		return RefillDate{}, inputErr("volume", "%v is at or under the low-reservoir threshold %v: refill now", in.Volume, in.LowThreshold)
	}
	if in.Stability < 0 || in.Margin < 0 {
		return RefillDate{}, inputErr("margin", "durations must not be negative")
	}
	var d RefillDate
	var err error
	if d.DailyUse, d.BolusPerDay, err = WorstDailyUse(in.Rate, in.Bolus, in.Max24h); err != nil {
		return RefillDate{}, err
	}
	d.Use = in.Rate + d.BolusPerDay // WorstDailyUse checked that the sum fits
	p, err := Project(ProjectionInput{Model: in.Model, At: in.Filled, Volume: in.Volume, Uses: []UseFrom{{From: in.Filled, Use: d.DailyUse}},
		LowThreshold: in.LowThreshold, Stability: in.Stability, Margin: in.Margin})
	if err != nil {
		return RefillDate{}, err
	}
	if !p.HasLow || !p.HasEmpty {
		return RefillDate{}, inputErr("rate", "too small to reach the alarm in any time this program can show")
	}
	d.LowAt, d.EmptyAt, d.StableUntil, d.ByStability, d.Earliest, d.Due = p.LowAt, p.EmptyAt, p.StableUntil, p.ByStability, p.Earliest, p.Due
	d.NoMargin = !d.Due.After(in.Filled)
	return d, nil
}

// StabilityLimit returns the drug's longest time to the next refill, with its
// source: the first-refill limit after a new pump's first fill, the diluted limit
// when diluted, otherwise the drug's limit. ok is false when the library has none.
func StabilityLimit(d *drug.Drug, diluted, firstFill bool) (limit unit.Duration, source string, ok bool) {
	var best *drug.Sourced[unit.Duration]
	consider := func(s *drug.Sourced[unit.Duration]) {
		if s != nil && (best == nil || s.Value < best.Value) {
			best = s
		}
	}
	if firstFill {
		consider(d.Refill.FirstWithin)
	}
	if diluted && d.Refill.MaxIntervalDiluted != nil {
		consider(d.Refill.MaxIntervalDiluted)
	} else {
		consider(d.Refill.MaxInterval)
	}
	if best == nil {
		return 0, "", false
	}
	return best.Value, best.Source, true
}
