package therapy

import (
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

const uL = unit.Rate(unit.Microlitre) // 1 µL/day

func mgDay(n int64) unit.DoseRate  { return unit.DoseRate(unit.MassIn(n, unit.Milligram)) }
func mcgDay(n int64) unit.DoseRate { return unit.DoseRate(unit.MassIn(n, unit.Microgram)) }

func TestDailyOfEveryMode(t *testing.T) {
	conc := 10 * unit.MilligramPerMillilitre
	bolus := pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4}
	cases := []struct {
		name            string
		rx              pump.Prescription
		avg, max, bolus unit.Volume
		dose            unit.DoseRate
	}{
		{"continuous", pump.Prescription{Mode: pump.ModeContinuous, Rate: 500 * uL, Concentration: conc},
			500 * unit.Microlitre, 500 * unit.Microlitre, 0, mgDay(5)},
		{"continuous with boluses", pump.Prescription{Mode: pump.ModeContinuous, Rate: 500 * uL, PatientBolus: bolus, Concentration: conc},
			500 * unit.Microlitre, 500 * unit.Microlitre, 80 * unit.Microlitre, mgDay(5)},
		{"minimum", pump.Prescription{Mode: pump.ModeMinimum, Concentration: conc},
			pump.MinRate.Over(unit.Day), pump.MinRate.Over(unit.Day), 0, conc.Dose(pump.MinRate)},
		{"stopped", pump.Prescription{Mode: pump.ModeStopped, Concentration: conc}, 0, 0, 0, 0},
	}
	for _, c := range cases {
		d := DailyOf(&c.rx)
		if d.Avg != c.avg || d.Max != c.max || d.Boluses != c.bolus {
			t.Errorf("%s: %+v, want avg %v max %v boluses %v", c.name, d, c.avg, c.max, c.bolus)
		}
		if got := DailyDose(&c.rx); got != c.dose {
			t.Errorf("%s: daily dose %v, want %v", c.name, got, c.dose)
		}
	}
}

func TestDailyOfFlex(t *testing.T) {
	rx := pump.Prescription{Mode: pump.ModeFlex, FlexSteps: 2, Concentration: 10 * unit.MilligramPerMillilitre}
	rx.Flex[0] = pump.FlexStep{At: 8 * unit.Hour, Rate: 600 * uL}
	rx.Flex[1] = pump.FlexStep{At: 20 * unit.Hour, Rate: 300 * uL}
	if d := DailyOf(&rx); d.Avg != 450*unit.Microlitre || d.Max != 450*unit.Microlitre {
		t.Errorf("daily flex: %+v", d)
	}
	if got := DailyDose(&rx); got != mcgDay(4500) {
		t.Errorf("daily flex dose %v, want 4.5 mg/day", got)
	}
	rx.Weekly = true
	rx.Flex[0].Days, rx.Flex[1].Days = 0x3e, pump.AllDays // the day rate on weekdays only
	d := DailyOf(&rx)
	if d.Max != 450*unit.Microlitre || d.Avg >= d.Max {
		t.Errorf("weekly flex: %+v", d)
	}
}

func TestAutoCapIsBasalAndEveryBolusInWholeStrokes(t *testing.T) {
	rx := pump.Prescription{Mode: pump.ModeContinuous, Rate: 500 * uL, Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre,
		PatientBolus: pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4}}
	want := strokesUp(580 * unit.Microlitre)
	if got := AutoCap(&rx); got != want || got < 580*unit.Microlitre || got%pump.StrokeVolume != 0 {
		t.Errorf("auto cap %v, want %v (580 µL in whole strokes)", got, want)
	}
	// The cap passes the pump's own check of the basal schedule.
	rx.Max24h = AutoCap(&rx)
	if err := rx.Validate(pump.TP20); err != nil {
		t.Errorf("auto cap refused by the pump: %v", err)
	}
	if got := AutoCap(&pump.Prescription{Mode: pump.ModeStopped}); got != pump.StrokeVolume {
		t.Errorf("stopped: auto cap %v, want one stroke", got)
	}
}
