package sim

import (
	"math"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// indication is why a patient is treated.
type indication int

const (
	indSpasticity indication = iota
	indNoncancer
	indCancer
)

var indicationNames = [...]string{"spasticity", "noncancer_pain", "cancer_pain"}

// never is a time that does not come.
const never = unit.Time(math.MaxInt64)

// The things that happen to a patient, in the order they are taken when they
// fall at the same millisecond.
const (
	evMonth       = iota // a month ends: the census and the month's pump time and drug
	evDeath              // the patient dies
	evEfficacy           // explant: loss of efficacy
	evChoice             // explant: the patient's choice
	evInfection          // a wound infection after surgery shows
	evRevision           // catheter revision surgery
	evReplacement        // pump replacement surgery (ERI)
	evFault              // a catheter fault begins (the hardware)
	evMissed             // a refill visit is missed
	evRefill             // a refill visit
	evMRI                // an MRI scan
	evMRICheck           // the interrogation and acknowledgement after a scan
	evPress              // the patient presses for a bolus
	evCheck              // the clinic reads the pump's log (the home monitor's report)
	numEvents
)

// patientSim follows one patient at a time (a worker reuses it).
type patientSim struct {
	pr  *popRun
	g   *gen
	acc [][]int64 // the patient's replicate's counts, month by month
	buf []pump.Entry

	// Traits.
	ind      indication
	prod     int
	drug     scenario.Drug
	model    pump.Model
	rate     unit.Rate
	interval unit.Duration // planned refill interval
	ptm      bool
	presses  float64 // a day
	sensor   bool
	massRate float64 // inflammatory mass hazard, a year (0: not an opioid)

	// The system in place.
	r         *run
	cursor    uint64      // the next log entry to count
	acct      unit.Time   // pump time counted up to
	delivered unit.Volume // the pump's count of delivery, counted up to acct
	faulty    bool        // the catheter has a fault
	fault     fault       // which
	kinkPct   int
	eriSeen   bool
	eriLate   bool // ERI is not due before the end: no more looks for it
	revCause  fault
	mriLength unit.Duration

	at [numEvents]unit.Time
}

func (ps *patientSim) count(t unit.Time, col int, n int64) {
	ps.acc[ps.pr.month(t)][col] += n
}

// span draws a whole number of days between the parameters NAME_min and NAME_max.
func (ps *patientSim) span(name string) unit.Duration {
	lo, hi := ps.get(name+"_min"), ps.get(name+"_max")
	return unit.Duration(ps.g.intn(int(lo), int(math.Max(lo, hi)))) * unit.Day
}

// after draws the time of the first event of a Poisson process of rate per
// year after t (never, if that is past the end).
func (ps *patientSim) after(t unit.Time, perYear float64) unit.Time {
	if perYear <= 0 {
		return never
	}
	d := ps.g.rng.ExpFloat64() / perYear * float64(365*unit.Day+unit.Day/4)
	if d >= float64(ps.pr.end-t) {
		return never
	}
	return ps.inHorizon(t.Add(unit.Duration(d)))
}

// inHorizon is t, or never if t is not before the end.
func (ps *patientSim) inHorizon(t unit.Time) unit.Time {
	if t >= ps.pr.end {
		return never
	}
	return t
}

func (ps *patientSim) get(name string) float64 { return ps.pr.par.get(name) }

// simulate follows patient k of replicate s, adding its counts to acc.
func (ps *patientSim) simulate(s, k int, acc [][]int64) error {
	pr := ps.pr
	seed := pr.o.Seed + int64(s)
	*ps = patientSim{pr: pr, acc: acc, buf: ps.buf[:0]}
	if k < pr.o.Patients {
		// The starting cohort: implanted before the start, the pump part-way
		// through its battery.
		ps.g = newGen(mix(seed, 0x636f686f7274), k)
		ps.ind = ps.indication("cohort")
		ps.traits()
		death := ps.after(pr.start, ps.mortality())
		perDay := 288.0 + 0.1*float64(ps.rate)/float64(pump.StrokeVolume)
		age := ps.get("battery_age_years_max") * 365 * ps.g.rng.Float64()
		uah := (1e6 - age*perDay) * (1 + ps.get("battery_spread")*ps.g.rng.NormFloat64())
		battery := unit.Charge(max(ps.get("battery_min_uah"), min(1e6, uah))) * unit.MicroampHour
		return ps.life(pr.start, battery, false, death)
	}
	// A referral: arrives in its month, is trialled, and implanted if the
	// trial succeeds.
	ps.g = newGen(mix(seed, 0x7265666572616c), k)
	r, m := k-pr.o.Patients, 0
	for ; r >= pr.referral[s][m]; m++ {
		r -= pr.referral[s][m]
	}
	arrive := pr.months[m].Add(unit.Duration(ps.g.rng.Int64N(int64(pr.months[m+1] - pr.months[m]))))
	ps.count(arrive, cReferrals, 1)
	ps.ind = ps.indication("referral")
	ps.traits()
	death := ps.after(arrive, ps.mortality())
	trial := arrive.Add(ps.span("trial_wait_days"))
	if trial >= pr.end || trial >= death {
		return nil
	}
	ps.count(trial, cTrials, 1)
	if !ps.g.chance(ps.get("trial_success_" + indicationNames[ps.ind])) {
		ps.count(trial, cTrialFailures, 1)
		return nil
	}
	implant := trial.Add(ps.span("implant_wait_days"))
	if implant >= pr.end || implant >= death {
		return nil
	}
	return ps.life(implant, ps.newBattery(), true, death)
}

func (ps *patientSim) indication(who string) indication {
	switch x := ps.g.rng.Float64(); {
	case x < ps.get(who+"_spasticity"):
		return indSpasticity
	case x < ps.get(who+"_spasticity")+ps.get(who+"_cancer_pain"):
		return indCancer
	}
	return indNoncancer
}

func (ps *patientSim) mortality() float64 { return ps.get("mortality_" + indicationNames[ps.ind]) }

// traits draws the patient's pump, drug and program.
func (ps *patientSim) traits() {
	g := ps.g
	ps.model = pump.TP20
	if g.chance(ps.get("tp40_fraction")) {
		ps.model = pump.TP40
	}
	ps.prod = 0
	if ps.ind != indSpasticity {
		ps.prod = 1
		if g.chance(ps.get("morphine_25_fraction")) {
			ps.prod = 2
		}
	}
	pd := products[ps.prod]
	c, u, _ := unit.ParseConcentration(pd.conc)
	ps.drug = scenario.Drug{Name: pd.drug, Concentration: c, Unit: u, Text: pd.conc}
	r := ps.get("rate_median") * math.Exp(ps.get("rate_sigma")*g.rng.NormFloat64())
	ps.rate = max(pump.MinRate, min(unit.MillilitrePerDay, unit.Rate(r*1000)*1000))
	// Plan the refill for when the reservoir is down to the low-reservoir
	// threshold plus ten days of delivery (and 0.5 mL), within the drug's stability.
	usable := ps.model.Reservoir() - pump.LowReservoirDefault - ps.rate.Over(10*unit.Day) - unit.Millilitre/2
	days := max(7, min(int64(pd.stability/unit.Day), int64(usable)*int64(unit.MillilitrePerDay)/int64(ps.rate)/int64(unit.Millilitre)))
	ps.interval = unit.Duration(days) * unit.Day
	ps.ptm = g.chance(ps.get("ptm_fraction"))
	ps.presses = ps.get("ptm_presses_min") + (ps.get("ptm_presses_max")-ps.get("ptm_presses_min"))*g.rng.Float64()
	ps.sensor = g.chance(ps.get("pressure_sensor"))
	if pd.mgPerML > 0 {
		dose := ps.rate.MillilitresPerDay() * pd.mgPerML // mg/day
		ps.massRate = ps.get("mass_rate") * dose / ps.get("mass_ref_dose_mg") * pd.mgPerML / ps.get("mass_ref_conc_mg_ml")
	}
}

// newBattery is a new pump's charge: full less shelf loss.
func (ps *patientSim) newBattery() unit.Charge {
	return unit.Charge(min(1.0, ps.get("shelf_charge")+ps.get("shelf_charge_sd")*ps.g.rng.NormFloat64())*1e6) * unit.MicroampHour
}

// life follows the patient from an implant (or, fresh false, from the start
// with the cohort's pump in place) until death, an explant for good, or the
// end; an infected system removed may be implanted again.
func (ps *patientSim) life(at unit.Time, battery unit.Charge, fresh bool, death unit.Time) error {
	for at < never {
		next, err := ps.system(at, battery, fresh, death)
		if err != nil {
			return err
		}
		at, battery, fresh = next, ps.newBattery(), true
	}
	return nil
}

// system follows one implanted system (pump after pump, catheter after
// catheter) from at. It returns when a re-implant is due (or never).
func (ps *patientSim) system(at unit.Time, battery unit.Charge, fresh bool, death unit.Time) (unit.Time, error) {
	pr := ps.pr
	for i := range ps.at {
		ps.at[i] = never
	}
	if fresh {
		ps.count(at, cImplants, 1)
		ps.surgery(at, "infection_implant")
	}
	// The starting cohort's pump left the clinic just refilled: no fill now.
	if err := ps.newPump(at, battery, fresh, fresh); err != nil {
		return never, err
	}
	ps.faulty = false
	ps.at[evDeath] = death
	ps.at[evEfficacy] = ps.after(at, ps.get("explant_efficacy"))
	ps.at[evChoice] = ps.after(at, ps.get("explant_choice"))
	ps.at[evMonth] = pr.months[pr.month(at)+1]
	ps.nextFault(at)
	ps.planRefill(at.Add(ps.interval))
	if ps.ptm {
		ps.at[evPress] = ps.after(at, ps.presses*365.25)
	}
	ps.at[evMRI] = ps.after(at, ps.get("mri_rate"))
	for {
		ev, t := 0, never
		for i, u := range ps.at {
			if u < t {
				ev, t = i, u
			}
		}
		if t == never {
			return never, nil
		}
		ps.at[ev] = never
		again, done, err := ps.handle(ev, t)
		if err != nil {
			return never, err
		}
		// What the pump logged up to now counts, even in its last moments.
		if err := ps.read(t); err != nil {
			return never, err
		}
		if done {
			return again, nil
		}
	}
}

// handle does what happens at t. done ends the system (re-implant at again).
func (ps *patientSim) handle(ev int, t unit.Time) (again unit.Time, done bool, err error) {
	pr, g, d := ps.pr, ps.g, ps.r.dev
	switch ev {
	case evMonth:
		d.Run(t)
		ps.account(t)
		ps.count(t-1, cPatients, 1)
		if t < pr.end {
			ps.at[evMonth] = pr.months[pr.month(t)+1]
		} else {
			return never, true, nil
		}
	case evDeath:
		ps.end(t)
		ps.count(t, cDeaths, 1)
		return never, true, nil
	case evEfficacy, evChoice:
		ps.end(t)
		ps.count(t, cExplants, 1)
		reason := explantEfficacy
		if ev == evChoice {
			reason = explantChoice
		}
		ps.count(t, cExplant+reason, 1)
		return never, true, nil
	case evInfection:
		ps.count(t, cInfections, 1)
		if g.chance(ps.get("infection_explant")) {
			ps.end(t)
			ps.count(t, cExplants, 1)
			ps.count(t, cExplant+explantInfection, 1)
			again = never
			if g.chance(ps.get("reimplant_after_infection")) {
				again = ps.inHorizon(t.Add(ps.span("reimplant_days")))
				if again >= ps.at[evDeath] {
					again = never
				}
			}
			return again, true, nil
		}
	case evRevision:
		d.Run(t)
		d.HW.ReplaceCatheter()
		ps.faulty = false
		c := d.Core
		if c.Alarms().Has(pump.Occlusion) || !c.Status().Running {
			if err := ps.do(t, scenario.Resume); err != nil {
				return never, false, err
			}
		}
		if err := ps.do(t, scenario.Acknowledge); err != nil {
			return never, false, err
		}
		if err := ps.do(t, scenario.Prime); err != nil {
			return never, false, err
		}
		ps.count(t, cRevisions, 1)
		ps.count(t, cRevision+int(ps.revCause), 1)
		ps.surgery(t, "infection_revision")
		ps.nextFault(t)
	case evReplacement:
		d.Run(t)
		ps.account(t)
		ps.count(t, cReplacements, 1)
		if err := ps.newPump(t, ps.newBattery(), false, true); err != nil {
			return never, false, err
		}
		if ps.faulty { // the catheter stays: so does its fault
			ps.applyFault(t)
		}
		ps.surgery(t, "infection_replacement")
		ps.planRefill(t.Add(ps.interval))
	case evFault:
		d.Run(t)
		ps.applyFault(t)
		ps.faulty = true
		ps.count(t, cFault+int(ps.fault), 1)
		alarms := ps.sensor && ps.fault != faultKink && ps.fault != faultMigration
		switch {
		case alarms: // the pump's pressure alarm: the clinic reads it
			ps.at[evCheck] = min(ps.at[evCheck], ps.inHorizon(t.Add(unit.Day)))
		case ps.fault == faultKink: // a shortfall: the next refill's discrepancy
		default: // nothing the pump sees: the therapy fails
			ps.revise(t, t.Add(ps.span("efficacy_loss_days")), ps.fault)
		}
	case evMissed:
		ps.count(t, cMissedRefills, 1)
		ps.planVisit(t.Add(ps.span("missed_retry_days")))
	case evRefill:
		return never, false, ps.refill(t)
	case evMRI:
		ps.mriLength = unit.Duration(g.intn(int(ps.get("mri_minutes_min")), int(max(ps.get("mri_minutes_min"), ps.get("mri_minutes_max"))))) * unit.Minute
		if err := ps.event(scenario.Event{At: t, Kind: scenario.MRI, Duration: ps.mriLength, HasDuration: true}); err != nil {
			return never, false, err
		}
		ps.count(t, cMRIs, 1)
		ps.at[evMRICheck] = ps.inHorizon(t.Add(unit.Duration(g.intn(60, int(ps.get("mri_check_hours_max")*60))) * unit.Minute))
		ps.at[evMRI] = ps.after(t, ps.get("mri_rate"))
	case evMRICheck:
		if err := ps.do(t, scenario.Interrogate); err != nil {
			return never, false, err
		}
		if err := ps.do(t, scenario.Acknowledge); err != nil {
			return never, false, err
		}
	case evPress:
		if err := ps.event(scenario.Event{At: t, Kind: scenario.PatientBolusEv}); err != nil {
			return never, false, err
		}
		ps.at[evPress] = ps.after(t, ps.presses*365.25)
	case evCheck:
		d.Run(t)
	}
	return never, false, nil
}

// event applies a scenario event to the pump in place: the simulator's own
// rules for sessions (a clinician's session, a patient's), refills and faults.
func (ps *patientSim) event(e scenario.Event) error { return ps.r.event(&e) }

func (ps *patientSim) do(t unit.Time, k scenario.Kind) error {
	return ps.event(scenario.Event{At: t, Kind: k})
}

// newPump implants a pump at t: filled (the fill counted as dispensed when
// filled), programmed and, with a new catheter, primed.
func (ps *patientSim) newPump(t unit.Time, battery unit.Charge, prime, filled bool) error {
	g := ps.g
	sc := &scenario.Scenario{Start: t, Duration: ps.pr.end.Sub(t), Seed: int64(g.rng.Uint64() >> 1),
		Pump: scenario.Pump{Model: ps.model, CatheterLength: unit.Length(ps.get("catheter_length_cm")) * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
			PressureSensor: ps.sensor, Battery: battery, Primed: !prime},
		Fill: scenario.Fill{Drug: ps.drug, Volume: ps.model.Reservoir()},
		Prescription: scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: ps.rate,
			Max24h: ps.rate.Over(unit.Day) + 100*unit.Microlitre}},
	}
	if ps.ptm {
		sc.Prescription.Rx.PatientBolus = pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 3 * unit.Hour, MaxPer24h: 4}
		sc.Prescription.Rx.Max24h += 80 * unit.Microlitre
	}
	r, err := newRun(sc)
	if err != nil {
		return err
	}
	r.dev.OnStroke, r.dev.OnRun = nil, nil // the clinic's counts need no catheter pipeline
	if err := r.begin(); err != nil {
		return err
	}
	ps.r, ps.cursor, ps.acct, ps.delivered, ps.eriSeen, ps.eriLate = r, 1, t, 0, false, false
	if filled {
		ps.count(t, cDispense+ps.prod, int64(sc.Fill.Volume))
	}
	if prime {
		if err := ps.do(t, scenario.Prime); err != nil {
			return err
		}
	}
	ps.planCheck(t)
	return nil
}

