package clinictest

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// PrescriptionMigration names the migration that moves a prescription's pump
// fields into "program" (found by name: the numbers may change at merge).
const PrescriptionMigration = "_prescription_program.sql"

// legacyPrescription is a prescription as the store held it before that
// migration: the pump's fields flat beside the clinic's, every field the old
// form could have.
const legacyPrescription = `{"id":0,"patient_id":0,"version":0,"created_at":"2026-01-05T08:00:00Z","updated_at":"2026-01-05T08:00:00Z",` +
	`"created_by":"dr.house","implant_id":IMPLANT,"start_at":"2026-01-05T08:00:00Z","drug":"morphine","concentration":"10 mg/mL",` +
	`"diluted":true,"mode":"continuous","rate":"0.5 mL/day","dose_per_day":"5 mg/day",` +
	`"patient_bolus":{"volume":"0.05 mL","duration":"10m","lockout":"4h","max_per_24h":4},"max_24h":"1 mL","low_reservoir":"3 mL",` +
	`"population":"opioid-tolerant","reason":"converted from the old form",` +
	`"findings":[{"kind":"missing_limit","severity":"needs a reason","message":"no limit","source":"x"}],` +
	`"library_version":"thecal-default-1","library_digest":"abc","supersedes":7}`

// legacyStopped is a stopped prescription in the old form: no rate, no cap.
const legacyStopped = `{"id":0,"patient_id":0,"version":0,"created_at":"2026-01-06T08:00:00Z","updated_at":"2026-01-06T08:00:00Z",` +
	`"created_by":"dr.house","implant_id":IMPLANT,"start_at":"2026-01-06T08:00:00Z","drug":"morphine","concentration":"10 mg/mL",` +
	`"mode":"stopped","library_version":"thecal-default-1","library_digest":"abc"}`

