package demo

// The generated clinic of `thecal demo --patients N` (issue 13, item 7):
// N patients beside the six described ones, with years of history, so that
// anyone can try the clinic at the size of a real one. Deterministic (a
// seeded generator; the dates count back from the clinic's clock) and fast:
// written in batches through clinic.Service.Bulk, every record audited with
// its digest as the service audits it, each batch one transaction.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// GenerateOptions shape a generated clinic.
type GenerateOptions struct {
	Patients int
	Years    int    // of history, at most (default 10)
	Seed     uint64 // the same seed and clock give the same clinic
	Batch    int    // patients per transaction (default 100)
	// Progress, if set, is told how many patients are written so far.
	Progress func(done int)
}

// GeneratedMRN is the MRN of the i-th generated patient (from 0).
func GeneratedMRN(i int) string { return fmt.Sprintf("GEN-%07d", i) }

// GeneratedSerial is the serial of the i-th generated patient's first pump.
func GeneratedSerial(i int) string { return fmt.Sprintf("GEN-SN-%07d", i) }

// Generate adds o.Patients generated patients to the clinic.
func Generate(ctx context.Context, svc *clinic.Service, o GenerateOptions) error {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Years <= 0 {
		o.Years = 10
	}
	ctx = system(ctx)
	rng := rand.New(rand.NewPCG(o.Seed, 0x7eca1))
	now := svc.Now().UTC().Truncate(time.Millisecond)
	for done := 0; done < o.Patients; done += o.Batch {
		n := min(o.Batch, o.Patients-done)
		// Each batch draws from its own copy of the generator's state, so a
		// batch that is retried draws the same again.
		state := rng.Uint64()
		err := svc.Bulk(ctx, func(b *clinic.Bulk) error {
			r := rand.New(rand.NewPCG(o.Seed, state))
			for i := range n {
				if err := genPatient(b, r, done+i, o.Years, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("demo: generating patients %d–%d: %w", done, done+n-1, err)
		}
		if o.Progress != nil {
			o.Progress(done + n)
		}
	}
	return nil
}

var (
	families = []string{"Novák", "Müller", "García", "Dvořák", "Kowalski", "Nguyen", "O'Brien", "Ødegård", "Smith", "Jones",
		"Brown", "Rossi", "Dubois", "Lefèvre", "Schäfer", "Jensen", "Andersson", "Horváth", "Popescu", "Yılmaz",
		"Papadopoulos", "Silva", "Santos", "Kim", "Patel", "Cohen", "Murphy", "Wilson", "Taylor", "Fischer",
		"Weber", "Moreau", "Łukasiewicz", "Fernández", "Ivanova", "Mäkinen", "Nakamura", "Okafor", "Mensah", "Byrne"}
	givens = []string{"María", "José", "Anna", "Jan", "Eva", "Peter", "Zoë", "Chloé", "Søren", "Björn",
		"Ana", "Luca", "Noah", "Olivia", "Mohammed", "Fatima", "Wei", "Yuki", "Priya", "Liam",
		"Emma", "Sofia", "Mateo", "Aoife", "Ciarán", "Jiří", "Agnieszka", "Grace", "Kwame", "Léa"}
)

type genDrug struct {
	name, conc string
	doses      []string // the daily doses of its titration, in order
}

var genDrugs = []genDrug{
	{"baclofen", "2000 mcg/mL", []string{"300 mcg/day", "400 mcg/day", "500 mcg/day", "600 mcg/day", "700 mcg/day", "800 mcg/day"}},
	{"morphine", "10 mg/mL", []string{"2 mg/day", "2.5 mg/day", "3 mg/day", "3.5 mg/day", "4 mg/day", "4.5 mg/day"}},
	{"ziconotide", "25 mcg/mL", []string{"2.4 mcg/day", "3.6 mcg/day", "4.8 mcg/day", "6 mcg/day", "7.2 mcg/day", "8.4 mcg/day"}},
}

const pumpLife = 7 * 365 * day // a pump is replaced after about this long

func meta(pid int64) clinic.Meta { return clinic.Meta{PatientID: pid} }

// genPatient writes one patient: most with implanted pumps and their
// history (prescriptions, refills every 50–80 days, yearly reviews,
// quarterly home-monitor reports, now and then an alarm; a pump replaced
// after seven years), some in a screening trial, some explanted.
func genPatient(b *clinic.Bulk, r *rand.Rand, i, years int, now time.Time) error {
	d := genDrugs[r.IntN(len(genDrugs))]
	ind, origin := "pain", ""
	if d.name == "baclofen" {
		ind, origin = "spasticity", []string{"cerebral", "spinal"}[r.IntN(2)]
	}
	p := &clinic.Patient{MRN: GeneratedMRN(i), FamilyName: families[r.IntN(len(families))], GivenName: givens[r.IntN(len(givens))],
		BirthDate: clinic.Date{Time: time.Date(1940+r.IntN(60), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)},
		Sex:       []string{"female", "male"}[r.IntN(2)], Indication: ind, Origin: origin}
	if err := b.CreatePatient(p); err != nil {
		return err
	}
	if r.IntN(20) == 0 { // in a screening trial, awaiting its decision
		base := clinic.Score(600 + r.IntN(300))
		t := &clinic.Trial{Meta: meta(p.ID), Method: "single_bolus", Drug: d.name, Doses: []unit.Mass{parse[unit.Mass]("50 mcg")},
			StartedAt: now.Add(-time.Duration(1+r.IntN(10)) * day), BaselinePain: &base, Outcome: "pending"}
		return b.Add(t)
	}
	span := time.Duration(1+r.IntN(years)) * 365 * day
	implanted := now.Add(-span + time.Duration(r.IntN(180))*day)
	explantAll := r.IntN(25) == 0
	rxStep := 0
	for k := 0; implanted.Before(now); k++ {
		model := pump.TP40
		if r.IntN(3) == 0 {
			model = pump.TP20
		}
		serial := GeneratedSerial(i)
		if k > 0 {
			serial = fmt.Sprintf("%s-R%d", serial, k)
		}
		end := implanted.Add(pumpLife + time.Duration(r.IntN(120))*day)
		if explantAll && end.After(now) {
			end = now.Add(-time.Duration(30+r.IntN(300)) * day)
		}
		var err error
		if rxStep, err = genPump(b, r, p, d, model, serial, implanted, minT(end, now), rxStep, now); err != nil {
			return err
		}
		if !end.Before(now) || explantAll {
			break
		}
		implanted = end.Add(time.Hour)
	}
	return nil
}

// genPump writes one pump's life from implanted until end (explanted at end
// if that is before now) and returns the titration step reached.
func genPump(b *clinic.Bulk, r *rand.Rand, p *clinic.Patient, d genDrug, model pump.Model, serial string,
	implanted, end time.Time, step int, now time.Time) (int, error) {
	conc := parse[unit.Concentration](d.conc)
	im := &clinic.Implant{Meta: meta(p.ID), Model: model, Serial: serial, ImplantedAt: implanted, Surgeon: "Dr Gen",
		CatheterLength: parse[unit.Length]("50 cm"), CatheterPerCm: parse[unit.Volume]("0.0022 mL"), TipLevel: "T10", Drug: d.name,
		Concentration: conc, InitialFill: model.Reservoir(), PrimingVolume: parse[unit.Volume]("0.36 mL")}
	explanted := end.Before(now)
	if explanted {
		at := end
		im.ExplantedAt, im.ExplantReason = &at, "elective replacement at the replacement indicator"
	}
	if err := b.Add(im); err != nil {
		return step, err
	}
	// Prescriptions: a start, then a change every 6–12 months, rising.
	for at := implanted.Add(time.Hour); at.Before(end); at = at.Add(time.Duration(180+r.IntN(180)) * day) {
		dose := parse[unit.DoseRate](d.doses[min(step, len(d.doses)-1)])
		rx := &clinic.Prescription{Meta: meta(p.ID), ImplantID: im.ID, StartAt: at,
			Program: pump.Prescription{Drug: d.name, Concentration: conc, Mode: pump.ModeContinuous,
				Rate: unit.Rate(int64(dose) / int64(conc)), Max24h: parse[unit.Volume]("2 mL")},
			DosePerDay: dose, LibraryVersion: "thecal-default-1", Reason: "generated history"}
		if err := b.Add(rx); err != nil {
			return step, err
		}
		step++
	}
	// Refills every 50–80 days, the last one some weeks ago.
	for at := implanted.Add(time.Duration(50+r.IntN(30)) * day); at.Before(end.Add(-time.Duration(r.IntN(40)) * day)); at = at.Add(time.Duration(50+r.IntN(30)) * day) {
		rf := &clinic.Refill{Meta: meta(p.ID), ImplantID: im.ID, At: at, Drug: d.name, Concentration: conc, Lot: fmt.Sprintf("L%05d", r.IntN(100000)),
			Withdrawn: parse[unit.Volume]("12 mL"), Added: model.Reservoir(), Expected: parse[unit.Volume]("12 mL"),
			Limit: model.DiscrepancyLimit(), Flag: "within_limit"}
		if r.IntN(200) == 0 {
			rf.Flag, rf.Flagged, rf.FlagReason, rf.Discrepancy = "less_than_expected", true, "withdrew 9 mL, expected 12 mL", parse[unit.Volume]("-3 mL")
		}
		if err := b.Add(rf); err != nil {
			return step, err
		}
	}
	// Follow-ups: the wound check, then a yearly dose review (one to come).
	for k := 0; ; k++ {
		due := implanted.Add(time.Duration(k*365+7) * day)
		if due.After(end.Add(365 * day)) {
			break
		}
		f := &clinic.FollowUp{Meta: meta(p.ID), ImplantID: im.ID, Type: "dose_review", Due: due}
		if k == 0 {
			f.Type = "wound_check"
		}
		if due.Before(now) {
			done, sc := due, clinic.Score(200+r.IntN(600))
			f.DoneAt, f.PainScore = &done, &sc
		} else if explanted {
			break
		}
		if err := b.Add(f); err != nil {
			return step, err
		}
	}
	// Quarterly home-monitor reports; now and then an occlusion.
	for at := implanted.Add(90 * day); at.Before(end); at = at.Add(91 * day) {
		left := 1 - float64(at.Sub(implanted))/float64(8*365*day)
		rep := &clinic.StoredReport{Meta: meta(p.ID), ImplantID: im.ID,
			Report: clinic.Report{Format: clinic.ReportFormat, Serial: im.Serial, Model: model, InterrogatedAt: at, Source: "home_monitor",
				Status: clinic.ReportStatus{Running: true, Mode: "continuous", Drug: d.name, Concentration: conc,
					Reservoir: parse[unit.Volume]("15 mL"), Battery: unit.Charge(float64(pump.BatteryCapacity) * max(left, 0.05))}},
			Key: clinic.ReportKey(im.Serial, at), ReceivedBy: "generator"}
		if err := b.Add(rep); err != nil {
			return step, err
		}
		if r.IntN(150) == 0 {
			a := &clinic.Alarm{Meta: meta(p.ID), ImplantID: im.ID, Serial: im.Serial, Code: "OCCLUSION", Critical: true, RaisedAt: at, ReportID: rep.ID}
			if !at.After(now.Add(-60 * day)) {
				acked := at.Add(time.Hour)
				a.AckedAt, a.AckedBy = &acked, "generator"
			}
			if err := b.Add(a); err != nil {
				return step, err
			}
		}
	}
	return step, nil
}
