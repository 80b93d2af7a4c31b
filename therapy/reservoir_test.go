package therapy

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

func TestWorstDailyUse(t *testing.T) {
	// 0.5 mL/day basal; 0.02 mL boluses, 4 h lockout, 4 a day: 4 × 0.02 = 0.08.
	use, per, err := WorstDailyUse(rate("0.5 mL/day"), &PatientBolus{Volume: vol("0.02 mL"), Lockout: dur("4h"), MaxPer24h: 4}, 0)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "bolus per day", per, rate("0.08 mL/day"))
	eq(t, "use", use, rate("0.58 mL/day"))
	// max_24h 0.55 mL caps it.
	use, _, _ = WorstDailyUse(rate("0.5 mL/day"), &PatientBolus{Volume: vol("0.02 mL"), Lockout: dur("4h"), MaxPer24h: 4}, vol("0.55 mL"))
	eq(t, "capped", use, rate("0.55 mL/day"))
	_, _, err = WorstDailyUse(rate("0.5 mL/day"), nil, vol("0.4 mL"))
	wantInputErr(t, err, "max-24h", "less than the basal")
	_, _, err = WorstDailyUse(rate("0.5 mL/day"), &PatientBolus{Volume: vol("0.02 mL")}, 0)
	wantInputErr(t, err, "bolus", "more than 0")
}

func TestProject(t *testing.T) {
	base := ProjectionInput{Model: pump.TP20, At: t0, Volume: vol("20 mL"), LowThreshold: pump.LowReservoirDefault,
		Margin: DefaultSettings.RefillMargin}

	// An increase 10 days after the fill: 0.5 mL/day takes 5 mL, leaving 15 mL;
	// then 1 mL/day takes the 13 mL to the 2 mL threshold in 13 days: low on
	// day 23, empty (0.5 mL) on day 24.5, due on day 16.
	in := base
	in.Uses = []UseFrom{{t0, rate("0.5 mL/day")}, {t0.Add(10 * unit.Day), rate("1 mL/day")}}
	p, err := Project(in)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "low after an increase", p.LowAt, t0.Add(23*unit.Day))
	eq(t, "empty after an increase", p.EmptyAt, t0.Add(24*unit.Day+12*unit.Hour))
	eq(t, "due after an increase", p.Due, t0.Add(16*unit.Day))

	// A decrease: 1 mL/day for 10 days leaves 10 mL; 8 mL at 0.5 mL/day is 16
	// days: low on day 26. (The rate in force now, taken from the fill, would
	// say day 36: ten days late.)
	in.Uses = []UseFrom{{t0, rate("1 mL/day")}, {t0.Add(10 * unit.Day), rate("0.5 mL/day")}}
	p, _ = Project(in)
	eq(t, "low after a decrease", p.LowAt, t0.Add(26*unit.Day))

	// A program that started before the reading runs from the reading; one
	// after it from its start.
	in.Uses = []UseFrom{{t0.Add(-30 * unit.Day), rate("1 mL/day")}, {t0.Add(-unit.Day), rate("2 mL/day")}}
	p, _ = Project(in)
	eq(t, "low from the reading", p.LowAt, t0.Add(9*unit.Day)) // 18 mL at 2 mL/day

	// Reached already: the reading itself, no refusal.
	in = base
	in.Volume = vol("1.5 mL")
	in.Uses = []UseFrom{{t0, rate("0.5 mL/day")}}
	p, _ = Project(in)
	eq(t, "at or under low", p.AtOrUnderLow, true)
	eq(t, "low at the reading", p.LowAt, t0)
	eq(t, "empty from the reading", p.EmptyAt, t0.Add(2*unit.Day)) // 1 mL at 0.5 mL/day

	// Stopped: no low date; the stability limit alone gives the date.
	in = base
	in.Uses = []UseFrom{{t0, 0}}
	in.Stability = 180 * unit.Day
	p, _ = Project(in)
	eq(t, "stopped: no low date", p.HasLow, false)
	eq(t, "stopped: by stability", p.ByStability, true)
	eq(t, "stopped: due", p.Due, t0.Add(173*unit.Day))
	in.Stability = 0
	p, _ = Project(in)
	eq(t, "stopped, no stability: no date", p.HasDue, false)

	// The stability limit counts from the fill, not from a later reading.
	in = base
	in.At, in.Filled, in.Stability = t0.Add(100*unit.Day), t0, 180*unit.Day
	in.Uses = []UseFrom{{t0, rate("0.05 mL/day")}}
	p, _ = Project(in)
	eq(t, "stable until, from the fill", p.StableUntil, t0.Add(180*unit.Day))
	eq(t, "due by stability", p.Due, t0.Add(173*unit.Day))

	in = base
	in.LowThreshold = vol("6 mL")
	_, err = Project(in)
	wantInputErr(t, err, "low-threshold", "outside")
	in = base
	in.Uses = []UseFrom{{t0.Add(unit.Day), rate("1 mL/day")}, {t0, rate("1 mL/day")}}
	_, err = Project(in)
	wantInputErr(t, err, "rate", "not in order")
}

