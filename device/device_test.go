package device

import (
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

const t0 = unit.Time(1767600000000)

func newDevice(t *testing.T, pressure, level bool) *Device {
	t.Helper()
	cfg := pump.Config{Model: pump.TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		Battery: pump.BatteryCapacity, PressureSensor: pressure, LevelSensor: level}
	d, err := New(cfg, t0, 7)
	if err != nil {
		t.Fatal(err)
	}
	d.HW.Reservoir = 20 * unit.Millilitre
	rx := pump.Prescription{Mode: pump.ModeContinuous, Rate: unit.MillilitrePerDay / 2, Max24h: unit.Millilitres(0.7),
		Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre}
	if err := d.Do(t0, func(c *pump.Pump) error {
		if err := c.Refill(t0, pump.Refill{Added: 20 * unit.Millilitre, Drug: rx.Drug, Concentration: rx.Concentration}); err != nil {
			return err
		}
		return c.Program(t0, pump.NewProgram(rx, c.Status().RxHash))
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeviceMovesFluidAndPersistsEveryWrite(t *testing.T) {
	d := newDevice(t, true, true)
	moved := unit.Volume(0)
	d.OnStroke = func(_ unit.Time, v unit.Volume) { moved += v }
	d.Run(t0.Add(10 * unit.Day))
	if moved != 5*unit.Millilitre || d.HW.Reservoir != 15*unit.Millilitre {
		t.Fatalf("moved %s, reservoir %s", moved, d.HW.Reservoir)
	}
	if len(d.Core.Writes()) != 0 || d.NVM != *d.Core.Image() {
		t.Fatal("persistent memory differs from the core's image after Run")
	}
}

func TestDeviceLevelSensorWithinNoise(t *testing.T) {
	d := newDevice(t, false, true)
	for range 1000 {
		if v := d.HW.level(); v < d.HW.Reservoir-LevelNoise || v > d.HW.Reservoir+LevelNoise {
			t.Fatalf("level %s outside ±0.2 mL of %s", v, d.HW.Reservoir)
		}
	}
	// A pump whose sensor agrees with its estimate raises no discrepancy over a month.
	d.Run(t0.Add(30 * unit.Day))
	if d.Core.Alarms().Has(pump.VolumeDiscrepancy) {
		t.Fatal("discrepancy from noise alone")
	}
}

func TestDeviceStallOcclusionAndLeak(t *testing.T) {
	d := newDevice(t, true, false)
	d.Run(t0.Add(unit.Day))
	d.HW.Stall(t0.Add(unit.Day + 45*unit.Minute))
	d.Run(t0.Add(unit.Day + 10*unit.Minute))
	if !d.Core.Alarms().Has(pump.MotorStall) {
		t.Fatal("no stall during a 45-minute field")
	}
	d.Run(t0.Add(2 * unit.Day))
	d.HW.Occlude(t0.Add(2*unit.Day), t0.Add(3*unit.Day))
	before := d.HW.Reservoir
	d.Run(t0.Add(2*unit.Day + unit.Hour))
	if !d.Core.Alarms().Has(pump.Occlusion) || d.HW.Reservoir != before {
		t.Fatal("occlusion not detected, or fluid moved through a blocked catheter")
	}
	d2 := newDevice(t, true, false)
	d2.HW.Leak()
	d2.Run(t0.Add(unit.Day))
	if !d2.Core.Alarms().Has(pump.CatheterIntegrity) || !d2.HW.Leaking() {
		t.Fatal("leak not detected")
	}
}

func TestDevicePowerLossKeepsPrescriptionAndErrsLow(t *testing.T) {
	d := newDevice(t, false, false)
	at := t0.Add(3*unit.Day + 40*unit.Minute)
	d.Run(at)
	truth := d.Core.Reservoir()
	hash := d.Core.Status().RxHash
	if err := d.PowerLoss(at); err != nil {
		t.Fatal(err)
	}
	if d.Core.Status().RxHash != hash {
		t.Fatal("prescription lost across a power loss")
	}
	if est := d.Core.Reservoir(); est > truth || truth-est > (unit.MillilitrePerDay/2).Over(unit.Hour)+pump.StrokeVolume {
		t.Fatalf("estimate %s after reset, truth %s", est, truth)
	}
}
