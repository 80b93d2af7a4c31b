package sim

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// PopulationOptions choose a virtual clinic: Patients implanted patients
// followed for Years from Start.
type PopulationOptions struct {
	Patients int
	Years    int
	Seed     int64
	Start    unit.Time // 0: 2026-01-01T00:00:00Z
	Workers  int       // 0: every CPU
	Progress func(done, total int)
}

// PopulationStart is the default first day of a population run.
const PopulationStart = unit.Time(1767225600000) // 2026-01-01T00:00:00Z

// The distributions a population is drawn from (docs/simulator.md explains each).
var PopulationDistributions = []string{
	"pump model: TP-20 70%, TP-40 30%",
	"drug: baclofen 2000 mcg/mL 60% (refill at least every 180 days), morphine 25 mg/mL 40% (every 90 days)",
	"basal rate: log-normal, median 0.25 mL/day, sigma 0.6, clipped to 0.048-1.0 mL/day",
	"refill interval: due when the reservoir is down to the low-reservoir threshold (2 mL) plus 10 days of delivery and 0.5 mL, capped by the drug's limit, at least 7 days",
	"refill visit: 90% within ±3 days of due, 7% late by 4-21 days, 3% missed (next attempt 7-28 days later)",
	"patient bolus (PTM): 20% of patients; 0.02 mL over 10 min, lockout 3 h, 4 per 24 h; presses Poisson at 0.2-2 a day",
	"MRI: Poisson, 0.08 a year; 20-60 min (stalls the motor); interrogation and acknowledgement 1-48 h later",
	"battery at the start: the pump's age is uniform over 0-6 years of drain at its rate (288 µAh/day + 0.1 µAh a stroke), ×N(1, 0.03)",
	"new pump battery: 1,000,000 µAh × min(1, N(0.98, 0.01)) (shelf loss)",
	"replacement: 1-14 days to notice ERI plus 14-45 days to schedule; 5% slip by another 60-120 days",
}

// PopulationMonth is one calendar month of a clinic's workload.
type PopulationMonth struct {
	Month          string         `json:"month"` // YYYY-MM
	Refills        int            `json:"refills"`
	MissedRefills  int            `json:"missed_refills"`
	PatientBoluses int            `json:"patient_boluses"`
	MRIs           int            `json:"mris"`
	Alarms         map[string]int `json:"alarms"` // raises by alarm
	Interruptions  int            `json:"interruptions"`
	ERI            int            `json:"eri"`
	Replacements   int            `json:"replacements"`
}

// PopulationResult is the clinic manager's planning view.
type PopulationResult struct {
	Patients      int               `json:"patients"`
	Years         int               `json:"years"`
	Seed          int64             `json:"seed"`
	Start         string            `json:"start"`
	PumpYears     float64           `json:"pump_years"`
	Strokes       int64             `json:"strokes"`
	Distributions []string          `json:"distributions"`
	Months        []PopulationMonth `json:"months"`
	Total         PopulationMonth   `json:"total"`
}

// patient is one virtual patient's fixed traits.
type patient struct {
	model     pump.Model
	drug      scenario.Drug
	rate      unit.Rate
	interval  unit.Duration // planned refill interval
	ptm       bool
	pressRate float64 // presses a day
	battery   unit.Charge
}

// tally counts one patient's workload by month index.
type tally struct {
	buf     []pump.Entry // log entries being counted, reused
	months  []PopulationMonth
	strokes int64
	life    unit.Duration // pump time simulated
}

func (t *tally) at(i int) *PopulationMonth {
	if i < 0 || i >= len(t.months) {
		return nil
	}
	return &t.months[i]
}

