package telemetry

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/unit"
)

// TestShowFile: each kind of file is named and described by its public
// parts; no line carries a private key; a private key file others may read
// is refused.
func TestShowFile(t *testing.T) {
	dir := t.TempDir()
	a, err := NewAuthority(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := unit.FromStd(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
	id, err := NewIdentity(nil, a, RoleClinician, 101, "Dr. A. Ruiz", now, now.Add(365*unit.Day))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Enrol(nil, a, 4001, "TP-20 #4001", now, now.Add(3650*unit.Day))
	if err != nil {
		t.Fatal(err)
	}
	e.Trust.Revoke(7)
	path := func(n string) string { return filepath.Join(dir, n) }
	for _, w := range []error{
		WriteAuthority(path("a.key"), a), WriteIdentity(path("r.id"), id), WriteEnrolment(path("p.enrol"), e),
		WriteCredential(path("r.cred"), id.Credential), WriteTrust(path("t.pub"), e.Trust),
	} {
		if w != nil {
			t.Fatal(w)
		}
	}
	for _, c := range []struct {
		file string
		want []string
	}{
		{"a.key", []string{"authority  " + a.ID.String() + " (private key present)"}},
		{"r.id", []string{"identity (private key present)", "role       clinician", "serial     101", `name       "Dr. A. Ruiz"`, "valid      2026-01-05 08:00Z to 2027-01-05 08:00Z"}},
		{"p.enrol", []string{"pump enrolment (private key present)", "serial     4001", "trusts     authority " + a.ID.String(), "revoked    serials [7]"}},
		{"r.cred", []string{"credential", "static key " + hex.EncodeToString(id.Credential.StaticKey[:8])}},
		{"t.pub", []string{"trust file", "trusts     authority " + a.ID.String()}},
	} {
		lines, err := ShowFile(path(c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		all := strings.Join(lines, "\n")
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: no %q in\n%s", c.file, w, all)
			}
		}
		if strings.Contains(all, "PRIVATE") {
			t.Errorf("%s: a private key shown:\n%s", c.file, all)
		}
	}
	if err := os.Chmod(path("r.id"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ShowFile(path("r.id")); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable identity shown: %v", err)
	}
}
