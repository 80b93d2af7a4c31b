// Package clinictest owns the one service test suite that every clinic.Store
// implementation runs (store/sqlite and store/postgres call Run): the business
// rules exercised through the Service against a real database.
package clinictest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Opener returns a new, empty, migrated store for one test.
type Opener func(t *testing.T) clinic.Store

// Start is the suite's clock at the start of each test.
var Start = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// Env is one test's service, clock and principals.
type Env struct {
	T     *testing.T
	Store clinic.Store
	Svc   *clinic.Service
	mu    sync.Mutex
	now   time.Time

	Physician, Nurse, Admin, ReadOnly, Monitor context.Context
}

// NewEnv makes a service over a fresh store with a fixed clock.
func NewEnv(t *testing.T, open Opener) *Env {
	t.Helper()
	e := &Env{T: t, Store: open(t), now: Start}
	e.Svc = clinic.NewService(e.Store, drug.Default(), nil)
	e.Svc.Now = e.Now
	e.Svc.PasswordParams = clinic.PasswordParams{Time: 1, Memory: 1024, Threads: 1}
	bg := context.Background()
	e.Physician = clinic.NewContext(bg, &clinic.Principal{UserID: 1, Name: "dr.house", Role: clinic.Physician})
	e.Nurse = clinic.NewContext(bg, &clinic.Principal{UserID: 2, Name: "nurse.joy", Role: clinic.Nurse})
	e.Admin = clinic.NewContext(bg, &clinic.Principal{UserID: 3, Name: "admin", Role: clinic.Administrator})
	e.ReadOnly = clinic.NewContext(bg, &clinic.Principal{UserID: 4, Name: "auditor", Role: clinic.ReadOnly})
	e.Monitor = clinic.NewContext(bg, &clinic.Principal{TokenID: 1, Name: "token:home", Role: clinic.Monitor, Serial: "NOPE"})
	return e
}

// Now is the test clock.
func (e *Env) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// Advance moves the clock on.
func (e *Env) Advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *Env) must(err error) {
	e.T.Helper()
	if err != nil {
		e.T.Fatal(err)
	}
}

// wantErr checks err has code and field.
func wantErr(t *testing.T, err error, code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s on %q, got success", code, field)
	}
	if clinic.ErrorCode(err) != code || clinic.ErrorField(err) != field {
		t.Fatalf("want %s on %q, got %s on %q: %v", code, field, clinic.ErrorCode(err), clinic.ErrorField(err), err)
	}
}

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// Patient creates a patient.
func (e *Env) Patient(mrn, indication string) *clinic.Patient {
	e.T.Helper()
	p := &clinic.Patient{MRN: mrn, FamilyName: "Doe-" + mrn, GivenName: "Jane", BirthDate: clinic.Date{Time: time.Date(1970, 3, 1, 0, 0, 0, 0, time.UTC)},
		Sex: "female", Indication: indication}
	if indication == "spasticity" {
		p.Origin = "spinal"
	}
	e.must(e.Svc.CreatePatient(e.Nurse, p))
	return p
}

// Implant implants a pump filled with drug at conc.
func (e *Env) Implant(p *clinic.Patient, serial, model, drugName, conc string, fill string) *clinic.Implant {
	e.T.Helper()
	im := &clinic.Implant{Model: mustModel(model), Serial: serial, ImplantedAt: e.Now(), Surgeon: "Dr Cushing",
		CatheterLength: mustLen("50 cm"), TipLevel: "T10", Drug: drugName, Concentration: mustConc(conc), InitialFill: mustVol(fill)}
	e.must(e.Svc.CreateImplant(e.Physician, p.ID, im))
	return im
}

// Prescribe prescribes a continuous dose.
func (e *Env) Prescribe(p *clinic.Patient, drugName, conc, dose, reason string) (*clinic.Prescription, error) {
	rx := ContinuousRx(drugName, conc, dose, reason)
	return rx, e.Svc.Prescribe(e.Physician, p.ID, rx)
}

// PrescribeConfirmed prescribes a continuous dose with the second
// confirmation of a large change of the daily dose.
func (e *Env) PrescribeConfirmed(p *clinic.Patient, drugName, conc, dose, reason string) (*clinic.Prescription, error) {
	rx := ContinuousRx(drugName, conc, dose, reason)
	rx.ConfirmLargeChange = true
	return rx, e.Svc.Prescribe(e.Physician, p.ID, rx)
}

// Typed is a refill of drug at conc as a nurse reports it: typed, and typed
// again from the vial (the independent confirmation drug.CheckFill asks).
func Typed(drugName, conc, lot, withdrawn, added string) *clinic.Refill {
	return &clinic.Refill{Drug: drugName, Concentration: mustConc(conc), ConfirmDrug: drugName, ConfirmConcentration: mustConc(conc),
		Lot: lot, Withdrawn: mustVol(withdrawn), Added: mustVol(added)}
}

// ContinuousRx is a continuous prescription by its daily dose, capped at 5 mL in 24 h.
func ContinuousRx(drugName, conc, dose, reason string) *clinic.Prescription {
	return &clinic.Prescription{Program: pump.Prescription{Drug: drugName, Concentration: mustConc(conc), Mode: pump.ModeContinuous,
		Max24h: mustVol("5 mL")}, DosePerDay: mustDose(dose), Reason: reason}
}

// must parses a quantity written with its unit.
func must[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](s string) T {
	var v T
	if err := P(&v).UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return v
}

func mustVol(s string) unit.Volume         { return must[unit.Volume](s) }
func mustConc(s string) unit.Concentration { return must[unit.Concentration](s) }
func mustDose(s string) unit.DoseRate      { return must[unit.DoseRate](s) }
func mustLen(s string) unit.Length         { return must[unit.Length](s) }
func mustModel(s string) pump.Model        { return must[pump.Model](s) }

// Work returns the whole worklist now.
func (e *Env) Work(kind clinic.WorkKind, patientID int64) []clinic.WorkItem {
	e.T.Helper()
	items, err := e.Svc.Worklist(e.ReadOnly, clinic.WorkQuery{Kind: kind, PatientID: patientID, Limit: 1000})
	e.must(err)
	return items
}

// Report returns an interrogation report for a pump.
func Report(serial, model string, at time.Time, reservoir string, alarms ...string) *clinic.Report {
	r := &clinic.Report{Format: clinic.ReportFormat, Serial: serial, Model: mustModel(model), InterrogatedAt: at, Source: "home_monitor",
		Status: clinic.ReportStatus{Running: true, Mode: "continuous", Drug: "baclofen", Concentration: mustConc("2000 mcg/mL"),
			Basal: 0, Reservoir: mustVol(reservoir), Battery: 0, ActiveAlarms: alarms}}
	for _, a := range alarms {
		r.Alarms = append(r.Alarms, clinic.ReportAlarm{Code: a, RaisedAt: at.Add(-time.Hour)})
	}
	r.Log = []clinic.ReportEvent{{Seq: 1, At: at.Add(-time.Hour), Event: "interrogate"}}
	return r
}

