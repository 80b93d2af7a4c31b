package sim

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// OptionError is a refusal of a run option (a command-line flag), naming it.
type OptionError struct{ Option, Reason string }

func (e *OptionError) Error() string { return e.Option + ": " + e.Reason }

// CampaignOptions choose a fault campaign.
type CampaignOptions struct {
	Seed    int64
	Cases   int
	Workers int // 0: every CPU
	// Extra is an additional invariant checked after every event (tests inject a
	// deliberately broken one to exercise the shrinker).
	Extra ExtraCheck
	// Progress, if set, is called from one goroutine as cases complete.
	Progress func(done, total int)
}

// CampaignResult is the outcome of a campaign. It depends only on the seed and
// the number of cases, never on the number of workers.
type CampaignResult struct {
	Seed          int64          `json:"seed"`
	Cases         int            `json:"cases"`
	Passed        int            `json:"passed"`
	Failed        int            `json:"failed"`
	SimulatedDays float64        `json:"simulated_days"`
	Strokes       int64          `json:"strokes"`
	Events        map[string]int `json:"events"`
	Invariants    []string       `json:"invariants"`
	Failures      []CaseFailure  `json:"failures"`
}

// CaseFailure is a failing case: its number, the violations, and the shrunk
// scenario that reproduces them (a scenario file).
type CaseFailure struct {
	Case       int         `json:"case"`
	Violations []Violation `json:"violations"`
	Original   []byte      `json:"-"`
	Shrunk     []byte      `json:"-"`
	// ShrunkEvents and ShrunkDuration describe the shrunk scenario.
	ShrunkEvents   int    `json:"shrunk_events"`
	ShrunkDuration string `json:"shrunk_duration"`
	File           string `json:"file,omitempty"` // where the caller wrote Shrunk
}

// Invariants lists the invariants every campaign checks.
var Invariants = []string{InvStopped, InvCap, InvNoCatchUp, InvAlarmDue, InvConservation, InvAlarmLogged}

// caseSeed derives case i's seed from the campaign seed (splitmix64), so that
// any case can be regenerated alone.
func caseSeed(seed int64, i int) uint64 {
	z := uint64(seed) + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// RunCampaign generates and checks o.Cases random scenarios on all workers;
// each failing case is shrunk.
func RunCampaign(o CampaignOptions) (*CampaignResult, error) {
	if o.Cases < 0 {
		return nil, &OptionError{Option: "--cases", Reason: "must not be negative"}
	}
	type outcome struct {
		sc      *scenario.Scenario
		res     *CheckResult
		err     error
		failure *CaseFailure
	}
	outs := make([]outcome, o.Cases)
	var done atomic.Int64
	parallel(o.Cases, o.Workers, func(i int) {
		sc := GenerateCase(o.Seed, i)
		res, err := Check(sc, o.Extra)
		out := outcome{sc: sc, res: res, err: err}
		if err == nil && len(res.Violations) > 0 {
			shrunk := Shrink(sc, res.Violations[0].Invariant, o.Extra)
			out.failure = &CaseFailure{Case: i, Violations: res.Violations, Original: scenario.Format(sc), Shrunk: scenario.Format(shrunk),
				ShrunkEvents: len(shrunk.Events), ShrunkDuration: shrunk.Duration.String()}
		}
		outs[i] = out
		done.Add(1)
	}, func() {
		if o.Progress != nil {
			o.Progress(int(done.Load()), o.Cases)
		}
	})
	cr := &CampaignResult{Seed: o.Seed, Cases: o.Cases, Events: map[string]int{}, Invariants: Invariants, Failures: []CaseFailure{}}
	for i, out := range outs {
		if out.err != nil {
			return nil, fmt.Errorf("case %d: %w (the generator made a scenario the simulator refuses)", i, out.err)
		}
		cr.SimulatedDays += float64(out.sc.Duration) / float64(unit.Day)
		cr.Strokes += out.res.Strokes
		for _, e := range out.sc.Events {
			cr.Events[string(e.Kind)]++
		}
		if out.failure != nil {
			cr.Failed++
			cr.Failures = append(cr.Failures, *out.failure)
		} else {
			cr.Passed++
		}
	}
	cr.SimulatedDays = math.Round(cr.SimulatedDays*1000) / 1000
	return cr, nil
}

// parallel calls work(i) for i in [0, n) on workers goroutines (0: every CPU),
// and tick every 100 ms and at the end from the calling goroutine.
func parallel(n, workers int, work func(i int), tick func()) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	finished := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				work(i)
			}
		}()
	}
	go func() { wg.Wait(); close(finished) }()
	if tick == nil {
		<-finished
		return
	}
	for {
		select {
		case <-finished:
			tick()
			return
		case <-time.After(100 * time.Millisecond):
			tick()
		}
	}
}

