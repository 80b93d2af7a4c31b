package clinic

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckStatement: any text is judged without panicking, the same way
// twice; what passes has at least StatementMin characters and is valid text.
func FuzzCheckStatement(f *testing.F) {
	for _, s := range []string{"", "ok", "OCCLUSION acknowledged", "catheter checked", "port aspirated; neurosurgery called", "a\x00b c d e f g", "\u202e checked it now"} {
		f.Add(s, "OCCLUSION")
	}
	f.Fuzz(func(t *testing.T, note, code string) {
		err := CheckStatement("note", note, code)
		if (err == nil) != (CheckStatement("note", note, code) == nil) {
			t.Fatal("judged two ways")
		}
		if err == nil && (utf8.RuneCountInString(strings.TrimSpace(note)) < StatementMin || !utf8.ValidString(note)) {
			t.Fatalf("%q passed", note)
		}
		if err != nil && (ErrorCode(err) != EINVALID || ErrorField(err) != "note") {
			t.Fatalf("%q: %v", note, err)
		}
	})
}