// Run runs the whole service suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *Env)
	}{
		{"PatientsCreateReadUpdate", testPatients},
		{"InvalidInputNamesFieldWritesNothing", testInvalid},
		{"AuthorisationMatrix", testAuthorisation},
		{"UsersSessionsTokens", testUsers},
		{"LostUpdateRefused", testLostUpdate},
		{"ImplantSchedulesWoundChecksAndReplacement", testImplant},
		{"PrescriptionLibraryCheckAndHistory", testPrescriptions},
		{"PrescriptionFlexProgramEveryField", testFlexProgram},
		{"PrescriptionLargeChangeNeedsConfirmation", testLargeChange},
		{"RefillDiscrepancyAndMismatch", testRefills},
		{"WorklistRefillDueOverdueBaclofenHighRisk", testWorklistRefill},
		{"WorklistReplacementPlanning", testWorklistReplacement},
		{"WorklistFollowUpsTrialsComplications", testWorklistOther},
		{"WorklistDoseTrend", testDoseTrend},
		{"DatesOneSource", testDatesOneSource},
		{"CriticalAlarmAckFollowUpCleared", testCriticalAlarm},
		{"DrugMismatchUntilAgreement", testDrugMismatchUntilAgreement},
		{"IngestIdempotentAlarmsAcknowledge", testIngest},
		{"IngestConcurrentDuplicates", testIngestConcurrent},
		{"AuditChainVerifies", testAudit},
		{"LibraryPublishRefuseRestart", testLibrary},
		{"RulesNoReasonFatigue", testNoReasonFatigue},
		{"RulesInterruptionNeedsARestartOrder", testInterruption},
		{"RulesFillConfirmedByTheLabel", testFillFromLabel},
		{"RulesFirstBaclofenDoseAgainstScreening", testScreeningFirstDose},
		{"PatientSearchFiltersPaging", testPatientSearch},
		{"WorklistFiltersTotalsRefillPreparation", testWorklistFilters},
		{"AuditViewFiltersNamesChanges", testAuditView},
		{"SignInLockShared", testSignInLockShared},
		{"OrderStates", testOrderStates},
		{"ReconcileReports", testReconcile},
		{"OwnProgrammerToken", testOwnToken},
		{"AlarmToldTwiceIsOne", testAlarmToldTwice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, NewEnv(t, open)) })
	}
}

func testPatients(t *testing.T, e *Env) {
	p := e.Patient("MRN-1", "pain")
	got, err := e.Svc.Patient(e.ReadOnly, p.ID)
	e.must(err)
	if got.MRN != "MRN-1" || got.Version != 1 || got.BirthDate.Format("2006-01-02") != "1970-03-01" {
		t.Fatalf("read back %+v", got)
	}
	got.Notes = "allergic to latex"
	e.must(e.Svc.UpdatePatient(e.Nurse, got))
	if got.Version != 2 {
		t.Fatalf("version %d after update", got.Version)
	}
	wantErr(t, e.Svc.CreatePatient(e.Nurse, &clinic.Patient{MRN: "MRN-1", FamilyName: "X", BirthDate: got.BirthDate, Sex: "male", Indication: "pain"}),
		clinic.ECONFLICT, "mrn")
	list, err := e.Svc.Patients(e.ReadOnly, clinic.PatientFilter{Query: "doe-mrn"})
	e.must(err)
	if len(list) != 1 {
		t.Fatalf("search found %d", len(list))
	}
	_, err = e.Svc.Patient(e.ReadOnly, 999)
	wantErr(t, err, clinic.ENOTFOUND, "id")
}

func auditCount(t *testing.T, e *Env) int {
	entries, err := e.Svc.Audit(e.Admin, 0, 1000)
	e.must(err)
	return len(entries)
}

func testInvalid(t *testing.T, e *Env) {
	p := e.Patient("MRN-2", "spasticity")
	before := auditCount(t, e)
	bd := clinic.Date{Time: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	cases := []struct {
		field string
		err   error
	}{
		{"mrn", e.Svc.CreatePatient(e.Nurse, &clinic.Patient{FamilyName: "A", BirthDate: bd, Sex: "male", Indication: "pain"})},
		{"birth_date", e.Svc.CreatePatient(e.Nurse, &clinic.Patient{MRN: "X", FamilyName: "A", BirthDate: clinic.Date{Time: Start.Add(day(400))}, Sex: "male", Indication: "pain"})},
		{"indication", e.Svc.CreatePatient(e.Nurse, &clinic.Patient{MRN: "X", FamilyName: "A", BirthDate: bd, Sex: "male", Indication: "itch"})},
		{"model", e.Svc.CreateImplant(e.Physician, p.ID, &clinic.Implant{Model: 99, Serial: "S", ImplantedAt: Start, Surgeon: "x"})},
		{"catheter_length", e.Svc.CreateImplant(e.Physician, p.ID, &clinic.Implant{Model: mustModel("TP-20"), Serial: "S", ImplantedAt: Start, Surgeon: "x", CatheterLength: mustLen("500 cm")})},
		{"implanted_at", e.Svc.CreateImplant(e.Physician, p.ID, &clinic.Implant{Model: mustModel("TP-20"), Serial: "S", ImplantedAt: Start.Add(day(3)), Surgeon: "x"})},
		{"drug", e.Svc.CreateImplant(e.Physician, p.ID, &clinic.Implant{Model: mustModel("TP-20"), Serial: "S", ImplantedAt: Start, Surgeon: "x", CatheterLength: mustLen("50 cm"), TipLevel: "T10", Drug: "aspirin"})},
		{"initial_fill", e.Svc.CreateImplant(e.Physician, p.ID, &clinic.Implant{Model: mustModel("TP-20"), Serial: "S", ImplantedAt: Start, Surgeon: "x", CatheterLength: mustLen("50 cm"), TipLevel: "T10", Drug: "baclofen", Concentration: mustConc("2000 mcg/mL"), InitialFill: mustVol("40 mL")})},
		{"implant_id", func() error {
			_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "200 mcg/day", "titration")
			return err
		}()},
		// Issue 11 item 8: a dose that cannot be represented is refused by
		// name, never recorded wrapped around to a negative dose.
		{"program.concentration", func() error {
			rx := &clinic.Prescription{Program: pump.Prescription{Drug: "morphine", Concentration: mustConc("400000 mg/mL"), Mode: pump.ModeContinuous,
				Rate: pump.MaxRate, Max24h: mustVol("5 mL")}, Reason: "a test of the overflow refusal"}
			return e.Svc.Prescribe(e.Physician, p.ID, rx)
		}()},
		{"program.concentration", func() error {
			rx := &clinic.Prescription{Program: pump.Prescription{Drug: "morphine", Concentration: mustConc("600000 mg/mL"), Mode: pump.ModeFlex,
				FlexSteps: 1, Max24h: mustVol("5 mL")}, Reason: "a test of the overflow refusal"}
			rx.Program.Flex[0] = pump.FlexStep{Rate: pump.MaxRate}
			return e.Svc.Prescribe(e.Physician, p.ID, rx)
		}()},
		{"type", e.Svc.RecordComplication(e.Nurse, p.ID, &clinic.Complication{Type: "sunburn", Onset: Start})},
		{"severity", e.Svc.RecordSideEffect(e.Nurse, p.ID, &clinic.SideEffect{Type: "nausea", Severity: "awful"})},
		{"due", e.Svc.ScheduleFollowUp(e.Nurse, p.ID, &clinic.FollowUp{Type: "dose_review"})},
		{"method", e.Svc.CreateTrial(e.Physician, p.ID, &clinic.Trial{Method: "hope", Drug: "baclofen"})},
	}
	for _, c := range cases {
		wantErr(t, c.err, clinic.EINVALID, c.field)
	}
	if after := auditCount(t, e); after != before {
		t.Fatalf("refused requests wrote %d audit entries", after-before)
	}
	wantErr(t, e.Svc.RecordSideEffect(e.Nurse, 4242, &clinic.SideEffect{Type: "nausea", Severity: "mild"}), clinic.ENOTFOUND, "patient_id")
}