// account counts the pump time and the delivery of the pump in place up to t.
func (ps *patientSim) account(t unit.Time) {
	if t <= ps.acct {
		return
	}
	m := t - 1
	ps.count(m, cPumpMs, int64(t-ps.acct))
	del := ps.r.dev.Core.Status().Delivered
	ps.count(m, cDeliver+ps.prod, int64(del-ps.delivered))
	ps.acct, ps.delivered = t, del
}

// end removes the system at t.
func (ps *patientSim) end(t unit.Time) {
	ps.r.dev.Run(t)
	ps.account(t)
}

// surgery draws whether a wound infection follows, and when it shows.
func (ps *patientSim) surgery(t unit.Time, risk string) {
	if ps.g.chance(ps.get(risk)) {
		ps.at[evInfection] = min(ps.at[evInfection], ps.inHorizon(t.Add(ps.span("infection_days"))))
	}
}

// nextFault draws when the new catheter's first fault begins, and which: the
// faults compete, each at its own rate.
func (ps *patientSim) nextFault(t unit.Time) {
	var rates [numFaults]float64
	total := 0.0
	for f := range numFaults {
		if f == faultMass {
			rates[f] = ps.massRate
		} else {
			rates[f] = ps.get("catheter_" + faultNames[f])
		}
		total += rates[f]
	}
	ps.at[evFault] = ps.after(t, total)
	x := ps.g.rng.Float64() * total
	for f := range numFaults {
		if x < rates[f] || f == numFaults-1 {
			ps.fault = f
			break
		}
		x -= rates[f]
	}
}

