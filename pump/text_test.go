package pump

import (
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// roundTrip checks that every value of a named type writes its name and
// reads back from it.
func roundTrip[T interface {
	~uint8
	String() string
	MarshalText() ([]byte, error)
}, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, n names[T]) {
	t.Helper()
	for v := n.first; int(v) < len(n.list); v++ {
		b, err := v.MarshalText()
		if err != nil || string(b) != v.String() {
			t.Fatalf("%s %v: MarshalText %q, %v", n.typ, v, b, err)
		}
		var back T
		if err := P(&back).UnmarshalText(b); err != nil || back != v {
			t.Fatalf("%s %q read back as %v, %v", n.typ, b, back, err)
		}
	}
}

// TestTextRoundTrip: every value of each named type writes its name and reads
// back from it; JSON and flags use the same text.
func TestTextRoundTrip(t *testing.T) {
	roundTrip(t, modelNames)
	roundTrip(t, modeNames)
	roundTrip(t, alarmNames)
	roundTrip(t, reasonNames)
	if len(alarmNames.list) != int(numAlarms) || len(reasonNames.list) != int(numReasons) {
		t.Fatal("a name table and its type disagree on the number of values")
	}

	var doc struct {
		Model Model
		Mode  Mode
		Alarm Alarm
	}
	if err := json.Unmarshal([]byte(`{"Model":"TP-40","Mode":"flex","Alarm":"OCCLUSION"}`), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Model != TP40 || doc.Mode != ModeFlex || doc.Alarm != Occlusion {
		t.Fatalf("JSON read %+v", doc)
	}
	if b, err := json.Marshal(doc); err != nil || string(b) != `{"Model":"TP-40","Mode":"flex","Alarm":"OCCLUSION"}` {
		t.Fatalf("JSON wrote %s, %v", b, err)
	}

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var m Model
	fs.TextVar(&m, "model", TP20, "pump model")
	if err := fs.Parse([]string{"--model", "TP-40"}); err != nil || m != TP40 {
		t.Fatalf("flag read %v, %v", m, err)
	}
	if err := fs.Parse([]string{"--model", "TP-30"}); err == nil || !strings.Contains(err.Error(), `"TP-20", "TP-40"`) {
		t.Fatalf("flag with an unknown model: %v", err)
	}
}

// TestTextUnknownNamesWhatIsAllowed: unknown text is a *TextError naming every
// allowed value, and a value outside the type cannot be written.
func TestTextUnknownNamesWhatIsAllowed(t *testing.T) {
	cases := []struct {
		u    encoding.TextUnmarshaler
		text string
		want string
	}{
		{new(Model), "tp-20", `pump: unknown model "tp-20" (allowed: "TP-20", "TP-40")`},
		{new(Mode), "bolus", `pump: unknown mode "bolus" (allowed: "stopped", "continuous", "flex", "minimum")`},
		{new(Alarm), "", `pump: unknown alarm "" (allowed: "LOW_RESERVOIR", `},
		{new(Reason), "tired", `pump: unknown reason "tired" (allowed: "", "lockout", `},
	}
	for _, c := range cases {
		err := c.u.UnmarshalText([]byte(c.text))
		var te *TextError
		if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%T %q: %v, want %s…", c.u, c.text, err, c.want)
		}
	}
	for _, v := range []encoding.TextMarshaler{Model(0), Model(3), Mode(0), Mode(5), AlarmNone, numAlarms, numReasons} {
		if b, err := v.MarshalText(); err == nil {
			t.Errorf("%T %d wrote %q", v, v, b)
		}
	}
	if a, ok := ParseAlarm("DAILY_CAP"); !ok || a != DailyCap {
		t.Error("ParseAlarm")
	}
	if _, ok := ParseAlarm(""); ok {
		t.Error(`ParseAlarm("") named an alarm`)
	}
	if m, ok := ParseModel("TP-40"); !ok || m != TP40 {
		t.Error("ParseModel")
	}
}
