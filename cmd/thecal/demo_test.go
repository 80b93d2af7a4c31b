package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs `thecal demo` for a moment: it seeds, serves, prints the URL
// and the three sign-ins, runs its pumps and stops cleanly.
func TestDemo(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"demo", "--listen", "127.0.0.1:0", "--exit-after", "1500ms"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	s := out.String()
	for _, w := range []string{"http://localhost:", "physician", "dr.hale", "nurse.ode", "admin", "DEMO-0006", "stopped"} {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
	if errs.Len() > 0 {
		t.Errorf("warnings:\n%s", errs.String())
	}
}

// TestDemoPatients: `thecal demo --patients N` generates N patients beside
// the six, saying so, and a bad count is a usage error.
func TestDemoPatients(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"demo", "--listen", "127.0.0.1:0", "--patients", "40", "--years", "3", "--exit-after", "500ms"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	for _, w := range []string{"generating 40 patients with up to 3 years of history", "  40 patients (", "DEMO-0006", "stopped"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	errs.Reset()
	if code := run([]string{"demo", "--patients", "-1"}, &out, &errs); code != exitUsage || !strings.Contains(errs.String(), "--patients") {
		t.Errorf("--patients -1: exit %d, %q", code, errs.String())
	}
}