// applyFault puts the catheter's fault on the hardware at t.
func (ps *patientSim) applyFault(t unit.Time) {
	hw := &ps.r.dev.HW
	switch ps.fault {
	case faultOcclusion, faultMass:
		hw.Occlude(t, never)
	case faultKink:
		hw.Kink(int(ps.get("kink_passes_pct")))
	case faultLeak, faultDisconnection:
		hw.Leak()
	case faultMigration:
		hw.Migrate()
	}
}

// revise schedules a catheter revision at t (now, if t has passed) for
// cause, unless one comes sooner.
func (ps *patientSim) revise(now, t unit.Time, cause fault) {
	if t = ps.inHorizon(max(t, now)); t < ps.at[evRevision] {
		ps.at[evRevision], ps.revCause = t, cause
	}
}

// planRefill plans the refill visit due at due.
func (ps *patientSim) planRefill(due unit.Time) {
	ps.at[evRefill], ps.at[evMissed] = never, never
	switch x := ps.g.rng.Float64(); {
	case x < ps.get("refill_missed"):
		ps.at[evMissed] = ps.inHorizon(due)
		return
	case x < ps.get("refill_missed")+1-ps.get("refill_on_time"):
		due = due.Add(ps.span("refill_late_days"))
	default:
		w := int(ps.get("refill_window_days"))
		due = due.Add(unit.Duration(ps.g.intn(-w, w)) * unit.Day)
	}
	ps.planVisit(due)
}

