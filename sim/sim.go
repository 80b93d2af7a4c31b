// Package sim owns virtual time for the pump: it runs a scenario (package
// scenario) against the real pump core on simulated hardware (package device),
// injects the scenario's faults, follows every stroke through pump tubing and
// catheter to say exactly what reached the patient and when, and writes the
// report of spec/scenario.md. It never changes the core's behaviour: everything
// the pump decides, the core decides.
package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Radio time charged per session (spec/scenario.md).
const (
	ClinicianSessionRadio = 2 * unit.Minute
	PatientSessionRadio   = 10 * unit.Second
)

// Run validates sc as a whole against the pump's rules, then runs it. A scenario
// that is malformed or unsafe is refused with a *scenario.FieldError before
// anything runs.
func Run(sc *scenario.Scenario) (*Report, error) {
	r, err := newRun(sc)
	if err != nil {
		return nil, err
	}
	if err := r.run(); err != nil {
		return nil, err
	}
	return r.report(), nil
}

// run is one scenario in progress.
type run struct {
	sc  *scenario.Scenario
	cfg pump.Config
	dev *device.Device
	fl  *fluids

	drugs     []string        // index → drug name
	drugUnit  []unit.MassUnit // the unit each drug is reported in
	res       scenario.Drug   // what the clinic believes is in the reservoir
	offset    unit.Duration   // pump local time offset
	delivered unit.Volume     // volume that left the reservoir
	toPatient []unit.Volume   // per mixture: volume that left the catheter tip into the patient
	leaked    []unit.Volume   // per mixture: volume that left at a catheter break
	pocket    []float64       // per drug: amount injected into the pocket (ng)
	days      []day
	dayEnd    unit.Time

	rep       Report
	unbridged string // a refill changed the drug, and no bridge or program has followed yet
}

type day struct {
	num       int64     // local days since 1970-01-01
	date      string    // pump-local calendar date
	start     unit.Time // local midnight, as a UTC instant
	delivered unit.Volume
	mixVol    []segment // volume of each drug-bearing mixture that reached the patient
}

// add credits v of mixture mix to the day.
func (d *day) add(mix int, v unit.Volume) {
	for i := range d.mixVol {
		if d.mixVol[i].mix == mix {
			d.mixVol[i].vol += v
			return
		}
	}
	d.mixVol = append(d.mixVol, segment{mix, v})
}

// volumeOf returns the volume of mixture mix the day delivered to the patient.
func (d *day) volumeOf(mix int) unit.Volume {
	for _, s := range d.mixVol {
		if s.mix == mix {
			return s.vol
		}
	}
	return 0
}

func newRun(sc *scenario.Scenario) (*run, error) {
	if err := Validate(sc); err != nil {
		return nil, err
	}
	cfg := configOf(sc)
	dev, err := device.New(cfg, sc.Start, uint64(sc.Seed))
	if err != nil {
		return nil, &scenario.FieldError{Field: "pump", Reason: err.Error()}
	}
	r := &run{sc: sc, cfg: cfg, dev: dev, offset: sc.Pump.UTCOffset, res: sc.Fill.Drug}
	fill := r.mixtureOf(sc.Fill.Drug)
	r.fl = newFluids(cfg.PrimingVolume(), fill, sc.Pump.Primed)
	dev.HW.Reservoir = sc.Fill.Volume
	dev.OnStroke = r.stroke
	dev.OnRun = r.strokes
	dev.Lazy = true // the simulator reads persistent memory only at a power loss
	r.attachMechanics()
	r.rep = Report{Name: sc.Name, Start: rfc(sc.Start), End: rfc(sc.End()), Seed: sc.Seed, Model: sc.Pump.Model.String()}
	if !sc.Pump.Primed && !r.primes() {
		r.rep.Warnings = append(r.rep.Warnings, "the pump starts unprimed and no prime event follows: therapy reaches the patient only once the basal rate has filled tubing and catheter")
	}
	return r, nil
}

func (r *run) primes() bool {
	for _, e := range r.sc.Events {
		if e.Kind == scenario.Prime {
			return true
		}
	}
	return false
}