func testAuthorisation(t *testing.T, e *Env) {
	p := e.Patient("MRN-3", "pain")
	ctxs := map[string]context.Context{"physician": e.Physician, "nurse": e.Nurse, "administrator": e.Admin, "read-only": e.ReadOnly, "monitor": e.Monitor,
		"anonymous": context.Background()}
	ops := map[string]func(ctx context.Context) error{
		"read": func(ctx context.Context) error { _, err := e.Svc.Patient(ctx, p.ID); return err },
		"patient": func(ctx context.Context) error {
			return e.Svc.CreatePatient(ctx, &clinic.Patient{MRN: "N" + fmt.Sprint(time.Now().UnixNano()), FamilyName: "A", BirthDate: p.BirthDate, Sex: "male", Indication: "pain"})
		},
		"side_effect": func(ctx context.Context) error {
			return e.Svc.RecordSideEffect(ctx, p.ID, &clinic.SideEffect{Type: "nausea", Severity: "mild"})
		},
		"trial": func(ctx context.Context) error {
			return e.Svc.CreateTrial(ctx, p.ID, &clinic.Trial{Method: "continuous", Drug: "morphine", DosePerDay: mustDose("0.5 mg/day"), StartedAt: Start})
		},
		"users": func(ctx context.Context) error { _, err := e.Svc.Users(ctx); return err },
		"audit": func(ctx context.Context) error { _, err := e.Svc.Audit(ctx, 0, 10); return err },
		"ingest": func(ctx context.Context) error {
			_, err := e.Svc.Ingest(ctx, Report("NOPE", "TP-20", Start, "10 mL"))
			return err
		},
		"export":   func(ctx context.Context) error { _, err := e.Svc.ExportRecord(ctx, p.ID); return err },
		"worklist": func(ctx context.Context) error { _, err := e.Svc.Worklist(ctx, clinic.WorkQuery{}); return err },
	}
	allowed := map[string][]string{
		"physician":     {"read", "patient", "side_effect", "trial", "ingest", "export", "worklist"},
		"nurse":         {"read", "patient", "side_effect", "ingest", "export", "worklist"},
		"administrator": {"users", "audit"},
		"read-only":     {"read", "worklist"},
		"monitor":       {"ingest"},
		"anonymous":     {},
	}
	for role, ctx := range ctxs {
		for name, op := range ops {
			err := op(ctx)
			ok := false
			for _, a := range allowed[role] {
				ok = ok || a == name
			}
			code := clinic.ErrorCode(err)
			denied := code == clinic.EFORBIDDEN || code == clinic.EUNAUTHORIZED
			if ok && denied {
				t.Errorf("%s may %s but was refused: %v", role, name, err)
			}
			if !ok && !denied {
				t.Errorf("%s may not %s but got %v", role, name, err)
			}
			if role == "anonymous" && code != clinic.EUNAUTHORIZED {
				t.Errorf("anonymous %s: want unauthorized, got %v", name, err)
			}
		}
	}
}

func testUsers(t *testing.T, e *Env) {
	pw, err := e.Svc.Bootstrap(context.Background(), "root")
	e.must(err)
	if _, err := e.Svc.Bootstrap(context.Background(), "root2"); clinic.ErrorCode(err) != clinic.ECONFLICT {
		t.Fatalf("second bootstrap: %v", err)
	}
	u, secret, sess, err := e.Svc.Login(context.Background(), clinic.Credentials{Username: "root", Password: pw})
	e.must(err)
	if u.Role != clinic.Administrator || sess.CSRF == "" || secret == "" {
		t.Fatalf("login: %+v %+v", u, sess)
	}
	p, _, err := e.Svc.Authenticate(context.Background(), secret)
	e.must(err)
	if p.Role != clinic.Administrator {
		t.Fatal(p)
	}
	_, _, _, err = e.Svc.Login(context.Background(), clinic.Credentials{Username: "root", Password: "wrong password!"})
	wantErr(t, err, clinic.EUNAUTHORIZED, "password")
	_, _, _, err = e.Svc.Login(context.Background(), clinic.Credentials{Username: "nobody", Password: "wrong password!"})
	wantErr(t, err, clinic.EUNAUTHORIZED, "password")
	admin := clinic.NewContext(context.Background(), p)
	role, name, short, long := clinic.Nurse, "Nurse Joy", "short", "a long enough password"
	_, err = e.Svc.CreateUser(admin, clinic.UserInput{Username: "joy", Name: &name, Role: &role, Password: &short})
	wantErr(t, err, clinic.EINVALID, "password")
	nu, err := e.Svc.CreateUser(admin, clinic.UserInput{Username: "joy", Name: &name, Role: &role, Password: &long})
	e.must(err)
	_, err = e.Svc.CreateUser(admin, clinic.UserInput{Username: "joy", Name: &name, Role: &role, Password: &long})
	wantErr(t, err, clinic.ECONFLICT, "username")
	dis := true
	_, err = e.Svc.UpdateUser(admin, nu.ID, clinic.UserInput{Disabled: &dis, Version: nu.Version})
	e.must(err)
	_, _, _, err = e.Svc.Login(context.Background(), clinic.Credentials{Username: "joy", Password: long})
	wantErr(t, err, clinic.EUNAUTHORIZED, "password")
	// Sessions expire.
	e.Advance(e.Svc.Settings.SessionTTL)
	_, _, err = e.Svc.Authenticate(context.Background(), secret)
	wantErr(t, err, clinic.EUNAUTHORIZED, "")
	// Tokens: shown once, revocable.
	tok, tsecret, err := e.Svc.CreateToken(admin, clinic.TokenInput{Name: "home-1", Serial: "SN1"})
	e.must(err)
	tp, err := e.Svc.AuthenticateToken(context.Background(), tsecret)
	e.must(err)
	if tp.Role != clinic.Monitor || tp.Serial != "SN1" {
		t.Fatal(tp)
	}
	e.must(e.Svc.RevokeToken(admin, tok.ID))
	_, err = e.Svc.AuthenticateToken(context.Background(), tsecret)
	wantErr(t, err, clinic.EUNAUTHORIZED, "")
}