// planVisit books the visit on day due, in clinic hours (08:00–16:00).
func (ps *patientSim) planVisit(due unit.Time) {
	day := due - due%unit.Time(unit.Day)
	ps.at[evRefill] = ps.inHorizon(day.Add(unit.Duration(ps.g.intn(8*60, 16*60)) * unit.Minute))
}

// refill empties the reservoir, fills it full, and reads the refill's
// discrepancy: more left than expected sends a faulty catheter to revision.
func (ps *patientSim) refill(t unit.Time) error {
	d := ps.r.dev
	d.Run(t)
	before := len(ps.r.rep.Refills)
	add := ps.model.Reservoir()
	if err := ps.event(scenario.Event{At: t, Kind: scenario.Refill, Withdraw: max(d.HW.Reservoir, 0), Add: add, Drug: ps.drug}); err != nil {
		return err
	}
	if len(ps.r.rep.Refills) > before {
		rf := &ps.r.rep.Refills[len(ps.r.rep.Refills)-1]
		ps.count(t, cRefills, 1)
		ps.count(t, cDispense+ps.prod, int64(add))
		if rf.Flag != "" {
			ps.count(t, cFlaggedRefills, 1)
			if rf.DiscrepancyML > 0 && ps.faulty {
				ps.revise(t, t.Add(ps.span("discrepancy_to_revision_days")), ps.fault)
			}
		}
	}
	ps.planRefill(t.Add(ps.interval))
	ps.planCheck(t)
	return nil
}