// Shrink returns a smaller scenario that still violates invariant inv: the
// duration cut to just after the violation, then events removed in halves,
// quarters … down to one at a time, until no single removal keeps it failing.
func Shrink(sc *scenario.Scenario, inv string, extra ExtraCheck) *scenario.Scenario {
	fails := func(s *scenario.Scenario) (bool, unit.Time) {
		if Validate(s) != nil {
			return false, 0
		}
		res, err := Check(s, extra)
		if err != nil {
			return false, 0
		}
		for _, v := range res.Violations {
			if v.Invariant == inv {
				return true, v.at
			}
		}
		return false, 0
	}
	best := cloneScenario(sc)
	ok, at := fails(best)
	if !ok {
		return best
	}
	for round := 0; round < 8; round++ {
		changed := false
		// Cut the duration to the violation (whole minutes, at least one).
		if d := unit.Duration((at-best.Start)/unit.Time(unit.Minute)+1) * unit.Minute; d < best.Duration {
			try := cutScenario(best, d)
			if ok, t := fails(try); ok {
				best, at, changed = try, t, true
			}
		}
		// Remove chunks of events.
		for size := max(1, len(best.Events)/2); size >= 1; size /= 2 {
			for i := 0; i < len(best.Events); {
				try := cloneScenario(best)
				try.Events = append(try.Events[:i:i], best.Events[min(i+size, len(best.Events)):]...)
				reindex(try)
				if ok, t := fails(try); ok {
					best, at, changed = try, t, true
					continue
				}
				i += size
			}
			if size == 1 {
				break
			}
		}
		if !changed {
			break
		}
	}
	return best
}

func cloneScenario(sc *scenario.Scenario) *scenario.Scenario {
	c := *sc
	c.Events = append([]scenario.Event(nil), sc.Events...)
	return &c
}

// cutScenario ends sc after d, dropping the events after it.
func cutScenario(sc *scenario.Scenario, d unit.Duration) *scenario.Scenario {
	c := cloneScenario(sc)
	c.Duration = d
	n := sort.Search(len(c.Events), func(i int) bool { return c.Events[i].At > c.End() })
	c.Events = c.Events[:n]
	return c
}

func reindex(sc *scenario.Scenario) {
	for i := range sc.Events {
		sc.Events[i].Index = i
	}
}

// WriteText writes the campaign's outcome.
func (cr *CampaignResult) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Fault campaign: seed %d, %d cases, %.1f simulated days, %d strokes", cr.Seed, cr.Cases, cr.SimulatedDays, cr.Strokes)
	var kinds []string
	for k := range cr.Events {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	line := ""
	for _, k := range kinds {
		line += fmt.Sprintf(" %s %d,", k, cr.Events[k])
	}
	if line != "" {
		p("Events:%s", line[:len(line)-1])
	}
	p("Invariants checked: %s", joinStrings(cr.Invariants))
	p("Passed %d, failed %d", cr.Passed, cr.Failed)
	for _, f := range cr.Failures {
		p("")
		p("case %d:", f.Case)
		for _, v := range f.Violations {
			p("  %s at %s: %s", v.Invariant, v.At, v.Detail)
		}
		p("  shrunk to %d events over %s", f.ShrunkEvents, f.ShrunkDuration)
		if f.File != "" {
			p("  reproduce: thecal sim campaign --replay %s", f.File)
		}
	}
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// The case generator.

var campaignDrugs = []struct{ name, conc string }{
	{"morphine", "10 mg/mL"}, {"morphine", "25 mg/mL"}, {"baclofen", "2000 mcg/mL"}, {"baclofen", "500 mcg/mL"},
	{"hydromorphone", "5 mg/mL"}, {"ziconotide", "100 mcg/mL"},
}

var campaignOffsets = []unit.Duration{-5 * unit.Hour, 0, unit.Hour, 3*unit.Hour + 30*unit.Minute, 9 * unit.Hour}

// eventWeights is how often each event kind is drawn: every fault kind and
// every clinician and patient action appears.
var eventWeights = []struct {
	kind   scenario.Kind
	weight int
}{
	{scenario.Program, 8}, {scenario.Stop, 4}, {scenario.Resume, 6}, {scenario.ClinicianBolus, 4},
	{scenario.Prime, 3}, {scenario.Bridge, 3}, {scenario.PatientBolusEv, 16}, {scenario.Refill, 8},
	{scenario.Interrogate, 3}, {scenario.Acknowledge, 7}, {scenario.MRI, 5}, {scenario.MotorStall, 5},
	{scenario.Occlusion, 5}, {scenario.Leak, 2}, {scenario.PowerLoss, 7}, {scenario.BatteryDrain, 4},
	{scenario.SetClock, 2},
}

type gen struct{ rng *rand.Rand }

func (g *gen) intn(lo, hi int) int   { return lo + g.rng.IntN(hi-lo+1) } // [lo, hi]
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// volume draws a volume uniformly in [lo, hi], to the µL.
func (g *gen) volume(lo, hi unit.Volume) unit.Volume {
	return (lo + unit.Volume(g.rng.Int64N(int64(hi-lo)+1))) / unit.Microlitre * unit.Microlitre
}

// rate draws a rate log-uniformly in [lo, hi], to the µL/day.
func (g *gen) rate(lo, hi unit.Rate) unit.Rate {
	r := math.Exp(math.Log(float64(lo)) + g.rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo))))
	return max(lo, min(hi, unit.Rate(r)/1000*1000))
}

