package pump

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/thecal/thecal/unit"
	"pgregory.net/rapid"
)

// twin is one of two identical cores driven through the same steps: the plain
// one by Tick and StrokeDone only, the coasting one by Coast wherever the
// hardware is nominal and Tick for the rest.
type twin struct {
	p       *Pump
	log     *Log
	nvm     [ImageSize]byte
	coast   bool         // use Coast wherever the hardware is nominal
	each    bool         // with an each that records every stroke (else a nil each)
	lazy    bool         // read the image only at a power loss (the simulator's device)
	strokes []strokeSeen // every stroke, completed or not, with the state after it
	coasted int          // strokes delivered by Coast
}

// strokeSeen is a stroke and the core's state just after it, as a driver reading
// the core then (from Coast's each, or after StrokeDone) sees it.
type strokeSeen struct {
	At                           unit.Time
	Completed                    bool
	Acc                          int64
	Now, TAcc, TBat, NextStroke  unit.Time
	NextBattery                  unit.Time
	Charge                       unit.Charge
	Delivered, SinceFill         unit.Volume
	WinN, WinRuns, WinSkip       int
	HourIdx                      int
	HourEnd                      unit.Time
	Hour                         hourBucket
	Stall, High, Low             int
	CB, PB, Prime, Bridge        int64
	Alarms                       Alarms
	Action                       ActionKind
	Next                         unit.Time
	Reservoir                    unit.Volume
	LogNext                      uint64
	Dirty                        bool
	WriteCount, RxSeq0, StSeq0   int
	Delivering, Priming, Running bool
}

func seen(p *Pump, at unit.Time, completed bool) strokeSeen {
	var hours [hourBuckets]hourBucket
	idx, end := p.currentHours(&hours)
	return strokeSeen{At: at, Completed: completed, Acc: p.acc, Now: p.now, TAcc: p.tAcc, TBat: p.tBat,
		NextStroke: p.nextStroke, NextBattery: p.nextBattery, Charge: p.charge, Delivered: p.delivered,
		SinceFill: p.sinceFill, WinN: p.win.n, WinRuns: p.win.len, WinSkip: p.win.skip, HourIdx: idx, HourEnd: end,
		Hour: hours[idx], Stall: p.stallCount, High: p.highCount, Low: p.lowCount,
		CB: p.cbolus.accrued, PB: p.pbolus.accrued, Prime: p.prime.accrued, Bridge: p.bridge.accrued,
		Alarms: p.alarms, Action: p.action, Next: p.Next(), Reservoir: p.Reservoir(), LogNext: p.log.Next(),
		Dirty: p.dirty, WriteCount: p.nWrites, RxSeq0: int(p.rxSeq[0]), StSeq0: int(p.stSeq[0]),
		Delivering: p.delivering(), Priming: p.prime.active, Running: p.running}
}

func (w *twin) persist() {
	if w.lazy {
		return
	}
	w.sync()
}

func (w *twin) sync() {
	for _, wr := range w.p.Writes() {
		copy(w.nvm[wr.Off:wr.Off+wr.Len], w.p.Image()[wr.Off:wr.Off+wr.Len])
	}
	w.p.WritesDone()
}

// hw is the simulated hardware both twins see.
type hw struct {
	stall bool
	press unit.Pressure
	level unit.Volume // offset of the level sensor's reading from the estimate
}

func (h *hw) nominal() bool {
	return !h.stall && h.press >= LeakFloor && h.press <= OcclusionPressure
}

// run drives w to until; a coasting twin coasts no further than coastUntil.
func (w *twin) run(h *hw, until, coastUntil unit.Time) {
	var each func(t unit.Time)
	if w.each {
		each = func(t unit.Time) { w.strokes = append(w.strokes, seen(w.p, t, true)) }
	}
	for {
		if w.coast && h.nominal() {
			before := len(w.strokes)
			n := w.p.Coast(coastUntil, each).Len()
			w.coasted += n
			switch {
			case !w.each && n > 0:
				// Without each only the state after the batch is known: one entry
				// stands for the batch's n strokes.
				w.strokes = append(w.strokes, strokeSeen{At: -1, Completed: true, Acc: int64(n)})
			case w.each && len(w.strokes)-before != n:
				panic(fmt.Sprintf("Coast delivered %d strokes but called each %d times", n, len(w.strokes)-before))
			}
		}
		a := w.p.Tick(until)
		w.persist()
		switch a.Kind {
		case ActNone:
			return
		case ActStroke:
			r := StrokeResult{Completed: !h.stall, Pressure: h.press}
			w.p.StrokeDone(r)
			w.persist()
			w.strokes = append(w.strokes, seen(w.p, a.At, r.Completed))
		case ActReadLevel:
			w.p.LevelRead(w.p.Reservoir() + h.level)
			w.persist()
		}
	}
}

