package calc

import (
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// RefillInput is what refill accounting needs.
type RefillInput struct {
	Pump      Pump
	LastFill  unit.Volume
	Rate      unit.Rate
	Since     unit.Duration
	Withdrawn unit.Volume
	Boluses   unit.Volume
}

func (in *RefillInput) Inputs() []Input {
	return append(in.Pump.inputs(),
		Input{Name: "last-fill", Example: "20mL", What: "the volume in the reservoir after the last refill", Required: true, Text: &in.LastFill},
		Input{Name: "rate", Example: "0.5mL/day", What: "the programmed rate since (the average, for a flex program)", Required: true, Text: &in.Rate},
		Input{Name: "since", Example: "30d", What: "the time since the last refill", Required: true, Text: &in.Since},
		Input{Name: "withdrawn", Example: "4.1mL", What: "the volume withdrawn now", Required: true, Text: &in.Withdrawn},
		Input{Name: "boluses", Example: "0.2mL", What: "bolus volume the pump reports given since", Default: "0 mL", Text: &in.Boluses})
}

// Report is the refill accounting: expected residual and discrepancy.
func (in *RefillInput) Report(Library) (*Report, error) {
	m, err := in.Pump.model()
	if err != nil {
		return nil, err
	}
	c, err := therapy.CheckRefill(therapy.RefillInput{Model: m, LastFill: in.LastFill, Rate: in.Rate, Since: in.Since, Boluses: in.Boluses, Withdrawn: in.Withdrawn})
	if err != nil {
		return nil, err
	}
	rep := &Report{Calc: "refill", Title: "Refill accounting (" + m.String() + ")"}
	rep.in("model", "pump", m.String(), fmt.Sprintf("%v, %v reservoir", m, m.Reservoir()))
	rep.in("last_fill", "last fill", in.LastFill)
	rep.in("rate", "rate", in.Rate, rateText(in.Rate))
	rep.in("since", "since", in.Since)
	if in.Boluses != 0 {
		rep.in("boluses", "boluses", in.Boluses)
		rep.work("programmed = %v × %v + %v = %v", in.Rate, in.Since, in.Boluses, c.Programmed)
	} else {
		rep.work("programmed = %v × %v = %v", in.Rate, in.Since, c.Programmed)
	}
	rep.in("withdrawn", "withdrawn", in.Withdrawn)
	if c.RanEmpty {
		rep.work("expected = %v − %v is below the empty level: %v", in.LastFill, c.Programmed, c.Expected)
	} else {
		rep.work("expected = %v − %v = %v", in.LastFill, c.Programmed, c.Expected)
	}
	rep.work("discrepancy = %v − %v = %v (limit ±%v on a %v)", in.Withdrawn, c.Expected, c.Discrepancy, c.Limit, m)
	rep.out("programmed", "programmed since", c.Programmed)
	rep.out("expected", "expected residual", c.Expected)
	rep.out("discrepancy", "discrepancy", c.Discrepancy)
	rep.out("limit", "limit", c.Limit, "±"+c.Limit.String())
	flagged := c.Flag != therapy.WithinLimit
	rep.out("flagged", "flagged", flagged, map[bool]string{true: "YES", false: "no"}[flagged])
	rep.out("assessment", "assessment", c.Flag.String())
	rep.out("ran_empty", "ran empty", c.RanEmpty)
	switch {
	case c.RanEmpty && c.EmptyAfter > 0:
		rep.note("the program would have emptied the reservoir %v after the last refill at the latest: delivery stopped, therapy was interrupted", c.EmptyAfter)
	case c.RanEmpty:
		rep.note("the program would have emptied the reservoir: delivery stopped, therapy was interrupted")
	}
	if flagged {
		rep.note("investigate before refilling: %s", c.Flag)
	}
	return rep, nil
}

// NextRefillInput is what the next refill date depends on.
type NextRefillInput struct {
	Pump         Pump
	Volume       unit.Volume
	Rate         unit.Rate
	Filled       *unit.Time // optional: dates instead of "fill + …"
	BolusVolume  *unit.Volume
	Lockout      *unit.Duration
	MaxPer24h    *Count       // the patient bolus: all three, or none
	Max24h       *unit.Volume // optional
	LowThreshold unit.Volume
	Drug         string // optional: the library's stability limit
	Diluted      bool
	FirstFill    bool
	Stability    *unit.Duration // optional: a stricter stability limit
	Margin       unit.Duration
}

func (in *NextRefillInput) Inputs() []Input {
	return append(in.Pump.inputs(),
		Input{Name: "volume", Example: "20mL", What: "the volume in the reservoir after the refill", Required: true, Text: &in.Volume},
		Input{Name: "rate", Example: "0.5mL/day", What: "the basal rate (the average, for a flex program)", Required: true, Text: &in.Rate},
		Input{Name: "filled", Example: "2026-01-05T08:00:00Z", What: "when the reservoir was filled", Text: optional(&in.Filled)},
		Input{Name: "bolus-volume", Example: "0.02mL", What: "the patient bolus volume", Text: optional(&in.BolusVolume)},
		Input{Name: "lockout", Example: "4h", What: "the patient bolus lockout", Text: optional(&in.Lockout)},
		Input{Name: "max-per-24h", Example: "4", What: "the most patient boluses in 24 h", Text: optional(&in.MaxPer24h)},
		Input{Name: "max-24h", Example: "0.7mL", What: "the prescription's max_24h", Text: optional(&in.Max24h)},
		Input{Name: "low-threshold", Example: "2mL", What: "the low-reservoir alarm threshold", Default: pump.LowReservoirDefault.String(), Text: &in.LowThreshold},
		Input{Name: "drug", Example: "baclofen", What: "the drug, for its stability limit", Text: text(&in.Drug)},
		Input{Name: "diluted", What: "the drug is diluted (ziconotide: a shorter limit)", Switch: &in.Diluted},
		Input{Name: "first-fill", What: "the first fill of a new pump (ziconotide: first refill within 14 days)", Switch: &in.FirstFill},
		Input{Name: "stability", Example: "84d", What: "the longest time between refills, instead of the library's", Text: optional(&in.Stability)},
		Input{Name: "margin", Example: "7d", What: "the safety margin", Default: therapy.DefaultSettings.RefillMargin.String(), Text: &in.Margin})
}

// Report is the next refill date: the low-reservoir alarm at the worst-case
// daily use, or the drug's stability limit, less the margin.
func (in *NextRefillInput) Report(lib Library) (*Report, error) {
	m, err := in.Pump.model()
	if err != nil {
		return nil, err
	}
	rin := therapy.RefillDateInput{Model: m, Filled: or(in.Filled), Volume: in.Volume, Rate: in.Rate, Max24h: or(in.Max24h),
		LowThreshold: in.LowThreshold, Margin: in.Margin}
	rep := &Report{Calc: "next-refill", Title: "Next refill date"}
	rep.in("model", "pump", m.String())
	rep.in("volume", "volume after the refill", in.Volume)
	rep.in("rate", "basal rate", in.Rate, rateText(in.Rate))
	if in.BolusVolume != nil || in.Lockout != nil || in.MaxPer24h != nil {
		switch {
		case in.BolusVolume == nil:
			return nil, missing(in, "bolus-volume")
		case in.Lockout == nil:
			return nil, missing(in, "lockout")
		case in.MaxPer24h == nil:
			return nil, missing(in, "max-per-24h")
		}
		b := &therapy.PatientBolus{Volume: *in.BolusVolume, Lockout: *in.Lockout, MaxPer24h: int64(*in.MaxPer24h)}
		rin.Bolus = b
		rep.in("bolus", "patient bolus", fmt.Sprintf("%v, lockout %v, at most %d in 24 h", b.Volume, b.Lockout, b.MaxPer24h))
	}
	if in.Max24h != nil {
		rep.in("max_24h", "max_24h", *in.Max24h)
	}
	rep.in("low_threshold", "low-reservoir alarm", in.LowThreshold)
	stabilitySource := ""
	if in.Drug != "" {
		d, err := Lookup(lib.Library, in.Drug)
		if err != nil {
			return nil, err
		}
		rep.in("drug", "drug", d.Name)
		if lim, src, ok := therapy.StabilityLimit(d, in.Diluted, in.FirstFill); ok {
			rin.Stability, stabilitySource = lim, src
		} else {
			rep.note("the library %s has no stability limit for %s: give --stability if one applies", lib.Version, d.Name)
		}
	}
	// A stability limit given may only shorten the library's.
	if s := in.Stability; s != nil && (rin.Stability == 0 || *s < rin.Stability) {
		rin.Stability, stabilitySource = *s, "given with --stability"
	}
	if in.Drug == "" && in.Stability == nil {
		rep.note("no drug or stability limit given: only the reservoir decides")
	}
	if rin.Stability > 0 {
		rep.in("stability", "stability limit", rin.Stability, fmt.Sprintf("%v (%s)", rin.Stability, stabilitySource))
	}
	rep.in("margin", "safety margin", in.Margin)
	d, err := therapy.NextRefill(rin)
	if err != nil {
		return nil, err
	}
	clk := newClock(in.Filled, "fill")
	if in.Filled != nil {
		rep.in("filled", "filled", *in.Filled, clk.show(*in.Filled))
	}
	if b := rin.Bolus; b != nil {
		rep.work("boluses a day = min(%d, ⌈24h ÷ %v⌉) × %v = %v", b.MaxPer24h, b.Lockout, b.Volume, d.BolusPerDay)
		rep.work("daily use = %v + %v = %v", in.Rate, d.BolusPerDay, d.Use)
	}
	if d.DailyUse < d.Use {
		rep.work("daily use, capped at max_24h = %v", d.DailyUse)
	}
	rep.work("low alarm = fill + (%v − %v) ÷ %v = %s", in.Volume, in.LowThreshold, d.DailyUse, clk.show(d.LowAt))
	if rin.Stability > 0 {
		rep.work("stability = fill + %v%s", rin.Stability, clk.also(d.StableUntil))
	}
	rep.work("due = %s − %v = %s", clk.show(d.Earliest), in.Margin, clk.show(d.Due))
	rep.out("daily_use", "worst-case daily use", d.DailyUse, rateText(d.DailyUse))
	rep.out("low_alarm", "low-reservoir alarm", clk.json(d.LowAt), clk.show(d.LowAt))
	rep.out("empty_alarm", "empty (delivery stops)", clk.json(d.EmptyAt), clk.show(d.EmptyAt))
	if rin.Stability > 0 {
		rep.out("stability_limit", "stability limit", clk.json(d.StableUntil), clk.show(d.StableUntil))
	}
	by := "the low-reservoir alarm"
	if d.ByStability {
		by = "the drug's stability"
	}
	rep.out("limited_by", "limited by", by)
	rep.out("refill_due", "REFILL DUE", clk.json(d.Due), clk.show(d.Due))
	if d.NoMargin {
		rep.note("the margin reaches back to the fill: this fill does not last the margin; fill more or use a stronger concentration")
	}
	return rep, nil
}

// BatteryInput is what the battery dates depend on.
type BatteryInput struct {
	Battery unit.Charge
	Rate    unit.Rate
	Radio   unit.Duration
	At      unit.Time
}

func (in *BatteryInput) Inputs() []Input {
	return []Input{
		{Name: "battery", Example: "950000uAh", What: "the remaining battery charge", Default: pump.BatteryCapacity.String(), Text: &in.Battery},
		{Name: "rate", Example: "0.5mL/day", What: "the average volume delivered per day, boluses included", Required: true, Text: &in.Rate},
		{Name: "radio", Example: "2m", What: "the average telemetry session time per day", Default: "0s", Text: &in.Radio},
		{Name: "at", Example: "2026-01-05T08:00:00Z", What: "when the battery had this charge (from an interrogation)", Required: true, Text: &in.At},
	}
}

// Report is ERI, end of service and the replacement window.
func (in *BatteryInput) Report(Library) (*Report, error) {
	s := therapy.DefaultSettings
	d, err := therapy.Battery(therapy.BatteryInput{At: in.At, Remaining: in.Battery, Rate: in.Rate, Radio: in.Radio}, s)
	if err != nil {
		return nil, err
	}
	clk := newClock(&in.At, "now")
	rep := &Report{Calc: "battery", Title: "Battery: ERI, end of service and replacement"}
	rep.in("battery", "remaining", in.Battery)
	rep.in("rate", "rate", in.Rate, rateText(in.Rate))
	rep.in("radio", "radio per day", in.Radio)
	rep.in("at", "at", in.At, clk.show(in.At))
	rep.work("drain per day = %v quiescent + %v ÷ %v × %v + radio %v × %v = %v", pump.QuiescentCurrent.Over(unit.Day), in.Rate, pump.StrokeVolume, pump.StrokeCharge, in.Radio, "5 mA", d.PerDay)
	rep.work("ERI threshold = %v reserve + 90 days' need with hourly %v tones = %v", pump.BatteryReserve, pump.ToneCharge, d.ERIThreshold)
	rep.work("closed form:   ERI %s, EOS %s", clk.json(d.ERI), clk.json(d.EOS))
	rep.work("day stepping:  ERI %s, EOS %s (must agree within %v)", clk.json(d.SteppedERI), clk.json(d.SteppedEOS), therapy.BatteryTolerance)
	rep.out("drain_per_day", "drain per day", d.PerDay)
	rep.out("eri_threshold", "ERI threshold", d.ERIThreshold)
	rep.out("eri", "ERI (elective replacement)", clk.json(d.ERI), clk.show(d.ERI))
	rep.out("eos", "EOS (end of service)", clk.json(d.EOS), clk.show(d.EOS))
	rep.out("plan_from", "plan replacement from", clk.json(d.PlanFrom), clk.show(d.PlanFrom))
	rep.out("plan_by", "plan replacement by", clk.json(d.PlanBy), clk.show(d.PlanBy))
	if d.AlreadyERI {
		rep.note("the charge is already at or under the ERI threshold: replace electively now")
	} else if d.PlanBy.Before(in.At) {
		rep.note("less than %d months to EOS: plan the replacement now", s.PlanLatestMonths)
	}
	rep.note("at EOS delivery stops for good: a baclofen patient risks withdrawal")
	return rep, nil
}
