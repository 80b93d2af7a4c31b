package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Options shape a demonstration clinic.
type Options struct {
	// Now is when the demonstration starts (simulated); the wall clock if zero.
	Now time.Time
	// Passwords, when set, are used for the demo users instead of random ones
	// (tests); keyed by username.
	Passwords map[string]string
	// Patients generated beside the six described ones, with up to Years
	// of history each (Generate); Progress is told how many are written.
	Patients, Years int
	Progress        func(done int)
	// Dir is where Start keeps the pumps, the monitors and the keys (it must
	// exist; thecal demo --dir, or a temporary directory).
	Dir string
}

// parse reads a demonstration figure written with its unit; the figures
// are the program's own, so a bad one is a bug.
func parse[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](s string) T {
	var v T
	if err := P(&v).UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return v
}

func vol(s string) unit.Volume         { return parse[unit.Volume](s) }
func conc(s string) unit.Concentration { return parse[unit.Concentration](s) }
func dose(s string) unit.DoseRate      { return parse[unit.DoseRate](s) }
func mass(s string) unit.Mass          { return parse[unit.Mass](s) }
func length(s string) unit.Length      { return parse[unit.Length](s) }
func model(s string) pump.Model        { return parse[pump.Model](s) }

func score(n int64) *clinic.Score { s := clinic.Score(n * 100); return &s }

func password() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

const day = 24 * time.Hour

