package device

import (
	"math"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

func TestMechanicsIdeal(t *testing.T) {
	var nilM *Mechanics
	for _, m := range []*Mechanics{nilM, {}, NewMechanics(0, 0, 0, 1)} {
		if !m.Ideal() || m.Stroke(unit.Time(1e12)) != pump.StrokeVolume {
			t.Fatalf("%+v is not ideal", m)
		}
	}
}

// TestMechanicsStatistics: the drawn volumes have the stated spread around the
// nominal stroke, and drift moves the mean by the stated percentage a year.
func TestMechanicsStatistics(t *testing.T) {
	const n = 200_000
	year := unit.Time(365*unit.Day + unit.Day/4)
	for _, tc := range []struct {
		spread, drift float64
		at            unit.Time
		mean, sd      float64 // nL
	}{
		{2, 0, 0, 500, 10},
		{0, -1, year, 495, 0},
		{1, 3, 2 * year, 530, 5},
	} {
		m := NewMechanics(tc.spread, tc.drift, 0, 7)
		var sum, sq float64
		for range n {
			v := float64(m.Stroke(tc.at))
			sum += v
			sq += v * v
		}
		mean := sum / n
		sd := math.Sqrt(sq/n - mean*mean)
		if math.Abs(mean-tc.mean) > 0.2 || math.Abs(sd-tc.sd) > 0.3 {
			t.Errorf("spread %v%% drift %v%%/yr at %v: mean %.3f nL sd %.3f nL, want %v and %v", tc.spread, tc.drift, tc.at, mean, sd, tc.mean, tc.sd)
		}
	}
}

// TestMechanicsAttach: the reservoir loses what the mechanism moved, and the
// stroke callback sees the same volume; same seed, same volumes.
func TestMechanicsAttach(t *testing.T) {
	run := func() (unit.Volume, unit.Volume) {
		cfg := pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: 2200, Battery: pump.BatteryCapacity}
		const t0 = unit.Time(1767600000000)
		d, err := New(cfg, t0, 1)
		if err != nil {
			t.Fatal(err)
		}
		d.HW.Reservoir = 20 * unit.Millilitre
		var seen unit.Volume
		d.OnStroke = func(_ unit.Time, v unit.Volume) { seen += v }
		NewMechanics(5, 0, t0, 3).Attach(d)
		d.Do(t0, func(c *pump.Pump) error {
			return c.Refill(t0, pump.Refill{Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: 1})
		})
		rx := pump.Prescription{Mode: pump.ModeContinuous, Rate: unit.MillilitrePerDay, Max24h: 2 * unit.Millilitre, Drug: "morphine", Concentration: 1}
		if err := d.Do(t0, func(c *pump.Pump) error { return c.Program(t0, pump.NewProgram(rx, c.Status().RxHash)) }); err != nil {
			t.Fatal(err)
		}
		d.Run(t0.Add(unit.Day))
		if got := d.Core.Status().Delivered; got != unit.Millilitre {
			t.Fatalf("the core counted %v, want 1 mL", got)
		}
		return seen, d.HW.Reservoir
	}
	seen, res := run()
	if seen+res != 20*unit.Millilitre {
		t.Errorf("moved %v + left %v != 20 mL", seen, res)
	}
	if seen == unit.Millilitre {
		t.Errorf("a 5%% spread moved exactly the nominal volume")
	}
	if math.Abs(seen.Millilitres()-1) > 0.01 {
		t.Errorf("moved %v, want within 1%% of 1 mL over 2000 strokes", seen)
	}
	if s2, r2 := run(); s2 != seen || r2 != res {
		t.Errorf("not reproducible: %v/%v then %v/%v", seen, res, s2, r2)
	}
}
