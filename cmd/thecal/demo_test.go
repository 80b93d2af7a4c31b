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