// monthIndex is the calendar month of t counted from the month of start.
func monthIndex(start, t unit.Time) int {
	a, b := start.Std(), t.Std()
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// RunPopulation simulates the patients on all workers. Each patient draws from
// its own generator, seeded from the population seed and its number, and the
// counts are summed in patient order: the result does not depend on Workers.
func RunPopulation(o PopulationOptions) (*PopulationResult, error) {
	switch {
	case o.Patients < 1 || o.Patients > 1_000_000:
		return nil, &OptionError{Option: "--patients", Reason: fmt.Sprintf("%d is outside 1 to 1000000", o.Patients)}
	case o.Years < 1 || o.Years > 50:
		return nil, &OptionError{Option: "--years", Reason: fmt.Sprintf("%d is outside 1 to 50", o.Years)}
	}
	if o.Start == 0 {
		o.Start = PopulationStart
	}
	end := unit.FromStd(o.Start.Std().AddDate(o.Years, 0, 0))
	nMonths := monthIndex(o.Start, end)
	tallies := make([]tally, o.Patients)
	errs := make([]error, o.Patients)
	var done atomic.Int64
	parallel(o.Patients, o.Workers, func(i int) {
		tallies[i], errs[i] = simulatePatient(o.Seed, i, o.Start, end, nMonths)
		done.Add(1)
	}, func() {
		if o.Progress != nil {
			o.Progress(int(done.Load()), o.Patients)
		}
	})
	res := &PopulationResult{Patients: o.Patients, Years: o.Years, Seed: o.Seed, Start: rfc(o.Start), Distributions: PopulationDistributions}
	res.Months = make([]PopulationMonth, nMonths)
	for m := range res.Months {
		res.Months[m] = PopulationMonth{Month: o.Start.Std().AddDate(0, m, 0).Format("2006-01"), Alarms: map[string]int{}}
	}
	res.Total = PopulationMonth{Month: "total", Alarms: map[string]int{}}
	var life unit.Duration
	for i := range tallies {
		if errs[i] != nil {
			return nil, fmt.Errorf("patient %d: %w", i, errs[i])
		}
		t := &tallies[i]
		res.Strokes += t.strokes
		life += t.life
		for m := range t.months {
			add(&res.Months[m], &t.months[m])
			add(&res.Total, &t.months[m])
		}
	}
	res.PumpYears = math.Round(float64(life)/float64(365*unit.Day+unit.Day/4)*100) / 100
	return res, nil
}

func add(dst, src *PopulationMonth) {
	dst.Refills += src.Refills
	dst.MissedRefills += src.MissedRefills
	dst.PatientBoluses += src.PatientBoluses
	dst.MRIs += src.MRIs
	dst.Interruptions += src.Interruptions
	dst.ERI += src.ERI
	dst.Replacements += src.Replacements
	for k, v := range src.Alarms {
		dst.Alarms[k] += v
	}
}

// drawPatient draws a patient's traits.
func drawPatient(g *gen) patient {
	p := patient{model: pump.TP20}
	if g.chance(0.3) {
		p.model = pump.TP40
	}
	stability := 180 * unit.Day
	conc := "2000 mcg/mL"
	name := "baclofen"
	if g.chance(0.4) {
		name, conc, stability = "morphine", "25 mg/mL", 90*unit.Day
	}
	c, u, _ := unit.ParseConcentration(conc)
	p.drug = scenario.Drug{Name: name, Concentration: c, Unit: u, Text: conc}
	r := 0.25 * math.Exp(0.6*g.rng.NormFloat64())
	p.rate = max(pump.MinRate, min(unit.MillilitrePerDay, unit.Rate(r*1000)*1000))
	// Plan the refill for when the reservoir is down to the low-reservoir
	// threshold plus ten days of delivery (and 0.5 mL).
	usable := p.model.Reservoir() - pump.LowReservoirDefault - p.rate.Over(10*unit.Day) - unit.Millilitre/2
	days := max(7, min(int64(stability/unit.Day), int64(usable)*int64(unit.MillilitrePerDay)/int64(p.rate)/int64(unit.Millilitre)))
	p.interval = unit.Duration(days) * unit.Day
	p.ptm = g.chance(0.2)
	p.pressRate = 0.2 + 1.8*g.rng.Float64()
	perDay := 288.0 + 0.1*float64(p.rate)/float64(pump.StrokeVolume)
	age := 6 * 365 * g.rng.Float64()
	uah := (1e6 - age*perDay) * (1 + 0.03*g.rng.NormFloat64())
	p.battery = unit.Charge(max(20_000, min(1e6, uah))) * unit.MicroampHour
	return p
}

// simulatePatient follows patient i from start to end, pump after pump.
func simulatePatient(seed int64, i int, start, end unit.Time, nMonths int) (tally, error) {
	cs := caseSeed(seed^0x706f70756c617465, i)
	g := &gen{rand.New(rand.NewPCG(cs, cs^0x51ed2701a3b4c5d7))}
	p := drawPatient(g)
	t := tally{months: make([]PopulationMonth, nMonths)}
	for m := range t.months {
		t.months[m].Alarms = map[string]int{}
	}
	// Patient boluses and MRIs happen whichever pump is in; draw them once.
	var presses, mris []unit.Time
	if p.ptm {
		presses = poisson(g, start, end, p.pressRate/float64(unit.Day))
	}
	mris = poisson(g, start, end, 0.08/float64(365*unit.Day))
	battery := p.battery
	for from, n := start, 0; from < end; n++ {
		to, err := t.pumpLife(g, &p, n, battery, from, end, presses, mris, start)
		if err != nil {
			return t, err
		}
		if to >= end {
			break
		}
		if m := t.at(monthIndex(start, to)); m != nil {
			m.Replacements++
		}
		from = to
		battery = unit.Charge(min(1.0, 0.98+0.01*g.rng.NormFloat64())*1e6) * unit.MicroampHour
	}
	return t, nil
}

// poisson draws the times of a Poisson process of the given rate (per ms) in [from, to).
func poisson(g *gen, from, to unit.Time, rate float64) []unit.Time {
	var out []unit.Time
	t := float64(from)
	for {
		t += g.rng.ExpFloat64() / rate
		if t >= float64(to) {
			return out
		}
		out = append(out, unit.Time(t)/1000*1000)
	}
}

// pumpLife runs one pump from its implant at from (or the start) until it is
// replaced or the population ends, and returns the replacement time (or end).
func (t *tally) pumpLife(g *gen, p *patient, n int, battery unit.Charge, from, end unit.Time, presses, mris []unit.Time, start unit.Time) (unit.Time, error) {
	sc := &scenario.Scenario{
		Name: fmt.Sprintf("pump %d", n), Start: from, Duration: end.Sub(from), Seed: int64(g.rng.Uint64() >> 1),
		Pump: scenario.Pump{Model: p.model, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			Battery: battery, Primed: true},
		Fill: scenario.Fill{Drug: p.drug, Volume: p.model.Reservoir()},
		Prescription: scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: p.rate,
			Max24h: p.rate.Over(unit.Day) + 100*unit.Microlitre}},
	}
	if p.ptm {
		sc.Prescription.Rx.PatientBolus = pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 3 * unit.Hour, MaxPer24h: 4}
		sc.Prescription.Rx.Max24h += 80 * unit.Microlitre
	}
	var evs []scenario.Event
	// Refill visits: due every interval after the last refill; some late, some missed.
	for due := from.Add(p.interval); due < end; {
		switch x := g.rng.Float64(); {
		case x < 0.03:
			if m := t.at(monthIndex(start, due)); m != nil {
				m.MissedRefills++
			}
			due = due.Add(unit.Duration(g.intn(7, 28)) * unit.Day)
			continue
		case x < 0.10:
			due = due.Add(unit.Duration(g.intn(4, 21)) * unit.Day)
		default:
			due = due.Add(unit.Duration(g.intn(-3, 3)) * unit.Day)
		}
		at := due.Add(unit.Duration(g.intn(8*60, 16*60)) * unit.Minute) // clinic hours
		if at >= end {
			break
		}
		evs = append(evs, scenario.Event{At: at, Kind: scenario.Refill, Withdraw: p.model.Reservoir(), Add: p.model.Reservoir(), Drug: p.drug})
		due = at.Add(p.interval)
	}
	for _, at := range presses {
		if at >= from && at < end {
			evs = append(evs, scenario.Event{At: at, Kind: scenario.PatientBolusEv})
		}
	}
	for _, at := range mris {
		if at >= from && at < end {
			check := at.Add(unit.Duration(g.intn(60, 48*60)) * unit.Minute)
			evs = append(evs, scenario.Event{At: at, Kind: scenario.MRI, Duration: unit.Duration(g.intn(20, 60)) * unit.Minute, HasDuration: true})
			if check < end {
				evs = append(evs, scenario.Event{At: check, Kind: scenario.Interrogate}, scenario.Event{At: check, Kind: scenario.Acknowledge})
			}
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].At < evs[b].At })
	sc.Events = evs
	reindex(sc)

	r, err := newRun(sc)
	if err != nil {
		return 0, err
	}
	r.dev.OnStroke, r.dev.OnRun = nil, nil // the workload needs no catheter pipeline
	replaceAt := end
	eriSeen := false
	cursor := uint64(1)
	h := &hooks{event: func(e *scenario.Event) {
		cursor = t.count(r, cursor, start, replaceAt)
		if e == nil || eriSeen || !r.dev.Core.Alarms().Has(pump.ERI) {
			return
		}
		eriSeen = true
		eri := r.eriTime()
		delay := unit.Duration(g.intn(1, 14)+g.intn(14, 45)) * unit.Day
		if g.chance(0.05) {
			delay += unit.Duration(g.intn(60, 120)) * unit.Day
		}
		replaceAt = max(eri.Add(delay), e.At+1)
		if replaceAt < end {
			// The explant: the last contact with this pump.
			r.insertEvent(scenario.Event{At: replaceAt, Kind: scenario.Interrogate})
		}
	}, stop: func() bool { return r.dev.Core.Status().At >= replaceAt }}
	if err := r.drive(h); err != nil {
		return 0, err
	}
	t.count(r, cursor, start, replaceAt)
	t.strokes += int64(r.dev.Core.Status().Delivered / pump.StrokeVolume)
	t.life += min(replaceAt, end).Sub(from)
	for _, e := range r.sc.Events {
		if e.Kind == scenario.MRI && e.At < replaceAt {
			if m := t.at(monthIndex(start, e.At)); m != nil {
				m.MRIs++
			}
		}
	}
	return replaceAt, nil
}

