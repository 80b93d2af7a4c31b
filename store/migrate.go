package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// conversions are the Go steps of migrations that convert stored records
// into a new form, by the migration's name without its number (the numbers
// may change when branches merge). A step runs once, after the migration's
// SQL, in its transaction: records change through the clinic's audit chain
// (clinic.ConvertPrescriptions), not by SQL behind it.
var conversions = map[string]func(clinic.Tx, time.Time) (int, error){
	"prescription_program.sql": clinic.ConvertPrescriptions,
	"patient_index.sql":        clinic.IndexPatients,
}

// Migrations reads NNNN_name.sql files from fsys, in order of their number.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q is not named NNNN_name.sql", n)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: n, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("store: two migrations numbered %d", out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies the migrations not yet applied, in order, each in its own
// transaction together with its row in schema_migrations. lock, if not nil,
// runs first in each transaction (PostgreSQL takes an advisory lock so that
// servers starting together do not race).
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, ms []Migration, lock string) error {
	// Under the lock too: two servers starting together on an empty
	// PostgreSQL database both create the table, and CREATE TABLE IF NOT
	// EXISTS is not safe against a concurrent one (a unique violation in the
	// catalogue; found by TestTwoServersOnePostgres).
	if err := createMigrationsTable(ctx, db, lock); err != nil {
		return fmt.Errorf("store: schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyOne(ctx, db, d, m, lock); err != nil {
			return err
		}
	}
	return nil
}

func createMigrationsTable(ctx context.Context, db *sql.DB, lock string) error {
	sqlTx, err := beginLocked(ctx, db, lock)
	if err != nil {
		return err
	}
	defer func() { _ = sqlTx.Rollback() }()
	if _, err := sqlTx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// beginLocked begins a transaction and runs lock in it first (none when "").
func beginLocked(ctx context.Context, db *sql.DB, lock string) (*sql.Tx, error) {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if lock != "" {
		if _, err := sqlTx.ExecContext(ctx, lock); err != nil {
			_ = sqlTx.Rollback()
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
	}
	return sqlTx, nil
}

func applyOne(ctx context.Context, db *sql.DB, d *Dialect, m Migration, lock string) error {
	sqlTx, err := beginLocked(ctx, db, lock)
	if err != nil {
		return err
	}
	defer func() { _ = sqlTx.Rollback() }()
	var n int
	if err := sqlTx.QueryRowContext(ctx, Rebind(d, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if hasStatements(m.SQL) {
		if _, err := sqlTx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
	}
	_, name, _ := strings.Cut(m.Name, "_")
	if convert := conversions[name]; convert != nil {
		if _, err := convert(&tx{ctx: ctx, tx: sqlTx, d: d, write: true}, time.Now()); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
	}
	if _, err := sqlTx.ExecContext(ctx, Rebind(d, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// SchemaVersion returns the newest migration applied.
func SchemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	return int(v.Int64), err
}

// hasStatements reports whether a migration's SQL holds more than comments.
func hasStatements(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return true
		}
	}
	return false
}
