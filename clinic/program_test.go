package clinic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// apiDecode reads a prescription as the API does: json/v2, strict.
func apiDecode(b []byte) (clinic.Prescription, error) {
	var rx clinic.Prescription
	err := jsonv2.Unmarshal(b, &rx, jsonv2.RejectUnknownMembers(true))
	return rx, err
}

var rxSeeds = []string{
	`{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"400 mcg/day","reason":"x"}`,
	`{"program":{"drug":"morphine","concentration":"10 mg/mL","mode":"flex","weekly":true,"flex":[{"at":"07:00","rate":"0.6 mL/day","days":["mon","tue","wed","thu","fri"]},{"at":"22:00","rate":"0.3 mL/day","days":["sun","mon","tue","wed","thu","fri","sat"]}],"patient_bolus":{"volume":"0.05 mL","duration":"10m","lockout":"4h","max_per_24h":4},"max_24h":"0.8 mL","low_reservoir":"3 mL"}}`,
	`{"program":{"drug":"morphine","concentration":"10 mg/mL","mode":"flex","flex":[{"at":"08:00","rate":"0.5 mL/day"}],"max_24h":"1 mL"},"start_at":"2026-01-05T08:00:00+02:00"}`,
	`{"program":{"drug":"ziconotide","concentration":"25 mcg/mL","mode":"minimum","max_24h":"0.1 mL"},"confirm_large_change":true}`,
	`{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"stopped"},"findings":[{"kind":"k","severity":"s","message":"m"}],"supersedes":3}`,
	`{"program":{"mode":"flex","flex":[{"at":"24:00","rate":"1 mL/day"}]}}`,
	`{"program":{"mode":"flex","flex":[{"at":"08:00","rate":"1 mL/day","days":["mon"]}]}}`,
	`{"program":{"mode":"flex","weekly":true,"flex":[{"at":"08:00","rate":"1 mL/day","days":["mon","mon"]}]}}`,
	`{"program":{"mode":"bolus"}}`,
	`{"program":{"max_24h":5}}`,
	`{"program":{"mode":"stopped","patient_bolus":{"lockout":"4h"}}}`,
	`{"program":null}`,
	`{"drug":"baclofen"}`,
	`[]`,
}

// FuzzPrescriptionJSON: no input makes the prescription's JSON readers panic;
// whatever the API reads, the clinic writes and reads back (store: encoding/
// json; API: json/v2) to the same text — unpack(pack(unpack(x))) = unpack(x).
func FuzzPrescriptionJSON(f *testing.F) {
	for _, s := range rxSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v1 clinic.Prescription
		_ = json.Unmarshal(b, &v1) // the store's reader: must not panic
		rx, err := apiDecode(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(rx)
		if err != nil {
			// Only a program the pump refuses (no mode, a duration beyond
			// what text writes…) has no text: the service refuses it first.
			if rx.Program.Validate(pump.TP40) != nil {
				return
			}
			t.Fatalf("marshal %+v: %v", rx, err)
		}
		again, err := apiDecode(out)
		if err != nil {
			t.Fatalf("the API does not read what the clinic wrote: %v\n%s", err, out)
		}
		out2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed:\n%s\n%s (%v)", out, out2, err)
		}
		var stored clinic.Prescription
		if err := json.Unmarshal(out, &stored); err != nil {
			t.Fatalf("the store does not read what the clinic wrote: %v\n%s", err, out)
		}
		if out3, _ := json.Marshal(stored); !bytes.Equal(out, out3) {
			t.Fatalf("the store's reading differs:\n%s\n%s", out, out3)
		}
		if stored.Program != rx.Program || again.Program != rx.Program {
			t.Fatalf("the program changed on the way:\n%+v\n%+v\n%+v", rx.Program, again.Program, stored.Program)
		}
	})
}

// FuzzTimeOfDay: a flex step's time reads and writes back exactly.
func FuzzTimeOfDay(f *testing.F) {
	for _, s := range []string{"00:00", "07:30", "23:59", "24:00", "7:30", "07-30", "０7:30", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := clinic.ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if d < 0 || d >= unit.Day || d%unit.Minute != 0 || clinic.TimeOfDayText(d) != s {
			t.Fatalf("%q read as %v, written %q", s, d, clinic.TimeOfDayText(d))
		}
	})
}

func TestProgramJSON(t *testing.T) {
	want := clinictest.FlexProgram()
	rx := clinic.Prescription{Program: want, DosePerDay: 5, Reason: "r"}
	b, err := json.Marshal(rx)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"program":{"drug":"morphine","concentration":"10 mg/mL","mode":"flex"`,
		`{"at":"07:00","rate":"0.4 mL/day","days":["sun","sat"]}`, `"weekly":true`,
		`"patient_bolus":{"volume":"0.05 mL","duration":"10m","lockout":"4h","max_per_24h":4}`, `"low_reservoir":"3 mL"`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JSON lacks %s:\n%s", w, b)
		}
	}
	for _, old := range []string{`"drug":"morphine","concentration":"10 mg/mL","diluted"`, `"Program"`} {
		if strings.Contains(string(b), old) {
			t.Errorf("JSON has %s beside the program:\n%s", old, b)
		}
	}
	got, err := apiDecode(b)
	if err != nil || got.Program != want {
		t.Fatalf("read back: %+v %v", got.Program, err)
	}
	// A daily step given days, and more than 16 steps, are refused with their
	// member: by its JSON pointer in the whole body (the API), by its field
	// path from the store's reader.
	for body, want := range map[string][2]string{
		`{"program":{"mode":"flex","flex":[{"at":"08:00","rate":"1 mL/day","days":["mon"]}]}}`:                                                 {"/program/flex/0/days", "program.flex[0].days"},
		`{"program":{"mode":"flex","flex":[` + strings.Repeat(`{"at":"08:00","rate":"1 mL/day"},`, 16) + `{"at":"09:00","rate":"1 mL/day"}]}}`: {"/program/flex", "program.flex"},
	} {
		var se *jsonv2.SemanticError
		if _, err := apiDecode([]byte(body)); !errors.As(err, &se) || string(se.JSONPointer) != want[0] {
			t.Errorf("%s: %v, want a refusal at %s", body, err, want[0])
		}
		var nested struct {
			Rx clinic.Prescription `json:"rx"`
		}
		if err := jsonv2.Unmarshal([]byte(`{"rx":`+body+`}`), &nested); !errors.As(err, &se) || string(se.JSONPointer) != "/rx"+want[0] {
			t.Errorf("%s nested: %v, want a refusal at /rx%s", body, err, want[0])
		}
		var ce *clinic.Error
		var rx clinic.Prescription
		if err := json.Unmarshal([]byte(body), &rx); !errors.As(err, &ce) || ce.Field != want[1] {
			t.Errorf("%s: %v, want a refusal on %s", body, err, want[1])
		}
	}
}
