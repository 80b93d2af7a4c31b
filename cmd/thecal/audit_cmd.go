package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/telemetry"
)

func auditCommand() *cobra.Command {
	return group("audit", "sign a checkpoint of the audit trail, or verify the trail against one", "", "subcommand",
		auditLeaf("checkpoint", "--db DB --key FILE [--out FILE]", "sign a checkpoint of the verified audit trail",
			`Verifies the whole audit trail (the chain, and every stored patient, user and
record against the digest of the entry that wrote it) and, if it is intact,
signs its head with the server's Ed25519 key: the anchor outside the database.
The key file (PEM, mode 0600) is made on first use; keep it, and the
checkpoints, off the database's machine. The checkpoint is printed and written
to --out (default audit-checkpoint-SEQ.json).`),
		auditLeaf("verify", "--db DB [--key FILE --checkpoint FILE]", "verify the audit trail, against a signed checkpoint",
			`Checks the trail as checkpoint does, and with --checkpoint that it passes
through a checkpoint signed with --key: a trail changed and re-hashed, or cut
short, since the checkpoint does not. Exit status 1 when it does not verify.`))
}

// auditFlags are the flags of thecal audit checkpoint and verify.
type auditFlags struct{ dbURL, keyFile, out, cpFile string }

func auditLeaf(cmd, usage, short, long string) *cobra.Command {
	c := command(cmd+" "+usage, short, long, noArgs)
	var o auditFlags
	fs := c.Flags()
	fs.StringVar(&o.dbURL, "db", "sqlite:thecal.db", "database: sqlite:PATH or postgres://…")
	if cmd == "checkpoint" {
		fs.StringVar(&o.keyFile, "key", "", "the server's audit signing key (PEM, 0600; made if missing)")
		fs.StringVar(&o.out, "out", "", "the file to write (default audit-checkpoint-SEQ.json)")
		need(fs, "key")
	} else {
		fs.StringVar(&o.keyFile, "key", "", "the server's audit signing key (PEM, 0600), with --checkpoint")
		fs.StringVar(&o.cpFile, "checkpoint", "", "a checkpoint the trail must pass through (needs --key)")
	}
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int { return audit(cmd, o, stdout, stderr) })
	return c
}

// audit signs a checkpoint of the trail, or verifies the trail.
func audit(cmd string, o auditFlags, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "thecal audit %s: "+format+"\n", append([]any{cmd}, a...)...)
		return code
	}
	if cmd == "verify" && (o.cpFile == "") != (o.keyFile == "") {
		return fail(exitUsage, "--checkpoint and --key go together")
	}
	var key ed25519.PrivateKey
	if o.keyFile != "" {
		var err error
		if key, err = loadAuditKey(o.keyFile, cmd == "checkpoint"); err != nil {
			return fail(1, "%v", err)
		}
	}
	var cp *clinic.Checkpoint
	if o.cpFile != "" {
		b, err := os.ReadFile(o.cpFile)
		if err != nil {
			return fail(1, "%v", err)
		}
		if cp, err = clinic.ParseCheckpoint(b); err != nil {
			return fail(1, "%s: %v", o.cpFile, err)
		}
		if err := cp.Verify(key.Public().(ed25519.PublicKey)); err != nil {
			return fail(1, "%s: %v", o.cpFile, err)
		}
	}
	ctx := clinic.NewContext(context.Background(), clinic.System)
	st, err := openStore(ctx, o.dbURL)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			fail(1, "closing the database: %v", err)
		}
	}()
	svc := clinic.NewService(st, drug.Default(), nil)
	if cmd == "verify" {
		rep, err := svc.VerifyAuditAt(ctx, cp)
		if err != nil {
			return fail(1, "%v", err)
		}
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		if !rep.OK {
			return fail(1, "the audit trail does not verify at entry %d: %s", rep.BadSeq, rep.Problem)
		}
		return 0
	}
	c, rep, err := svc.Checkpoint(ctx, key)
	if err != nil {
		return fail(1, "%s", clinic.ErrorMessage(err))
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fail(1, "%v", err)
	}
	b = append(b, '\n')
	if o.out == "" {
		o.out = fmt.Sprintf("audit-checkpoint-%d.json", c.Seq)
	}
	if err := writeNew(o.out, b, 0o644); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "%s", b)
	fmt.Fprintf(stderr, "audit trail verified (%d entries, %d records); checkpoint written to %s\n", rep.Entries, rep.Records, o.out)
	return 0
}

// loadAuditKey reads the signing key, a private key file like any other
// (telemetry's rule: refused if others may read it); with create, a missing
// one is made (0600, never overwriting).
func loadAuditKey(path string, create bool) (ed25519.PrivateKey, error) {
	b, err := telemetry.ReadSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if b, err = clinic.NewAuditKey(); err == nil {
			err = telemetry.WriteSecretFile(path, b)
		}
	}
	if err != nil {
		return nil, err
	}
	return clinic.ParseAuditKey(b)
}

// writeNew writes a new file durably, refusing to overwrite one.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