func configOf(sc *scenario.Scenario) pump.Config {
	return pump.Config{Model: sc.Pump.Model, CatheterLength: sc.Pump.CatheterLength, CatheterPerCm: sc.Pump.CatheterPerCm,
		PressureSensor: sc.Pump.PressureSensor, LevelSensor: sc.Pump.LevelSensor, Battery: sc.Pump.Battery,
		UTCOffset: sc.Pump.UTCOffset}
}

func (r *run) drugIndex(name string, u unit.MassUnit) int {
	for i, d := range r.drugs {
		if d == name {
			return i
		}
	}
	r.drugs = append(r.drugs, name)
	r.drugUnit = append(r.drugUnit, u)
	r.pocket = append(r.pocket, 0)
	return len(r.drugs) - 1
}

func (r *run) mixtureOf(d scenario.Drug) mixture {
	return mixture{{drug: r.drugIndex(d.Name, d.Unit), conc: float64(d.Concentration)}}
}

// rxOf is the pump prescription p with res in the reservoir: the drug is the
// reservoir's, and a rate written as a dose per day is converted with its
// concentration.
func rxOf(p *scenario.Prescription, res scenario.Drug) pump.Prescription {
	rx := p.Rx
	rx.Drug, rx.Concentration = res.Name, res.Concentration
	if p.Dose.Rate > 0 {
		rx.Rate = res.Concentration.RateFor(p.Dose.Rate)
	}
	for i, d := range p.FlexDoses[:rx.FlexSteps] {
		if d.Rate > 0 {
			rx.Flex[i].Rate = res.Concentration.RateFor(d.Rate)
		}
	}
	return rx
}

// Validate checks a parsed scenario against the pump's rules as a whole: the
// pump configuration, the fill, every prescription (converted with the drug in
// the reservoir at that point), every refill and bolus. It returns the first
// problem as a *scenario.FieldError.
func Validate(sc *scenario.Scenario) error {
	cfg := configOf(sc)
	if err := cfg.Validate(); err != nil {
		return fieldErr("pump", err, map[string]string{"model": "model", "catheter_length": "catheter_length_cm",
			"catheter_per_cm": "catheter_ml_per_cm", "battery": "battery_uah", "utc_offset": "utc_offset"})
	}
	res := cfg.Model.Reservoir()
	if sc.Fill.Volume <= pump.EmptyVolume || sc.Fill.Volume > res {
		return &scenario.FieldError{Field: "fill.volume_ml", Reason: fmt.Sprintf("%s is outside %s (the empty-reservoir volume) to %s (the %s reservoir)",
			sc.Fill.Volume, pump.EmptyVolume, res, cfg.Model)}
	}
	drug := sc.Fill.Drug
	if err := validateRx("prescription", &sc.Prescription, drug, cfg.Model); err != nil {
		return err
	}
	for _, e := range sc.Events {
		at := "events[" + strconv.Itoa(e.Index) + "]" // every event: not fmt
		switch e.Kind {
		case scenario.Program, scenario.Bridge:
			if err := validateRx(at+".prescription", e.Prescription, drug, cfg.Model); err != nil {
				return err
			}
		case scenario.Refill:
			if e.Add <= pump.EmptyVolume || e.Add > res {
				return &scenario.FieldError{Field: at + ".add_ml", Reason: fmt.Sprintf("%s is outside %s to %s (the %s reservoir)", e.Add, pump.EmptyVolume, res, cfg.Model)}
			}
			if lim := res + cfg.Model.DiscrepancyLimit(); e.Withdraw > lim {
				return &scenario.FieldError{Field: at + ".withdraw_ml", Reason: fmt.Sprintf("%s is more than a %s reservoir can hold (%s)", e.Withdraw, cfg.Model, lim)}
			}
			if len(e.Drug.Name) > pump.MaxDrugName {
				return &scenario.FieldError{Field: at + ".drug", Reason: fmt.Sprintf("longer than %d bytes", pump.MaxDrugName)}
			}
			drug = e.Drug
		case scenario.ClinicianBolus:
			if max := pump.MaxRate.Over(unit.Day); e.Volume < pump.StrokeVolume || e.Volume > max {
				return &scenario.FieldError{Field: at + ".volume_ml", Reason: fmt.Sprintf("%s is outside %s (one stroke) to %s", e.Volume, pump.StrokeVolume, max)}
			}
			if e.Duration < unit.Minute || e.Duration > unit.Day {
				return &scenario.FieldError{Field: at + ".duration", Reason: fmt.Sprintf("%s is outside 1m to 1d", e.Duration)}
			}
			if r := unit.RateOf(e.Volume, e.Duration); r > pump.MaxRate {
				return &scenario.FieldError{Field: at + ".duration", Reason: fmt.Sprintf("%s over %s is %s, above the maximum rate %s", e.Volume, e.Duration, r, pump.MaxRate)}
			}
		case scenario.Acknowledge:
			if _, ok := pump.ParseAlarm(e.Alarm); e.Alarm != "" && !ok {
				return &scenario.FieldError{Field: at + ".alarm", Reason: fmt.Sprintf("unknown alarm %q", e.Alarm)}
			}
		case scenario.SetClock:
			if e.UTCOffset < -14*unit.Hour || e.UTCOffset > 14*unit.Hour {
				return &scenario.FieldError{Field: at + ".utc_offset", Reason: "must be within -14:00 to +14:00"}
			}
		}
	}
	if len(sc.Fill.Drug.Name) > pump.MaxDrugName {
		return &scenario.FieldError{Field: "fill.drug", Reason: fmt.Sprintf("longer than %d bytes", pump.MaxDrugName)}
	}
	return nil
}