// eriTime is when the pump raised ERI: the latest ERI raise still in the log.
func (r *run) eriTime() unit.Time {
	at := r.dev.Core.Status().At
	for _, e := range r.dev.Log.Since(0, nil) {
		if e.Kind == pump.EvAlarmRaise && e.Alarm == pump.ERI {
			at = e.At
		}
	}
	return at
}

// count adds the log entries from sequence number cursor on, before until, to
// the tally and returns the next cursor. Read after every event, the log (a
// ring of pump.LogSize entries) never overwrites an entry before it is counted.
func (t *tally) count(r *run, cursor uint64, start, until unit.Time) uint64 {
	t.buf = r.dev.Log.Since(cursor, t.buf[:0])
	for _, e := range t.buf {
		if e.At >= until {
			continue
		}
		m := t.at(monthIndex(start, e.At))
		if m == nil {
			continue
		}
		switch e.Kind {
		case pump.EvRefill:
			if e.At > r.sc.Start { // the implant fill is not a refill visit
				m.Refills++
			}
		case pump.EvPatientBolusStart:
			m.PatientBoluses++
		case pump.EvAlarmRaise:
			m.Alarms[e.Alarm.String()]++
			switch e.Alarm {
			case pump.ERI:
				m.ERI++
			case pump.EmptyReservoir, pump.EOS, pump.MotorStall, pump.Occlusion, pump.MemoryError:
				m.Interruptions++
			}
		}
	}
	return r.dev.Log.Next()
}