// Seed fills an empty clinic with the demonstration: users, and six patients
// at different stages, each recorded through the clinic services at the
// simulated time it happened. svc.Now must be c.Clock.Now. It leaves the clock
// stopped at the start time.
func Seed(ctx context.Context, svc *clinic.Service, clock *Clock, o Options) (*Clinic, error) {
	start := o.Now
	if start.IsZero() {
		start = time.Now()
	}
	start = start.UTC().Truncate(time.Minute)
	c := &Clinic{Svc: svc, Clock: clock, Begin: start, Dir: o.Dir}
	ctx = system(ctx)
	clock.Set(start.Add(-3 * 365 * day))

	for _, u := range []Login{
		{Username: "dr.hale", Name: "Dr Ana Hale", Role: clinic.Physician},
		{Username: "nurse.ode", Name: "Sam Ode, RN", Role: clinic.Nurse},
		{Username: "admin", Name: "Kim Admin", Role: clinic.Administrator},
	} {
		u.Password = o.Passwords[u.Username]
		if u.Password == "" {
			u.Password = password()
		}
		name, role, pw := u.Name, u.Role, u.Password
		if _, err := svc.CreateUser(ctx, clinic.UserInput{Username: u.Username, Name: &name, Role: &role, Password: &pw}); err != nil {
			return nil, must("user "+u.Username, err)
		}
		c.Logins = append(c.Logins, u)
	}

	if _, err := svc.PublishLibrary(ctx, Library(), LibraryNote); err != nil {
		return nil, must("the demonstration clinic's drug library", err)
	}
	s := &seeder{ctx: ctx, svc: svc, clock: clock, c: c, start: start}
	for _, f := range []func() error{s.critical, s.overdue, s.eri, s.trial, s.priming, s.stable} {
		if err := f(); err != nil {
			return nil, err
		}
	}
	clock.Set(start)
	if o.Patients > 0 {
		if err := Generate(ctx, svc, GenerateOptions{Patients: o.Patients, Years: o.Years, Seed: 1, Progress: o.Progress}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type seeder struct {
	rates []rateFrom // the current patient's programmed rates, oldest first
	ctx   context.Context
	svc   *clinic.Service
	clock *Clock
	c     *Clinic
	start time.Time
}

// rateFrom is a programmed rate from a time on.
type rateFrom struct {
	at   time.Time
	rate unit.Rate
}

// used is the volume the programmed rates deliver between from and to.
func (s *seeder) used(from, to time.Time) unit.Volume {
	var v unit.Volume
	for i, r := range s.rates {
		a, b := r.at, to
		if i+1 < len(s.rates) {
			b = s.rates[i+1].at
		}
		a, b = maxT(a, from), minT(b, to)
		if b.After(a) {
			v += r.rate.Over(unit.Duration(b.Sub(a).Milliseconds()))
		}
	}
	return v
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// at moves the clock to start+d.
func (s *seeder) at(d time.Duration) time.Time {
	t := s.start.Add(d)
	s.clock.Set(t)
	return t
}

func (s *seeder) patient(stage, mrn, family, given, born, sex, indication, notes string) (*clinic.Patient, error) {
	b, _ := time.Parse(time.DateOnly, born)
	p := &clinic.Patient{MRN: mrn, FamilyName: family, GivenName: given, BirthDate: clinic.Date{Time: b}, Sex: sex,
		Indication: indication, Notes: notes}
	if err := s.svc.CreatePatient(s.ctx, p); err != nil {
		return nil, must("patient "+mrn, err)
	}
	s.c.Patients = append(s.c.Patients, Patient{ID: p.ID, Name: family + ", " + given, MRN: mrn, Stage: stage})
	return p, nil
}

// implanted records a successful trial, the implant and the first prescription.
type course struct {
	model, serial, drug, concentration, trialDose, first, max24h string
	catheter                                                     string
	implanted                                                    time.Duration // before start
	fill                                                         string
}

func (s *seeder) implant(p *clinic.Patient, k course) (*clinic.Implant, *clinic.Prescription, error) {
	t0 := s.at(-k.implanted - 20*day)
	tr := &clinic.Trial{Method: "single_bolus", Drug: k.drug, Doses: []unit.Mass{mass(k.trialDose)}, StartedAt: t0,
		BaselinePain: score(8), TrialPain: score(3), BaselineFunction: "walks 50 m with a frame",
		TrialFunction: "walks 200 m with a stick", Functional: "improved", Decision: "implant",
		DecisionNote: "clear response to the trial bolus; implant agreed with the patient"}
	if p.Indication == "spasticity" {
		tr.BaselinePain, tr.TrialPain = nil, nil
		tr.BaselineFunction, tr.TrialFunction = "Ashworth 4 in both legs", "Ashworth 2 four hours after the bolus"
	}
	if err := s.svc.CreateTrial(s.ctx, p.ID, tr); err != nil {
		return nil, nil, must("trial for "+p.MRN, err)
	}
	ti := s.at(-k.implanted)
	im := &clinic.Implant{Model: model(k.model), Serial: k.serial, ImplantedAt: ti, Surgeon: "Dr Iris Stone",
		CatheterLength: length(k.catheter), TipLevel: "T10", Site: "right lower abdomen", Drug: k.drug,
		Concentration: conc(k.concentration), InitialFill: vol(k.fill)}
	if p.Indication == "spasticity" {
		im.TipLevel = "T11"
	}
	if err := s.svc.CreateImplant(s.ctx, p.ID, im); err != nil {
		return nil, nil, must("implant for "+p.MRN, err)
	}
	s.at(-k.implanted + time.Hour)
	rx := &clinic.Prescription{Program: pump.Prescription{Drug: k.drug, Concentration: conc(k.concentration), Mode: pump.ModeContinuous,
		Max24h: vol(k.max24h)}, DosePerDay: dose(k.first), Reason: "starting dose after a successful trial"}
	if k.drug == "morphine" {
		rx.Population = "opioid-tolerant"
	}
	if err := s.svc.Prescribe(s.ctx, p.ID, rx); err != nil {
		return nil, nil, must("prescription for "+p.MRN, err)
	}
	s.rates = []rateFrom{{rx.StartAt, rx.Program.Rate}}
	return im, rx, nil
}

// prescribe changes the dose at start+at.
func (s *seeder) prescribe(p *clinic.Patient, prev *clinic.Prescription, at time.Duration, d, why string) (*clinic.Prescription, error) {
	s.at(at)
	rx := &clinic.Prescription{Program: prev.Program, DosePerDay: dose(d), Population: prev.Population, Reason: why}
	rx.Program.Rate = 0 // follows from the dose
	if err := s.svc.Prescribe(s.ctx, p.ID, rx); err != nil {
		return nil, must("prescription change for "+p.MRN, err)
	}
	s.rates = append(s.rates, rateFrom{rx.StartAt, rx.Program.Rate})
	return rx, nil
}

// refill records a refill at start+at that withdraws what the pump should
// hold (plus off), using the rate in force since the last fill.
func (s *seeder) refill(p *clinic.Patient, rx *clinic.Prescription, at time.Duration, lastAt time.Time, last unit.Volume,
	add, lot string, off unit.Volume) (time.Time, unit.Volume, error) {
	t := s.at(at)
	used := s.used(lastAt, t)
	left := max(0, last-used+off)
	rf := &clinic.Refill{Drug: rx.Program.Drug, Concentration: rx.Program.Concentration, Lot: lot, Withdrawn: left, Added: vol(add),
		ConfirmDrug: rx.Program.Drug, ConfirmConcentration: rx.Program.Concentration,
		Observation: "no sedation, no respiratory depression; wound and pocket unremarkable", ObservedFor: 30 * unit.Minute}
	if err := s.svc.RecordRefill(s.ctx, p.ID, rf); err != nil {
		return t, 0, must("refill for "+p.MRN, err)
	}
	return t, rf.Added, nil
}

func (s *seeder) followUp(p *clinic.Patient, im *clinic.Implant, typ string, due time.Duration, done bool, pain int64, notes string) error {
	s.at(due - day)
	f := &clinic.FollowUp{ImplantID: im.ID, Type: typ, Due: s.start.Add(due), Notes: notes}
	if err := s.svc.ScheduleFollowUp(s.ctx, p.ID, f); err != nil {
		return must("follow-up for "+p.MRN, err)
	}
	if done {
		s.at(due)
		in := clinic.FollowUpDone{Version: f.Version, Notes: notes}
		if pain > 0 {
			in.PainScore = score(pain)
		}
		if _, err := s.svc.CompleteFollowUp(s.ctx, f.ID, in); err != nil {
			return must("follow-up done for "+p.MRN, err)
		}
	}
	return nil
}

// doneWoundChecks completes the wound checks CreateImplant scheduled.
func (s *seeder) doneWoundChecks(p *clinic.Patient) error {
	rec, err := s.svc.PatientRecord(s.ctx, p.ID)
	if err != nil {
		return must("record of "+p.MRN, err)
	}
	for _, f := range rec.FollowUps {
		if f.DoneAt == nil && f.Type == "wound_check" && f.Due.Before(s.start) {
			s.clock.Set(f.Due)
			if _, err := s.svc.CompleteFollowUp(s.ctx, f.ID, clinic.FollowUpDone{Version: f.Version, Notes: "wound healed"}); err != nil {
				return must("wound check for "+p.MRN, err)
			}
		}
	}
	return nil
}

func (s *seeder) critical() error {
	p, err := s.patient(StageCritical, "DEMO-0006", "Novak", "Maria", "1981-03-14", "female", "spasticity",
		"Multiple sclerosis; severe spasticity of both legs. Lives alone: call her sister Jana (+44 20 7946 0321) if unreachable.")
	if err != nil {
		return err
	}
	im, rx, err := s.implant(p, course{model: "TP-20", serial: "200006", drug: "baclofen", concentration: "2000 mcg/mL",
		trialDose: "50 mcg", first: "300 mcg/day", max24h: "1 mL", catheter: "45 cm", implanted: 300 * day, fill: "20 mL"})
	if err != nil {
		return err
	}
	if err := s.doneWoundChecks(p); err != nil {
		return err
	}
	if rx, err = s.prescribe(p, rx, -240*day, "400 mcg/day", "spasms at night persist; 33% increase within the titration rule"); err != nil {
		return err
	}
	at, last := im.ImplantedAt, im.InitialFill
	for i, d := range []time.Duration{-200, -110, -20} {
		if at, last, err = s.refill(p, rx, d*day, at, last, "20 mL", "BAC-24"+string(rune('A'+i)), 0); err != nil {
			return err
		}
	}
	if err := s.followUp(p, im, "dose_review", -60*day, true, 0, "spasticity controlled; Ashworth 2"); err != nil {
		return err
	}
	return nil
}

func (s *seeder) overdue() error {
	p, err := s.patient(StageOverdue, "DEMO-0004", "Brennan", "Thomas", "1955-11-02", "male", "pain",
		"Failed back surgery syndrome. Missed the last refill appointment (travel).")
	if err != nil {
		return err
	}
	im, rx, err := s.implant(p, course{model: "TP-20", serial: "200004", drug: "morphine", concentration: "10 mg/mL",
		trialDose: "0.5 mg", first: "1.5 mg/day", max24h: "1 mL", catheter: "50 cm", implanted: 500 * day, fill: "20 mL"})
	if err != nil {
		return err
	}
	if err := s.doneWoundChecks(p); err != nil {
		return err
	}
	if rx, err = s.prescribe(p, rx, -400*day, "2 mg/day", "pain 6/10 on 1.5 mg/day"); err != nil {
		return err
	}
	at, last := im.ImplantedAt, im.InitialFill
	for i, d := range []time.Duration{-430, -340, -250, -160, -108} {
		if at, last, err = s.refill(p, rx, d*day, at, last, "20 mL", "MOR-23"+string(rune('A'+i)), 0); err != nil {
			return err
		}
	}
	return s.followUp(p, im, "dose_review", -180*day, true, 4, "pain 4/10; sleeping better")
}

func (s *seeder) eri() error {
	p, err := s.patient(StageERI, "DEMO-0005", "Sato", "Hiroshi", "1948-06-21", "male", "pain",
		"Cancer-related pain, stable for years. Pump near the end of its battery life: plan a replacement.")
	if err != nil {
		return err
	}
	im, rx, err := s.implant(p, course{model: "TP-40", serial: "400005", drug: "morphine", concentration: "25 mg/mL",
		trialDose: "1 mg", first: "4 mg/day", max24h: "1 mL", catheter: "50 cm", implanted: 1000 * day, fill: "40 mL"})
	if err != nil {
		return err
	}
	if err := s.doneWoundChecks(p); err != nil {
		return err
	}
	at, last := im.ImplantedAt, im.InitialFill
	// 40 mL at 0.16 mL/day lasts 246 days: refilled every 220 days or sooner.
	for i, d := range []time.Duration{-780, -560, -340, -120, -2} {
		if at, last, err = s.refill(p, rx, d*day, at, last, "40 mL", "MOR-25"+string(rune('A'+i)), 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) trial() error {
	p, err := s.patient(StageTrial, "DEMO-0001", "Moreau", "Claire", "1969-08-30", "female", "pain",
		"Complex regional pain syndrome of the right leg; oral opioids not tolerated.")
	if err != nil {
		return err
	}
	s.at(-2 * day)
	tr := &clinic.Trial{Method: "single_bolus", Drug: "morphine", Doses: []unit.Mass{mass("0.5 mg")}, StartedAt: s.start.Add(-2 * day),
		BaselinePain: score(8), BaselineFunction: "walks 100 m, then must rest"}
	return must("trial for "+p.MRN, s.svc.CreateTrial(s.ctx, p.ID, tr))
}

func (s *seeder) priming() error {
	p, err := s.patient(StagePriming, "DEMO-0002", "Okafor", "James", "1977-01-09", "male", "spasticity",
		"Spinal cord injury (T6). Implanted today; the pump is priming the catheter.")
	if err != nil {
		return err
	}
	_, _, err = s.implant(p, course{model: "TP-40", serial: "400002", drug: "baclofen", concentration: "500 mcg/mL",
		trialDose: "50 mcg", first: "100 mcg/day", max24h: "1 mL", catheter: "45 cm", implanted: 2 * time.Hour, fill: "40 mL"})
	return err
}

func (s *seeder) stable() error {
	p, err := s.patient(StageStable, "DEMO-0003", "Lindqvist", "Eva", "1962-04-18", "female", "pain",
		"Neuropathic pain after spinal surgery; ziconotide, stable.")
	if err != nil {
		return err
	}
	im, rx, err := s.implant(p, course{model: "TP-20", serial: "200003", drug: "ziconotide", concentration: "25 mcg/mL",
		trialDose: "2 mcg", first: "2.4 mcg/day", max24h: "1 mL", catheter: "50 cm", implanted: 200 * day, fill: "20 mL"})
	if err != nil {
		return err
	}
	if err := s.doneWoundChecks(p); err != nil {
		return err
	}
	if rx, err = s.prescribe(p, rx, -190*day, "3.6 mcg/day", "titration: pain 6/10"); err != nil {
		return err
	}
	if rx, err = s.prescribe(p, rx, -170*day, "4.8 mcg/day", "titration: pain 5/10"); err != nil {
		return err
	}
	at, last := im.ImplantedAt, im.InitialFill
	for i, d := range []time.Duration{-140, -80, -21} {
		if at, last, err = s.refill(p, rx, d*day, at, last, "20 mL", "ZIC-24"+string(rune('A'+i)), 0); err != nil {
			return err
		}
	}
	if err := s.followUp(p, im, "dose_review", -30*day, true, 3, "pain 3/10, no psychiatric side effects"); err != nil {
		return err
	}
	return s.followUp(p, im, "dose_review", 60*day, false, 0, "three-monthly review")
}