func (g *gen) drug() scenario.Drug {
	d := campaignDrugs[g.rng.IntN(len(campaignDrugs))]
	c, u, err := unit.ParseConcentration(d.conc)
	if err != nil {
		panic(err)
	}
	return scenario.Drug{Name: d.name, Concentration: c, Unit: u, Text: d.conc}
}

// prescription draws a prescription that the pump accepts (rates in mL/day).
func (g *gen) prescription(model pump.Model) *scenario.Prescription {
	p := &scenario.Prescription{}
	rx := &p.Rx
	var top unit.Rate
	switch n := g.rng.IntN(20); {
	case n < 11:
		rx.Mode = pump.ModeContinuous
		top = g.rate(pump.MinRate, unit.MillilitrePerDay)
		rx.Rate = top
	case n < 16:
		rx.Mode = pump.ModeFlex
		steps := g.intn(2, 4)
		used := map[unit.Duration]bool{}
		for rx.FlexSteps < steps {
			at := unit.Duration(g.intn(0, 23))*unit.Hour + unit.Duration(g.intn(0, 3)*15)*unit.Minute
			if used[at] {
				continue
			}
			used[at] = true
			r := g.rate(pump.MinRate, unit.MillilitrePerDay)
			top = max(top, r)
			rx.Flex[rx.FlexSteps] = pump.FlexStep{At: at, Rate: r, Days: pump.AllDays}
			rx.FlexSteps++
		}
		sort.Slice(rx.Flex[:rx.FlexSteps], func(i, j int) bool { return rx.Flex[i].At < rx.Flex[j].At })
	case n < 19:
		rx.Mode = pump.ModeMinimum
		top = pump.MinRate
	default:
		rx.Mode = pump.ModeStopped
	}
	if rx.Mode != pump.ModeStopped {
		day := top.Over(unit.Day)
		capV := day + day*unit.Volume(g.intn(0, 60))/100 + g.volume(0, 200*unit.Microlitre)
		rx.Max24h = min(max(capV, pump.StrokeVolume)/unit.Microlitre*unit.Microlitre+unit.Microlitre, model.Reservoir())
		if g.chance(0.5) {
			rx.LowReservoir = g.volume(pump.LowReservoirMin, pump.LowReservoirMax)
		}
		if g.chance(0.45) {
			pb := pump.PatientBolus{Volume: g.volume(5*unit.Microlitre, 60*unit.Microlitre),
				Duration: unit.Duration(g.intn(1, 30)) * unit.Minute, Lockout: unit.Duration(g.intn(1, 48)) * 15 * unit.Minute,
				MaxPer24h: g.intn(1, 8)}
			if pb.Volume <= rx.Max24h && unit.RateOf(pb.Volume, pb.Duration)+top <= pump.MaxRate {
				rx.PatientBolus = pb
			}
		}
	}
	return p
}

// GenerateCase returns case i of the campaign with the given seed: a random
// pump, fill and prescription, and random events of every kind at random
// times. The same seed and i always give the same scenario.
func GenerateCase(seed int64, i int) *scenario.Scenario {
	for attempt := 0; ; attempt++ {
		cs := caseSeed(seed, i) + uint64(attempt)*0x632be59bd9b4e019
		sc := generate(cs, fmt.Sprintf("campaign seed %d case %d", seed, i))
		if Validate(sc) == nil {
			return sc
		}
	}
}