func testLostUpdate(t *testing.T, e *Env) {
	p := e.Patient("MRN-4", "pain")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := *p
			cp.Notes = fmt.Sprintf("edit %d", i)
			errs[i] = e.Svc.UpdatePatient(e.Nurse, &cp)
		}()
	}
	wg.Wait()
	ok := 0
	var winner string
	for i, err := range errs {
		switch clinic.ErrorCode(err) {
		case "":
			ok++
			winner = fmt.Sprintf("edit %d", i)
		case clinic.ECONFLICT:
			if clinic.ErrorField(err) != "version" {
				t.Fatalf("conflict on %q", clinic.ErrorField(err))
			}
		default:
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent edits of version 1 succeeded, want exactly 1", ok)
	}
	got, _ := e.Svc.Patient(e.ReadOnly, p.ID)
	if got.Notes != winner || got.Version != 2 {
		t.Fatalf("stored %q v%d, winner %q", got.Notes, got.Version, winner)
	}
}

func testImplant(t *testing.T, e *Env) {
	p := e.Patient("MRN-5", "spasticity")
	im := e.Implant(p, "SN-5", "TP-40", "baclofen", "2000 mcg/mL", "40 mL")
	if im.PrimingVolume == 0 || im.CatheterPerCm == 0 {
		t.Fatalf("priming not computed: %+v", im)
	}
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.FollowUps) != len(e.Svc.Settings.WoundChecks) || rec.FollowUps[0].Type != "wound_check" {
		t.Fatalf("wound checks not scheduled: %+v", rec.FollowUps)
	}
	// A second pump without saying it replaces the first is refused.
	im2 := &clinic.Implant{Model: mustModel("TP-40"), Serial: "SN-6", ImplantedAt: e.Now(), Surgeon: "x", CatheterLength: mustLen("50 cm"), TipLevel: "T10",
		Drug: "baclofen", Concentration: mustConc("2000 mcg/mL"), InitialFill: mustVol("20 mL")}
	wantErr(t, e.Svc.CreateImplant(e.Physician, p.ID, im2), clinic.EINVALID, "replaces")
	e.Advance(day(10))
	im2.ImplantedAt, im2.Replaces = e.Now(), im.ID
	e.must(e.Svc.CreateImplant(e.Physician, p.ID, im2))
	rec, err = e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if rec.Implants[0].ExplantedAt == nil || rec.Implants[1].ExplantedAt != nil {
		t.Fatalf("replacement did not explant the old pump: %+v", rec.Implants)
	}
	// The same serial twice is a conflict.
	p2 := e.Patient("MRN-6", "pain")
	dup := *im2
	dup.Replaces = 0
	wantErr(t, e.Svc.CreateImplant(e.Physician, p2.ID, &dup), clinic.ECONFLICT, "serial")
	_, err = e.Svc.Explant(e.Physician, im2.ID, clinic.ExplantInput{At: e.Now(), Reason: "infection", Version: im2.Version})
	e.must(err)
}

func testPrescriptions(t *testing.T, e *Env) {
	p := e.Patient("MRN-7", "pain")
	e.Implant(p, "SN-7", "TP-20", "ziconotide", "25 mcg/mL", "20 mL")
	// Over the hard limit: refused, naming the dose.
	_, err := e.Prescribe(p, "ziconotide", "25 mcg/mL", "25 mcg/day", "")
	wantErr(t, err, clinic.EINVALID, "dose_per_day")
	// Past a soft (or missing) limit: needs a reason.
	_, err = e.Prescribe(p, "ziconotide", "25 mcg/mL", "2.4 mcg/day", "")
	wantErr(t, err, clinic.EINVALID, "reason")
	rx, err := e.Prescribe(p, "ziconotide", "25 mcg/mL", "2.4 mcg/day", "start at the label's dose, PACC range too slow for her pain")
	e.must(err)
	if rx.LibraryVersion != "thecal-default-1" || rx.LibraryDigest == "" || rx.Program.Rate == 0 || rx.CreatedBy != "dr.house" {
		t.Fatalf("prescription: %+v", rx)
	}
	e.Advance(day(7))
	rx2, err := e.PrescribeConfirmed(p, "ziconotide", "25 mcg/mL", "4.8 mcg/day", "titration: pain 7/10")
	e.must(err)
	if rx2.Supersedes != rx.ID {
		t.Fatalf("supersedes %d, want %d", rx2.Supersedes, rx.ID)
	}
	// Too large an increase too soon: the titration rule.
	_, err = e.Prescribe(p, "ziconotide", "25 mcg/mL", "12 mcg/day", "faster")
	if err == nil {
		t.Fatal("a 7.2 mcg/day step was accepted")
	}
	// Nurses may not prescribe.
	_, err = func() (*clinic.Prescription, error) {
		rx := &clinic.Prescription{Program: pump.Prescription{Drug: "ziconotide", Concentration: mustConc("25 mcg/mL"), Mode: pump.ModeMinimum, Max24h: mustVol("1 mL")}}
		return rx, e.Svc.Prescribe(e.Nurse, p.ID, rx)
	}()
	wantErr(t, err, clinic.EFORBIDDEN, "")
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.Prescriptions) != 2 {
		t.Fatalf("history has %d prescriptions", len(rec.Prescriptions))
	}
}

