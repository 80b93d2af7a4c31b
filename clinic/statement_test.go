package clinic

import "testing"

func TestCheckStatement(t *testing.T) {
	for _, tc := range []struct {
		note string
		ok   bool
	}{
		{"", false},
		{"          ", false},
		{"ok", false},
		{"done done done done", false},
		{"OCCLUSION acknowledged", false},
		{"occlusion: alarm seen, OK.", false},
		{"Acknowledged - occlusion", false},
		{"asdf", false},
		{"checked it", true},
		{"catheter checked", true},
		{"port aspirated; no flow; neurosurgery called", true},
		{"Katheter geprüft, Neurochirurgie informiert", true},
		{"catheter checked\x1b[2J", false},
		{"catheter \u202echecked", false},
	} {
		err := CheckStatement("note", tc.note, "OCCLUSION")
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.note, err, tc.ok)
		}
		if err != nil && (ErrorCode(err) != EINVALID || ErrorField(err) != "note") {
			t.Errorf("%q: %v, want invalid on note", tc.note, err)
		}
	}
}