func generate(cs uint64, name string) *scenario.Scenario {
	g := &gen{rand.New(rand.NewPCG(cs, cs^0xda3e39cb94b95bdb))}
	model := pump.TP20
	if g.chance(0.4) {
		model = pump.TP40
	}
	start := unit.Time(1767600000000).Add(unit.Duration(g.intn(0, 365))*unit.Day + unit.Duration(g.intn(0, 86399))*unit.Second)
	sc := &scenario.Scenario{
		Name: name, Start: start, Seed: int64(cs >> 1),
		Duration: unit.Duration(g.intn(12, 21*24)) * unit.Hour,
		Pump: scenario.Pump{Model: model, CatheterLength: unit.Length(g.intn(10, 150)) * unit.Centimetre,
			CatheterPerCm: pump.DefaultCatheterPerCm, UTCOffset: campaignOffsets[g.rng.IntN(len(campaignOffsets))],
			PressureSensor: g.chance(0.7), LevelSensor: g.chance(0.4), Battery: pump.BatteryCapacity, Primed: g.chance(0.85)},
	}
	if g.chance(0.2) {
		sc.Pump.Battery = unit.Charge(g.intn(11_000, 60_000)) * unit.MicroampHour
	} else {
		sc.Pump.Battery = unit.Charge(g.intn(100_000, 1_000_000)) * unit.MicroampHour
	}
	drug := g.drug()
	sc.Fill = scenario.Fill{Drug: drug, Volume: g.volume(pump.EmptyVolume+unit.Millilitre, model.Reservoir())}
	sc.Prescription = *g.prescription(model)
	n := g.intn(2, 30)
	total := 0
	for _, w := range eventWeights {
		total += w.weight
	}
	for range n {
		at := start.Add(unit.Duration(g.rng.Int64N(int64(sc.Duration/unit.Second)+1)) * unit.Second)
		pick := g.rng.IntN(total)
		var kind scenario.Kind
		for _, w := range eventWeights {
			if pick < w.weight {
				kind = w.kind
				break
			}
			pick -= w.weight
		}
		if !sc.Pump.Primed && len(sc.Events) == 0 && g.chance(0.7) {
			// A new implant is usually primed first.
			sc.Events = append(sc.Events, scenario.Event{At: start.Add(unit.Duration(g.intn(0, 3600)) * unit.Second), Kind: scenario.Prime})
		}
		e := scenario.Event{At: at, Kind: kind}
		switch kind {
		case scenario.Program, scenario.Bridge:
			e.Prescription = g.prescription(model)
		case scenario.ClinicianBolus:
			e.Duration = unit.Duration(g.intn(10, 360)) * unit.Minute
			e.Volume = min(g.volume(10*unit.Microlitre, 300*unit.Microlitre), pump.MaxRate.Over(e.Duration)/2)
			e.HasDuration = true
		case scenario.PatientBolusEv:
			// Patients press in bursts: a few presses minutes apart.
			for k := range g.intn(0, 3) {
				sc.Events = append(sc.Events, scenario.Event{At: at.Add(unit.Duration(k*g.intn(1, 20)) * unit.Minute), Kind: kind})
			}
		case scenario.Refill:
			e.Withdraw = g.volume(0, model.Reservoir())
			e.Add = g.volume(pump.EmptyVolume+unit.Millilitre, model.Reservoir())
			e.Drug = drug
			if g.chance(0.2) {
				e.Drug = g.drug()
				drug = e.Drug
			}
			if g.chance(0.05) {
				e.PocketFill = g.volume(100*unit.Microlitre, min(e.Add, unit.Millilitre))
			}
		case scenario.Acknowledge:
			if g.chance(0.3) {
				e.Alarm = pump.Alarm(g.intn(1, int(pump.DailyCap))).String()
			}
		case scenario.MRI:
			e.Duration, e.HasDuration = unit.Duration(g.intn(20, 90))*unit.Minute, true
		case scenario.MotorStall:
			e.Duration, e.HasDuration = unit.Duration(g.intn(1, 180))*unit.Minute, true
		case scenario.Occlusion:
			if g.chance(0.6) {
				e.Duration, e.HasDuration = unit.Duration(g.intn(5, 2880))*unit.Minute, true
			}
		case scenario.BatteryDrain:
			e.Charge = unit.Charge(g.intn(1_000, 50_000)) * unit.MicroampHour
		case scenario.SetClock:
			e.UTCOffset = campaignOffsets[g.rng.IntN(len(campaignOffsets))]
		}
		sc.Events = append(sc.Events, e)
	}
	for k := range sc.Events {
		sc.Events[k].At = min(sc.Events[k].At, sc.End())
	}
	sort.SliceStable(sc.Events, func(a, b int) bool { return sc.Events[a].At < sc.Events[b].At })
	reindex(sc)
	return sc
}