func testRefills(t *testing.T, e *Env) {
	p := e.Patient("MRN-8", "spasticity")
	e.Implant(p, "SN-8", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "1000 mcg/day", "maintenance from screening")
	e.must(err)
	// 0.5 mL/day for 20 days: 10 mL delivered, 10 mL expected back.
	e.Advance(day(20))
	rf := Typed("baclofen", "2000 mcg/mL", "L1", "10.4 mL", "20 mL")
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf))
	if rf.Flagged || rf.Expected != mustVol("10 mL") || rf.Discrepancy != mustVol("0.4 mL") || rf.NextDue == nil {
		t.Fatalf("refill within limit: %+v", rf)
	}
	// Pocket fill at that refill: 20 days on, only 4 mL comes back of 10 expected.
	e.Advance(day(20))
	rf2 := Typed("baclofen", "2000 mcg/mL", "L2", "4 mL", "20 mL")
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf2))
	if !rf2.Flagged || rf2.Flag != "less_than_expected" {
		t.Fatalf("pocket fill not flagged: %+v", rf2)
	}
	items := e.Work(clinic.WorkDiscrepancy, p.ID)
	if len(items) != 1 || !strings.Contains(items[0].Reason, "-6 mL") {
		t.Fatalf("discrepancy item: %+v", items)
	}
	_, err = e.Svc.ReviewRefill(e.Nurse, rf2.ID, clinic.ReviewInput{Note: "pocket aspirated, patient observed", Version: rf2.Version})
	e.must(err)
	if items := e.Work(clinic.WorkDiscrepancy, p.ID); len(items) != 0 {
		t.Fatalf("reviewed discrepancy still listed: %+v", items)
	}
	// Withdrawing more than was put in is refused, naming the field.
	e.Advance(day(1))
	wantErr(t, e.Svc.RecordRefill(e.Nurse, p.ID, Typed("baclofen", "2000 mcg/mL", "L3", "25 mL", "20 mL")), clinic.EINVALID, "withdrawn")
	// Hazard H2: a refill with another concentration than programmed is
	// refused without a physician's order for it; nothing is written.
	audit0 := auditCount(t, e)
	wantErr(t, e.Svc.RecordRefill(e.Nurse, p.ID, Typed("baclofen", "500 mcg/mL", "L4", "19.5 mL", "20 mL")), clinic.EINVALID, "concentration")
	// The physician orders the change: it changes what the reservoir holds,
	// so it is confirmed explicitly.
	e.Advance(time.Hour)
	_, err = e.Prescribe(p, "baclofen", "500 mcg/mL", "1000 mcg/day", "1000 mcg/day in 2 mL/day: dilution after granuloma work-up")
	wantErr(t, err, clinic.EINVALID, "confirm_concentration_change")
	if n := auditCount(t, e); n != audit0 {
		t.Fatalf("refused refill and order wrote %d audit entries", n-audit0)
	}
	order := ContinuousRx("baclofen", "500 mcg/mL", "1000 mcg/day", "1000 mcg/day in 2 mL/day: dilution after granuloma work-up")
	order.ConfirmConcentrationChange = true
	e.must(e.Svc.Prescribe(e.Physician, p.ID, order))
	// Ordered, not yet filled: the reservoir still holds 2000 mcg/mL where the
	// prescription in force says 500, an urgent item until they agree.
	items = e.Work(clinic.WorkDrugMismatch, p.ID)
	if len(items) != 1 || items[0].Priority != clinic.Urgent {
		t.Fatalf("ordered change before the refill: %+v", items)
	}
	// The refill with the ordered concentration is a change too: confirmed.
	e.Advance(time.Hour)
	rf3 := Typed("baclofen", "500 mcg/mL", "L4", "19.5 mL", "20 mL")
	wantErr(t, e.Svc.RecordRefill(e.Nurse, p.ID, rf3), clinic.EINVALID, "confirm_concentration_change")
	rf3.ConfirmConcentrationChange = true
	e.must(e.Svc.RecordRefill(e.Nurse, p.ID, rf3))
	if rf3.DrugMismatch == "" || !strings.Contains(rf3.Bridge, "Patient boluses are locked out during the bridge") ||
		!strings.Contains(rf3.Bridge, "old baclofen") {
		t.Fatalf("ordered change: %q %q", rf3.DrugMismatch, rf3.Bridge)
	}
	// The reservoir now holds what the prescription in force orders: the
	// records agree, so the item is gone (mismatchItem judges the records; a
	// pump still running the old program is the closed loop's business).
	if items := e.Work(clinic.WorkDrugMismatch, p.ID); len(items) != 0 {
		t.Fatalf("mismatch still listed after the refill with the ordered concentration: %+v", items)
	}
}

