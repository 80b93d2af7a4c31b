package clinictest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
)

// named creates a patient with the given names.
func (e *Env) named(mrn, family, given, indication string) *clinic.Patient {
	e.T.Helper()
	p := &clinic.Patient{MRN: mrn, FamilyName: family, GivenName: given, BirthDate: clinic.Date{Time: time.Date(1970, 3, 1, 0, 0, 0, 0, time.UTC)},
		Sex: "female", Indication: indication}
	e.must(e.Svc.CreatePatient(e.Nurse, p))
	return p
}

func mrns(pg *clinic.PatientPage) []string {
	var out []string
	for _, r := range pg.Patients {
		out = append(out, r.MRN)
	}
	return out
}

// testPatientSearch: a search over names in any order with accents folded,
// MRN, pump serial and drug, through the database's text index; filters by
// status, drug and pump model; paging with the total; sorting.
func testPatientSearch(t *testing.T, e *Env) {
	novak := e.named("MRN-100", "Novák", "María", "spasticity")
	e.named("MRN-101", "Novakova", "Jana", "pain")
	e.named("MRN-102", "Smith", "Maria", "pain")
	e.named("MRN-200", "Ødegård", "Ola", "pain")
	e.Implant(novak, "TP40-000123", "TP-40", "baclofen", "2000 mcg/mL", "40 mL")

	search := func(f clinic.PatientFilter) []string {
		t.Helper()
		pg, err := e.Svc.PatientList(e.ReadOnly, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if pg.Total < len(pg.Patients) {
			t.Fatalf("%+v: total %d below the page's %d", f, pg.Total, len(pg.Patients))
		}
		got := mrns(pg)
		slices.Sort(got)
		return got
	}
	for q, want := range map[string][]string{
		"maria novak": {"MRN-100"},            // any order, accents folded
		"novak maria": {"MRN-100"},            //
		"Novák":       {"MRN-100", "MRN-101"}, // a prefix of Novakova too
		"NOVÁKOVÁ":    {"MRN-101"},            //
		"maria":       {"MRN-100", "MRN-102"}, //
		"mrn-10":      {"MRN-100", "MRN-101", "MRN-102"},
		"MRN-200":     {"MRN-200"},
		"tp40-000123": {"MRN-100"}, // pump serial, with its dash
		"TP40000123":  {"MRN-100"}, // and without
		"baclofen":    {"MRN-100"}, // drug
		"odegard":     nil,         // ø is a letter of its own, not o with a mark
		"ødegård ola": {"MRN-200"},
		"smith novak": nil,
		"zzz":         nil,
		"  maria   ":  {"MRN-100", "MRN-102"},
	} {
		if got := search(clinic.PatientFilter{Query: q}); !slices.Equal(got, want) {
			t.Errorf("search %q: got %v, want %v", q, got, want)
		}
	}
	if got := search(clinic.PatientFilter{Status: clinic.StatusImplanted}); !slices.Equal(got, []string{"MRN-100"}) {
		t.Errorf("implanted: %v", got)
	}
	if got := search(clinic.PatientFilter{Status: clinic.StatusReferred, Query: "maria"}); !slices.Equal(got, []string{"MRN-102"}) {
		t.Errorf("referred maria: %v", got)
	}
	if got := search(clinic.PatientFilter{Drug: "baclofen", Model: "TP-40"}); !slices.Equal(got, []string{"MRN-100"}) {
		t.Errorf("baclofen TP-40: %v", got)
	}
	if got := search(clinic.PatientFilter{Model: "TP-20"}); got != nil {
		t.Errorf("TP-20: %v", got)
	}
	// The row carries the list columns.
	pg, err := e.Svc.PatientList(e.ReadOnly, clinic.PatientFilter{Query: "novak maria"})
	e.must(err)
	if r := pg.Patients[0]; r.Status != clinic.StatusImplanted || r.Drug != "baclofen" || r.Model != "TP-40" || r.Serial != "TP40-000123" {
		t.Errorf("row: %+v", r)
	}

	// Paging: 25 more patients, pages of 10 by name, the total beside them.
	for i := range 25 {
		e.named(fmt.Sprintf("PG-%02d", i), fmt.Sprintf("Page%02d", i), "P", "pain")
	}
	var all []string
	for off := 0; ; off += 10 {
		pg, err := e.Svc.PatientList(e.ReadOnly, clinic.PatientFilter{Query: "page", Limit: 10, Offset: off})
		e.must(err)
		if pg.Total != 25 {
			t.Fatalf("total %d, want 25", pg.Total)
		}
		all = append(all, mrns(pg)...)
		if len(pg.Patients) < 10 {
			break
		}
	}
	if len(all) != 25 || !slices.IsSorted(all) || all[0] != "PG-00" {
		t.Errorf("pages by name: %v", all)
	}
	pg, err = e.Svc.PatientList(e.ReadOnly, clinic.PatientFilter{Sort: "newest", Limit: 1})
	e.must(err)
	if pg.Patients[0].MRN != "PG-24" || pg.Total != 29 {
		t.Errorf("newest: %v of %d", mrns(pg), pg.Total)
	}
	// A patient's new name is found at once.
	p, err := e.Svc.Patient(e.Nurse, novak.ID)
	e.must(err)
	p.FamilyName = "Dvořák"
	e.must(e.Svc.UpdatePatient(e.Nurse, p))
	if got := search(clinic.PatientFilter{Query: "dvorak"}); !slices.Equal(got, []string{"MRN-100"}) {
		t.Errorf("after the change: %v", got)
	}
	if got := search(clinic.PatientFilter{Query: "maria novak"}); got != nil {
		t.Errorf("old name still found: %v", got)
	}

	for _, bad := range []struct {
		f     clinic.PatientFilter
		field string
	}{
		{clinic.PatientFilter{Limit: clinic.MaxPage + 1}, "limit"},
		{clinic.PatientFilter{Offset: -1}, "offset"},
		{clinic.PatientFilter{Status: "dead"}, "status"},
		{clinic.PatientFilter{Sort: "age"}, "sort"},
		{clinic.PatientFilter{Query: "a\x00b"}, "q"},
		{clinic.PatientFilter{Query: "a b c d e f g h i"}, "q"},
	} {
		_, err := e.Svc.PatientList(e.ReadOnly, bad.f)
		wantErr(t, err, clinic.EINVALID, bad.field)
	}
	_, err = e.Svc.PatientList(e.Admin, clinic.PatientFilter{})
	wantErr(t, err, clinic.EFORBIDDEN, "")
}

// testWorklistFilters: filters by kind, urgency, due window and drug; the
// total beside the page; the refill item says what to prepare.
func testWorklistFilters(t *testing.T, e *Env) {
	bac := e.Patient("WL-1", "spasticity")
	e.Implant(bac, "WL-S1", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	_, err := e.Prescribe(bac, "baclofen", "2000 mcg/mL", "400 mcg/day", "the screening bolus of 50 mcg relieved her spasms for 8 hours")
	e.must(err)
	mor := e.Patient("WL-2", "pain")
	e.Implant(mor, "WL-S2", "TP-40", "morphine", "10 mg/mL", "40 mL")
	_, err = e.Prescribe(mor, "morphine", "10 mg/mL", "3 mg/day", "oral morphine 120 mg a day before the trial, well tolerated")
	e.must(err)
	e.Advance(day(150)) // both refills show (TP-20 at 0.2 mL/day, TP-40 at 0.3 mL/day)

	page := func(q clinic.WorkQuery) *clinic.WorkPage {
		t.Helper()
		pg, err := e.Svc.WorklistPage(e.ReadOnly, q)
		e.must(err)
		if pg.Total < len(pg.Items) {
			t.Fatalf("total %d below the page's %d", pg.Total, len(pg.Items))
		}
		return pg
	}
	all := page(clinic.WorkQuery{Limit: 1000})
	if all.Total != len(all.Items) || all.Total < 4 {
		t.Fatalf("all: %d of %d", len(all.Items), all.Total)
	}
	refills := page(clinic.WorkQuery{Kind: clinic.WorkRefill})
	if refills.Total != 2 {
		t.Fatalf("refills: %+v", refills.Items)
	}
	for _, w := range refills.Items {
		want := map[string][2]string{"baclofen": {"2000 mcg/mL", "20 mL"}, "morphine": {"10 mg/mL", "40 mL"}}[w.Drug]
		if w.Concentration != mustConc(want[0]) || w.Volume != mustVol(want[1]) {
			t.Errorf("refill of %s: prepare %v %v, want %v", w.Drug, w.Concentration, w.Volume, want)
		}
	}
	bacItems := page(clinic.WorkQuery{Drug: "baclofen"})
	for _, w := range bacItems.Items {
		if w.PatientID != bac.ID || w.Drug != "baclofen" {
			t.Errorf("drug filter: %+v", w)
		}
	}
	if bacItems.Total == 0 || bacItems.Total+page(clinic.WorkQuery{Drug: "morphine"}).Total != all.Total {
		t.Errorf("drug filters do not split the worklist: %d + … of %d", bacItems.Total, all.Total)
	}
	high := page(clinic.WorkQuery{Priority: clinic.High})
	for _, w := range high.Items {
		if w.Priority != clinic.High {
			t.Errorf("priority filter: %+v", w)
		}
	}
	// The due window: the items due in it, and together with the rest all.
	mid := refills.Items[0].Due
	before, after := page(clinic.WorkQuery{DueTo: mid}), page(clinic.WorkQuery{DueFrom: mid})
	if before.Total+after.Total != all.Total {
		t.Errorf("due windows split %d into %d + %d", all.Total, before.Total, after.Total)
	}
	for _, w := range after.Items {
		if w.Due.Before(mid) {
			t.Errorf("due from %v: %+v", mid, w)
		}
	}
	byDue := page(clinic.WorkQuery{Sort: "due", Limit: 1000})
	if !slices.IsSortedFunc(byDue.Items, func(a, b clinic.WorkItem) int { return a.Due.Compare(b.Due) }) {
		t.Error("sort by due is not")
	}
	one := page(clinic.WorkQuery{Limit: 1, Offset: 1})
	if len(one.Items) != 1 || one.Total != all.Total || one.Items[0] != all.Items[1] {
		t.Errorf("second page of one: %+v of %d", one.Items, one.Total)
	}
	for _, bad := range []struct {
		q     clinic.WorkQuery
		field string
	}{
		{clinic.WorkQuery{Kind: "nap"}, "kind"},
		{clinic.WorkQuery{Priority: 4}, "priority"},
		{clinic.WorkQuery{Sort: "name"}, "sort"},
		{clinic.WorkQuery{DueFrom: mid, DueTo: mid}, "due_to"},
		{clinic.WorkQuery{Limit: -1}, "limit"},
	} {
		_, err := e.Svc.WorklistPage(e.ReadOnly, bad.q)
		wantErr(t, err, clinic.EINVALID, bad.field)
	}
}

// testAuditView: the audit by person, patient, action and time, with names
// and each change as old → new.
func testAuditView(t *testing.T, e *Env) {
	sys := clinic.NewContext(e.Physician, clinic.System)
	name := "Dr Gregory House"
	role := clinic.Physician
	pw := "a long enough password"
	_, err := e.Svc.CreateUser(sys, clinic.UserInput{Username: "dr.house", Name: &name, Role: &role, Password: &pw})
	e.must(err)
	p := e.named("AU-1", "Novák", "Maria", "pain")
	e.Advance(time.Hour)
	q := e.named("AU-2", "Other", "Olga", "pain")
	mid := e.Now()
	e.Advance(time.Hour)
	cur, err := e.Svc.Patient(e.Physician, p.ID)
	e.must(err)
	cur.FamilyName, cur.Notes = "Dvořák", "moved"
	e.must(e.Svc.UpdatePatient(e.Physician, cur))

	log := func(f clinic.AuditFilter) *clinic.AuditPage {
		t.Helper()
		pg, err := e.Svc.AuditLog(e.Admin, f)
		e.must(err)
		return pg
	}
	upd := log(clinic.AuditFilter{Action: "patient.update"})
	if upd.Total != 1 || len(upd.Entries) != 1 {
		t.Fatalf("patient.update: %d", upd.Total)
	}
	row := upd.Entries[0]
	if row.ActorName != name || row.PatientName != "Dvořák, Maria" {
		t.Errorf("names: %q, %q", row.ActorName, row.PatientName)
	}
	want := []clinic.Change{{Field: "family_name", Old: "Novák", New: "Dvořák"}, {Field: "notes", Old: "", New: "moved"}}
	if !slices.Equal(row.Changes, want) {
		t.Errorf("changes: %+v, want %+v", row.Changes, want)
	}
	mine := log(clinic.AuditFilter{PatientID: p.ID, Oldest: true})
	if mine.Total < 3 { // create, read, update
		t.Fatalf("patient %d: %d entries", p.ID, mine.Total)
	}
	for _, r := range mine.Entries {
		if r.PatientID != p.ID {
			t.Errorf("patient filter: %+v", r.AuditEntry)
		}
	}
	if mine.Entries[0].Action != "patient.create" || mine.Entries[0].Changes[0].New == "" {
		t.Errorf("oldest first: %+v", mine.Entries[0])
	}
	byNurse := log(clinic.AuditFilter{Actor: "nurse.joy", Action: "patient"})
	if byNurse.Total != 2 {
		t.Errorf("nurse's patient entries: %d", byNurse.Total)
	}
	early := log(clinic.AuditFilter{To: mid, Action: "patient.create"})
	late := log(clinic.AuditFilter{From: mid, Action: "patient.create"})
	if early.Total != 1 || late.Total != 1 || late.Entries[0].PatientID != q.ID {
		t.Errorf("date range: %d before, %d from %v", early.Total, late.Total, mid)
	}
	everything := log(clinic.AuditFilter{Limit: 2})
	if len(everything.Entries) != 2 || everything.Total < 5 || everything.Entries[0].Seq < everything.Entries[1].Seq {
		t.Errorf("newest first with total: %d of %d", len(everything.Entries), everything.Total)
	}
	_, err = e.Svc.AuditLog(e.Admin, clinic.AuditFilter{From: mid, To: mid})
	wantErr(t, err, clinic.EINVALID, "to")
	_, err = e.Svc.AuditLog(e.Physician, clinic.AuditFilter{})
	wantErr(t, err, clinic.EFORBIDDEN, "")
}

// testSignInLockShared: two services on one store — two servers, each with
// its own sign-in counts — see one lock: ten failures through the first
// lock the account on the second too, and an administrator lifting it
// through the second lifts it on the first.
func testSignInLockShared(t *testing.T, e *Env) {
	other := clinic.NewService(e.Store, e.Svc.Library(), nil)
	other.Now, other.PasswordParams = e.Now, e.Svc.PasswordParams
	sys := clinic.NewContext(e.Admin, clinic.System)
	name, role, pw := "Dr Lock", clinic.Physician, "a long enough password"
	_, err := e.Svc.CreateUser(sys, clinic.UserInput{Username: "dr.lock", Name: &name, Role: &role, Password: &pw})
	e.must(err)
	for i := 0; i < e.Svc.AccountThrottle.LockAfter; i++ {
		e.Advance(2 * time.Minute) // past any back-off
		_, _, _, err := e.Svc.Login(e.Admin, clinic.Credentials{Username: "dr.lock", Password: fmt.Sprintf("wrong %d", i), Addr: fmt.Sprintf("192.0.2.%d", i)})
		if clinic.ErrorCode(err) != clinic.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	e.Advance(time.Second)
	_, _, _, err = other.Login(e.Admin, clinic.Credentials{Username: "dr.lock", Password: pw, Addr: "198.51.100.1"})
	if clinic.ErrorCode(err) != clinic.ETHROTTLED {
		t.Fatalf("the right password through the other server while locked: %v, want throttled", err)
	}
	items, err := other.SecurityItems(e.Admin, true)
	e.must(err)
	if len(items) != 1 || items[0].Kind != clinic.AccountLocked {
		t.Fatalf("security items: %+v", items)
	}
	_, err = other.ResolveSecurityItem(e.Admin, items[0].ID)
	e.must(err)
	if _, _, _, err := e.Svc.Login(e.Admin, clinic.Credentials{Username: "dr.lock", Password: pw, Addr: "198.51.100.2"}); err != nil {
		t.Errorf("after the lock was lifted through the other server: %v", err)
	}
}
