package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
	"pgregory.net/rapid"
)

// model is a small reference of what the core must do, written independently of
// it: programmed volume as the integral of the basal rate plus each bolus's own
// volume-limited ramp, restarted wherever delivery restarts; the strokes the core
// actually delivered; and the rules on boluses and the cap.
type model struct {
	rx       Prescription
	rxStart  int // index in times of the first stroke under rx
	segStart unit.Time
	segBasal unit.Rate
	segDone  unit.Volume // strokes completed in the segment
	segLost  unit.Volume // strokes the program spent but the motor did not complete, or the cap refused
	boluses  []bolus
	pbStarts []pbStart
	refillAt unit.Volume // core delivered count at the last refill
	added    unit.Volume
}

type bolus struct {
	start, end unit.Time // end: when it was cut short, or never
	vol        unit.Volume
	rate       unit.Rate
	patient    bool
}

type pbStart struct {
	at  unit.Time
	pb  PatientBolus
	cap unit.Volume
}

// ramp is the volume (× Day) a bolus has programmed by time x.
func (b bolus) ramp(x unit.Time) int64 {
	x = min(x, b.end)
	if x <= b.start {
		return 0
	}
	return min(int64(b.vol)*int64(unit.Day), int64(b.rate)*int64(x-b.start))
}

// programmed returns the volume × Day programmed in the current segment by t.
func (m *model) programmed(t unit.Time) int64 {
	p := int64(m.segBasal) * int64(t-m.segStart)
	for _, b := range m.boluses {
		p += b.ramp(t) - b.ramp(max(m.segStart, b.start))
	}
	return p
}

func TestCoreAgainstModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := defaultConfig()
		if rapid.Bool().Draw(rt, "tp40") {
			cfg.Model = TP40
		}
		r := newRig(rt, cfg)
		m := &model{}
		now := t0
		restarts := map[EventKind]bool{EvProgram: true, EvResume: true, EvStop: true, EvMotorStall: true,
			EvMotorStallRecovery: true, EvReset: true}
		seenLog := uint64(1)
		// segment restarts the model's program where the core restarts delivery.
		segment := func(at unit.Time) {
			st := r.p.Status()
			m.segStart, m.segDone, m.segLost = at, 0, 0
			m.segBasal = 0
			if st.Delivering {
				m.segBasal = st.Basal
			}
		}
		// observe reads new log entries: restarts, bolus starts, cap faults.
		observe := func() {
			for _, e := range r.log.Since(seenLog, nil) {
				seenLog = e.Seq + 1
				switch {
				case restarts[e.Kind] || e.Kind == EvAlarmRaise && e.Alarm.Critical() || e.Kind == EvAlarmClear && e.Alarm == EmptyReservoir:
					segment(e.At)
				case e.Kind == EvPatientBolusStart || e.Kind == EvClinicianBolusStart:
					m.boluses = append(m.boluses, bolus{start: e.At, end: never, vol: unit.Volume(e.A),
						rate: unit.RateOf(unit.Volume(e.A), unit.Duration(e.B)), patient: e.Kind == EvPatientBolusStart})
					if e.Kind == EvPatientBolusStart {
						m.pbStarts = append(m.pbStarts, pbStart{at: e.At, pb: m.rx.PatientBolus, cap: m.rx.Max24h})
					}
				case e.Kind == EvCapFault:
					m.segLost += StrokeVolume
				}
				// A bolus cut short (by a stop, a critical alarm or a reset) programs no more.
				for i := range m.boluses {
					b := &m.boluses[i]
					cut := e.Kind == EvBolusAborted ||
						e.Reason == ReasonInterrupted && (e.Kind == EvPatientBolusEnd && b.patient || e.Kind == EvClinicianBolusEnd && !b.patient)
					if cut && b.end == never && b.start <= e.At {
						b.end = e.At
					}
				}
				if restarts[e.Kind] {
					segment(e.At)
				}
			}
		}
		check := func(at unit.Time) {
			st := r.p.Status()
			// Conservation: the volume entered at the last refill = delivered since + estimate.
			if got := m.added - (st.Delivered - m.refillAt); got != st.Reservoir {
				rt.Fatalf("at %s: added %s − delivered since %s ≠ estimate %s", at, m.added, st.Delivered-m.refillAt, st.Reservoir)
			}
			// Reservoir alarms exactly at their thresholds.
			if st.Reservoir <= m.rx.lowReservoir() != st.Alarms.Has(LowReservoir) {
				rt.Fatalf("at %s: estimate %s, threshold %s, LOW_RESERVOIR %v", at, st.Reservoir, m.rx.lowReservoir(), st.Alarms.Has(LowReservoir))
			}
			if st.Reservoir <= EmptyVolume != st.Alarms.Has(EmptyReservoir) {
				rt.Fatalf("at %s: estimate %s, EMPTY_RESERVOIR %v", at, st.Reservoir, st.Alarms.Has(EmptyReservoir))
			}
			// Delivery within one stroke of the program, never ahead of it (no catch-up).
			if st.Delivering && !st.Priming {
				prog := m.programmed(at)
				done := int64(m.segDone+m.segLost) * int64(unit.Day)
				if done > prog+int64(st.Basal+MaxRate) || prog-done >= int64(StrokeVolume)*int64(unit.Day) {
					rt.Fatalf("at %s: programmed %.1f nL, delivered %s + lost %s in the segment from %s",
						at, float64(prog)/float64(unit.Day), m.segDone, m.segLost, m.segStart)
				}
			}
		}
		// advance drives the core to until, as a device would, checking at every stroke.
		advance := func(until unit.Time) {
			for {
				a := r.p.Tick(until)
				r.persist()
				observe()
				if a.Kind == ActNone {
					break
				}
				if a.Kind == ActReadLevel {
					r.p.LevelRead(r.p.Reservoir())
					continue
				}
				retry := r.p.suspended&susStall != 0
				if !retry && !r.p.Status().Delivering {
					rt.Fatalf("at %s: a stroke while delivery is held", a.At)
				}
				r.p.StrokeDone(StrokeResult{Completed: !r.stall, Pressure: r.press})
				r.persist()
				observe()
				switch {
				case !r.stall:
					r.times = append(r.times, a.At)
					if !retry {
						m.segDone += StrokeVolume
					}
				case !retry:
					m.segLost += StrokeVolume
				}
				check(a.At)
			}
			now = until
			check(now)
		}
		// Start: fill and program.
		m.added = r.p.cfg.Model.Reservoir()
		r.must(now, func(at unit.Time) error {
			return r.p.Refill(at, Refill{Added: m.added, Drug: "morphine", Concentration: 1})
		})
		program := func() {
			rate := unit.Rate(rapid.Int64Range(int64(MinRate), 3*int64(unit.MillilitrePerDay)).Draw(rt, "rate"))
			capStrokes := (int64(rate.Over(unit.Day))+int64(StrokeVolume)-1)/int64(StrokeVolume) + rapid.Int64Range(0, 400).Draw(rt, "headroom")
			rx := continuous(rate, unit.Volume(capStrokes)*StrokeVolume)
			rx.Drug, rx.Concentration = "morphine", 1
			if rapid.Bool().Draw(rt, "pb") {
				rx.PatientBolus = PatientBolus{
					Volume:    unit.Volume(rapid.Int64Range(1, 100).Draw(rt, "pbStrokes")) * StrokeVolume,
					Duration:  unit.Duration(rapid.Int64Range(1, 60).Draw(rt, "pbMin")) * unit.Minute,
					Lockout:   unit.Duration(rapid.Int64Range(1, 24*60).Draw(rt, "lockMin")) * unit.Minute,
					MaxPer24h: rapid.IntRange(1, 12).Draw(rt, "max"),
				}
				if rx.PatientBolus.Volume > rx.Max24h {
					rx.PatientBolus.Volume = rx.Max24h
				}
			}
			if err := rx.Validate(cfg.Model); err != nil {
				return // the core's own validation is tested elsewhere; draw again next time
			}
			if err := r.p.Program(now, NewProgram(rx, r.p.Status().RxHash)); err != nil {
				rt.Fatalf("program: %v", err)
			}
			m.rx = rx
			m.rxStart = len(r.times)
			r.persist()
			observe()
		}
		program()
		if !r.p.hasRx {
			return
		}
		actions := map[string]func(*rapid.T){
			"tick": func(rt *rapid.T) {
				advance(now.Add(unit.Duration(rapid.Int64Range(1, 5*int64(unit.Day)).Draw(rt, "dt"))))
			},
			"program": func(*rapid.T) { program() },
			"patient bolus": func(*rapid.T) {
				if _, err := r.p.PatientBolus(now); err != nil {
					rt.Fatal(err)
				}
				r.persist()
				observe()
			},
			"clinician bolus": func(rt *rapid.T) {
				v := unit.Volume(rapid.Int64Range(1, 40).Draw(rt, "cbStrokes")) * StrokeVolume
				d := unit.Duration(rapid.Int64Range(5, 120).Draw(rt, "cbMin")) * unit.Minute
				r.p.ClinicianBolus(now, v, d)
				r.persist()
				observe()
			},
			"refill": func(rt *rapid.T) {
				add := unit.Volume(rapid.Int64Range(1, int64(cfg.Model.Reservoir()/unit.Millilitre)).Draw(rt, "addML")) * unit.Millilitre
				if err := r.p.Refill(now, Refill{Withdrawn: r.p.Reservoir(), Added: add, Drug: "morphine", Concentration: 1}); err != nil {
					rt.Fatal(err)
				}
				m.added, m.refillAt = add, r.p.Status().Delivered
				r.persist()
				observe()
			},
			"stop":   func(*rapid.T) { r.p.Stop(now); r.persist(); observe() },
			"resume": func(*rapid.T) { r.p.Resume(now); r.persist(); observe() },
			"stall":  func(*rapid.T) { r.stall = !r.stall },
			"power loss": func(*rapid.T) {
				p, err := Restore(cfg, r.nvm[:], r.log, now)
				if err != nil {
					rt.Fatal(err)
				}
				r.p = p
				r.persist()
				observe()
				check(now)
			},
		}
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			name := rapid.SampledFrom([]string{"tick", "tick", "tick", "program", "patient bolus", "clinician bolus",
				"refill", "stop", "resume", "stall", "power loss"}).Draw(rt, "action")
			actions[name](rt)
		}
		advance(now.Add(unit.Day))

		// The cap: no 24 h window under one prescription holds more than its max_24h.
		n := m.rx.capStrokes()
		for i := m.rxStart + n; i < len(r.times); i++ {
			if r.times[i].Sub(r.times[i-n]) < unit.Day {
				rt.Fatalf("%d strokes within 24 h ending %s under a %d-stroke cap", n+1, r.times[i], n)
			}
		}
		// Lockout and count, from the log.
		for i, s := range m.pbStarts {
			given := 1
			for _, o := range m.pbStarts[:i] {
				if s.at.Sub(o.at) < s.pb.Lockout {
					rt.Fatalf("patient bolus at %s within the %s lockout of the one at %s", s.at, s.pb.Lockout, o.at)
				}
				if s.at.Sub(o.at) < unit.Day {
					given++
				}
			}
			if given > s.pb.MaxPer24h {
				rt.Fatalf("%d patient boluses in 24 h ending %s, max %d", given, s.at, s.pb.MaxPer24h)
			}
		}
	})
}
