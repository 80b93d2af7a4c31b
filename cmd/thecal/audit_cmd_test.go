package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/store/sqlite"
)

// auditFixture makes a clinic database with a few audited changes and
// returns its path.
func auditFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := clinic.NewService(db, drug.Default(), nil)
	svc.PasswordParams = clinic.PasswordParams{Time: 1, Memory: 1024, Threads: 1}
	sys := clinic.NewContext(context.Background(), clinic.System)
	name, role, pw := "nurse", clinic.Nurse, "a long enough password"
	u, err := svc.CreateUser(sys, clinic.UserInput{Username: name, Name: &name, Role: &role, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	nurse := clinic.NewContext(context.Background(), &clinic.Principal{UserID: u.ID, Name: "nurse", Role: clinic.Nurse})
	for _, mrn := range []string{"A-1", "A-2", "A-3"} {
		bd := clinic.Date{}
		_ = bd.UnmarshalText([]byte("1960-05-01"))
		if err := svc.CreatePatient(nurse, &clinic.Patient{MRN: mrn, FamilyName: "Kay", BirthDate: bd, Sex: "female", Indication: "pain"}); err != nil {
			t.Fatal(err)
		}
	}
	// The last entry is a read (no record written): cutting it leaves every
	// record matching its digest, so only the checkpoint can tell.
	if _, err := svc.PatientRecord(nurse, 1); err != nil {
		t.Fatal(err)
	}
	return path
}

func runAuditCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"audit"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestAuditCheckpointDetectsRewrite is finding 5's attack: drop the triggers,
// change an entry, recompute the chain and audit_head, delete the last entry.
// The database alone then verifies; the signed checkpoint does not.
func TestAuditCheckpointDetectsRewrite(t *testing.T) {
	path := auditFixture(t)
	dir := t.TempDir()
	key, cpFile := filepath.Join(dir, "audit.key"), filepath.Join(dir, "cp.json")
	code, out, errs := runAuditCmd("checkpoint", "--db", "sqlite:"+path, "--key", key, "--out", cpFile)
	if code != 0 {
		t.Fatalf("checkpoint: %d %s", code, errs)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	var cp clinic.Checkpoint
	if err := json.Unmarshal([]byte(out), &cp); err != nil || cp.Seq == 0 || cp.Signature == "" {
		t.Fatalf("printed checkpoint: %v %s", err, out)
	}
	if code, _, errs := runAuditCmd("verify", "--db", "sqlite:"+path, "--key", key, "--checkpoint", cpFile); code != 0 {
		t.Fatalf("verify an intact trail: %d %s", code, errs)
	}

	// The attack, with write access to the database file.
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var entries []*clinic.AuditEntry
	if err := db.View(context.Background(), func(tx clinic.Tx) (err error) { entries, err = tx.Audit(0, 1000); return err }); err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if _, err := db.W.Exec("DELETE FROM audit WHERE seq = ?", last.Seq); err != nil {
		t.Fatal(err)
	}
	entries = entries[:len(entries)-1]
	entries[1].Actor = "someone else" // who created the user, say
	prev := entries[0].Hash
	for _, e := range entries[1:] {
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		if _, err := db.W.Exec("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", e.Actor, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if _, err := db.W.Exec("UPDATE audit_head SET seq = ?, hash = ?", entries[len(entries)-1].Seq, prev); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The database alone says ok: that was the finding.
	if code, _, errs := runAuditCmd("verify", "--db", "sqlite:"+path); code != 0 {
		t.Fatalf("the rewritten trail on its own: %d %s (the attack should be self-consistent)", code, errs)
	}
	code, _, errs = runAuditCmd("verify", "--db", "sqlite:"+path, "--key", key, "--checkpoint", cpFile)
	if code != 1 || !strings.Contains(errs, "checkpoint") {
		t.Fatalf("verify against the checkpoint: %d %s", code, errs)
	}

	// A checkpoint changed, or signed with another key, is refused.
	b, _ := os.ReadFile(cpFile)
	forged := filepath.Join(dir, "forged.json")
	_ = os.WriteFile(forged, bytes.Replace(b, []byte(cp.Hash), []byte(entries[len(entries)-1].Hash), 1), 0o644)
	if code, _, errs := runAuditCmd("verify", "--db", "sqlite:"+path, "--key", key, "--checkpoint", forged); code != 1 || !strings.Contains(errs, "signature") {
		t.Fatalf("a changed checkpoint: %d %s", code, errs)
	}
	other := filepath.Join(dir, "other.key")
	if code, _, _ := runAuditCmd("checkpoint", "--db", "sqlite:"+auditFixture(t), "--key", other, "--out", filepath.Join(dir, "o.json")); code != 0 {
		t.Fatal("checkpoint with another key")
	}
	if code, _, errs := runAuditCmd("verify", "--db", "sqlite:"+path, "--key", other, "--checkpoint", cpFile); code != 1 || !strings.Contains(errs, "another key") {
		t.Fatalf("a checkpoint of another key: %d %s", code, errs)
	}
	// A key file others may read is refused; a broken trail is not signed.
	_ = os.Chmod(key, 0o644)
	if code, _, errs := runAuditCmd("checkpoint", "--db", "sqlite:"+path, "--key", key, "--out", filepath.Join(dir, "x.json")); code != 1 || !strings.Contains(errs, "chmod 600") {
		t.Fatalf("a readable key: %d %s", code, errs)
	}
	if code, _, errs := runAuditCmd("checkpoint"); code != exitUsage || !strings.Contains(errs, "--key") {
		t.Fatalf("no key: %d %s", code, errs)
	}
}

// TestAuditCheckpointDetectsCutEnd: entries removed from the end (and the
// head set back) are found against a checkpoint taken before.
func TestAuditCheckpointDetectsCutEnd(t *testing.T) {
	path := auditFixture(t)
	dir := t.TempDir()
	key, cpFile := filepath.Join(dir, "audit.key"), filepath.Join(dir, "cp.json")
	if code, _, errs := runAuditCmd("checkpoint", "--db", "sqlite:"+path, "--key", key, "--out", cpFile); code != 0 {
		t.Fatal(errs)
	}
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var head int64
	_ = db.W.QueryRow("SELECT seq FROM audit_head").Scan(&head)
	var prev string
	_ = db.W.QueryRow("SELECT hash FROM audit WHERE seq = ?", head-1).Scan(&prev)
	for _, q := range []string{"DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = " + itoa64(head)} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.W.Exec("UPDATE audit_head SET seq = ?, hash = ?", head-1, prev); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, errs := runAuditCmd("verify", "--db", "sqlite:"+path, "--key", key, "--checkpoint", cpFile)
	if code != 1 || !strings.Contains(errs, "before the signed checkpoint") {
		t.Fatalf("a cut trail: %d %s", code, errs)
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }
