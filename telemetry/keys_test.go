package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Key tooling: generate an authority, issue credentials, enrol a pump, and
// round-trip all of it through 0600 files; a session then works from the
// files alone.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	auth, err := NewAuthority(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteAuthority(path("authority.key"), auth); err != nil {
		t.Fatal(err)
	}
	if err := WriteAuthority(path("authority.key"), auth); !errors.Is(err, os.ErrExist) {
		t.Errorf("authority key overwritten: %v", err)
	}
	auth2, err := ReadAuthority(path("authority.key"))
	if err != nil || auth2.ID != auth.ID || !bytes.Equal(auth2.private, auth.private) {
		t.Fatalf("authority round trip: %v", err)
	}
	enrolled, err := Enrol(nil, auth2, 77, "TP-40 #77", t0, t0.Add(10*365*unit.Day))
	if err != nil {
		t.Fatal(err)
	}
	enrolled.Trust.Revoke(13)
	if err := WriteEnrolment(path("pump.enrol"), enrolled); err != nil {
		t.Fatal(err)
	}
	clin, err := NewIdentity(nil, auth2, RoleClinician, 12, "Dr. Files", t0, t0.Add(365*unit.Day))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteIdentity(path("clinician.id"), clin); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredential(path("clinician.cred"), clin.Credential); err != nil {
		t.Fatal(err)
	}
	trust := Trust{Authorities: enrolled.Trust.Authorities}
	if err := WriteTrust(path("trust"), trust); err != nil {
		t.Fatal(err)
	}
	trust.Revoke(99)
	if err := WriteTrust(path("trust"), trust); err != nil { // replaced atomically
		t.Fatal(err)
	}
	for _, name := range []string{"authority.key", "pump.enrol", "clinician.id", "clinician.cred", "trust"} {
		st, err := os.Stat(path(name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", name, st.Mode().Perm())
		}
	}
	pump2, err := ReadEnrolment(path("pump.enrol"))
	if err != nil {
		t.Fatal(err)
	}
	if pump2.Identity.Static != enrolled.Identity.Static || pump2.Identity.Credential != enrolled.Identity.Credential ||
		len(pump2.Trust.Authorities) != 1 || len(pump2.Trust.Revoked) != 1 || pump2.Trust.Revoked[0] != 13 {
		t.Errorf("enrolment round trip: %+v", pump2)
	}
	clin2, err := ReadIdentity(path("clinician.id"))
	if err != nil || clin2.Static != clin.Static || clin2.Credential != clin.Credential {
		t.Fatalf("identity round trip: %v", err)
	}
	cred, err := ReadCredential(path("clinician.cred"))
	if err != nil || cred != clin.Credential {
		t.Fatalf("credential round trip: %v", err)
	}
	trust2, err := ReadTrust(path("trust"))
	if err != nil || len(trust2.Revoked) != 1 || trust2.Revoked[0] != 99 {
		t.Fatalf("trust round trip: %+v %v", trust2, err)
	}

	// A private key file others can read is refused.
	os.Chmod(path("clinician.id"), 0o644)
	if _, err := ReadIdentity(path("clinician.id")); !errors.Is(err, ErrKeyFile) {
		t.Errorf("group-readable identity: %v", err)
	}

	// The pump and the clinician, from their files alone, hold a session.
	w := &world{auth: auth2, pump: pump2}
	f := &fixture{t: t, w: w, clock: NewStepClock(t0.Add(unit.Hour), 0), events: &recorder{}, dev: &device{}}
	f.srv, err = NewServer(ServerConfig{Enrolment: pump2, Handler: f.dev, Clock: f.clock.Now, Events: f.events.add, RadioCurrent: radioCurrent})
	if err != nil {
		t.Fatal(err)
	}
	f.wake(WakeContact)
	c, _, _ := f.dial(clin2, "programmer", nil)
	mustDo(t, c, pump.Interrogate{})
}

// Secrets never show in formatted or logged values.
func TestNoSecretsPrinted(t *testing.T) {
	w := testWorld(t)
	id := w.clinician
	secrets := [][]byte{w.auth.private.Seed(), id.Static.private[:]}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("keys", "authority", w.auth, "static", id.Static, "identity", id, "enrolment", w.pump)
	out := buf.String()
	for _, v := range []any{w.auth, id.Static, id, w.pump, &w.auth, &id} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
			out += fmt.Sprintf(verb, v)
		}
	}
	for _, s := range secrets {
		for _, enc := range []string{fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), fmt.Sprint(s), string(s)} {
			if strings.Contains(out, enc) {
				t.Fatalf("secret printed: %s", out)
			}
		}
	}
}

func TestCredentialChecks(t *testing.T) {
	w := testWorld(t)
	c := w.clinician.Credential
	key := w.clinician.Static.Public
	trust := w.pump.Trust
	if err := trust.Verify(c, t0, key); err != nil {
		t.Fatal(err)
	}
	tampered := c
	tampered.Role = RoleEmergency
	if err := trust.Verify(tampered, t0, key); !errors.Is(err, ErrSignature) {
		t.Errorf("role changed after signing: %v", err)
	}
	tampered = c
	tampered.NotAfter += unit.Time(unit.Day)
	if err := trust.Verify(tampered, t0, key); !errors.Is(err, ErrSignature) {
		t.Errorf("validity extended after signing: %v", err)
	}
	if err := trust.Verify(c, c.NotAfter, key); !errors.Is(err, ErrExpired) {
		t.Errorf("at NotAfter: %v", err)
	}
	if err := trust.Verify(c, c.NotBefore, key); err != nil {
		t.Errorf("at NotBefore: %v", err)
	}
	b, _ := AppendCredential(nil, c)
	for i := range b {
		for bit := range 8 {
			b[i] ^= 1 << bit
			if got, n, err := ConsumeCredential(b); err == nil && n == len(b) {
				if trust.Verify(got, t0, key) == nil {
					t.Fatalf("credential with byte %d bit %d flipped verifies", i, bit)
				}
			}
			b[i] ^= 1 << bit
		}
	}
	if _, err := w.auth.Issue(Credential{Role: RoleClinician, Name: "x", NotBefore: t0, NotAfter: t0}); err == nil {
		t.Error("empty validity period issued")
	}
	if _, err := w.auth.Issue(Credential{Role: RoleClinician, Name: "bad\nname", NotBefore: t0, NotAfter: t0 + 1}); err == nil {
		t.Error("name with a newline issued")
	}
}