// TestProjectOneProgramIsNextRefill: with one program, the projection and
// NextRefill give the same dates (NextRefill is the projection of one program
// from a fill).
func TestProjectOneProgramIsNextRefill(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.SampledFrom([]pump.Model{pump.TP20, pump.TP40}).Draw(t, "model")
		low := unit.Volume(rapid.Int64Range(int64(pump.LowReservoirMin), int64(pump.LowReservoirMax)).Draw(t, "low"))
		v := unit.Volume(rapid.Int64Range(int64(low)+1, int64(m.Reservoir())).Draw(t, "volume"))
		r := unit.Rate(rapid.Int64Range(int64(pump.MinRate), int64(pump.MaxRate)).Draw(t, "rate"))
		stab := unit.Duration(rapid.Int64Range(0, int64(400*unit.Day)).Draw(t, "stability"))
		nr, err := NextRefill(RefillDateInput{Model: m, Filled: t0, Volume: v, Rate: r, LowThreshold: low, Stability: stab, Margin: 7 * unit.Day})
		if err != nil {
			t.Skip(err)
		}
		p, err := Project(ProjectionInput{Model: m, At: t0, Volume: v, Uses: []UseFrom{{t0, r}}, LowThreshold: low, Stability: stab, Margin: 7 * unit.Day})
		if err != nil {
			t.Fatal(err)
		}
		if p.LowAt != nr.LowAt || p.EmptyAt != nr.EmptyAt || p.Due != nr.Due || p.ByStability != nr.ByStability {
			t.Fatalf("projection %+v, next refill %+v", p, nr)
		}
	})
}

// TestProjectSegmentsAgainstStepping checks the closed form of a program
// history against draining the reservoir minute by minute.
func TestProjectSegmentsAgainstStepping(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "programs")
		var uses []UseFrom
		at := t0
		for i := range n {
			if i > 0 {
				at = at.Add(unit.Minute * unit.Duration(rapid.Int64Range(60, 20*24*60).Draw(t, "gap minutes")))
			}
			use := unit.Rate(rapid.Int64Range(int64(pump.MinRate), int64(3*unit.Millilitre)).Draw(t, "use"))
			if rapid.Bool().Draw(t, "stopped") {
				use = 0
			}
			uses = append(uses, UseFrom{at, use})
		}
		v := unit.Volume(rapid.Int64Range(int64(3*unit.Millilitre), int64(20*unit.Millilitre)).Draw(t, "volume"))
		p, err := Project(ProjectionInput{Model: pump.TP20, At: t0, Volume: v, Uses: uses, LowThreshold: 2 * unit.Millilitre})
		if err != nil {
			t.Fatal(err)
		}
		// Step by minutes: the first minute by whose end the drained volume
		// reaches the threshold.
		rateAt := func(x unit.Time) unit.Rate {
			var r unit.Rate
			for _, u := range uses {
				if !u.From.After(x) {
					r = u.Use
				}
			}
			return r
		}
		left := int64(v-2*unit.Millilitre) * int64(unit.Day) // in nL·ms/day units: exact
		x := t0
		for range 200 * 24 * 60 {
			left -= int64(rateAt(x)) * int64(unit.Minute)
			x = x.Add(unit.Minute)
			if left <= 0 {
				break
			}
		}
		if left > 0 {
			if p.HasLow && !p.LowAt.After(x) {
				t.Fatalf("stepping does not reach low in 200 days; projection says %v", p.LowAt)
			}
			return
		}
		// Each program's volume is rounded up to a nanolitre (at most 2 s at
		// the pump's slowest rate): the projection is never later than the
		// stepping, and early by at most a minute and that rounding.
		if !p.HasLow || p.LowAt.After(x) || x.Sub(p.LowAt) > unit.Minute+unit.Duration(n)*2*unit.Second {
			t.Fatalf("projection low %v (has %v), stepping %v", p.LowAt, p.HasLow, x)
		}
	})
}
