package fhir_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/fhir"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/unit"
)

// openSQLite is a fresh SQLite store for one test.
func openSQLite(t *testing.T) clinic.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// record builds a patient's record through the service: trial, implant,
// prescriptions, refills, a follow-up with a pain score, a complication.
func record(t *testing.T) *clinic.PatientRecord {
	e := clinictest.NewEnv(t, openSQLite)
	p := e.Patient("MRN-F", "spasticity")
	b, tp := clinic.Score(800), clinic.Score(250)
	var dose unit.Mass
	_ = dose.UnmarshalText([]byte("50 mcg"))
	tr := &clinic.Trial{Method: "single_bolus", Drug: "baclofen", Doses: []unit.Mass{dose}, StartedAt: e.Now(),
		BaselinePain: &b, TrialPain: &tp, Functional: "improved", Decision: "implant"}
	if err := e.Svc.CreateTrial(e.Physician, p.ID, tr); err != nil {
		t.Fatal(err)
	}
	e.Advance(7 * 24 * time.Hour)
	e.Implant(p, "SN-F", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	if _, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "100 mcg/day", "twice the screening dose"); err != nil {
		t.Fatal(err)
	}
	e.Advance(24 * time.Hour)
	if _, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "110 mcg/day", "titration"); err != nil {
		t.Fatal(err)
	}
	e.Advance(60 * 24 * time.Hour)
	var w, a unit.Volume
	_ = w.UnmarshalText([]byte("17 mL"))
	_ = a.UnmarshalText([]byte("20 mL"))
	var c unit.Concentration
	_ = c.UnmarshalText([]byte("2000 mcg/mL"))
	if err := e.Svc.RecordRefill(e.Nurse, p.ID, &clinic.Refill{Drug: "baclofen", Concentration: c, ConfirmDrug: "baclofen", ConfirmConcentration: c, Lot: "L9", Withdrawn: w, Added: a}); err != nil {
		t.Fatal(err)
	}
	rec, _ := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	f := rec.FollowUps[0]
	pain := clinic.Score(300)
	if _, err := e.Svc.CompleteFollowUp(e.Nurse, f.ID, clinic.FollowUpDone{PainScore: &pain, Version: f.Version}); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.RecordComplication(e.Nurse, p.ID, &clinic.Complication{Type: "csf_leak", Onset: e.Now(), Description: "positional headache"}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.Svc.ExportRecord(e.Physician, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// parse exports a record and parses the bundle with Google's FHIR R4
// implementation, which validates the resources as it reads them.
func parse(t *testing.T, rec *clinic.PatientRecord) ([]byte, *r4pb.Bundle, *jsonformat.Unmarshaller) {
	t.Helper()
	data, err := fhir.Bundle(rec, clinictest.Start)
	if err != nil {
		t.Fatal(err)
	}
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		t.Fatal(err)
	}
	m, err := u.Unmarshal(data)
	if err != nil {
		t.Fatalf("google/fhir refused the bundle: %v\n%s", err, data)
	}
	bundle := m.(*r4pb.ContainedResource).GetBundle()
	if bundle == nil {
		t.Fatal("not a Bundle")
	}
	return data, bundle, u
}

// TestBundleParsesWithGoogleFHIR parses the export with Google's FHIR R4
// implementation, which validates the resources as it reads them.
func TestBundleParsesWithGoogleFHIR(t *testing.T) {
	data, bundle, u := parse(t, record(t))
	counts := map[string]int{}
	urls := map[string]bool{}
	for _, e := range bundle.GetEntry() {
		r := e.GetResource()
		urls[e.GetFullUrl().GetValue()] = true
		switch {
		case r.GetPatient() != nil:
			counts["Patient"]++
			if r.GetPatient().GetIdentifier()[0].GetValue().GetValue() != "MRN-F" {
				t.Error("patient MRN lost")
			}
		case r.GetDevice() != nil:
			counts["Device"]++
			if r.GetDevice().GetSerialNumber().GetValue() != "SN-F" {
				t.Error("device serial lost")
			}
		case r.GetProcedure() != nil:
			counts["Procedure"]++
		case r.GetMedicationRequest() != nil:
			counts["MedicationRequest"]++
		case r.GetMedicationAdministration() != nil:
			counts["MedicationAdministration"]++
		case r.GetObservation() != nil:
			counts["Observation"]++
			if r.GetObservation().GetCode().GetCoding()[0].GetCode().GetValue() != fhir.PainLOINC {
				t.Error("pain observation without its LOINC code")
			}
		case r.GetCondition() != nil:
			counts["Condition"]++
		}
	}
	want := map[string]int{"Patient": 1, "Device": 1, "Procedure": 2, "MedicationRequest": 2,
		"MedicationAdministration": 2, "Observation": 3, "Condition": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s resources, want %d", counts[k], k, n)
		}
	}
	// Every reference resolves inside the bundle.
	var raw any
	_ = json.Unmarshal(data, &raw)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["reference"].(string); ok && !urls[r] {
				t.Errorf("reference %s does not resolve in the bundle", r)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(raw)
	// A broken resource is refused by the same parser: the check is real.
	bad := strings.Replace(string(data), `"gender":"female"`, `"gender":"sometimes"`, 1)
	if _, err := u.Unmarshal([]byte(bad)); err == nil {
		t.Error("google/fhir accepted an invalid gender: the validation is not running")
	}
}

// TestFlexProgramExport: a weekly flex program with a patient bolus is
// exported whole — a Dosage per step with its time of day and days, the
// most per day from max_24h, the patient bolus as an as-needed dose — and
// google/fhir reads it.
func TestFlexProgramExport(t *testing.T) {
	e := clinictest.NewEnv(t, openSQLite)
	p := e.Patient("MRN-X", "pain")
	e.Implant(p, "SN-X", "TP-20", "morphine", "10 mg/mL", "20 mL")
	if err := e.Svc.Prescribe(e.Physician, p.ID, &clinic.Prescription{Program: clinictest.FlexProgram(), Reason: "day and night pattern"}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.Svc.ExportRecord(e.Physician, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, bundle, _ := parse(t, rec)
	var mr bool
	for _, e := range bundle.GetEntry() {
		r := e.GetResource().GetMedicationRequest()
		if r == nil {
			continue
		}
		mr = true
		ds := r.GetDosageInstruction()
		if len(ds) != 4 {
			t.Fatalf("%d dosage instructions, want 3 flex steps and the patient bolus", len(ds))
		}
		rep := ds[0].GetTiming().GetRepeat()
		if len(rep.GetTimeOfDay()) != 1 || len(rep.GetDayOfWeek()) != 5 || ds[0].GetMaxDosePerPeriod() == nil {
			t.Errorf("first step: %v", ds[0])
		}
		if !ds[3].GetAsNeeded().GetBoolean().GetValue() || !strings.Contains(ds[3].GetText().GetValue(), "lockout 4h, at most 4 in 24 h") {
			t.Errorf("patient bolus: %v", ds[3])
		}
	}
	if !mr {
		t.Fatal("no MedicationRequest")
	}
	for _, want := range []string{`"timeOfDay":["07:00:00"]`, `"dayOfWeek":["mon","tue","wed","thu","fri"]`, `"timeOfDay":["22:00:00"]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
}