// alarmColumns are the alarms the text table shows, in order.
var alarmColumns = []struct{ name, head string }{
	{"LOW_RESERVOIR", "low"}, {"EMPTY_RESERVOIR", "empty"}, {"MOTOR_STALL", "stall"}, {"ERI", "eri"}, {"EOS", "eos"},
}

// WriteText writes the planning table: one line a month, then the totals.
func (pr *PopulationResult) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Virtual clinic: %d patients over %d years from %s, seed %d (%.0f pump-years simulated)", pr.Patients, pr.Years, pr.Start[:10], pr.Seed, pr.PumpYears)
	p("")
	head := fmt.Sprintf("%-8s %7s %6s %7s %5s", "month", "refills", "missed", "boluses", "MRIs")
	for _, c := range alarmColumns {
		head += fmt.Sprintf(" %6s", c.head)
	}
	head += fmt.Sprintf(" %7s %8s", "interr.", "replaced")
	p("%s", head)
	row := func(m *PopulationMonth) {
		line := fmt.Sprintf("%-8s %7d %6d %7d %5d", m.Month, m.Refills, m.MissedRefills, m.PatientBoluses, m.MRIs)
		for _, c := range alarmColumns {
			line += fmt.Sprintf(" %6d", m.Alarms[c.name])
		}
		line += fmt.Sprintf(" %7d %8d", m.Interruptions, m.Replacements)
		p("%s", line)
	}
	for i := range pr.Months {
		row(&pr.Months[i])
	}
	row(&pr.Total)
	p("")
	p("Columns: alarm raises by kind (low, empty reservoir, motor stall, ERI, EOS); interr. = therapy")
	p("interruptions (critical alarms that stop delivery); replaced = pump replacements.")
	p("Distributions:")
	for _, d := range pr.Distributions {
		p("  - %s", d)
	}
}
