package demo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/store/sqlite"
)

// generated is a clinic seeded with n generated patients beside the six, on
// a fixed clock, and what it holds: every patient's MRN and name, and how
// many records of each kind.
func generated(t *testing.T, n int) (*Clinic, []string, map[clinic.Kind]int) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := clinic.NewService(db, drug.Default(), nil)
	clock := NewClock(time.Now())
	svc.Now = clock.Now
	svc.PasswordParams = clinic.PasswordParams{Time: 1, Memory: 1024, Threads: 1}
	var progress []int
	c, err := Seed(ctx, svc, clock, Options{Now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Patients: n, Years: 10,
		Progress: func(done int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != n {
		t.Errorf("progress %v, want it to end at %d", progress, n)
	}
	var names []string
	kinds := map[clinic.Kind]int{}
	err = db.View(ctx, func(tx clinic.Tx) error {
		ps, err := tx.PatientsAfter(0, 10000)
		for _, p := range ps {
			names = append(names, p.MRN+" "+p.FamilyName+", "+p.GivenName)
		}
		if err != nil {
			return err
		}
		rs, err := tx.RecordsAfter(0, 1_000_000)
		for _, r := range rs {
			kinds[r.Kind]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, names, kinds
}

// TestGenerate: `--patients N` adds N patients with years of history beside
// the six, the same again for the same seed and clock, every record audited
// (the chain and every record's digest verify), found by the search, on the
// worklist.
func TestGenerate(t *testing.T) {
	const n = 120 // more than one batch
	c, names, kinds := generated(t, n)
	if len(names) != n+6 {
		t.Fatalf("%d patients, want %d", len(names), n+6)
	}
	for _, k := range []clinic.Kind{clinic.KindImplant, clinic.KindPrescription, clinic.KindRefill, clinic.KindFollowUp, clinic.KindReport, clinic.KindTrial} {
		if kinds[k] == 0 {
			t.Errorf("no %s generated: %v", k, kinds)
		}
	}
	if kinds[clinic.KindRefill] < n*5 {
		t.Errorf("%d refills for %d patients with up to 10 years: too few", kinds[clinic.KindRefill], n)
	}
	_, again, kinds2 := generated(t, n)
	if !slices.Equal(names, again) || len(kinds) != len(kinds2) {
		t.Errorf("not deterministic:\n%v\n%v", names[:8], again[:8])
	}
	for k, v := range kinds {
		if kinds2[k] != v {
			t.Errorf("%s: %d then %d", k, v, kinds2[k])
		}
	}
	sys := clinic.NewContext(context.Background(), clinic.System)
	rep, err := c.Svc.VerifyAudit(sys)
	if err != nil || !rep.OK {
		t.Fatalf("audit after generating: %+v %v", rep, err)
	}
	if rep.Records < int64(n) {
		t.Errorf("%d records checked against the chain", rep.Records)
	}
	pg, err := c.Svc.PatientList(sys, clinic.PatientFilter{Query: GeneratedMRN(7)})
	if err != nil || pg.Total != 1 {
		t.Errorf("search by a generated MRN: %+v %v", pg, err)
	}
	wl, err := c.Svc.WorklistPage(sys, clinic.WorkQuery{Kind: clinic.WorkRefill})
	if err != nil || wl.Total < n/4 {
		t.Errorf("refills on the worklist: %d %v", wl.Total, err)
	}
}
