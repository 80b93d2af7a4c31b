package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/store/postgres"
)

// testURL is the database THECAL_TEST_POSTGRES names; the tests skip without it.
func testURL(t testing.TB) string {
	u := os.Getenv("THECAL_TEST_POSTGRES")
	if u == "" {
		t.Skip("THECAL_TEST_POSTGRES is not set: the PostgreSQL store is not tested")
	}
	return u
}

// newSchema makes a fresh, empty schema, dropped at the end of the test, and
// returns the URL whose connections use it.
func newSchema(t testing.TB) string {
	t.Helper()
	base := testURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "thecal_test_" + hex.EncodeToString(b)
	url, err := postgres.CreateSchema(context.Background(), base, schema)
	if err != nil {
		t.Fatalf("PostgreSQL at THECAL_TEST_POSTGRES is not reachable: %v", err)
	}
	t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), base, schema) })
	return url
}

// openSchema opens the store in a fresh schema, dropped at the end of the test.
func openSchema(t testing.TB) (clinic.Store, string) {
	t.Helper()
	ctx := context.Background()
	url := newSchema(t)
	db, err := postgres.Open(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}

func TestService(t *testing.T) {
	clinictest.Run(t, func(t *testing.T) clinic.Store { s, _ := openSchema(t); return s })
}

func TestGroupCommit(t *testing.T) {
	s, _ := openSchema(t)
	clinictest.GroupCommit(t, s.(*store.DB))
}

// TestPrescriptionMigration: prescriptions stored before the pump program
// moved into "program" come out of the migration whole.
func TestPrescriptionMigration(t *testing.T) {
	ctx := context.Background()
	url := newSchema(t)
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m store.Migration) bool { return strings.HasSuffix(m.Name, clinictest.PrescriptionMigration) })
	if i < 0 {
		t.Fatalf("no migration named *%s", clinictest.PrescriptionMigration)
	}
	old, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, old, &postgres.Dialect, ms[:i], ""); err != nil {
		t.Fatal(err)
	}
	pid := clinictest.InsertLegacy(t, old, func(q string) string { return store.Rebind(&postgres.Dialect, q) })
	old.Close()
	db, err := postgres.Open(ctx, url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clinictest.CheckLegacy(t, db, pid)
	clinictest.CheckIndexed(t, db, pid)
}

func TestAuditAppendOnly(t *testing.T) {
	e := clinictest.NewEnv(t, func(t *testing.T) clinic.Store { s, _ := openSchema(t); return s })
	e.Patient("A-1", "pain")
	db := e.Store.(*store.DB)
	ctx := context.Background()
	for _, q := range []string{"UPDATE audit SET actor = 'mallory'", "DELETE FROM audit", "TRUNCATE audit"} {
		if _, err := db.W.ExecContext(ctx, q); err == nil {
			t.Fatalf("%s: the audit trail changed", q)
		}
	}
}

// TestExportImport moves a clinic through a logical export into a fresh
// database and checks the records and the audit chain came across.
func TestExportImport(t *testing.T) {
	e := clinictest.NewEnv(t, func(t *testing.T) clinic.Store { s, _ := openSchema(t); return s })
	p := e.Patient("X-1", "spasticity")
	e.Implant(p, "SN-X", "TP-20", "baclofen", "2000 mcg/mL", "20 mL")
	var buf bytes.Buffer
	n, err := postgres.Export(context.Background(), e.Store.(*store.DB), &buf)
	if err != nil || n == 0 {
		t.Fatalf("export: %d %v", n, err)
	}
	dst, _ := openSchema(t)
	// An export of another schema is refused before anything is written: its
	// rows have not been through the migrations that convert stored data.
	head, rest, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	var h map[string]any
	if err := json.Unmarshal(head, &h); err != nil {
		t.Fatal(err)
	}
	h["schema"] = h["schema"].(float64) - 1
	old, _ := json.Marshal(h)
	if _, err := postgres.Import(context.Background(), dst.(*store.DB), bytes.NewReader(append(append(old, '\n'), rest...))); err == nil ||
		!strings.Contains(err.Error(), "the export is of schema") {
		t.Fatalf("an export of an older schema: %v", err)
	}
	if _, err := postgres.Import(context.Background(), dst.(*store.DB), bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	e2 := clinictest.NewEnv(t, func(*testing.T) clinic.Store { return dst })
	rep, err := e2.Svc.VerifyAudit(e2.Admin)
	if err != nil || !rep.OK || rep.Entries == 0 {
		t.Fatalf("imported audit: %+v %v", rep, err)
	}
	rec, err := e2.Svc.PatientRecord(e2.ReadOnly, p.ID)
	if err != nil || len(rec.Implants) != 1 || len(rec.FollowUps) == 0 {
		t.Fatalf("imported record: %+v %v", rec, err)
	}
	// New rows get new ids after the import.
	e2.Patient("X-2", "pain")
	// Importing into a database that is not empty is refused.
	if _, err := postgres.Import(context.Background(), dst.(*store.DB), bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("import into a non-empty database")
	}
}
