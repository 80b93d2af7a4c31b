package main

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/telemetry"
)

// TestStationFile: thecal serve --station reads the station's credential
// (refused unless 0600), its trust and its pumps, relative to the file.
func TestStationFile(t *testing.T) {
	dir := t.TempDir()
	a, err := telemetry.NewAuthority(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := telemetry.NewIdentity(nil, a, telemetry.RoleClinician, 102, "Programming station", 0, 1<<60)
	if err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := telemetry.WriteIdentity(p("station.id"), id); err != nil {
		t.Fatal(err)
	}
	if err := telemetry.WriteTrust(p("clinic.pub"), telemetry.Trust{Authorities: []ed25519.PublicKey{a.Public}}); err != nil {
		t.Fatal(err)
	}
	write := func(s string) string {
		os.WriteFile(p("station.json"), []byte(s), 0o644)
		return p("station.json")
	}
	st, err := readStation(write(`{"identity": "station.id", "trust": "clinic.pub", "pumps": [{"serial": "4001", "address": "127.0.0.1:7400", "state": "pump"}]}`))
	if err != nil || st.Identity.Credential.Serial != 102 || st.Pumps["4001"].Addr != "127.0.0.1:7400" || st.Pumps["4001"].Wake == nil {
		t.Fatalf("station %+v, %v", st, err)
	}
	for doc, want := range map[string]string{
		`{"identity": "station.id", "trust": "clinic.pub", "pumps": [{"serial": "4001", "address": "a"}, {"serial": "4001", "address": "b"}]}`: "listed twice",
		`{"identity": "station.id", "trust": "clinic.pub", "pumps": [{"serial": "4001"}]}`:                                                     "address are required",
		`{"identity": "station.id", "trust": "clinic.pub", "pump": []}`:                                                                        "pump",
		`{"trust": "clinic.pub"}`: "identity and trust are required",
	} {
		if _, err := readStation(write(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	os.Chmod(p("station.id"), 0o644)
	if _, err := readStation(write(`{"identity": "station.id", "trust": "clinic.pub", "pumps": []}`)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a station credential readable by others: %v", err)
	}
}

// FuzzStationFile: any content is read or refused, never a panic.
func FuzzStationFile(f *testing.F) {
	for _, s := range []string{`{"identity":"a","trust":"b","pumps":[{"serial":"1","address":"x","state":"d"}]}`, `{"pumps":null}`, `[]`, `{"identity":"a","identity":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStation(b)
		if err == nil {
			for _, p := range st.Pumps {
				if p.Serial == "" || p.Address == "" {
					t.Fatalf("%q read with a pump without serial or address", b)
				}
			}
		}
	})
}
