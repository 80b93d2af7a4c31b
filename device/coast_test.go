package device

import (
	"fmt"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
	"pgregory.net/rapid"
)

// TestSkipNoiseIsDrawing: jumping the sensor-noise generator over n draws
// leaves it where n draws would.
func TestSkipNoiseIsDrawing(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 3, 7, 64, 1000, 123457} {
		a, _ := New(pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			Battery: pump.BatteryCapacity}, t0, n+5)
		b, _ := New(a.Cfg, t0, n+5)
		for range n {
			a.HW.noise()
		}
		b.HW.skipNoise(n)
		if x, y := a.HW.rng.Uint64(), b.HW.rng.Uint64(); x != y {
			t.Fatalf("after %d draws %x, after a jump of %d %x", n, x, n, y)
		}
	}
}

// TestRunCoastsAsItTicks drives two identical devices through random runs with
// stalls (MRI), occlusions, leaks, power losses, refills, programs and boluses,
// with and without sensors, a stroke callback and a mechanical error model: one
// coasting wherever its hardware is nominal (as Run does), one stroke by stroke.
// After every step they must agree on every stroke the callback saw, the event
// log, the core's image and persistent memory, the simulated reservoir, the
// core's status, and the next draws of the sensor-noise and mechanism generators.
func TestRunCoastsAsItTicks(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		pick := func(label string, k int) int { return rapid.IntRange(0, 1<<20).Draw(rt, label) % k }
		cfg := pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			Battery: pump.BatteryCapacity, PressureSensor: pick("pressure", 2) == 1, LevelSensor: pick("level", 2) == 1}
		if pick("tp40", 2) == 1 {
			cfg.Model = pump.TP40
		}
		seed := uint64(rapid.Int64().Draw(rt, "seed"))
		// 0: no stroke callback; 1: OnStroke; 2: OnRun too (runs from Coast,
		// single strokes from Tick), expanded stroke by stroke to compare.
		callback, mechanics := pick("callback", 3), pick("mechanics", 3)
		lazy := pick("lazy", 2) == 1 // the coasting device copies its memory only at a power loss
		type seen struct {
			t     unit.Time
			moved unit.Volume
		}
		var devs [2]*Device
		var strokes [2][]seen
		for i := range devs {
			d, err := New(cfg, t0, seed)
			if err != nil {
				rt.Fatal(err)
			}
			d.tickOnly = i == 0
			d.Lazy = i == 1 && lazy
			if callback > 0 {
				d.OnStroke = func(t unit.Time, v unit.Volume) { strokes[i] = append(strokes[i], seen{t, v}) }
			}
			if callback == 2 {
				d.OnRun = func(r pump.StrokeRun, v unit.Volume) {
					for j := range r.Len() {
						strokes[i] = append(strokes[i], seen{r.At(j), v})
					}
				}
			}
			switch mechanics {
			case 1:
				NewMechanics(2, 0, t0, seed).Attach(d)
			case 2:
				NewMechanics(1, 3, t0, seed).Attach(d)
			}
			d.HW.Reservoir = cfg.Model.Reservoir()
			devs[i] = d
		}
		now := t0
		do := func(step string, f func(d *Device) error) {
			var errs [2]string
			for i, d := range devs {
				d.Run(now)
				if err := f(d); err != nil {
					errs[i] = err.Error()
				}
				d.Persist()
			}
			if errs[0] != errs[1] {
				rt.Fatalf("%s: stroke by stroke %q, coasting %q", step, errs[0], errs[1])
			}
		}
		check := func(step string) {
			a, b := devs[0], devs[1]
			if fmt.Sprint(strokes[0]) != fmt.Sprint(strokes[1]) {
				rt.Fatalf("after %s: the stroke callbacks differ (%d and %d strokes)", step, len(strokes[0]), len(strokes[1]))
			}
			if fmt.Sprint(a.Log.Since(0, nil)) != fmt.Sprint(b.Log.Since(0, nil)) {
				rt.Fatalf("after %s: logs differ\n%v\n%v", step, a.Log.Since(0, nil), b.Log.Since(0, nil))
			}
			b.Sync()
			if a.NVM != b.NVM || *a.Core.Image() != *b.Core.Image() || a.NVM != *a.Core.Image() {
				rt.Fatalf("after %s: persistent memory differs", step)
			}
			if a.HW.Reservoir != b.HW.Reservoir || a.HW.leak != b.HW.leak || a.HW.kinkPct != b.HW.kinkPct {
				rt.Fatalf("after %s: reservoir %s and %s", step, a.HW.Reservoir, b.HW.Reservoir)
			}
			if sa, sb := a.Core.Status(), b.Core.Status(); sa != sb {
				rt.Fatalf("after %s: status\n%+v\n%+v", step, sa, sb)
			}
		}
		rx := func() pump.Prescription {
			rate := unit.Rate(rapid.Int64Range(int64(pump.MinRate), int64(unit.MillilitrePerDay)*4).Draw(rt, "rate"))
			return pump.Prescription{Mode: pump.ModeContinuous, Rate: rate, Max24h: min(rate.Over(unit.Day)+unit.Millilitres(0.2), cfg.Model.Reservoir()),
				Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre,
				PatientBolus: pump.PatientBolus{Volume: unit.Millilitres(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 6}}
		}
		first := rx()
		do("fill and program", func(d *Device) error {
			if err := d.Core.Refill(now, pump.Refill{Added: cfg.Model.Reservoir(), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre}); err != nil {
				return err
			}
			return d.Core.Program(now, pump.NewProgram(first, d.Core.Status().RxHash))
		})
		check("fill")
		for range rapid.IntRange(1, 30).Draw(rt, "steps") {
			step := []string{"run", "run", "run", "run", "stall", "occlude", "leak", "power loss", "refill", "program",
				"patient bolus", "resume", "acknowledge", "kink", "revise"}[pick("step", 15)]
			switch step {
			case "run":
				dt := unit.Duration(rapid.Int64Range(1, 3*int64(unit.Day)).Draw(rt, "dt"))
				if pick("short", 2) == 1 {
					dt = unit.Duration(rapid.Int64Range(1, int64(2*unit.Hour)).Draw(rt, "shortDt"))
				}
				now = now.Add(dt)
				for _, d := range devs {
					d.Run(now)
				}
			case "stall":
				until := now.Add(unit.Duration(rapid.Int64Range(1, int64(3*unit.Hour)).Draw(rt, "stall")))
				for _, d := range devs {
					d.HW.Stall(until)
				}
			case "occlude":
				from := now.Add(unit.Duration(rapid.Int64Range(0, int64(2*unit.Hour)).Draw(rt, "occlFrom")))
				until := from.Add(unit.Duration(rapid.Int64Range(1, int64(unit.Day)).Draw(rt, "occlFor")))
				for _, d := range devs {
					d.HW.Occlude(from, until)
				}
			case "leak":
				for _, d := range devs {
					d.HW.Leak()
				}
			case "kink":
				pct := rapid.IntRange(1, 99).Draw(rt, "kinkPct")
				for _, d := range devs {
					d.HW.Kink(pct)
				}
			case "revise":
				for _, d := range devs {
					d.HW.ReplaceCatheter()
				}
			case "power loss":
				for _, d := range devs {
					if err := d.PowerLoss(now); err != nil {
						rt.Fatal(err)
					}
				}
			case "refill":
				add := unit.Volume(rapid.Int64Range(int64(pump.EmptyVolume)+1, int64(cfg.Model.Reservoir())).Draw(rt, "add"))
				do(step, func(d *Device) error {
					d.HW.Reservoir = add
					return d.Core.Refill(now, pump.Refill{Withdrawn: d.Core.Reservoir(), Added: add, Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
				})
			case "program":
				r := rx()
				do(step, func(d *Device) error { return d.Core.Program(now, pump.NewProgram(r, d.Core.Status().RxHash)) })
			case "patient bolus":
				do(step, func(d *Device) error { _, err := d.Core.PatientBolus(now); return err })
			case "resume":
				do(step, func(d *Device) error { return d.Core.Resume(now) })
			case "acknowledge":
				do(step, func(d *Device) error { return d.Core.Acknowledge(now, pump.AlarmNone) })
			}
			check(step)
		}
		// The generators were drawn alike: their next draws agree.
		for _, d := range devs[1:] {
			if a, b := devs[0].HW.rng.Uint64(), d.HW.rng.Uint64(); a != b {
				rt.Fatalf("the sensor-noise generators drifted apart")
			}
		}
	})
}