// InsertLegacy writes, with plain SQL into a database migrated up to (not
// including) PrescriptionMigration, a patient with an implanted pump and two
// prescriptions in the old form. rebind adapts the placeholders to the
// database. It returns the patient's id.
func InsertLegacy(t *testing.T, db *sql.DB, rebind func(string) string) int64 {
	t.Helper()
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).UnixMilli()
	var pid, imID int64
	row := db.QueryRow(rebind(`INSERT INTO patients (mrn, family_lower, version, data, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?) RETURNING id`),
		"L-1", "legacy", `{"id":0,"mrn":"L-1","family_name":"Legacy","given_name":"Lena","birth_date":"1960-01-01","sex":"female","indication":"pain","version":0,"created_at":"2026-01-05T08:00:00Z","updated_at":"2026-01-05T08:00:00Z"}`, at, at)
	if err := row.Scan(&pid); err != nil {
		t.Fatal(err)
	}
	insert := func(kind, key string, open bool, data string) int64 {
		var id int64
		var k any
		if key != "" {
			k = key
		}
		err := db.QueryRow(rebind(`INSERT INTO records (patient_id, kind, at, ukey, is_open, version, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`),
			pid, kind, at, k, open, data, at, at).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	imID = insert("implant", "L-SN-1", true, `{"id":0,"patient_id":0,"version":0,"created_at":"2026-01-05T08:00:00Z","updated_at":"2026-01-05T08:00:00Z","created_by":"dr.house",`+
		`"model":"TP-20","serial":"L-SN-1","implanted_at":"2026-01-05T07:00:00Z","surgeon":"Dr C","catheter_length":"50 cm","catheter_volume_per_cm":"0.0022 mL",`+
		`"tip_level":"T10","drug":"morphine","concentration":"10 mg/mL","initial_fill":"20 mL","priming_volume":"0.36 mL"}`)
	id := strings.ReplaceAll
	insert("prescription", "", false, id(legacyPrescription, "IMPLANT", itoa(imID)))
	insert("prescription", "", false, id(legacyStopped, "IMPLANT", itoa(imID)))
	return pid
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// CheckLegacy reads the patient InsertLegacy wrote, after the migration, and
// checks that every field of both prescriptions came across (the pump's in
// Program, the clinic's beside it) and that each conversion is in the audit
// chain with the converted record's digest.
func CheckLegacy(t *testing.T, st clinic.Store, patientID int64) {
	t.Helper()
	svc := clinic.NewService(st, nil, nil)
	rec, err := svc.PatientRecord(clinic.NewContext(t.Context(), clinic.System), patientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Prescriptions) != 2 || len(rec.Implants) != 1 || rec.Implants[0].Model != pump.TP20 {
		t.Fatalf("record after the migration: %d prescriptions, implants %+v", len(rec.Prescriptions), rec.Implants)
	}
	rx := rec.Prescriptions[0]
	want := pump.Prescription{Mode: pump.ModeContinuous, Rate: mustRate("0.5 mL/day"), Max24h: mustVol("1 mL"), LowReservoir: mustVol("3 mL"),
		PatientBolus: pump.PatientBolus{Volume: mustVol("0.05 mL"), Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4},
		Drug:         "morphine", Concentration: mustConc("10 mg/mL")}
	if rx.Program != want {
		t.Errorf("program after the migration:\n%+v\nwant\n%+v", rx.Program, want)
	}
	if rx.DosePerDay != mustDose("5 mg/day") || !rx.Diluted || rx.Population != "opioid-tolerant" || rx.Reason != "converted from the old form" ||
		len(rx.Findings) != 1 || rx.Findings[0].Source != "x" || rx.LibraryVersion != "thecal-default-1" || rx.LibraryDigest != "abc" ||
		rx.Supersedes != 7 || rx.CreatedBy != "dr.house" || rx.ImplantID != rec.Implants[0].ID {
		t.Errorf("the clinic's fields after the migration: %+v", rx)
	}
	stopped := rec.Prescriptions[1]
	if want := (pump.Prescription{Mode: pump.ModeStopped, Drug: "morphine", Concentration: mustConc("10 mg/mL")}); stopped.Program != want {
		t.Errorf("stopped program after the migration: %+v", stopped.Program)
	}
	// What the clinic writes back is the new form, with nothing left over.
	b, err := json.Marshal(rx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"drug", "concentration", "mode", "rate", "patient_bolus", "max_24h", "low_reservoir"} {
		if _, ok := m[old]; ok {
			t.Errorf("%q is still beside the program: %s", old, b)
		}
	}
	if !strings.Contains(string(m["program"]), `"patient_bolus":{"volume":"0.05 mL","duration":"10m","lockout":"4h","max_per_24h":4}`) {
		t.Errorf("program: %s", m["program"])
	}
	// Each conversion went through the audit chain: an entry by the system
	// with the record's old and new form, whose digest is the record's now.
	sys := clinic.NewContext(t.Context(), clinic.System)
	es, err := svc.Audit(sys, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if r := clinic.VerifyChain(es); !r.OK {
		t.Fatalf("the audit chain after the conversion: %+v", r)
	}
	for _, p := range rec.Prescriptions {
		var e *clinic.AuditEntry
		for _, x := range es {
			if x.Entity == "prescription" && x.EntityID == p.ID {
				e = x
			}
		}
		var stored *clinic.Record
		if err := st.View(t.Context(), func(tx clinic.Tx) (err error) { stored, err = tx.Record(p.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if e == nil || e.Action != "prescription.convert" || e.Actor != "system" || e.RecordHash != clinic.RecordDigest(stored) ||
			!strings.Contains(string(e.Before), `"mode":"`) || !strings.Contains(string(e.After), `"program":{`) {
			t.Errorf("prescription %d: audit entry %+v, digest now %s", p.ID, e, clinic.RecordDigest(stored))
		}
	}
}

func mustRate(s string) unit.Rate { return must[unit.Rate](s) }

// CheckIndexed checks that the patient InsertLegacy wrote before the
// migration that adds the patient list's index was indexed by its Go step:
// found by name in any order and by pump serial, with its list columns.
func CheckIndexed(t *testing.T, st clinic.Store, patientID int64) {
	t.Helper()
	svc := clinic.NewService(st, nil, nil)
	sys := clinic.NewContext(t.Context(), clinic.System)
	for _, q := range []string{"lena legacy", "L-SN-1", "morphine"} {
		pg, err := svc.PatientList(sys, clinic.PatientFilter{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != 1 || pg.Patients[0].ID != patientID || pg.Patients[0].Status != clinic.StatusImplanted ||
			pg.Patients[0].Model != "TP-20" || pg.Patients[0].Drug != "morphine" {
			t.Errorf("search %q after the migration: %d found, %+v", q, pg.Total, pg.Patients)
		}
	}
}