func testWorklistRefill(t *testing.T, e *Env) {
	p := e.Patient("MRN-9", "spasticity")
	e.Implant(p, "SN-9", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", "1000 mcg/day", "maintenance")
	e.must(err)
	// 20 mL at 0.5 mL/day: low reservoir (2 mL) after 36 days, less a 7-day margin: due day 29.
	if items := e.Work(clinic.WorkRefill, p.ID); len(items) != 0 {
		t.Fatalf("refill listed a month early: %+v", items)
	}
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	var due time.Time
	for _, w := range rec.Worklist {
		if w.Kind == clinic.WorkRefill {
			due = w.Due
		}
	}
	if want := Start.Add(day(36) - day(7)); !due.Equal(want) {
		t.Fatalf("refill due %v, want %v", due, want)
	}
	e.Advance(day(20))
	items := e.Work(clinic.WorkRefill, p.ID)
	if len(items) != 1 || !items[0].HighRisk || items[0].Status != "due" || !strings.Contains(items[0].Reason, "withdrawal") {
		t.Fatalf("baclofen refill not listed as high risk: %+v", items)
	}
	e.Advance(day(10))
	items = e.Work(clinic.WorkRefill, p.ID)
	if len(items) != 1 || items[0].Status != "overdue" {
		t.Fatalf("refill not overdue: %+v", items)
	}
	// A pain patient on morphine is not high risk.
	q := e.Patient("MRN-10", "pain")
	e.Implant(q, "SN-10", "TP-40", "morphine", "10 mg/mL", "40 mL")
	_, err = e.Prescribe(q, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant")
	e.must(err)
	e.Advance(day(80))
	items = e.Work(clinic.WorkRefill, q.ID)
	if len(items) != 1 || items[0].HighRisk {
		t.Fatalf("morphine refill: %+v", items)
	}
	// A home report of a low reservoir makes the refill urgent at once.
	r := &clinic.Patient{}
	_ = r
	res, err := e.Svc.Ingest(e.MonitorOf("SN-10"), Report("SN-10", "TP-40", e.Now(), "1.5 mL", "LOW_RESERVOIR"))
	e.must(err)
	if res.Duplicate {
		t.Fatal("first report marked duplicate")
	}
	items = e.Work(clinic.WorkRefill, q.ID)
	if len(items) != 1 || items[0].Priority != clinic.Urgent {
		t.Fatalf("low reservoir report: %+v", items)
	}
}

func testWorklistReplacement(t *testing.T, e *Env) {
	p := e.Patient("MRN-11", "pain")
	e.Implant(p, "SN-11", "TP-40", "morphine", "10 mg/mL", "40 mL")
	_, err := e.Prescribe(p, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant")
	e.must(err)
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	var w *clinic.WorkItem
	for i := range rec.Worklist {
		if rec.Worklist[i].Kind == clinic.WorkReplacement {
			w = &rec.Worklist[i]
		}
	}
	if w == nil || w.Status != "upcoming" || !strings.Contains(w.Reason, "ERI expected") || w.ShowFrom.Before(Start.Add(day(365))) {
		t.Fatalf("replacement planning: %+v", w)
	}
	// A report at ERI makes it urgent.
	r := Report("SN-11", "TP-40", e.Now(), "30 mL", "ERI")
	r.Status.Battery = unit.Charge(60_000 * 3_600_000_000) // 60 000 µAh
	_, err = e.Svc.Ingest(e.MonitorOf(r.Serial), r)
	e.must(err)
	items := e.Work(clinic.WorkReplacement, p.ID)
	if len(items) != 1 || items[0].Priority != clinic.Urgent {
		t.Fatalf("ERI report: %+v", items)
	}
}

func testWorklistOther(t *testing.T, e *Env) {
	p := e.Patient("MRN-12", "pain")
	tr := &clinic.Trial{Method: "continuous", Drug: "morphine", DosePerDay: mustDose("0.5 mg/day"), StartedAt: e.Now()}
	e.must(e.Svc.CreateTrial(e.Physician, p.ID, tr))
	items := e.Work(clinic.WorkTrial, p.ID)
	if len(items) != 1 || !strings.Contains(items[0].Reason, "no pain scores") {
		t.Fatalf("trial pending: %+v", items)
	}
	b, tp := clinic.Score(800), clinic.Score(300)
	tr.BaselinePain, tr.TrialPain, tr.Functional = &b, &tp, "improved"
	got, err := e.Svc.UpdateTrial(e.Physician, tr.ID, tr)
	e.must(err)
	if got.Outcome != "success" || got.Reduction != "62.5%" {
		t.Fatalf("trial evaluation: %+v", got)
	}
	items = e.Work(clinic.WorkTrial, p.ID)
	if len(items) != 1 || !strings.Contains(items[0].Reason, "62.5%") {
		t.Fatalf("trial with scores: %+v", items)
	}
	got.Decision = "implant"
	_, err = e.Svc.UpdateTrial(e.Physician, tr.ID, got)
	e.must(err)
	if items := e.Work(clinic.WorkTrial, p.ID); len(items) != 0 {
		t.Fatalf("decided trial still listed: %+v", items)
	}
	// A stale version is refused.
	_, err = e.Svc.UpdateTrial(e.Physician, tr.ID, got)
	wantErr(t, err, clinic.ECONFLICT, "version")
	// Follow-ups: listed from a week before, gone when done.
	f := &clinic.FollowUp{Type: "dose_review", Due: e.Now().Add(day(10))}
	e.must(e.Svc.ScheduleFollowUp(e.Nurse, p.ID, f))
	if items := e.Work(clinic.WorkFollowUp, p.ID); len(items) != 0 {
		t.Fatalf("follow-up listed early: %+v", items)
	}
	e.Advance(day(4))
	if items := e.Work(clinic.WorkFollowUp, p.ID); len(items) != 1 {
		t.Fatalf("follow-up not listed: %+v", items)
	}
	pain := clinic.Score(350)
	_, err = e.Svc.CompleteFollowUp(e.Nurse, f.ID, clinic.FollowUpDone{PainScore: &pain, Version: f.Version})
	e.must(err)
	if items := e.Work(clinic.WorkFollowUp, p.ID); len(items) != 0 {
		t.Fatalf("done follow-up listed: %+v", items)
	}
	c := &clinic.Complication{Type: "infection", Onset: e.Now(), Description: "wound redness"}
	e.must(e.Svc.RecordComplication(e.Nurse, p.ID, c))
	at := e.Now()
	c.ResolvedAt, c.Outcome = &at, "resolved with antibiotics"
	_, err = e.Svc.UpdateComplication(e.Nurse, c.ID, c)
	e.must(err)
	e.must(e.Svc.RecordSideEffect(e.Nurse, p.ID, &clinic.SideEffect{Type: "pruritus", Severity: "mild", Drug: "morphine"}))
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.Complications) != 1 || rec.Complications[0].ResolvedAt == nil || len(rec.SideEffects) != 1 {
		t.Fatalf("record: %+v", rec)
	}
}

func testDoseTrend(t *testing.T, e *Env) {
	p := e.Patient("MRN-13", "spasticity")
	e.Implant(p, "SN-13", "TP-40", "baclofen", "2000 mcg/mL", "40 mL")
	doses := []string{"200 mcg/day", "220 mcg/day", "240 mcg/day", "260 mcg/day"}
	for i, d := range doses {
		_, err := e.Prescribe(p, "baclofen", "2000 mcg/mL", d, "titration")
		e.must(err)
		if i < 3 {
			if items := e.Work(clinic.WorkDoseTrend, p.ID); len(items) != 0 {
				t.Fatalf("trend after %d increases: %+v", i, items)
			}
		}
		e.Advance(day(7))
	}
	items := e.Work(clinic.WorkDoseTrend, p.ID)
	if len(items) != 1 || !strings.Contains(items[0].Reason, "granuloma") || !strings.Contains(items[0].Reason, "+30%") {
		t.Fatalf("dose trend: %+v", items)
	}
}

func testIngest(t *testing.T, e *Env) {
	p := e.Patient("MRN-14", "spasticity")
	e.Implant(p, "SN-14", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	e.Advance(day(2))
	r := Report("SN-14", "TP-20", e.Now(), "18 mL", "OCCLUSION")
	res, err := e.Svc.Ingest(e.MonitorOf(r.Serial), r)
	e.must(err)
	if res.Duplicate || len(res.Alarms) != 1 {
		t.Fatalf("first ingest: %+v", res)
	}
	again := Report("SN-14", "TP-20", e.Now(), "18 mL", "OCCLUSION")
	res2, err := e.Svc.Ingest(e.MonitorOf(again.Serial), again)
	e.must(err)
	if !res2.Duplicate || res2.ReportID != res.ReportID || len(res2.Alarms) != 0 {
		t.Fatalf("second ingest of the same report: %+v", res2)
	}
	other := Report("SN-14", "TP-20", e.Now(), "17 mL")
	_, err = e.Svc.Ingest(e.MonitorOf(other.Serial), other)
	wantErr(t, err, clinic.ECONFLICT, "interrogated_at")
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if len(rec.Reports) != 1 || len(rec.Alarms) != 1 || !rec.Alarms[0].Critical {
		t.Fatalf("stored %d reports, %d alarms", len(rec.Reports), len(rec.Alarms))
	}
	items := e.Work(clinic.WorkCriticalAlarm, p.ID)
	if len(items) != 1 || items[0].Priority != clinic.Urgent || !strings.Contains(items[0].Reason, "OCCLUSION") {
		t.Fatalf("critical alarm item: %+v", items)
	}
	// Read-only users may not acknowledge; nurses may.
	a := rec.Alarms[0]
	_, err = e.Svc.AckAlarm(e.ReadOnly, a.ID, clinic.AckInput{Version: a.Version})
	wantErr(t, err, clinic.EFORBIDDEN, "")
	_, err = e.Svc.AckAlarm(e.Nurse, a.ID, clinic.AckInput{Note: "catheter checked", Version: a.Version})
	e.must(err)
	// Acknowledged, a critical alarm stays listed (marked so) until a report
	// shows it cleared (testCriticalAlarm has the rest).
	if items := e.Work(clinic.WorkCriticalAlarm, p.ID); len(items) != 1 || !items[0].Acknowledged {
		t.Fatalf("acknowledged active alarm: %+v", items)
	}
	// The same alarm still active in a later report is not raised again.
	e.Advance(time.Hour)
	later := Report("SN-14", "TP-20", e.Now(), "17.9 mL")
	later.Status.ActiveAlarms = []string{"OCCLUSION"}
	res3, err := e.Svc.Ingest(e.MonitorOf(later.Serial), later)
	e.must(err)
	if len(res3.Alarms) != 0 {
		t.Fatalf("an active alarm raised again: %+v", res3)
	}
	// Bad reports: unknown pump, bad alarm, a token for another pump.
	_, err = e.Svc.Ingest(e.MonitorOf("SN-404"), Report("SN-404", "TP-20", e.Now(), "10 mL"))
	wantErr(t, err, clinic.EINVALID, "serial")
	bad := Report("SN-14", "TP-20", e.Now(), "10 mL", "HICCUP")
	_, err = e.Svc.Ingest(e.MonitorOf(bad.Serial), bad)
	wantErr(t, err, clinic.EINVALID, "status.active_alarms[0]")
	scoped := clinic.NewContext(context.Background(), &clinic.Principal{TokenID: 9, Name: "token:other", Role: clinic.Monitor, Serial: "SN-OTHER"})
	_, err = e.Svc.Ingest(scoped, Report("SN-14", "TP-20", e.Now().Add(time.Minute), "10 mL"))
	wantErr(t, err, clinic.EFORBIDDEN, "serial")
}

func testIngestConcurrent(t *testing.T, e *Env) {
	p := e.Patient("MRN-15", "pain")
	e.Implant(p, "SN-15", "TP-20", "morphine", "10 mg/mL", "20 mL")
	const n = 8
	var wg sync.WaitGroup
	results := make([]*clinic.IngestResult, n)
	errs := make([]error, n)
	at := e.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Svc.Ingest(e.MonitorOf("SN-15"), Report("SN-15", "TP-20", at, "19 mL", "MOTOR_STALL"))
		}()
	}
	wg.Wait()
	stored := 0
	for i := range n {
		e.must(errs[i])
		if !results[i].Duplicate {
			stored++
		}
	}
	rec, err := e.Svc.PatientRecord(e.ReadOnly, p.ID)
	e.must(err)
	if stored != 1 || len(rec.Reports) != 1 || len(rec.Alarms) != 1 {
		t.Fatalf("%d stored, %d reports, %d alarms; want 1 of each", stored, len(rec.Reports), len(rec.Alarms))
	}
}

func testAudit(t *testing.T, e *Env) {
	p := e.Patient("MRN-16", "pain")
	p.Notes = "changed"
	e.must(e.Svc.UpdatePatient(e.Nurse, p))
	rep, err := e.Svc.VerifyAudit(e.Admin)
	e.must(err)
	if !rep.OK || rep.Entries != 2 {
		t.Fatalf("audit: %+v", rep)
	}
	// A clinical record's content is checked against its entry's digest
	// (the store's JSON reads back byte for byte, on every store).
	e.must(e.Svc.ScheduleFollowUp(e.Nurse, p.ID, &clinic.FollowUp{Type: "dose_review", Due: e.Now().Add(48 * time.Hour)}))
	if rep, err := e.Svc.VerifyAudit(e.Admin); err != nil || !rep.OK || rep.Records < 2 {
		t.Fatalf("audit with a record: %+v %v", rep, err)
	}
	entries, err := e.Svc.Audit(e.Admin, 0, 10)
	e.must(err)
	entries = entries[:2]
	upd := entries[1]
	if upd.Actor != "nurse.joy" || upd.Action != "patient.update" || !strings.Contains(string(upd.Before), `"version":1`) ||
		!strings.Contains(string(upd.After), `"notes":"changed"`) || upd.PrevHash != entries[0].Hash {
		t.Fatalf("audit entry: %+v", upd)
	}
	// Any change to a stored entry breaks the chain.
	var after map[string]any
	e.must(json.Unmarshal(upd.After, &after))
	after["notes"] = "forged"
	upd.After, _ = json.Marshal(after)
	if r := clinic.VerifyChain(entries); r.OK || r.BadSeq != 2 {
		t.Fatalf("forged entry verified: %+v", r)
	}
	if r := clinic.VerifyChain(entries[1:]); r.OK {
		t.Fatalf("chain without its first entry verified: %+v", r)
	}
	_, err = e.Svc.VerifyAudit(e.Nurse)
	if !errors.Is(err, err) || clinic.ErrorCode(err) != clinic.EFORBIDDEN {
		t.Fatalf("nurse verified the audit: %v", err)
	}
}

// ClinicLibrary returns the default library file published as a clinic's
// own version: the same drugs and figures under version name version.
func ClinicLibrary(version string) []byte {
	return []byte(strings.Replace(string(drug.DefaultJSON()), `"version": "thecal-default-1"`, `"version": "`+version+`"`, 1))
}

func testLibrary(t *testing.T, e *Env) {
	p := e.Patient("MRN-L", "pain")
	e.Implant(p, "SN-L", "TP-20", "ziconotide", "25 mcg/mL", "20 mL")
	rx, err := e.Prescribe(p, "ziconotide", "25 mcg/mL", "1.2 mcg/day", "start")
	e.must(err)
	def := drug.Default()
	if rx.LibraryVersion != def.Version || rx.LibraryDigest != def.Digest {
		t.Fatalf("before publishing: %s %s", rx.LibraryVersion, rx.LibraryDigest)
	}
	st, err := e.Svc.LibraryVersions(e.Nurse)
	e.must(err)
	if !st.InForce.BuiltIn || st.InForce.Version != def.Version || len(st.Versions) != 0 {
		t.Fatalf("fresh clinic: %+v", st)
	}
	before := auditCount(t, e)

	// Roles: publishing clinical limits is a physician's act.
	for _, ctx := range []context.Context{e.Nurse, e.Admin, e.ReadOnly, e.Monitor} {
		_, err := e.Svc.PublishLibrary(ctx, ClinicLibrary("clinic-1"), "reviewed")
		wantErr(t, err, clinic.EFORBIDDEN, "")
	}
	_, err = e.Svc.LibraryVersions(e.Monitor)
	wantErr(t, err, clinic.EFORBIDDEN, "")

	// An invalid file is refused as a whole, every problem named by its path.
	bad := strings.Replace(string(ClinicLibrary("clinic-1")), `"dose_unit": "mcg"`, `"dose_unit": "grains"`, 1)
	bad = strings.Replace(bad, `"format": "thecal-drug-library/1",`, `"format": "thecal-drug-library/1", "colour": "red",`, 1)
	_, err = e.Svc.PublishLibrary(e.Physician, []byte(bad), "reviewed")
	wantErr(t, err, clinic.EINVALID, "file")
	probs := clinic.ErrorProblems(err)
	var paths []string
	for _, pr := range probs {
		if pr.Reason == "" {
			t.Errorf("problem without a reason: %+v", pr)
		}
		paths = append(paths, pr.Field)
	}
	if !slicesContains(paths, "colour") || !slicesContains(paths, "drugs[0].dose_unit") {
		t.Fatalf("problems %v: want colour and drugs[0].dose_unit", paths)
	}
	// No note, no file, the built-in version name: refused.
	_, err = e.Svc.PublishLibrary(e.Physician, ClinicLibrary("clinic-1"), "  ")
	wantErr(t, err, clinic.EINVALID, "note")
	_, err = e.Svc.PublishLibrary(e.Physician, nil, "reviewed")
	wantErr(t, err, clinic.EINVALID, "file")
	_, err = e.Svc.PublishLibrary(e.Physician, drug.DefaultJSON(), "the default again")
	wantErr(t, err, clinic.ECONFLICT, "version")
	if n := auditCount(t, e); n != before {
		t.Fatalf("refusals wrote %d audit entries", n-before)
	}

	// Published: in force for the next prescription, audited.
	e.Advance(day(2))
	v, err := e.Svc.PublishLibrary(e.Physician, ClinicLibrary("clinic-1"), "pain committee review 2026-01")
	e.must(err)
	if v.ID == 0 || v.Version != "clinic-1" || v.Digest == def.Digest || v.PublishedBy != "dr.house" || !v.PublishedAt.Equal(e.Now()) ||
		len(v.Drugs) != len(def.Drugs) {
		t.Fatalf("published: %+v", v)
	}
	if lib := e.Svc.Library(); lib.Version != "clinic-1" || lib.Digest != v.Digest {
		t.Fatalf("in force: %s %s", lib.Version, lib.Digest)
	}
	entries, err := e.Svc.Audit(e.Admin, 0, 1000)
	e.must(err)
	last := entries[len(entries)-1]
	if last.Action != "library.publish" || last.EntityID != v.ID || !strings.Contains(string(last.Before), def.Digest) ||
		!strings.Contains(string(last.After), v.Digest) || !strings.Contains(string(last.After), "pain committee") {
		t.Fatalf("audit: %+v before %s after %s", last, last.Before, last.After)
	}
	e.Advance(day(2))
	rx2, err := e.PrescribeConfirmed(p, "ziconotide", "25 mcg/mL", "2.4 mcg/day", "titration")
	e.must(err)
	if rx2.LibraryVersion != "clinic-1" || rx2.LibraryDigest != v.Digest {
		t.Fatalf("after publishing the prescription records %s %s", rx2.LibraryVersion, rx2.LibraryDigest)
	}

	// Immutable: the same version name again is refused, even changed.
	changed := strings.Replace(string(ClinicLibrary("clinic-1")), `"Prialt"`, `"Prialt (clinic stock)"`, 1)
	_, err = e.Svc.PublishLibrary(e.Physician, []byte(changed), "a change")
	wantErr(t, err, clinic.ECONFLICT, "version")
	_, err = e.Svc.PublishLibrary(e.Physician, ClinicLibrary("clinic-1"), "again")
	wantErr(t, err, clinic.ECONFLICT, "version")
	e.Advance(time.Hour)
	v2, err := e.Svc.PublishLibrary(e.Physician, []byte(strings.Replace(changed, "clinic-1", "clinic-2", 1)), "stock name")
	e.must(err)

	st, err = e.Svc.LibraryVersions(e.ReadOnly)
	e.must(err)
	if st.InForce.BuiltIn || st.InForce.Version != "clinic-2" || len(st.Versions) != 2 || st.Versions[0].ID != v2.ID ||
		st.Versions[1].Note != "pain committee review 2026-01" || st.Versions[0].Data != nil {
		t.Fatalf("versions: %+v", st)
	}

	// A restart (a new service over the same store, started with the
	// built-in default) puts the newest published version in force.
	svc := clinic.NewService(e.Store, drug.Default(), nil)
	svc.Now = e.Now
	lib, err := svc.LoadLibrary(context.Background())
	e.must(err)
	if lib.Version != "clinic-2" || lib.Digest != v2.Digest || svc.Library() != lib {
		t.Fatalf("after restart: %s %s", lib.Version, lib.Digest)
	}
	// Another server sharing the store publishes: this one checks the next
	// prescription against it without a restart.
	e.Advance(time.Hour)
	v3, err := svc.PublishLibrary(e.Physician, ClinicLibrary("clinic-3"), "from the other server")
	e.must(err)
	e.Advance(day(2))
	rx3, err := e.Prescribe(p, "ziconotide", "25 mcg/mL", "3.6 mcg/day", "titration")
	e.must(err)
	if rx3.LibraryVersion != "clinic-3" || rx3.LibraryDigest != v3.Digest || e.Svc.Library().Version != "clinic-3" {
		t.Fatalf("the other server's version not used: %s", rx3.LibraryVersion)
	}
	rep, err := e.Svc.VerifyAudit(e.Admin)
	e.must(err)
	if !rep.OK {
		t.Fatalf("audit chain: %+v", rep)
	}
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// MonitorOf is a home monitor's token bound to one pump.
func (e *Env) MonitorOf(serial string) context.Context {
	return clinic.NewContext(context.Background(), &clinic.Principal{TokenID: 1, Name: "token:home", Role: clinic.Monitor, Serial: serial})
}
