// Package sqlite keeps the clinic's records in an embedded SQLite database
// (modernc.org/sqlite, no cgo): it opens the file in WAL mode with foreign keys,
// a busy timeout and full synchronous commits, applies the embedded migrations,
// and makes and restores online backups. The queries are package store's.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/thecal/thecal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Dialect is SQLite's.
var Dialect = store.Dialect{
	Name: "sqlite",
	IsUnique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsRetryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY)
	},
	// FTS5: every word a prefix ("maria"*), all of them (implicit AND).
	Search: "x.patient_id IN (SELECT rowid FROM patient_search WHERE patient_search MATCH ?)",
	SearchQuery: func(words []string) string {
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
		}
		return strings.Join(q, " ")
	},
}

// dsn is the connection string: WAL, foreign keys, a busy timeout, and full
// synchronous commits (a commit is on disk before it is acknowledged).
func dsn(path string, readOnly bool) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		v.Add("_pragma", "query_only(1)")
	} else {
		v.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + v.Encode()
}

// Open opens (creating if need be) the database at path and migrates it.
func Open(ctx context.Context, path string) (*store.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: no database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	w := sql.OpenDB(connector{dsn(path, false)})
	// One writer: SQLite serialises writes anyway; queueing them in Go avoids
	// busy waits. Reads run beside it on their own connections (WAL).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	ms, err := Migrations()
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := store.Migrate(ctx, w, &Dialect, ms, ""); err != nil {
		w.Close()
		return nil, err
	}
	r := sql.OpenDB(connector{dsn(path, true)})
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &store.DB{W: w, R: r, Dialect: Dialect}, nil
}

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return store.Migrations(sub)
}

// Backup writes a consistent copy of the live database at src to dst with
// VACUUM INTO: it reads one snapshot while the server goes on writing.
func Backup(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("sqlite: %s exists: backup writes a new file", dst)
	}
	// Not query_only: VACUUM INTO writes the new file (the source is only read).
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// Check opens a backup file read-only, runs SQLite's integrity check and
// returns its schema version.
func Check(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return 0, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("sqlite: %s fails the integrity check: %s", path, res)
	}
	return store.SchemaVersion(ctx, db)
}

// Restore replaces the database at dst with the backup at src through
// SQLite's online backup API: a running server keeps its connections and sees
// the restored records from its next transaction on. The backup is checked
// first; a schema newer than this program knows is refused.
func Restore(ctx context.Context, dst, src string) error {
	v, err := Check(ctx, src)
	if err != nil {
		return err
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if v > ms[len(ms)-1].Version {
		return fmt.Errorf("sqlite: %s has schema %d, newer than this program's %d", src, v, ms[len(ms)-1].Version)
	}
	db, err := sql.Open("sqlite", dsn(dst, false))
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("sqlite: the driver cannot restore")
		}
		b, err := r.NewRestore(src)
		if err != nil {
			return err
		}
		// One step: the destination stays locked for the whole copy, so no
		// writer of the running server interleaves with it.
		if _, err := b.Step(-1); err != nil {
			_ = b.Finish()
			return err
		}
		return b.Finish()
	})
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	// Apply any migration the backup predates.
	return store.Migrate(ctx, db, &Dialect, ms, "")
}
