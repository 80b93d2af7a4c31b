package clinictest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// GenOptions shape a generated clinic.
type GenOptions struct {
	Patients int
	Years    int
	Seed     uint64
	Batch    int // patients per transaction
}

// Generate fills a store with a synthetic clinic: patients with an implant,
// years of prescriptions, refills, follow-ups, quarterly pump reports and a
// few alarms, and each patient's worklist computed by the clinic's own rules
// (Service.PatientWork). It writes through clinic.Tx in batches, without an
// audit entry per record: it stands for a bulk import, for benchmarks.
func Generate(ctx context.Context, svc *clinic.Service, st clinic.Store, o GenOptions, progress func(done int)) error {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	now := svc.Now().UTC().Truncate(time.Millisecond)
	for done := 0; done < o.Patients; done += o.Batch {
		n := min(o.Batch, o.Patients-done)
		err := st.Update(ctx, func(tx clinic.Tx) error {
			for i := range n {
				if err := genPatient(tx, svc, rng, done+i, o.Years, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(done + n)
		}
	}
	return nil
}

type genDrug struct {
	name, conc string
	doses      []string
}

var genDrugs = []genDrug{
	{"baclofen", "2000 mcg/mL", []string{"600 mcg/day", "700 mcg/day", "800 mcg/day", "900 mcg/day"}},
	{"morphine", "10 mg/mL", []string{"3 mg/day", "3.5 mg/day", "4 mg/day", "4.5 mg/day"}},
	{"ziconotide", "25 mcg/mL", []string{"4.8 mcg/day", "6 mcg/day", "7.2 mcg/day", "8.4 mcg/day"}},
}

func put(tx clinic.Tx, r any, kind clinic.Kind, pid int64, at time.Time, key string, open bool, now time.Time) (int64, error) {
	data, err := jsonMarshal(r)
	if err != nil {
		return 0, err
	}
	rec := &clinic.Record{PatientID: pid, Kind: kind, At: at, Key: key, Open: open, Data: data, CreatedAt: now, UpdatedAt: now}
	_, err = tx.CreateRecord(rec)
	return rec.ID, err
}

func genPatient(tx clinic.Tx, svc *clinic.Service, rng *rand.Rand, i, years int, now time.Time) error {
	d := genDrugs[rng.IntN(len(genDrugs))]
	ind := "pain"
	if d.name == "baclofen" {
		ind = "spasticity"
	}
	p := &clinic.Patient{MRN: fmt.Sprintf("GEN-%07d", i), FamilyName: fmt.Sprintf("Family%05d", rng.IntN(50000)), GivenName: "Pat",
		BirthDate: clinic.Date{Time: time.Date(1940+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)},
		Sex:       []string{"female", "male"}[rng.IntN(2)], Indication: ind, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreatePatient(p); err != nil {
		return err
	}
	span := time.Duration(years) * 365 * 24 * time.Hour
	implanted := now.Add(-span + time.Duration(rng.IntN(180*24))*time.Hour)
	model, res := pump.TP40, "40 mL"
	if rng.IntN(3) == 0 {
		model, res = pump.TP20, "20 mL"
	}
	snap := &clinic.Snapshot{Patient: p}
	im := &clinic.Implant{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, Model: model,
		Serial: fmt.Sprintf("GEN-SN-%07d", i), ImplantedAt: implanted, Surgeon: "Dr Gen", CatheterLength: mustLen("50 cm"),
		CatheterPerCm: mustVol("0.0022 mL"), TipLevel: "T10", Drug: d.name, Concentration: mustConc(d.conc), InitialFill: mustVol(res),
		PrimingVolume: mustVol("0.36 mL")}
	id, err := put(tx, im, clinic.KindImplant, p.ID, implanted, im.Serial, true, now)
	if err != nil {
		return err
	}
	im.ID = id
	snap.Implants = []*clinic.Implant{im}
	// Prescriptions: a start and a change every ~9 months, gently rising.
	var rxs []*clinic.Prescription
	for k, at := 0, implanted.Add(time.Hour); at.Before(now) && k < 8; k, at = k+1, at.Add(time.Duration(200+rng.IntN(160))*24*time.Hour) {
		dose := mustDose(d.doses[min(k, len(d.doses)-1)])
		rate := unit.Rate(int64(dose) / int64(mustConc(d.conc)))
		rx := &clinic.Prescription{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, ImplantID: im.ID,
			StartAt: at, Program: pump.Prescription{Drug: d.name, Concentration: mustConc(d.conc), Mode: pump.ModeContinuous, Rate: rate,
				Max24h: mustVol("2 mL")}, DosePerDay: dose, LibraryVersion: "thecal-default-1", Reason: "generated"}
		if rx.ID, err = put(tx, rx, clinic.KindPrescription, p.ID, at, "", false, now); err != nil {
			return err
		}
		rxs = append(rxs, rx)
	}
	snap.Prescriptions = rxs
	// Refills every 50-80 days until a few weeks ago.
	var last *clinic.Refill
	for at := implanted.Add(time.Duration(50+rng.IntN(30)) * 24 * time.Hour); at.Before(now.Add(-time.Duration(rng.IntN(60)) * 24 * time.Hour)); at = at.Add(time.Duration(50+rng.IntN(30)) * 24 * time.Hour) {
		rf := &clinic.Refill{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, ImplantID: im.ID, At: at,
			Drug: d.name, Concentration: mustConc(d.conc), Lot: "LOT", Withdrawn: mustVol("12 mL"), Added: mustVol(res),
			Expected: mustVol("12 mL"), Limit: mustVol("1 mL"), Flag: "within_limit"}
		if rng.IntN(200) == 0 {
			rf.Flag, rf.Flagged, rf.FlagReason, rf.Discrepancy = "less_than_expected", true, "withdrew 9 mL, expected 12 mL", mustVol("-3 mL")
		}
		if rf.ID, err = put(tx, rf, clinic.KindRefill, p.ID, at, "", rf.Flagged, now); err != nil {
			return err
		}
		last = rf
	}
	snap.LastRefill = last
	// Follow-ups: the wound checks (done), yearly dose reviews, one to come.
	for k := 0; k <= years; k++ {
		due := implanted.Add(time.Duration(k*365+7) * 24 * time.Hour)
		f := &clinic.FollowUp{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, ImplantID: im.ID,
			Type: "dose_review", Due: due}
		if k == 0 {
			f.Type = "wound_check"
		}
		open := due.After(now)
		if !open {
			done, sc := due, clinic.Score(200+rng.IntN(600))
			f.DoneAt, f.PainScore = &done, &sc
		}
		if f.ID, err = put(tx, f, clinic.KindFollowUp, p.ID, due, "", open, now); err != nil {
			return err
		}
		if open {
			snap.OpenFollowUps = append(snap.OpenFollowUps, f)
		}
	}
	// Quarterly home-monitor reports; now and then an alarm.
	for at := implanted.Add(90 * 24 * time.Hour); at.Before(now); at = at.Add(91 * 24 * time.Hour) {
		r := &clinic.StoredReport{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, ImplantID: im.ID,
			Report: clinic.Report{Format: clinic.ReportFormat, Serial: im.Serial, Model: model, InterrogatedAt: at, Source: "home_monitor",
				Status: clinic.ReportStatus{Running: true, Mode: "continuous", Drug: d.name, Concentration: mustConc(d.conc),
					Reservoir: mustVol("15 mL"), Battery: unit.Charge(int64(900_000-rng.IntN(200_000)) * 3_600_000_000)}},
			Key: clinic.ReportKey(im.Serial, at), ReceivedBy: "generator"}
		if r.ID, err = put(tx, r, clinic.KindReport, p.ID, at, r.Key, false, now); err != nil {
			return err
		}
		snap.LastReport = r
		if rng.IntN(150) == 0 {
			a := &clinic.Alarm{Meta: clinic.Meta{PatientID: p.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: "generator"}, ImplantID: im.ID,
				Serial: im.Serial, Code: "OCCLUSION", Critical: true, RaisedAt: at, ReportID: r.ID}
			open := at.After(now.Add(-60 * 24 * time.Hour))
			if !open {
				acked := at.Add(time.Hour)
				a.AckedAt, a.AckedBy = &acked, "generator"
			}
			if a.ID, err = put(tx, a, clinic.KindAlarm, p.ID, at, fmt.Sprintf("%s|OCCLUSION|%d", im.Serial, at.UnixMilli()), open, now); err != nil {
				return err
			}
			if open {
				snap.OpenAlarms = append(snap.OpenAlarms, a)
			}
		}
	}
	if err := tx.ReplaceWork(p.ID, svc.PatientWork(snap, now)); err != nil {
		return err
	}
	return tx.IndexPatient(clinic.IndexOf(snap, now))
}
