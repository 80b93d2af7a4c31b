// Package postgres keeps the clinic's records in PostgreSQL through pgx (its
// database/sql driver), for clinics and health systems that run several
// stateless servers on one database. It applies the embedded migrations under
// an advisory lock, and makes and restores logical exports. The queries are
// package store's.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/thecal/thecal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Dialect is PostgreSQL's.
var Dialect = store.Dialect{
	Name:     "postgres",
	Numbered: true,
	// The audit head first: every write ends there (store.Dialect.WriteLock).
	WriteLock: "SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE",
	IsUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	IsRetryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
	},
	// Full text: every word a prefix ('maria':*), all of them (&).
	Search: "x.search_tsv @@ to_tsquery('simple', ?)",
	SearchQuery: func(words []string) string {
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + strings.ReplaceAll(w, "'", "''") + "':*"
		}
		return strings.Join(q, " & ")
	},
}

// migrationLock is the advisory lock held while migrating: servers starting
// together apply each migration once.
const migrationLock = "SELECT pg_advisory_xact_lock(7411327300)"

// Open connects to the database at url (postgres://…), and migrates it. A
// search_path in the URL's options selects a schema.
func Open(ctx context.Context, url string, maxConns int) (*store.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	if maxConns <= 0 {
		maxConns = 16
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := store.Migrate(ctx, db, &Dialect, ms, migrationLock); err != nil {
		db.Close()
		return nil, err
	}
	return &store.DB{W: db, R: db, Dialect: Dialect}, nil
}

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return store.Migrations(sub)
}

// Export writes a logical export of the database from one snapshot: the
// server can keep running. pg_dump is the other way (docs/clinic.md).
func Export(ctx context.Context, db *store.DB, w io.Writer) (int, error) { return db.Export(ctx, w) }

// Import restores an export into an empty (freshly migrated) database and
// moves the identity sequences past the restored ids.
func Import(ctx context.Context, db *store.DB, r io.Reader) (int, error) {
	var after []string
	for _, t := range []string{"users", "tokens", "patients", "records", "library_versions"} {
		after = append(after, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", t, t))
	}
	return db.Import(ctx, r, after)
}

// CreateSchema makes a new schema and returns a URL whose connections use it:
// tests isolate each run this way.
func CreateSchema(ctx context.Context, url, schema string) (string, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema, nil
}

// DropSchema removes a schema made by CreateSchema, with everything in it.
func DropSchema(ctx context.Context, url, schema string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}
