package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

// BenchmarkStroke measures the core's work per stroke: Tick up to the stroke and
// StrokeDone, at 0.5 mL/day with pressure and level sensors.
func BenchmarkStroke(b *testing.B) {
	cfg := defaultConfig()
	cfg.Model = TP40
	cfg.PressureSensor = true
	p, _ := New(cfg, t0, NewLog())
	p.Refill(t0, Refill{Added: ml(40), Drug: "morphine", Concentration: 1})
	p.Program(t0, NewProgram(continuous(halfMLPerDay, ml(0.7)), p.rxHash))
	p.WritesDone()
	b.ReportAllocs()
	strokes := 0
	for b.Loop() {
		for {
			a := p.Tick(p.Next())
			if a.Kind == ActStroke {
				p.StrokeDone(StrokeResult{Completed: true, Pressure: 20 * unit.Kilopascal})
				strokes++
				break
			}
			if a.Kind == ActReadLevel {
				p.LevelRead(p.Reservoir())
			}
		}
		p.WritesDone()
		if p.Reservoir() < ml(5) {
			p.Refill(p.now, Refill{Added: ml(40), Drug: "morphine", Concentration: 1})
		}
		if p.charge < BatteryCapacity/2 {
			// A second of benchmark is decades of strokes: keep a fresh battery in.
			p.charge = BatteryCapacity
			p.checkBattery()
		}
	}
}

// filledCore returns a core on cfg whose reservoir holds v at t0.
func filledCore(cfg Config, v unit.Volume) *Pump {
	p, _ := New(cfg, t0, NewLog())
	p.Refill(t0, Refill{Added: v, Drug: "morphine", Concentration: 1})
	return p
}

// BenchmarkCommand measures a patient bolus request and a program change,
// each through Step.
func BenchmarkCommand(b *testing.B) {
	for _, name := range []string{"patient-bolus", "program"} {
		b.Run(name, func(b *testing.B) {
			p := filledCore(defaultConfig(), ml(20))
			rx := continuous(halfMLPerDay, ml(2))
			rx.PatientBolus = PatientBolus{Volume: ml(0.0005), Duration: unit.Minute, Lockout: unit.Minute, MaxPer24h: 48}
			other := rx
			other.Rate = 400_000
			progs := [2]Program{NewProgram(rx, Hash{}), NewProgram(other, Hash{})}
			p.Program(t0, progs[0])
			now := t0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now = now.Add(unit.Hour)
				for p.Tick(now).Kind != ActNone {
					p.StrokeDone(StrokeResult{Completed: true})
				}
				p.WritesDone()
				if p.charge < BatteryCapacity/2 || p.Reservoir() < ml(5) {
					// Millions of simulated hours: keep battery and reservoir fresh
					// so the benchmark times commands, not refusals.
					p.charge = BatteryCapacity
					p.checkBattery()
					p.Refill(now, Refill{Added: ml(20), Drug: "morphine", Concentration: 1})
				}
				if name == "program" {
					i ^= 1
					c := progs[i]
					c.Replaces = p.rxHash
					p.Program(now, c)
				} else {
					p.PatientBolus(now)
				}
				p.WritesDone()
			}
		})
	}
}

// BenchmarkCoast measures the core's work per stroke when the driver lets it
// coast, at 0.25 mL/day (the population's median) without sensors: ns/op is
// per stroke, everything included. batch: Coast with a nil each, which takes
// the hourly checkpoints too (Tick only for what stops a batch: the refill the
// benchmark makes at the low-reservoir threshold); each: Coast with a stroke
// callback, as device.Run with an OnStroke, stopping at every checkpoint.
func BenchmarkCoast(b *testing.B) {
	for _, name := range []string{"batch", "each"} {
		b.Run(name, func(b *testing.B) {
			p, _ := New(defaultConfig(), t0, NewLog())
			p.Refill(t0, Refill{Added: ml(20), Drug: "morphine", Concentration: 1})
			p.Program(t0, NewProgram(continuous(halfMLPerDay/2, ml(0.4)), p.rxHash))
			p.WritesDone()
			var each func(unit.Time)
			seen := 0
			if name == "each" {
				each = func(unit.Time) { seen++ }
			}
			b.ReportAllocs()
			b.ResetTimer()
			for strokes := 0; strokes < b.N; {
				strokes += p.Coast(never, each).Len()
				switch p.Tick(p.Next()).Kind {
				case ActStroke:
					p.StrokeDone(StrokeResult{Completed: true})
					strokes++
				case ActReadLevel:
					p.LevelRead(p.Reservoir())
				}
				p.WritesDone()
				if p.Reservoir() < ml(5) {
					p.Refill(p.now, Refill{Added: ml(20), Drug: "morphine", Concentration: 1})
					p.WritesDone()
				}
				if p.charge < BatteryCapacity/2 {
					p.charge = BatteryCapacity
					p.checkBattery()
				}
			}
		})
	}
}
