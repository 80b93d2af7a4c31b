package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/store/sqlite"
)

func open(t *testing.T) clinic.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "thecal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestService(t *testing.T) { clinictest.Run(t, open) }

func TestGroupCommit(t *testing.T) { clinictest.GroupCommit(t, open(t).(*store.DB)) }

// TestAuditAppendOnly: the database itself refuses to change or remove an
// audit entry, and a forged entry written around the triggers is found.
func TestAuditAppendOnly(t *testing.T) {
	e := clinictest.NewEnv(t, open)
	e.Patient("A-1", "pain")
	db := e.Store.(*store.DB)
	ctx := context.Background()
	if _, err := db.W.ExecContext(ctx, "UPDATE audit SET actor = 'mallory'"); err == nil {
		t.Fatal("an audit entry was changed")
	}
	if _, err := db.W.ExecContext(ctx, "DELETE FROM audit"); err == nil {
		t.Fatal("an audit entry was deleted")
	}
	// Someone with the file drops the trigger and forges an entry: verify finds it.
	for _, q := range []string{"DROP TRIGGER audit_no_update", "UPDATE audit SET actor = 'mallory' WHERE seq = 1"} {
		if _, err := db.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.Svc.VerifyAudit(e.Admin)
	if err != nil || rep.OK || rep.BadSeq != 1 {
		t.Fatalf("forged entry not found: %+v %v", rep, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	// The second open applies nothing: the schema stays at the newest
	// migration (whatever its number: the lead may renumber at merge).
	first := 0
	for range 2 {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := store.SchemaVersion(context.Background(), db.W)
		if err != nil || v < 3 || first != 0 && v != first {
			t.Fatalf("schema %d (first open: %d) %v", v, first, err)
		}
		first = v
		db.Close()
	}
}

// TestPrescriptionMigration: prescriptions stored before the pump program
// moved into "program" come out of the migration whole.
func TestPrescriptionMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m store.Migration) bool { return strings.HasSuffix(m.Name, clinictest.PrescriptionMigration) })
	if i < 0 {
		t.Fatalf("no migration named *%s", clinictest.PrescriptionMigration)
	}
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, old, &sqlite.Dialect, ms[:i], ""); err != nil {
		t.Fatal(err)
	}
	pid := clinictest.InsertLegacy(t, old, func(q string) string { return q })
	old.Close()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clinictest.CheckLegacy(t, db, pid)
	clinictest.CheckIndexed(t, db, pid)
}
