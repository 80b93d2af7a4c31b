package sim

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// plainLoop runs sc by ticking the core every second of virtual time instead
// of jumping from one scheduled instant to the next.
func plainLoop(t testing.TB, sc *scenario.Scenario) *Report {
	return driven(t, sc, &hooks{tick: unit.Second})
}

// shortScenario is two days of the reference load (longRun): continuous
// delivery with a patient bolus a day.
func shortScenario(days int) *scenario.Scenario {
	sc := longRun(1)
	sc.Duration = unit.Duration(days) * unit.Day
	sc.Events = cutScenario(sc, sc.Duration).Events
	return sc
}

// TestPlainLoopAgrees: the event-driven simulator and a plain loop that ticks
// the same core every second deliver the same volume (to the stroke: here,
// exactly) and write the same report.
func TestPlainLoopAgrees(t *testing.T) {
	for _, sc := range []*scenario.Scenario{shortScenario(2), exampleScenarios(t)["mri-stalls-motor-then-recovers.json"]} {
		if sc == nil {
			continue
		}
		if testing.Short() && sc.Duration > 3*unit.Day {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			ev := driven(t, sc, &hooks{})
			pl := plainLoop(t, sc)
			if d := ev.DeliveredML - pl.DeliveredML; d > pump.StrokeVolume.Millilitres() || -d > pump.StrokeVolume.Millilitres() {
				t.Fatalf("event-driven %.6f mL, plain loop %.6f mL", ev.DeliveredML, pl.DeliveredML)
			}
			if reportJSON(t, ev) != reportJSON(t, pl) {
				t.Errorf("the reports differ")
			}
		})
	}
}

// BenchmarkEventVsPlainLoop runs the same 30 days (a TP-40 at 0.5 mL/day with a
// patient bolus a day) event-driven and as a plain loop ticking every second,
// and reports the speed ratio and the delivered volumes.
func BenchmarkEventVsPlainLoop(b *testing.B) {
	sc := shortScenario(30)
	var evT, plT, evCPU, plCPU time.Duration
	var ev, pl *Report
	b.Run("event-driven", func(b *testing.B) {
		b.ReportAllocs()
		start, cpu := time.Now(), cpuTime()
		n := 0
		for b.Loop() {
			ev = driven(b, sc, &hooks{})
			n++
		}
		evT, evCPU = time.Since(start)/time.Duration(n), (cpuTime()-cpu)/time.Duration(n)
		b.ReportMetric(ev.DeliveredML, "mL")
		b.ReportMetric(float64(evCPU.Nanoseconds()), "cpu-ns/op")
	})
	b.Run("plain-loop-1s", func(b *testing.B) {
		b.ReportAllocs()
		start, cpu := time.Now(), cpuTime()
		n := 0
		for b.Loop() {
			pl = plainLoop(b, sc)
			n++
		}
		plT, plCPU = time.Since(start)/time.Duration(n), (cpuTime()-cpu)/time.Duration(n)
		b.ReportMetric(pl.DeliveredML, "mL")
		b.ReportMetric(float64(plCPU.Nanoseconds()), "cpu-ns/op")
	})
	if evT > 0 && evCPU > 0 && ev != nil && pl != nil {
		fmt.Printf("event-driven %v (CPU %v), plain loop %v (CPU %v): %.0f× faster (CPU time: %.0f×); delivered %.6f mL vs %.6f mL\n",
			evT, evCPU, plT, plCPU, float64(plT)/float64(evT), float64(plCPU)/float64(evCPU), ev.DeliveredML, pl.DeliveredML)
	}
}

// BenchmarkEventDrivenParts splits the event-driven case of
// BenchmarkEventVsPlainLoop: building the run, driving its 30 days, and
// writing its report (each part's CPU time per op; the parts the plain loop
// shares with it are new and report).
func BenchmarkEventDrivenParts(b *testing.B) {
	sc := shortScenario(30)
	parts := []struct {
		name string
		f    func()
	}{
		{"new", func() { newDriven(sc, nil) }},
		{"new+drive", func() {
			r, _ := newDriven(sc, nil)
			r.drive(&hooks{})
		}},
		{"new+drive+report", func() {
			r, _ := newDriven(sc, nil)
			r.drive(&hooks{})
			r.report()
		}},
	}
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu, n := cpuTime(), 0
			for b.Loop() {
				p.f()
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(n), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system (the
// collector's included): on a machine others load, a fairer clock than the
// wall for a ratio.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPopulation is the load: a clinic of 100 and of 1,000
// patients over 10 years (about 1,000 and 10,000 pump-years) on every CPU.
func BenchmarkPopulation(b *testing.B) {
	for _, size := range []struct{ patients, years int }{{100, 10}, {1000, 10}} {
		b.Run(fmt.Sprintf("patients=%d/years=%d", size.patients, size.years), func(b *testing.B) {
			b.ReportAllocs()
			var res *PopulationResult
			for b.Loop() {
				raw, err := RunPopulation(PopulationOptions{Patients: size.patients, Years: size.years, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				if res, err = Summarize(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(res.PumpYears.Mean, "pump-years/op")
		})
	}
}

// BenchmarkCampaign checks 1,000 seeded campaign cases (shrinking included).
func BenchmarkCampaign(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RunCampaign(CampaignOptions{Seed: 1, Cases: 1000}); err != nil {
			b.Fatal(err)
		}
	}
}