// sameStrokes compares the plain twin's strokes with the coasting twin's, where
// a batch coasted without each is one summary entry for n strokes.
func sameStrokes(rt *rapid.T, plain, coast []strokeSeen, lazy bool) {
	i := 0
	for _, s := range coast {
		if s.At == -1 {
			n := int(s.Acc)
			if i+n > len(plain) {
				rt.Fatalf("coast delivered %d strokes where the plain run has %d left", n, len(plain)-i)
			}
			for _, q := range plain[i : i+n] {
				if !q.Completed {
					rt.Fatalf("coast delivered a stroke at %s that the plain run failed", q.At)
				}
			}
			i += n
			continue
		}
		if i >= len(plain) {
			rt.Fatalf("coast has a stroke at %s the plain run has not", s.At)
		}
		if q := plain[i]; lazy {
			q.WriteCount = s.WriteCount // a lazy driver applies its writes only at a power loss
			if q != s {
				rt.Fatalf("stroke %d:\nplain %+v\ncoast %+v", i, plain[i], s)
			}
		} else if q != s {
			rt.Fatalf("stroke %d:\nplain %+v\ncoast %+v", i, plain[i], s)
		}
		i++
	}
	if i != len(plain) {
		rt.Fatalf("plain run has %d strokes, coast %d", len(plain), i)
	}
}

// same asserts that the twins are indistinguishable: the whole core state, the
// log, the image, persistent memory, the status and every stroke.
func same(rt *rapid.T, step string, tw *[4]*twin) {
	a := tw[0]
	for _, b := range tw[1:] {
		sameTwins(rt, step, a, b)
	}
}

func sameTwins(rt *rapid.T, step string, a, b *twin) {
	for _, w := range []*twin{a, b} {
		if got, want := w.p.appendState(nil), w.p.appendStateReference(nil); string(got) != string(want) {
			rt.Fatalf("after %s: the state record is\n%x\nthe reference encoding\n%x", step, got, want)
		}
	}
	sameStrokes(rt, a.strokes, b.strokes, b.lazy)
	if sa, sb := a.p.Status(), b.p.Status(); sa != sb {
		rt.Fatalf("after %s: status\nplain %+v\ncoast %+v", step, sa, sb)
	}
	bp := b.p
	if b.lazy {
		// The image the lazy core would give now, read from a copy so that
		// its records stay unencoded.
		q := *b.p
		q.WritesDone() // what the others' drivers have applied
		bp = &q
	}
	if *a.p.Image() != *bp.Image() || !b.lazy && a.nvm != b.nvm {
		rt.Fatalf("after %s: images differ", step)
	}
	la, lb := a.log.Since(0, nil), b.log.Since(0, nil)
	if !reflect.DeepEqual(la, lb) {
		rt.Fatalf("after %s: logs differ\nplain %v\ncoast %v", step, la, lb)
	}
	if d := stateDiff(a.p, bp); d != "" {
		rt.Fatalf("after %s: core state differs: %s", step, d)
	}
}

// stateDiff names the fields in which two cores differ, ignoring the log
// (compared entry by entry) and the spent part of the write list.
func stateDiff(a, b *Pump) string {
	ca, cb := *a, *b
	ca.log, cb.log = nil, nil
	for _, c := range []*Pump{&ca, &cb} {
		for i := c.nWrites; i < len(c.writes); i++ {
			c.writes[i] = Write{}
		}
		if c.nPending != [2]int{} {
			return "a state record is still to encode after Image"
		}
		c.pending = [2][pendingDepth]pendingState{}
	}
	// The large fields first, directly (reflect is slow on them). The cap
	// window: the same strokes, as the same runs.
	if ta, tb := ca.win.times(nil), cb.win.times(nil); !slices.Equal(ta, tb) {
		return fmt.Sprintf("the cap window's strokes differ: %d and %d", len(ta), len(tb))
	}
	if ra, rb := liveRuns(&ca.win), liveRuns(&cb.win); !slices.Equal(ra, rb) || ca.win.skip != cb.win.skip {
		return fmt.Sprintf("the cap window's runs differ:\nplain %+v skip %d\ncoast %+v skip %d", ra, ca.win.skip, rb, cb.win.skip)
	}
	if ca.image != cb.image {
		return "the images differ"
	}
	ca.win, cb.win = window{}, window{}
	ca.image, cb.image = [ImageSize]byte{}, [ImageSize]byte{}
	if reflect.DeepEqual(ca, cb) {
		return ""
	}
	va, vb := reflect.ValueOf(ca), reflect.ValueOf(cb)
	diff := ""
	for i := range va.NumField() {
		// fmt prints unexported fields too, and Pump holds no pointers but the log.
		if sa, sb := fmt.Sprintf("%+v", va.Field(i)), fmt.Sprintf("%+v", vb.Field(i)); sa != sb {
			if len(sa) > 300 {
				sa, sb = sa[:300]+"…", sb[:300]+"…"
			}
			diff += fmt.Sprintf("\n%s: plain %s\n%s  coast %s", va.Type().Field(i).Name, sa, strings.Repeat(" ", len(va.Type().Field(i).Name)), sb)
		}
	}
	if diff == "" {
		diff = "(DeepEqual differs, fmt does not)"
	}
	return diff
}