var rxFields = map[string]string{"max_24h": "max_24h_ml", "low_reservoir": "low_reservoir_ml",
	"patient_bolus.volume": "patient_bolus.volume_ml", "concentration": "concentration"}

func validateRx(path string, p *scenario.Prescription, drug scenario.Drug, m pump.Model) error {
	if p == nil {
		return &scenario.FieldError{Field: path, Reason: "required"}
	}
	rx := rxOf(p, drug)
	err := rx.Validate(m)
	if err == nil {
		return nil
	}
	var ve *pump.ValidationError
	if !errors.As(err, &ve) {
		return &scenario.FieldError{Field: path, Reason: err.Error()}
	}
	f := ve.Field
	if mapped, ok := rxFields[f]; ok {
		f = mapped
	}
	// The pump names a rate "rate"; the file gave it in mL/day or as a dose.
	rateName := func(d scenario.Dose) string {
		if d.Rate > 0 {
			return "dose_per_day"
		}
		return "rate_ml_per_day"
	}
	if f == "rate" {
		f = rateName(p.Dose)
	}
	var i int
	if n, _ := fmt.Sscanf(f, "flex[%d].rate", &i); n == 1 && i < p.Rx.FlexSteps && f == fmt.Sprintf("flex[%d].rate", i) {
		f = fmt.Sprintf("flex[%d].%s", i, rateName(p.FlexDoses[i]))
	}
	if f == "drug" || f == "concentration" {
		return &scenario.FieldError{Field: path, Reason: "the drug in the reservoir: " + ve.Reason}
	}
	return &scenario.FieldError{Field: path + "." + f, Reason: ve.Reason}
}

func fieldErr(prefix string, err error, names map[string]string) error {
	var ve *pump.ValidationError
	if errors.As(err, &ve) {
		f := ve.Field
		if n, ok := names[f]; ok {
			f = n
		}
		return &scenario.FieldError{Field: prefix + "." + f, Reason: ve.Reason}
	}
	return &scenario.FieldError{Field: prefix, Reason: err.Error()}
}

// stroke follows one completed stroke: its volume leaves the reservoir, enters
// the tubing, and pushes the same volume out at the catheter tip (or at a break).
func (r *run) stroke(t unit.Time, moved unit.Volume) {
	if moved == 0 {
		return
	}
	r.delivered += moved
	d := r.dayAt(t)
	d.delivered += moved
	leak := r.dev.HW.Leaking()
	if mix, ok := r.fl.steady(); ok && mix < len(r.toPatient) {
		// The whole pipeline holds the reservoir's mixture (fluids.push's
		// steady state): the stroke pushes the same volume of it out.
		if leak {
			r.leaked[mix] += moved
			return
		}
		r.toPatient[mix] += moved
		if len(r.fl.mixes[mix]) > 0 {
			d.add(mix, moved)
		}
		return
	}
	for _, s := range r.fl.push(moved) {
		for len(r.toPatient) <= s.mix {
			r.toPatient = append(r.toPatient, 0)
			r.leaked = append(r.leaked, 0)
		}
		switch {
		case leak:
			r.leaked[s.mix] += s.vol
		default:
			r.toPatient[s.mix] += s.vol
			if len(r.fl.mixes[s.mix]) > 0 {
				d.add(s.mix, s.vol)
			}
		}
	}
}

// dayAt returns the pump-local calendar day holding t, opening days (with or
// without delivery) as time passes. When the clock is set back, a time whose
// local date was already passed is credited to the latest day.
func (r *run) dayAt(t unit.Time) *day {
	n := len(r.days)
	if n > 0 && t < r.dayEnd {
		return &r.days[n-1]
	}
	local := int64(t) + int64(r.offset)
	num := (local - floorMod(local, int64(unit.Day))) / int64(unit.Day) // local days since 1970-01-01
	first := num
	if n > 0 {
		first = r.days[n-1].num + 1
	}
	for d := first; d <= num; d++ {
		start := unit.Time(d*int64(unit.Day) - int64(r.offset))
		var buf [32]byte
		date := string(appendRFC3339(buf[:0], unit.Time(d*int64(unit.Day)))[:10]) // YYYY-MM-DD, without package time's formatter
		r.days = append(r.days, day{num: d, start: start, date: date})
	}
	last := &r.days[len(r.days)-1]
	// The day ends at the next local midnight under the offset now in force.
	r.dayEnd = unit.Time((last.num+1)*int64(unit.Day) - int64(r.offset))
	return last
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// run plays the events in order and runs to the end.
func (r *run) run() error { return r.drive(&hooks{}) }

// eventCommands maps each scenario event kind that is a pump command to the
// command's kind in the pump's command table: the one place where the two
// vocabularies meet (TestScenarioEventsCoverTheCommandTable). The other event
// kinds are faults, which act on the simulated hardware (faultEvents).
var eventCommands = map[scenario.Kind]pump.CommandKind{
	scenario.Program: pump.CmdProgram, scenario.Bridge: pump.CmdBridge, scenario.Stop: pump.CmdStop,
	scenario.Resume: pump.CmdResume, scenario.ClinicianBolus: pump.CmdClinicianBolus, scenario.Prime: pump.CmdPrime,
	scenario.PatientBolusEv: pump.CmdPatientActivation, scenario.Refill: pump.CmdRefill,
	scenario.Interrogate: pump.CmdInterrogate, scenario.Acknowledge: pump.CmdAcknowledge,
	scenario.SetClock: pump.CmdSetClock, scenario.BatteryDrain: pump.CmdDrain,
}

// faultEvents are the scenario events that are not commands: they act on the
// simulated hardware, and the pump finds out as its own hardware would.
var faultEvents = []scenario.Kind{scenario.MRI, scenario.MotorStall, scenario.Occlusion, scenario.Leak, scenario.PowerLoss}

// notFromScenarios lists the commands of the table that no scenario event
// sends, and why.
var notFromScenarios = map[pump.CommandKind]string{
	pump.CmdReadStatus:     "a status read changes nothing; the report reads the pump's state itself",
	pump.CmdReadLog:        "the report carries what the event log says",
	pump.CmdSetMinimumRate: "not an event of the scenario format (spec/scenario.md); a program event in mode minimum sets the same rate",
	pump.CmdSilenceTone:    "the simulated pump has no speaker to silence",
	pump.CmdOpenSession:    "the simulator opens a session around every command a clinician or the patient sends",
	pump.CmdCloseSession:   "the simulator closes that session after the command",
}

// sessionRole is who sends command k in a simulation, as the command table
// allows: a clinician where one may, otherwise the patient; the device's own
// commands (a battery drain) open no session (pump.ReasonNone).
func sessionRole(k pump.CommandKind) pump.Role {
	s, _ := k.Spec()
	switch {
	case s.Roles.Has(pump.RoleClinician):
		return pump.RoleClinician
	case s.Roles.Has(pump.RolePatient):
		return pump.RolePatient
	}
	return pump.ReasonNone
}

// sessionRadio is the radio time a session of role is charged (spec/scenario.md).
var sessionRadio = map[pump.Role]unit.Duration{pump.RoleClinician: ClinicianSessionRadio, pump.RolePatient: PatientSessionRadio}

// command builds the pump command a command event sends; nil for a fault.
func (r *run) command(e *scenario.Event) pump.Command {
	c := r.dev.Core
	switch e.Kind {
	case scenario.Program:
		return pump.NewProgram(rxOf(e.Prescription, r.res), c.Status().RxHash)
	case scenario.Bridge:
		return pump.Bridge(pump.NewProgram(rxOf(e.Prescription, r.res), c.Status().RxHash))
	case scenario.Stop:
		return pump.Stop{}
	case scenario.Resume:
		return pump.Resume{}
	case scenario.ClinicianBolus:
		return pump.ClinicianBolus{Volume: e.Volume, Duration: e.Duration}
	case scenario.Prime:
		return pump.Prime{}
	case scenario.PatientBolusEv:
		return pump.PatientActivation{}
	case scenario.Refill:
		return pump.Refill{Withdrawn: e.Withdraw, Added: e.Add, Drug: e.Drug.Name, Concentration: e.Drug.Concentration}
	case scenario.Interrogate:
		return pump.Interrogate{}
	case scenario.Acknowledge:
		a, _ := pump.ParseAlarm(e.Alarm) // "" (every alarm) is AlarmNone; Validate refused unknown names
		return pump.Acknowledge{Alarm: a}
	case scenario.SetClock:
		return pump.SetClock{UTCOffset: e.UTCOffset}
	case scenario.BatteryDrain:
		return pump.Drain{Charge: e.Charge}
	}
	return nil
}

// event applies one scenario event: a command is sent in a session of the
// role the command table gives it, a fault acts on the hardware.
func (r *run) event(e *scenario.Event) error {
	d := r.dev
	at := e.At
	d.Run(at)
	c := d.Core
	role := pump.ReasonNone
	if k, ok := eventCommands[e.Kind]; ok {
		role = sessionRole(k)
	}
	if c.Battery() <= 0 && role != pump.ReasonNone {
		// A depleted pump does not answer: the session never opens.
		r.unanswered(e)
		return nil
	}
	if role != pump.ReasonNone {
		if err := c.OpenSession(at, role); err != nil {
			return fmt.Errorf("events[%d]: %w", e.Index, err)
		}
	}
	err := r.apply(e)
	d.Persist()
	if role != pump.ReasonNone {
		if cerr := d.Core.CloseSession(at, sessionRadio[role]); cerr != nil {
			return fmt.Errorf("events[%d]: %w", e.Index, cerr)
		}
		d.Persist()
	}
	if role == pump.RoleClinician { // a patient's press is not a command of the report: no record to write
		cmd := Command{At: rfc(at), Kind: string(e.Kind), Result: "ok"}
		if err != nil {
			cmd.Result, cmd.Reason = "refused", err.Error()
		}
		r.rep.Commands = append(r.rep.Commands, cmd)
	}
	return nil
}

// unanswered records an event that needed a session with a pump whose battery is depleted.
func (r *run) unanswered(e *scenario.Event) {
	const why = "no answer: the pump's battery is depleted"
	if e.Kind == scenario.PatientBolusEv {
		r.rep.PatientBoluses.Refused++
		r.rep.PatientBoluses.Refusals = append(r.rep.PatientBoluses.Refusals, Refusal{At: rfc(e.At), Reason: "no_answer"})
		return
	}
	r.rep.Commands = append(r.rep.Commands, Command{At: rfc(e.At), Kind: string(e.Kind), Result: "refused", Reason: why})
}

// apply performs one event on the pump and the simulated world: a command
// goes to the core's Step, with what the simulated world does around it; a
// fault goes to the hardware.
func (r *run) apply(e *scenario.Event) error {
	d, at := r.dev, e.At
	cmd := r.command(e)
	if cmd == nil {
		switch e.Kind {
		case scenario.MRI, scenario.MotorStall:
			d.HW.Stall(at.Add(e.Duration))
		case scenario.Occlusion:
			until := unit.Time(1<<62 - 1)
			if e.HasDuration {
				until = at.Add(e.Duration)
			}
			d.HW.Occlude(at, until)
		case scenario.Leak:
			d.HW.Leak()
		case scenario.PowerLoss:
			return d.PowerLoss(at)
		}
		return nil
	}
	var before refillBefore
	switch cmd.(type) {
	case pump.Program, pump.Bridge:
		r.unbridged = ""
	case pump.Refill:
		before = r.beforeRefill(e)
	}
	res, err := d.Core.Step(at, cmd)
	if err != nil {
		return err
	}
	switch cmd.(type) {
	case pump.PatientActivation:
		if res.Bolus.Given() {
			r.rep.PatientBoluses.Given++
		} else {
			r.rep.PatientBoluses.Refused++
			r.rep.PatientBoluses.Refusals = append(r.rep.PatientBoluses.Refusals, Refusal{At: rfc(at), Reason: res.Bolus.Reason.String()})
		}
	case pump.Refill:
		r.refilled(e, before)
	case pump.Interrogate:
		r.rep.Interrogations = append(r.rep.Interrogations, r.snapshot(res.Status))
	case pump.SetClock:
		r.offset = e.UTCOffset
		r.dayEnd = at // re-derive the local day at the next stroke
	}
	return nil
}

// refillBefore is what the simulated world knew just before a refill: the
// pump's own estimate and what the reservoir actually held.
type refillBefore struct{ expected, actual unit.Volume }

// beforeRefill reads the reservoir before the needle draws from it.
func (r *run) beforeRefill(e *scenario.Event) refillBefore {
	b := refillBefore{expected: r.dev.Core.Reservoir(), actual: r.dev.HW.Reservoir}
	if e.Withdraw > b.actual {
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("events[%d]: withdraw_ml %s is more than the reservoir held (%s); %s withdrawn",
			e.Index, e.Withdraw, b.actual, b.actual))
	}
	return b
}

