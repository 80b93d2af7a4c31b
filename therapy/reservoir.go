package therapy

import (
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// WorstDailyUse is the most a program can take from the reservoir in one day:
// the basal (for a flex program, its heaviest day) plus every patient bolus the
// lockout and the count allow, capped by max_24h (0: no cap). It is the rate
// every refill date assumes (spec/drugs.md: "assuming every allowed patient
// bolus is used").
func WorstDailyUse(basal unit.Rate, bolus *PatientBolus, max24h unit.Volume) (use, bolusPerDay unit.Rate, err error) {
	if b := bolus; b != nil {
		if b.Volume <= 0 || b.Lockout <= 0 || b.MaxPer24h <= 0 {
			return 0, 0, inputErr("bolus", "volume, lockout and count must each be more than 0")
		}
		// In any day at most MaxPer24h boluses, and at most ⌈24 h ÷ lockout⌉ (a
		// press exactly at the end of the lockout is allowed): rounding up keeps
		// the date early, never late.
		perDay, _ := mulDivCeil(int64(unit.Day), 1, int64(b.Lockout))
		perDay = min(perDay, b.MaxPer24h)
		perDayVolume, ok := unit.Times(b.Volume, perDay)
		if !ok {
			return 0, 0, tooLarge("bolus-volume", []string{"max-per-24h", "lockout"}, "%d boluses of %v a day", perDay, b.Volume)
		}
		bolusPerDay = unit.Rate(perDayVolume) // a volume each day
	}
	var ok bool
	if use, ok = unit.Add(basal, bolusPerDay); !ok {
		return 0, 0, tooLarge("bolus-volume", []string{"rate"}, "%v a day of boluses on %v", bolusPerDay, basal)
	}
	if max24h > 0 {
		if unit.Rate(max24h) < basal {
			return 0, 0, inputErr("max-24h", "%v is less than the basal %v in 24 h: the pump would refuse this prescription", max24h, basal.Over(unit.Day))
		}
		use = min(use, unit.Rate(max24h)) // max_24h in a day is a rate per day
	}
	return use, bolusPerDay, nil
}

// UseFrom is a program's worst-case daily use (WorstDailyUse) from a time on:
// one prescription of a pump's history. A stopped pump uses nothing.
type UseFrom struct {
	From unit.Time
	Use  unit.Rate
}

// ProjectionInput is a known reservoir volume at a moment (a fill, or a pump's
// reading of its reservoir) and the programs that run from then on.
type ProjectionInput struct {
	Model  pump.Model
	At     unit.Time   // when the volume was known
	Volume unit.Volume // in the reservoir at At
	// Uses are the programs in force, oldest first: the last one starting at
	// or before At runs from At, each later one from its From.
	Uses         []UseFrom
	LowThreshold unit.Volume // the low-reservoir alarm threshold
	// Filled is when the drug in the reservoir went in (for its stability
	// limit; At when zero); Stability its longest time in the pump, 0 if the
	// library has none.
	Filled    unit.Time
	Stability unit.Duration
	Margin    unit.Duration
}

// Projection is where the reservoir goes from a known volume: when it reaches
// the low-reservoir threshold and the empty volume at the worst-case use of the
// programs in force, and the refill date that follows (spec/drugs.md: the
// earliest of the low-reservoir date and the drug's stability limit, minus
// the margin).
type Projection struct {
	// HasLow (HasEmpty) is false when nothing runs that would ever reach the
	// threshold (the empty volume): a stopped pump. LowAt (EmptyAt) is then zero.
	HasLow, HasEmpty bool
	LowAt, EmptyAt   unit.Time
	StableUntil      unit.Time // Filled + Stability; 0 when there is none
	ByStability      bool      // the stability limit comes first
	HasDue           bool      // there is a date: a low-reservoir date or a stability limit
	Earliest, Due    unit.Time // the earlier limit, and that less the margin
	AtOrUnderLow     bool      // the volume known was at or under the threshold already
}

// Project returns the reservoir's projection. Unlike NextRefill, which takes
// one program from a fill, it follows every program in force from the moment
// the volume was known, so a dose changed since the last fill moves the dates
// by the volume each program takes while it runs; and a volume already at or
// under the threshold is a date in the past (At), not a refusal.
func Project(in ProjectionInput) (Projection, error) {
	if err := checkVolume("volume", in.Volume, in.Model, true); err != nil {
		return Projection{}, err
	}
	if in.LowThreshold < pump.LowReservoirMin || in.LowThreshold > pump.LowReservoirMax {
		return Projection{}, inputErr("low-threshold", "%v is outside %v to %v", in.LowThreshold, pump.LowReservoirMin, pump.LowReservoirMax)
	}
	if in.Stability < 0 || in.Margin < 0 {
		return Projection{}, inputErr("margin", "durations must not be negative")
	}
	for i, u := range in.Uses {
		if u.Use < 0 {
			return Projection{}, inputErr("rate", "%v is not a possible daily use", u.Use)
		}
		if i > 0 && u.From.Before(in.Uses[i-1].From) {
			return Projection{}, inputErr("rate", "the programs are not in order of their start")
		}
	}
	// The programs from At on: the one in force at At, then the later ones.
	var segs []UseFrom
	for _, u := range in.Uses {
		if !u.From.After(in.At) {
			segs = []UseFrom{{From: in.At, Use: u.Use}}
		} else {
			segs = append(segs, u)
		}
	}
	var p Projection
	p.AtOrUnderLow = in.Volume <= in.LowThreshold
	low, okLow, fit1 := crossing(in.At, in.Volume, segs, in.LowThreshold)
	empty, okEmpty, fit2 := crossing(in.At, in.Volume, segs, pump.EmptyVolume)
	if !fit1 || !fit2 {
		return Projection{}, tooLarge("filled", []string{"rate", "stability"}, "%v and the time to the next refill", in.At)
	}
	if okLow {
		p.HasLow, p.LowAt = true, low
		p.Earliest, p.HasDue = low, true
	}
	if okEmpty {
		p.HasEmpty, p.EmptyAt = true, empty
	}
	if in.Stability > 0 {
		filled := in.Filled
		if filled == 0 {
			filled = in.At
		}
		var ok bool
		if p.StableUntil, ok = filled.AddChecked(in.Stability); !ok {
			return Projection{}, tooLarge("filled", []string{"rate", "stability"}, "%v and the time to the next refill", filled)
		}
		if !p.HasDue || p.StableUntil.Before(p.Earliest) {
			p.Earliest, p.ByStability, p.HasDue = p.StableUntil, true, true
		}
	}
	if p.HasDue {
		var ok bool
		if p.Due, ok = p.Earliest.AddChecked(-in.Margin); !ok {
			return Projection{}, tooLarge("margin", nil, "%v before %v", in.Margin, p.Earliest)
		}
	}
	return p, nil
}

// crossing returns the first moment the reservoir, holding v at t and drained
// by segs (each from its From to the next one's), is at level: t itself when v
// is at or under it already; found is false when it never gets there, fits
// false when the moment is past what a time can hold.
func crossing(t unit.Time, v unit.Volume, segs []UseFrom, level unit.Volume) (at unit.Time, found, fits bool) {
	if v <= level {
		return t, true, true
	}
	for i, s := range segs {
		if s.From.After(t) {
			t = s.From // no program ran before the first one starts
		}
		last := i+1 == len(segs)
		if s.Use > 0 {
			if d, ok := s.Use.DurationFor(v - level); ok {
				end, fits := t.AddChecked(d)
				if !fits {
					return 0, false, false
				}
				if last || !end.After(segs[i+1].From) {
					return end, true, true
				}
			}
		}
		if last {
			return 0, false, true
		}
		// The volume used is rounded up, so that a date is early, never late.
		used, _ := mulDivCeil(int64(s.Use), int64(segs[i+1].From.Sub(t)), int64(unit.Day))
		v -= unit.Volume(used)
		t = segs[i+1].From
		if v <= level {
			return t, true, true // reached inside the segment, to within a nanolitre's rounding
		}
	}
	return 0, false, true
}
