package sim

import (
	"fmt"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// longRun is the reference load: a TP-40 at 0.5 mL/day with a patient
// bolus a day and a refill every 60 days, for the given number of years.
func longRun(years int) *scenario.Scenario {
	start := unit.Time(1767600000000)
	morphine := scenario.Drug{Name: "morphine", Concentration: 10 * unit.MilligramPerMillilitre, Unit: unit.Milligram, Text: "10 mg/mL"}
	sc := &scenario.Scenario{
		Name: fmt.Sprintf("TP-40, %d years", years), Start: start, Duration: unit.Duration(years) * 365 * unit.Day, Seed: 1,
		Pump: scenario.Pump{Model: pump.TP40, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			Battery: pump.BatteryCapacity, Primed: true},
		Fill: scenario.Fill{Drug: morphine, Volume: 40 * unit.Millilitre},
		Prescription: scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: unit.MillilitrePerDay / 2,
			Max24h:       unit.Millilitres(0.6),
			PatientBolus: pump.PatientBolus{Volume: unit.Millilitres(0.02), Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4}}},
	}
	for d := 1; d < years*365; d++ {
		at := start.Add(unit.Duration(d)*unit.Day + 12*unit.Hour)
		if d%60 == 0 {
			sc.Events = append(sc.Events, scenario.Event{Index: len(sc.Events), At: at.Add(-4 * unit.Hour), Kind: scenario.Refill,
				Withdraw: unit.Millilitres(9), Add: 40 * unit.Millilitre, Drug: morphine})
		}
		sc.Events = append(sc.Events, scenario.Event{Index: len(sc.Events), At: at, Kind: scenario.PatientBolusEv})
	}
	return sc
}

// BenchmarkLongRun runs the reference load over 1, 7 and 70 simulated years
// through the whole simulator (core, device, catheter pipeline, report). Cost
// follows strokes and events: the battery reaches end of service before year 7,
// after which the 70-year run has only tones and checkpoints to process.
func BenchmarkLongRun(b *testing.B) {
	for _, years := range []int{1, 7, 70} {
		b.Run(fmt.Sprintf("years=%d", years), func(b *testing.B) {
			sc := longRun(years)
			b.ReportAllocs()
			var rep *Report
			for b.Loop() {
				var err error
				if rep, err = Run(sc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(rep.DeliveredML/pump.StrokeVolume.Millilitres(), "strokes/op")
			b.ReportMetric(float64(len(sc.Events)), "events/op")
		})
	}
}
