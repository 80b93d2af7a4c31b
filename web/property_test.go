package web_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/thecal/thecal/clinic"
)

// TestPropertyReservoirMatchesPrescriptionOrUrgentItem (issue 11): no
// sequence of API calls — refills, prescriptions, reports, acknowledgements,
// reviews, in any order, at any pace, accepted or refused — leaves a pump's
// recorded drug and concentration (its last fill: a refill, or the implant's
// first fill) different from the prescription in force without an open
// urgent drug_mismatch item on the patient's worklist (hazard H2).
func TestPropertyReservoirMatchesPrescriptionOrUrgentItem(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnvWith(t, nil, func(svc *clinic.Service) {
		svc.Now = clock
		svc.Settings.SessionTTL = 100 * 365 * 24 * time.Hour
	})
	nurse, doc := e.clients["nurse"], e.clients["physician"]
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		_, p := nurse.do("POST", "/api/v1/patients", patientJSON(fmt.Sprintf("P-%d", n)))
		pid := int64(p["id"].(float64))
		serial := fmt.Sprintf("PROP-%d", n)
		if code, b := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", pid), map[string]any{"model": "TP-20", "serial": serial,
			"implanted_at": clock().Add(-time.Hour).Format(time.RFC3339), "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
			"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"}); code != 201 {
			rt.Fatalf("implant: %d %v", code, b)
		}
		concs := []string{"500 mcg/mL", "2000 mcg/mL"}
		prescribe := func(conc, dose string) (int, map[string]any) {
			return doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), map[string]any{
				"program":      map[string]any{"drug": "baclofen", "concentration": conc, "mode": "continuous", "max_24h": "2 mL"},
				"dose_per_day": dose, "reason": "titration agreed in clinic today", "confirm_large_change": true, "confirm_concentration_change": true})
		}
		if code, b := prescribe("2000 mcg/mL", "400 mcg/day"); code != 201 {
			rt.Fatalf("first prescription: %d %v", code, b)
		}
		record := func() *clinic.PatientRecord {
			code, b := nurse.do("GET", fmt.Sprintf("/api/v1/patients/%d/record", pid), nil)
			if code != 200 {
				rt.Fatalf("record: %d", code)
			}
			raw, _ := json.Marshal(b)
			var rec clinic.PatientRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				rt.Fatalf("record: %v", err)
			}
			return &rec
		}
		check := func(after string) {
			rec := record()
			im := rec.Implants[len(rec.Implants)-1]
			drug, conc := im.Drug, im.Concentration
			var fillAt time.Time
			for _, rf := range rec.Refills {
				if rf.ImplantID == im.ID && !rf.At.Before(fillAt) {
					drug, conc, fillAt = rf.Drug, rf.Concentration, rf.At
				}
			}
			var rx *clinic.Prescription
			for _, x := range rec.Prescriptions {
				if x.ImplantID == im.ID && !x.StartAt.After(clock()) {
					rx = x
				}
			}
			if rx == nil || rx.Program.Drug == drug && rx.Program.Concentration == conc {
				return
			}
			for _, w := range rec.Worklist {
				if w.Kind == clinic.WorkDrugMismatch && w.Priority == clinic.Urgent {
					return
				}
			}
			rt.Fatalf("after %s: the reservoir holds %s %s, the prescription in force is %s %s, and no urgent drug_mismatch item: %+v",
				after, drug, conc, rx.Program.Drug, rx.Program.Concentration, rec.Worklist)
		}
		check("the implant")
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for range steps {
			var did string
			switch rapid.IntRange(0, 5).Draw(rt, "action") {
			case 0:
				d := time.Duration(rapid.IntRange(1, 30*24).Draw(rt, "hours")) * time.Hour
				advance(d)
				did = "time passing"
			case 1:
				conc := rapid.SampledFrom(concs).Draw(rt, "refill concentration")
				withdrawn := rapid.IntRange(0, 40).Draw(rt, "withdrawn half mL")
				added := rapid.IntRange(10, 40).Draw(rt, "added half mL")
				code, _ := nurse.do("POST", fmt.Sprintf("/api/v1/patients/%d/refills", pid), map[string]any{"drug": "baclofen", "concentration": conc,
					"confirm_drug": "baclofen", "confirm_concentration": conc, "confirm_concentration_change": true, "lot": "L", "withdrawn": fmt.Sprintf("%.1f mL", float64(withdrawn)/2), "added": fmt.Sprintf("%.1f mL", float64(added)/2)})
				did = fmt.Sprintf("a refill at %s (%d)", conc, code)
			case 2:
				conc := rapid.SampledFrom(concs).Draw(rt, "prescription concentration")
				dose := rapid.SampledFrom([]string{"200 mcg/day", "400 mcg/day", "600 mcg/day"}).Draw(rt, "dose")
				code, _ := prescribe(conc, dose)
				did = fmt.Sprintf("a prescription at %s (%d)", conc, code)
			case 3:
				alarms := []string{}
				for _, a := range []string{"OCCLUSION", "LOW_RESERVOIR"} {
					if rapid.Bool().Draw(rt, "active "+a) {
						alarms = append(alarms, a)
					}
				}
				advance(time.Minute)
				rep := map[string]any{"format": "thecal-report/1", "serial": serial, "model": "TP-20", "interrogated_at": clock().Format(time.RFC3339Nano),
					"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "drug": "baclofen",
						"concentration": rapid.SampledFrom(concs).Draw(rt, "reported concentration"), "basal": "0.2 mL/day",
						"reservoir": fmt.Sprintf("%d mL", rapid.IntRange(1, 19).Draw(rt, "reservoir")), "battery": "990000 µAh", "active_alarms": alarms}}
				code, _ := nurse.do("POST", "/api/v1/reports", rep)
				did = fmt.Sprintf("a report of %v (%d)", alarms, code)
			case 4:
				rec := record()
				did = "no alarm to acknowledge"
				for _, a := range rec.Alarms {
					if a.AckedAt == nil {
						code, _ := nurse.do("POST", fmt.Sprintf("/api/v1/alarms/%d/ack", a.ID), map[string]any{"note": "catheter checked and patient called", "version": a.Version})
						did = fmt.Sprintf("an acknowledgement of %s (%d)", a.Code, code)
						break
					}
				}
			case 5:
				rec := record()
				did = "no refill to review"
				for _, rf := range rec.Refills {
					if rf.ReviewedAt == nil && (rf.Flagged || rf.DrugMismatch != "") {
						code, _ := nurse.do("POST", fmt.Sprintf("/api/v1/refills/%d/review", rf.ID), map[string]any{"note": "reviewed with the physician", "version": rf.Version})
						did = fmt.Sprintf("a review of refill %d (%d)", rf.ID, code)
					}
				}
			}
			check(did)
		}
	})
}
