package main

import (
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/thecal/thecal/clinic/clinictest"
)

// TestPublishedLibrarySurvivesRestart publishes a drug library version through
// a real `thecal serve`, stops it, and checks the restarted server has that
// version in force.
func TestPublishedLibrarySurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildThecal(t)
	db := filepath.Join(t.TempDir(), "lib.db")
	p := startServe(t, bin, db, true)
	admin := login(t, p.base, "admin", p.password)
	pw := "a long enough password"
	call(t, admin, 201, "POST", "/api/v1/users", map[string]any{"username": "doc", "name": "Dr D", "role": "physician", "password": pw})
	doc := login(t, p.base, "doc", pw)
	v := call(t, doc, 201, "POST", "/api/v1/library?note=committee", json.RawMessage(clinictest.ClinicLibrary("clinic-7")))
	if v["version"] != "clinic-7" {
		t.Fatalf("published %v", v)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	p2 := startServe(t, bin, db, false)
	doc.base = p2.base
	st := call(t, doc, 200, "GET", "/api/v1/library/versions", nil)
	if in := st["in_force"].(map[string]any); in["version"] != "clinic-7" || in["digest"] != v["digest"] {
		t.Fatalf("after restart: %v", st)
	}
}