// refilled withdraws what the needle drew from the reservoir and adds the new
// drug (less what went into the pocket), once the pump has recorded the refill.
func (r *run) refilled(e *scenario.Event, b refillBefore) {
	d := r.dev
	withdrawn := min(e.Withdraw, b.actual)
	residual := b.actual - withdrawn
	into := e.Add - e.PocketFill
	r.fl.refill(residual, into, r.mixtureOf(e.Drug))
	if e.PocketFill > 0 {
		r.pocket[r.drugIndex(e.Drug.Name, e.Drug.Unit)] += float64(e.Drug.Concentration.Of(e.PocketFill)) / 1e6
	}
	d.HW.Reservoir = residual + into
	// The expected residual is the pump's own estimate, as an interrogation before
	// the refill reads it; the flag is the clinical calculators' (therapy).
	disc := e.Withdraw - b.expected
	rf := RefillRecord{At: rfc(e.At), ExpectedML: ml(b.expected), WithdrawnML: ml(e.Withdraw), DiscrepancyML: ml(disc),
		AddedML: ml(e.Add), PocketFillML: ml(e.PocketFill), Drug: e.Drug.Name, Concentration: e.Drug.Text}
	if f := therapy.Classify(r.cfg.Model, disc); f != therapy.WithinLimit {
		rf.Flag = f.String()
	}
	r.rep.Refills = append(r.rep.Refills, rf)
	if e.Drug.Name != r.res.Name || e.Drug.Concentration != r.res.Concentration {
		r.unbridged = fmt.Sprintf("events[%d]: the refill changed the drug or concentration (%s %s → %s %s) and no bridge or program followed",
			e.Index, r.res.Name, r.res.Text, e.Drug.Name, e.Drug.Text)
	}
	r.res = e.Drug
}

func ml(v unit.Volume) float64 { return v.Millilitres() }

func rfc(t unit.Time) string {
	var buf [32]byte
	return string(appendRFC3339(buf[:0], t))
}

// drugAmounts converts per-mixture volumes to per-drug amounts (in each drug's unit).
func (r *run) drugAmounts(vols func(mix int) unit.Volume) map[string]float64 {
	out := map[string]float64{}
	for mix := range r.fl.mixes {
		v := vols(mix)
		if v == 0 {
			continue
		}
		for _, p := range r.fl.mixes[mix] {
			fg := math.Round(p.conc * float64(v)) // ng/mL × nL = fg
			out[r.drugs[p.drug]] += unit.Mass(fg).In(r.drugUnit[p.drug])
		}
	}
	return out
}