// liveRuns returns the window's runs in use, oldest first.
func liveRuns(w *window) []StrokeRun {
	var out []StrokeRun
	for i := range w.len {
		out = append(out, *w.run(i))
	}
	return out
}

// TestCoastEquivalence drives identical cores through random programs,
// boluses, priming, bridges, refills, stops, stalls, pressure faults, battery
// drains, clock changes and power losses: one by Tick and StrokeDone alone, three
// with Coast wherever the hardware is nominal (one with an each that records
// the state after every stroke, two with a nil each, of which one reads its
// image only at a power loss, as the simulator's device does, leaving its
// state records unencoded until then). After every step they must be
// identical: the same strokes at the same times with the same state after
// each, the same log, image, persistent memory, status and internal state.
func TestCoastEquivalence(t *testing.T) {
	coasted := 0
	rapid.Check(t, func(rt *rapid.T) {
		// pick draws one of k choices evenly (rapid's small ranges favour their
		// low end, and the rare branches are the point here).
		pick := func(label string, k int) int { return rapid.IntRange(0, 1<<20).Draw(rt, label) % k }
		coin := func(label string) bool { return pick(label, 2) == 1 }
		cfg := defaultConfig()
		if coin("tp40") {
			cfg.Model = TP40
		}
		cfg.PressureSensor = coin("pressureSensor")
		cfg.LevelSensor = coin("levelSensor")
		if coin("lowBattery") {
			// From just above the end-of-service reserve to a few weeks past ERI.
			cfg.Battery = unit.Charge(rapid.Int64Range(10_050, 80_000).Draw(rt, "batteryUAh")) * unit.MicroampHour
		}
		cfg.UTCOffset = unit.Duration(rapid.Int64Range(-14*4, 14*4).Draw(rt, "offsetQuarters")) * 15 * unit.Minute
		start := t0.Add(unit.Duration(rapid.Int64Range(0, int64(unit.Day)).Draw(rt, "start")))
		var tw [4]*twin
		for i := range tw {
			log := NewLog()
			p, err := New(cfg, start, log)
			if err != nil {
				rt.Fatal(err)
			}
			tw[i] = &twin{p: p, log: log, coast: i > 0, each: i == 1, lazy: i == 3}
			tw[i].persist()
		}
		h := &hw{press: 20 * unit.Kilopascal}
		now := start
		both := func(step string, f func(w *twin) error) {
			var errs [4]string
			for i, w := range tw {
				if err := f(w); err != nil {
					errs[i] = err.Error()
				}
				w.persist()
			}
			if errs[0] != errs[1] || errs[0] != errs[2] || errs[0] != errs[3] {
				rt.Fatalf("%s: plain %q, coast %q", step, errs[0], errs[1:])
			}
			same(rt, step, &tw)
		}
		drug := "morphine"
		drawRx := func() Prescription {
			rate := func(label string) unit.Rate {
				switch pick(label+"Kind", 3) {
				case 0: // up to the maximum rate
					return unit.Rate(rapid.Int64Range(int64(MinRate), int64(MaxRate)).Draw(rt, label))
				case 1: // whole strokes a day: a cap with no headroom is then met exactly, stroke after stroke
					return unit.Rate(rapid.Int64Range(int64(MinRate)/int64(StrokeVolume)+1, int64(MaxRate)/int64(StrokeVolume)).Draw(rt, label+"Strokes")) * unit.Rate(StrokeVolume)
				}
				return unit.Rate(rapid.Int64Range(int64(MinRate), int64(unit.MillilitrePerDay)).Draw(rt, label))
			}
			rx := Prescription{Drug: drug, Concentration: 1}
			var top unit.Rate
			switch pick("mode", 6) {
			case 0:
				rx.Mode = ModeStopped
			case 1:
				rx.Mode = ModeMinimum
				top = MinRate
			case 2, 3:
				rx.Mode = ModeFlex
				rx.Weekly = coin("weekly")
				rx.FlexSteps = rapid.IntRange(1, 4).Draw(rt, "steps")
				for i := range rx.FlexSteps {
					rx.Flex[i] = FlexStep{At: unit.Duration(rapid.Int64Range(0, 24*60-1).Draw(rt, "at")) * unit.Minute,
						Rate: rate("flexRate"), Days: AllDays}
					if rx.Weekly {
						rx.Flex[i].Days = uint8(rapid.IntRange(1, int(AllDays)).Draw(rt, "days"))
					}
					top = max(top, rx.Flex[i].Rate)
				}
			default:
				rx.Mode = ModeContinuous
				rx.Rate = rate("rate")
				top = rx.Rate
			}
			// A cap that fits the basal, with some headroom or none (the cap window
			// then refuses boluses' strokes).
			capStrokes := (int64(top.Over(unit.Day)) + int64(StrokeVolume) - 1) / int64(StrokeVolume)
			if coin("roomy") {
				capStrokes += rapid.Int64Range(1, 200).Draw(rt, "headroom")
			}
			rx.Max24h = min(unit.Volume(max(capStrokes, 1))*StrokeVolume, MaxRate.Over(unit.Day), cfg.Model.Reservoir())
			if coin("lowThreshold") {
				rx.LowReservoir = unit.Volume(rapid.Int64Range(1, 5).Draw(rt, "lowML")) * unit.Millilitre
			}
			if coin("pb") {
				rx.PatientBolus = PatientBolus{
					Volume:    min(unit.Volume(rapid.Int64Range(1, 200).Draw(rt, "pbStrokes"))*StrokeVolume, rx.Max24h),
					Duration:  unit.Duration(rapid.Int64Range(1, 60).Draw(rt, "pbMin")) * unit.Minute,
					Lockout:   unit.Duration(rapid.Int64Range(1, 24*60).Draw(rt, "lockMin")) * unit.Minute,
					MaxPer24h: rapid.IntRange(1, 12).Draw(rt, "max"),
				}
			}
			return rx
		}
		program := func(step string, bridge bool) {
			rx := drawRx()
			if rx.Validate(cfg.Model) != nil {
				return
			}
			both(step, func(w *twin) error {
				c := NewProgram(rx, w.p.Status().RxHash)
				if bridge {
					return w.p.Bridge(now, c)
				}
				return w.p.Program(now, c)
			})
		}
		// volume draws a fill between lo and hi: often a whole number of µL, so
		// that the estimate meets a threshold exactly.
		volume := func(label string, lo, hi unit.Volume) unit.Volume {
			v := unit.Volume(rapid.Int64Range(int64(lo), int64(hi)).Draw(rt, label))
			if coin(label + "Whole") {
				v = max(v/unit.Microlitre*unit.Microlitre, lo/unit.Microlitre*unit.Microlitre+unit.Microlitre)
			}
			return v
		}
		fill := cfg.Model.Reservoir()
		if coin("smallFill") { // the reservoir thresholds come early
			fill = volume("fill", EmptyVolume+1, 6*unit.Millilitre)
		}
		both("fill", func(w *twin) error {
			return w.p.Refill(now, Refill{Added: fill, Drug: drug, Concentration: 1})
		})
		program("program", false)
		steps := map[string]func(){
			"tick": func() {
				dt := unit.Duration(rapid.Int64Range(1, 3*int64(unit.Day)).Draw(rt, "dt"))
				switch pick("length", 4) {
				case 1: // a few strokes at most: stalls and pressure faults shorter than their counts
					dt = unit.Duration(rapid.Int64Range(1, int64(5*unit.Minute)).Draw(rt, "shortDt"))
				case 2:
					dt = unit.Duration(rapid.Int64Range(1, int64(unit.Hour)).Draw(rt, "hourDt"))
				case 3: // weeks to months: Coast's spans (and their limit, maxSpan) in one go
					dt = unit.Duration(rapid.Int64Range(int64(unit.Week), 100*int64(unit.Day)).Draw(rt, "longDt"))
				}
				until := now.Add(dt)
				coastUntil := until
				if coin("partial") {
					coastUntil = now.Add(unit.Duration(rapid.Int64Range(0, int64(dt)).Draw(rt, "coastDt")))
				}
				// The hardware for this stretch: mostly nominal, else a stalled
				// motor or an outlet pressure out of the normal band.
				h.stall, h.press = false, []unit.Pressure{20 * unit.Kilopascal, LeakFloor, OcclusionPressure}[pick("normal", 3)]
				switch pick("hardware", 6) {
				case 0:
					h.stall = true
				case 1:
					h.press = []unit.Pressure{OcclusionPressure + 1, 150 * unit.Kilopascal}[pick("high", 2)]
				case 2:
					h.press = []unit.Pressure{LeakFloor - 1, 500 * unit.Pascal}[pick("low", 2)]
				}
				for _, w := range tw {
					w.run(h, until, coastUntil)
				}
				now = until
				same(rt, "tick", &tw)
			},
			"program": func() { program("program", false) },
			"bridge":  func() { program("bridge", true) },
			"patient bolus": func() {
				both("patient bolus", func(w *twin) error {
					why, err := w.p.PatientBolus(now)
					if err == nil && why != ReasonNone {
						return fmt.Errorf("refused: %s", why)
					}
					return err
				})
			},
			"clinician bolus": func() {
				v := unit.Volume(rapid.Int64Range(1, 400).Draw(rt, "cbStrokes")) * StrokeVolume
				d := unit.Duration(rapid.Int64Range(1, 24*60).Draw(rt, "cbMin")) * unit.Minute
				both("clinician bolus", func(w *twin) error { return w.p.ClinicianBolus(now, v, d) })
			},
			"prime": func() { both("prime", func(w *twin) error { return w.p.Prime(now) }) },
			"refill": func() {
				add := volume("add", EmptyVolume+1, cfg.Model.Reservoir())
				if coin("nearlyEmpty") {
					add = volume("addSmall", EmptyVolume+1, EmptyVolume+3*unit.Millilitre)
				}
				if coin("otherDrug") {
					drug = "baclofen"
				}
				d := drug
				both("refill", func(w *twin) error {
					return w.p.Refill(now, Refill{Withdrawn: w.p.Reservoir(), Added: add, Drug: d, Concentration: 1})
				})
			},
			"stop":   func() { both("stop", func(w *twin) error { return w.p.Stop(now) }) },
			"resume": func() { both("resume", func(w *twin) error { return w.p.Resume(now) }) },
			"acknowledge": func() {
				both("acknowledge", func(w *twin) error { return w.p.Acknowledge(now, AlarmNone) })
			},
			"session": func() {
				role := []Role{RoleClinician, RolePatient}[pick("role", 2)]
				radio := unit.Duration(rapid.Int64Range(0, int64(10*unit.Minute)).Draw(rt, "radio"))
				both("session", func(w *twin) error {
					if err := w.p.OpenSession(now, role); err != nil {
						return err
					}
					_, err := w.p.Interrogate(now)
					if err != nil {
						return err
					}
					return w.p.CloseSession(now, radio)
				})
			},
			"set clock": func() {
				off := unit.Duration(rapid.Int64Range(-14*4, 14*4).Draw(rt, "clockQuarters")) * 15 * unit.Minute
				both("set clock", func(w *twin) error { return w.p.SetClock(now, off) })
			},
			"drain": func() {
				c := unit.Charge(rapid.Int64Range(1, 20_000).Draw(rt, "drainUAh")) * unit.MicroampHour
				both("drain", func(w *twin) error { return w.p.Drain(now, c) })
			},
			"level": func() {
				h.level = unit.Volume(rapid.Int64Range(-3000, 3000).Draw(rt, "levelUL")) * unit.Microlitre
			},
			"power loss": func() {
				both("power loss", func(w *twin) error {
					w.sync() // a lazy driver's one read of the image
					p, err := Restore(cfg, w.nvm[:], w.log, now)
					if err != nil {
						return err
					}
					w.p = p
					return nil
				})
			},
		}
		names := []string{"tick", "tick", "tick", "tick", "tick", "tick", "tick", "tick", "program", "bridge", "patient bolus", "patient bolus",
			"clinician bolus", "prime", "refill", "stop", "resume", "acknowledge", "session", "set clock", "drain",
			"level", "power loss"}
		for range rapid.IntRange(1, 50).Draw(rt, "steps") {
			steps[names[pick("step", len(names))]]()
		}
		h.stall, h.press = false, 20*unit.Kilopascal
		for _, w := range tw {
			w.run(h, now.Add(unit.Day), now.Add(unit.Day))
		}
		same(rt, "the last day", &tw)
		if tw[2].coasted < tw[1].coasted { // without each, Coast goes on past checkpoints
			rt.Fatalf("with each %d strokes coasted, without only %d", tw[1].coasted, tw[2].coasted)
		}
		coasted += tw[2].coasted
	})
	if coasted == 0 {
		t.Fatal("Coast never delivered a stroke: the test exercised nothing")
	}
	t.Logf("%d strokes coasted", coasted)
}
