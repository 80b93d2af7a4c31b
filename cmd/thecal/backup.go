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
	var rows int
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
		db, oerr := postgres.Open(ctx, dbURL, 4)
		if oerr != nil {
			err = oerr
			break
		}
		defer db.Close()
		if cmd == "backup" {
			f, ferr := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if ferr != nil {
				err = ferr
				break
			}
			rows, err = postgres.Export(ctx, db, f)
			if err == nil {
				err = f.Sync()
			}
			err = errors.Join(err, f.Close())
		} else {
			f, ferr := os.Open(file)
			if ferr != nil {
				err = ferr
				break
			}
			defer f.Close()
			rows, err = postgres.Import(ctx, db, f)
			if err == nil {
				err = verifyCopy(ctx, dbURL, stdout)
			}
		}
		if err == nil {
			fmt.Fprintf(stdout, "%d rows\n", rows)
		}
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

// verifyCopy checks the audit chain of the database at db.
func verifyCopy(ctx context.Context, db string, stdout io.Writer) error {
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
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
