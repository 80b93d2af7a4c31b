package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

// t0 is 2026-01-05T08:00:00Z, a Monday.
const t0 = unit.Time(1767600000000)

// rig drives a core the way a device does: an ideal motor unless told otherwise,
// a level sensor reading the true volume, and persistent memory that applies each
// write.
// tb is what the rig needs of a test: *testing.T or *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type rig struct {
	t       tb
	p       *Pump
	log     *Log
	cfg     Config
	nvm     [ImageSize]byte
	stall   bool
	press   unit.Pressure
	level   func() unit.Volume
	strokes int
	times   []unit.Time // completed strokes counted against max_24h
}

func defaultConfig() Config {
	return Config{Model: TP20, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: DefaultCatheterPerCm,
		Battery: BatteryCapacity}
}

// sensing is defaultConfig with the outlet pressure sensor, the level sensor, or both.
func sensing(pressure, level bool) Config {
	cfg := defaultConfig()
	cfg.PressureSensor, cfg.LevelSensor = pressure, level
	return cfg
}

func newRig(t tb, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, cfg: cfg, log: NewLog(), press: 20 * unit.Kilopascal}
	var _ tb = (*testing.T)(nil)
	p, err := New(cfg, t0, r.log)
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
	r.persist()
	return r
}

// filled returns a rig on cfg whose reservoir was filled with v of morphine at t0.
func filled(t tb, cfg Config, v unit.Volume) *rig {
	t.Helper()
	r := newRig(t, cfg)
	r.fill(t0, v)
	return r
}

// running returns a rig on cfg filled with 20 mL of morphine and programmed
// with rx at t0.
func running(t tb, cfg Config, rx Prescription) *rig {
	t.Helper()
	r := filled(t, cfg, ml(20))
	r.program(t0, rx)
	return r
}

func (r *rig) persist() {
	for _, w := range r.p.Writes() {
		copy(r.nvm[w.Off:w.Off+w.Len], r.p.Image()[w.Off:w.Off+w.Len])
	}
	r.p.WritesDone()
}

// tick is the core's Tick to t, its memory writes applied.
func (r *rig) tick(t unit.Time) Action {
	a := r.p.Tick(t)
	r.persist()
	return a
}

// run advances to t.
func (r *rig) run(t unit.Time) {
	r.t.Helper()
	for a := r.tick(t); a.Kind != ActNone; a = r.tick(t) {
		switch a.Kind {
		case ActStroke:
			r.strokes++
			priming := r.p.prime.active
			r.p.StrokeDone(StrokeResult{Completed: !r.stall, Pressure: r.press})
			if !r.stall && !priming {
				r.times = append(r.times, a.At)
			}
		case ActReadLevel:
			v := r.p.Reservoir()
			if r.level != nil {
				v = r.level()
			}
			r.p.LevelRead(v)
		}
		r.persist()
	}
}

func (r *rig) at(d unit.Duration) unit.Time { return t0.Add(d) }

// do runs to t and applies a command there.
func (r *rig) do(t unit.Time, f func(now unit.Time) error) error {
	r.t.Helper()
	r.run(t)
	err := f(t)
	r.persist()
	return err
}

func (r *rig) must(t unit.Time, f func(now unit.Time) error) {
	r.t.Helper()
	if err := r.do(t, f); err != nil {
		r.t.Fatalf("at %s: %v", t, err)
	}
}

func (r *rig) fill(t unit.Time, v unit.Volume) {
	r.must(t, func(now unit.Time) error {
		return r.p.Refill(now, Refill{Added: v, Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
	})
}

func (r *rig) program(t unit.Time, rx Prescription) {
	r.t.Helper()
	r.must(t, func(now unit.Time) error { return r.p.Program(now, NewProgram(rx, r.p.Status().RxHash)) })
}

func continuous(rate unit.Rate, cap unit.Volume) Prescription {
	return Prescription{Mode: ModeContinuous, Rate: rate, Max24h: cap, Drug: "morphine",
		Concentration: 10 * unit.MilligramPerMillilitre}
}

func ml(f float64) unit.Volume { return unit.Millilitres(f) }

// events returns the log entries of kind k.
func (r *rig) events(k EventKind) []Entry {
	var out []Entry
	for _, e := range r.log.Since(0, nil) {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// raised returns the time alarm a was first raised, or -1.
func (r *rig) raised(a Alarm) unit.Time {
	for _, e := range r.events(EvAlarmRaise) {
		if e.Alarm == a {
			return e.At
		}
	}
	return -1
}
