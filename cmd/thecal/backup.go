package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/store/postgres"
	"github.com/thecal/thecal/store/sqlite"
)

const backupAbout = `backup writes a consistent copy of the database while the server runs:
SQLite: a SQLite file (VACUUM INTO); PostgreSQL: a logical export (JSON
lines, one snapshot). The copy's audit chain is verified.

restore puts a backup back. SQLite: the file is integrity-checked, then copied
into the live database with SQLite's online backup API (a running server sees
the restored records from its next request). PostgreSQL: the export is loaded
into an empty, freshly migrated database (or use pg_dump/pg_restore: see
docs/clinic.md). The restored audit chain is verified.`

func backupCommand() *cobra.Command {
	return backupOrRestore("backup", "copy the clinic database while the server runs")
}

func restoreCommand() *cobra.Command {
	return backupOrRestore("restore", "restore the clinic database from a backup")
}

func backupOrRestore(cmd, short string) *cobra.Command {
	c := command(cmd+" --db DB FILE", short, backupAbout, func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return badInput("give exactly one FILE")
		}
		return nil
	})
	dbURL := c.Flags().String("db", "sqlite:thecal.db", "database: sqlite:PATH or postgres://…")
	c.RunE = runs(func(args []string, stdout, stderr io.Writer) int {
		return backupRun(cmd, *dbURL, args[0], stdout, stderr)
	})
	return c
}

func backupRun(cmd, dbURL, file string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	var err error
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(dbURL, "sqlite:")
		if cmd == "backup" {
			err = sqlite.Backup(ctx, path, file)
		} else {
			err = sqlite.Restore(ctx, path, file)
		}
		if err == nil {
			err = verifyCopy(ctx, "sqlite:"+map[bool]string{true: file, false: path}[cmd == "backup"], stdout)
		}
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		err = pgBackupOrRestore(ctx, cmd, dbURL, file, stdout)
	default:
		err = fmt.Errorf("--db %q: write sqlite:PATH or postgres://…", dbURL)
	}
	if err != nil {
		fmt.Fprintf(stderr, "thecal %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s done: %s\n", cmd, file)
	return 0
}

// pgBackupOrRestore exports a PostgreSQL database to file, or imports file
// into an empty one and verifies it.
func pgBackupOrRestore(ctx context.Context, cmd, dbURL, file string, stdout io.Writer) (err error) {
	db, err := postgres.Open(ctx, dbURL, 4)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	var rows int
	if cmd == "backup" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		rows, err = postgres.Export(ctx, db, f)
		if err == nil {
			err = f.Sync()
		}
		if err = errors.Join(err, f.Close()); err != nil {
			return err
		}
	} else {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		rows, err = postgres.Import(ctx, db, f)
		if err = errors.Join(err, f.Close()); err != nil {
			return err
		}
		if err := verifyCopy(ctx, dbURL, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d rows\n", rows)
	return nil
}

// verifyCopy checks the audit chain of the database at db.
func verifyCopy(ctx context.Context, db string, stdout io.Writer) (err error) {
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	svc := clinic.NewService(st, drug.Default(), nil)
	rep, err := svc.VerifyAudit(clinic.NewContext(ctx, clinic.System))
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("the audit chain does not verify at entry %d: %s", rep.BadSeq, rep.Problem)
	}
	fmt.Fprintf(stdout, "audit chain verified: %d entries, head %s\n", rep.Entries, rep.Head)
	return nil
}