// planCheck books the clinic's next look at the pump's log for when the
// battery should reach ERI (a day ahead at the soonest), until it has.
func (ps *patientSim) planCheck(t unit.Time) {
	if ps.eriSeen || ps.eriLate {
		return
	}
	st := ps.r.dev.Core.Status()
	perMs := float64(pump.QuiescentCurrent) + float64(pump.StrokeCharge)*float64(ps.rate)/float64(pump.StrokeVolume)/float64(unit.Day)
	left := float64(st.Battery - st.ERIThreshold)
	at := ps.inHorizon(t.Add(max(unit.Day, unit.Duration(min(left/perMs, float64(100*365*unit.Day))))))
	ps.eriLate = at == never
	ps.at[evCheck] = min(ps.at[evCheck], at)
}

// read counts the log entries the pump has written since the last read and
// acts on what the clinic learns from them: ERI books the replacement, a
// pressure alarm the catheter revision.
func (ps *patientSim) read(now unit.Time) error {
	log := ps.r.dev.Log
	if log.Oldest() > ps.cursor {
		ps.cursor = log.Oldest() // a pump left alone for years: its log wrapped
	}
	ps.buf = log.Since(ps.cursor, ps.buf[:0])
	ps.cursor = log.Next()
	for _, e := range ps.buf {
		if e.At >= ps.pr.end {
			continue
		}
		switch e.Kind {
		case pump.EvPatientBolusStart:
			ps.count(e.At, cPatientBoluses, 1)
		case pump.EvAlarmRaise:
			ps.count(e.At, cAlarm+int(e.Alarm)-1, 1)
			switch e.Alarm {
			case pump.EmptyReservoir, pump.EOS, pump.MotorStall, pump.Occlusion, pump.MemoryError:
				ps.count(e.At, cInterruptions, 1)
			}
			switch e.Alarm {
			case pump.ERI:
				if !ps.eriSeen {
					ps.eriSeen = true
					delay := ps.span("eri_notice_days") + ps.span("replacement_schedule_days")
					if ps.g.chance(ps.get("replacement_slip")) {
						delay += ps.span("replacement_slip_days")
					}
					ps.at[evReplacement] = ps.inHorizon(max(e.At.Add(delay), now))
				}
			case pump.Occlusion:
				if ps.faulty {
					ps.revise(now, e.At.Add(ps.span("occlusion_to_revision_days")), ps.fault)
				}
			case pump.CatheterIntegrity:
				if ps.faulty {
					ps.revise(now, e.At.Add(ps.span("integrity_to_revision_days")), ps.fault)
				}
			}
		}
	}
	if ps.at[evCheck] == never {
		ps.planCheck(now)
	}
	return nil
}
