package sim

import (
	"math"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

func trumpetFixture(rate unit.Rate) *scenario.Scenario {
	morphine := scenario.Drug{Name: "morphine", Concentration: 10 * unit.MilligramPerMillilitre, Unit: unit.Milligram, Text: "10 mg/mL"}
	return &scenario.Scenario{
		Name: "trumpet", Start: unit.Time(1767600000000), Duration: unit.Day, Seed: 1,
		Pump: scenario.Pump{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			Battery: pump.BatteryCapacity, Primed: true},
		Fill:         scenario.Fill{Drug: morphine, Volume: 20 * unit.Millilitre},
		Prescription: scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: rate, Max24h: unit.Millilitre}},
	}
}

// TestTrumpetIdealByHand: on an ideal mechanism at 0.5 mL/day a 0.5 µL stroke
// comes every 86.4 s exactly (the first 86.4 s after the program starts), so a
// window of P minutes holds ⌊x⌋ or ⌈x⌉ strokes, x = P·60/86.4, and its error is
// 100·(n/x − 1)%. By hand:
//
//	 2 min: x = 1.3889, 1 or 2 strokes: −28.000% .. +44.000%
//	 5 min: x = 3.4722, 3 or 4:         −13.600% .. +15.200%
//	11 min: x = 7.6389, 7 or 8:          −8.364% ..  +4.727%
//	19 min: x = 13.194, 13 or 14:        −1.474% ..  +6.105%
//	31 min: x = 21.528, 21 or 22:        −2.452% ..  +2.194%
//
// The analysis hour (stabilisation 1 h, so 2 h to 3 h after the start: strokes
// 84 to 125) holds 42 strokes against 41.667 programmed: mean error +0.8%.
// Anything else would be error added by the software; it adds none.
func TestTrumpetIdealByHand(t *testing.T) {
	tr, err := RunTrumpet(trumpetFixture(unit.MillilitrePerDay/2), TrumpetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][2]float64{2: {-28, 44}, 5: {-13.6, 15.2}, 11: {-8.363636, 4.727273}, 19: {-1.473684, 6.105263}, 31: {-2.451613, 2.193548}}
	for _, w := range tr.Software.Windows {
		h := want[w.Minutes]
		if math.Abs(w.MinPct-h[0]) > 1e-5 || math.Abs(w.MaxPct-h[1]) > 1e-5 {
			t.Errorf("%d min: %.6f%% .. %.6f%%, want %.6f%% .. %.6f%%", w.Minutes, w.MinPct, w.MaxPct, h[0], h[1])
		}
		if w.Windows != 120-2*w.Minutes+1 {
			t.Errorf("%d min: %d windows, want %d", w.Minutes, w.Windows, 120-2*w.Minutes+1)
		}
	}
	if math.Abs(tr.Software.MeanErrorPct-0.8) > 1e-9 {
		t.Errorf("mean error %.9f%%, want +0.8%%", tr.Software.MeanErrorPct)
	}
	if tr.Software.SoftwareResidualStrokes != 0 {
		t.Errorf("the software is %d strokes off the program", tr.Software.SoftwareResidualStrokes)
	}
	if tr.WithMechanism != nil {
		t.Errorf("an ideal scenario has a mechanism curve")
	}
	for i, b := range tr.QuantisationPct {
		w := tr.Software.Windows[i]
		if w.MaxPct >= b.BoundPct+1e-9 || w.MinPct <= -b.BoundPct-1e-9 {
			t.Errorf("%d min: %.3f..%.3f beyond one stroke (±%.3f)", w.Minutes, w.MinPct, w.MaxPct, b.BoundPct)
		}
	}
	if len(tr.Software.Samples) != 241 {
		t.Errorf("%d samples, want 241", len(tr.Software.Samples))
	}
}

// TestTrumpetMechanismWidens: a stroke-volume spread widens every window's
// curve; the software's own residual stays 0, and a drift shifts the mean.
func TestTrumpetMechanismWidens(t *testing.T) {
	sc := trumpetFixture(unit.MillilitrePerDay)
	sc.Pump.StrokeSpreadPct = 5
	tr, err := RunTrumpet(sc, TrumpetOptions{Rate: 12 * unit.MillilitrePerDay})
	if err != nil {
		t.Fatal(err)
	}
	if tr.WithMechanism == nil {
		t.Fatal("no mechanism curve")
	}
	wider := 0
	for i, sw := range tr.Software.Windows {
		mw := tr.WithMechanism.Windows[i]
		if mw.MaxPct-mw.MinPct > sw.MaxPct-sw.MinPct {
			wider++
		}
	}
	if wider < len(TrumpetWindows)-1 {
		t.Errorf("the spread widened only %d of %d windows:\nsoftware %+v\nmechanism %+v", wider, len(TrumpetWindows), tr.Software.Windows, tr.WithMechanism.Windows)
	}
	if tr.WithMechanism.SoftwareResidualStrokes != 0 {
		t.Errorf("the mechanism changed the strokes the pump made")
	}
	drift, err := RunTrumpet(trumpetFixture(unit.MillilitrePerDay), TrumpetOptions{HasMechanics: true, DriftPctPerYear: -2, Age: 365*unit.Day + unit.Day/4})
	if err != nil {
		t.Fatal(err)
	}
	if d := drift.WithMechanism.MeanErrorPct - drift.Software.MeanErrorPct; math.Abs(d+2) > 0.05 {
		t.Errorf("a year at -2%%/year moved the mean error by %.3f%%, want about -2%%", d)
	}
}

func TestTrumpetRefusals(t *testing.T) {
	sc := trumpetFixture(unit.MillilitrePerDay)
	sc.Prescription = scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeMinimum, Max24h: unit.Millilitre}}
	for _, tc := range []struct {
		o     TrumpetOptions
		field string
	}{
		{TrumpetOptions{}, "prescription.mode"},
		{TrumpetOptions{Rate: 100 * unit.MillilitrePerDay}, "--rate"},
		{TrumpetOptions{Rate: unit.MillilitrePerDay, Stabilise: -unit.Hour}, "--stabilise"},
	} {
		_, err := RunTrumpet(sc, tc.o)
		field := ""
		switch e := err.(type) {
		case *scenario.FieldError:
			field = e.Field
		case *OptionError:
			field = e.Option
		}
		if field != tc.field {
			t.Errorf("%+v: %v, want a refusal of %s", tc.o, err, tc.field)
		}
	}
}
