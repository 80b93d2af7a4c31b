package therapy

import (
	"slices"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Daily is what a prescription delivers in a day.
type Daily struct {
	Avg     unit.Volume // basal, averaged over a week
	Max     unit.Volume // basal, the most in any one day (of the patient's calendar)
	Boluses unit.Volume // every patient bolus a day allows
	Cap     unit.Volume // max_24h
}

// Total is the most a day can bring: basal and every bolus, within the cap.
func (d Daily) Total() unit.Volume {
	t := d.Max + d.Boluses
	if d.Cap > 0 {
		t = min(t, d.Cap)
	}
	return t
}

// DailyOf returns rx's daily volumes, counting every mode the pump runs:
// continuous, flex (daily or weekly), minimum and stopped. Its arithmetic is
// bounded by the pump's validation of rx; CheckDaily refuses first what a
// prescription not yet validated would make it wrap around.
func DailyOf(rx *pump.Prescription) Daily {
	d := Daily{Cap: rx.Max24h}
	switch rx.Mode {
	case pump.ModeContinuous:
		d.Avg = rx.Rate.Over(unit.Day)
		d.Max = d.Avg
	case pump.ModeMinimum:
		d.Avg = pump.MinRate.Over(unit.Day)
		d.Max = d.Avg
	case pump.ModeFlex:
		var total unit.Volume
		for day := range 7 {
			v := flexDay(rx, day)
			total += v
			d.Max = max(d.Max, v)
		}
		d.Avg = total / 7
	}
	if pb := rx.PatientBolus; pb.Volume > 0 && pb.Lockout > 0 {
		n := int64((unit.Day + pb.Lockout - 1) / pb.Lockout)
		n = min(n, int64(pb.MaxPer24h))
		d.Boluses = unit.Volume(n) * pb.Volume
	}
	return d
}

// DailyDose is the daily dose a prescription is written as: its drug in the
// most basal volume any one day delivers (Daily.Max at the concentration). It
// is the dose the clinic records, the drug library checks and a change of dose
// is measured by; patient boluses are not in it (Daily.Boluses).
func DailyDose(rx *pump.Prescription) unit.DoseRate {
	return rx.Concentration.Dose(unit.Rate(DailyOf(rx).Max))
}

// flexDay is the basal volume of weekday day (0 Sunday) of a flex program:
// each step runs from its start until the next step that starts.
func flexDay(rx *pump.Prescription, day int) unit.Volume {
	type entry struct {
		off  unit.Duration
		rate unit.Rate
	}
	var es []entry
	for d := range 7 {
		for _, s := range rx.Flex[:rx.FlexSteps] {
			if !rx.Weekly || s.Days&(1<<d) != 0 {
				es = append(es, entry{unit.Duration(d)*unit.Day + s.At, s.Rate})
			}
		}
	}
	if len(es) == 0 {
		return 0
	}
	slices.SortFunc(es, func(a, b entry) int { return int(a.off - b.off) })
	start, end := unit.Duration(day)*unit.Day, unit.Duration(day+1)*unit.Day
	rateAt := func(t unit.Duration) unit.Rate {
		r := es[len(es)-1].rate // before the week's first entry: the week before's last
		for _, e := range es {
			if e.off <= t {
				r = e.rate
			}
		}
		return r
	}
	var acc int64 // nL·ms/day
	t := start
	for t < end {
		next := end
		for _, e := range es {
			if e.off > t && e.off < next {
				next = e.off
			}
		}
		acc += int64(rateAt(t)) * int64(next-t)
		t = next
	}
	return unit.Volume(acc / int64(unit.Day))
}

// AutoCap is the max_24h a new program gets unless one is given: the most
// the basal delivers in a day plus every patient bolus a day allows, in whole
// strokes, within the pump's range.
func AutoCap(rx *pump.Prescription) unit.Volume {
	d := DailyOf(rx)
	return max(strokesUp(d.Max+d.Boluses), pump.StrokeVolume)
}

// strokesUp rounds v up to whole pump strokes: the cap the pump's executor
// counts in. It is a copy of the pump's own rounding until the wire change
// lands on main, which exports it as pump.CapFor (with the one-stroke floor
// AutoCap applies): AutoCap then returns pump.CapFor(d.Max + d.Boluses).
func strokesUp(v unit.Volume) unit.Volume {
	return (v + pump.StrokeVolume - 1) / pump.StrokeVolume * pump.StrokeVolume
}

// CheckDaily refuses a prescription whose daily volumes or daily dose
// DailyOf and DailyDose cannot represent: a rate, a patient bolus or a
// concentration no pump runs, before the pump's own validation has seen it.
// It names the input: "rate", "patient-bolus" or "concentration" (with the
// rate it was multiplied by).
func CheckDaily(rx *pump.Prescription) error {
	if rx.FlexSteps < 0 || rx.FlexSteps > len(rx.Flex) {
		return inputErr("rate", "%d flex steps: at most %d", rx.FlexSteps, len(rx.Flex))
	}
	rates := []unit.Rate{rx.Rate}
	for _, s := range rx.Flex[:rx.FlexSteps] {
		rates = append(rates, s.Rate)
	}
	for _, r := range rates {
		if _, ok := unit.Times(r, int64(unit.Day)); !ok || r < 0 {
			return tooLarge("rate", nil, "%v", r)
		}
	}
	pb := rx.PatientBolus
	if _, ok := unit.Times(pb.Volume, int64(pb.MaxPer24h)); !ok || pb.Volume < 0 {
		return tooLarge("patient-bolus", nil, "%d boluses of %v a day", pb.MaxPer24h, pb.Volume)
	}
	d := DailyOf(rx)
	if _, ok := unit.Add(d.Max, d.Boluses); !ok {
		return tooLarge("patient-bolus", []string{"rate"}, "%v of boluses on %v a day", d.Boluses, d.Max)
	}
	if _, ok := rx.Concentration.DoseChecked(unit.Rate(d.Max)); !ok {
		return tooLarge("concentration", []string{"rate"}, "%v at %v a day", rx.Concentration, d.Max)
	}
	return nil
}
