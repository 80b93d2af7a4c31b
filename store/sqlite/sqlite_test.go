package sqlite_test

import (
	"context"
	"path/filepath"
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
