package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// FuzzParse checks that Parse never panics, that it returns a scenario or a
// *FieldError and never both, that a scenario it accepts keeps the promises the
// simulator relies on, and that Format writes it back to a file that Parse
// reads to the same scenario: parse(format(parse(x))) == parse(x).
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		doc{}.String(),
		doc{presc: `"mode": "flex", "max_24h_ml": 1, "repeat": "weekly", "flex": [{"at": "08:00", "dose_per_day": "400 mcg/day", "days": ["mon", "fri"]}, {"at": "08:00", "rate_ml_per_day": 0.1, "days": ["sun"]}]`}.String(),
		doc{presc: `"mode": "stopped"`, events: events(
			`{"at": "2026-01-05T08:00:00Z", "kind": "prime"}`,
			`{"at": "1h", "kind": "program", "prescription": {"mode": "minimum", "max_24h_ml": 0.1}}`,
			`{"at": "1h", "kind": "occlusion"}`,
			`{"at": "2h", "kind": "acknowledge", "alarm": "OCCLUSION"}`,
			`{"at": "3h", "kind": "bridge", "prescription": {"mode": "continuous", "dose_per_day": "5 mg", "max_24h_ml": 1}}`,
			`{"at": "1d", "kind": "battery_drain", "uah": 1e3}`,
			`{"at": "2d", "kind": "set_clock", "utc_offset": "-03:30"}`,
			`{"at": "29d23h59m59s", "kind": "refill", "withdraw_ml": 0, "add_ml": 20, "pocket_fill_ml": 2.5, "drug": "baclofen", "concentration": "2000 mcg/mL"}`,
		)}.String(),
		doc{events: events(`{"at": "2d", "kind": "stop"}`, `{"at": "1d", "kind": "resume"}`)}.String(),
		doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 5e-7`}.String(),
		doc{tail: `, "seed": -1e3`}.String(),
		doc{}.String() + `{}`,
		`{"name": "t", "name": "u"}`,
		`{"a": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`,
		`[]`,
		``,
		`{"name": "\u0000", "start": "2026-01-05T08:00:00.0001Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError: %v", err, err)
			}
			if s != nil {
				t.Fatalf("a scenario and an error: %v", err)
			}
			if fe.Field == "" || strings.TrimSpace(fe.Reason) == "" {
				t.Fatalf("refusal without a field or a reason: %q", err)
			}
			return
		}
		checkInvariants(t, s)
		out := Format(s)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("round trip changed the scenario:\n got %+v\nwant %+v\n%s", back, s, out)
		}
	})
}

// checkInvariants checks what Parse promises of every scenario it accepts.
func checkInvariants(t *testing.T, s *Scenario) {
	t.Helper()
	if s.Name == "" || s.Duration <= 0 || s.Duration > MaxDuration {
		t.Fatalf("name %q, duration %v", s.Name, s.Duration)
	}
	if !s.Pump.Model.Valid() {
		t.Fatalf("model %v", s.Pump.Model)
	}
	if s.Pump.CatheterLength <= 0 || s.Pump.CatheterPerCm <= 0 || s.Pump.Battery < 0 {
		t.Fatalf("pump %+v", s.Pump)
	}
	if s.Fill.Volume <= 0 || s.Fill.Drug.Concentration <= 0 || s.Fill.Drug.Name == "" {
		t.Fatalf("fill %+v", s.Fill)
	}
	checkPrescription(t, "prescription", &s.Prescription)
	for i, e := range s.Events {
		if e.Index != i {
			t.Fatalf("events[%d].Index = %d", i, e.Index)
		}
		if e.At.Before(s.Start) || e.At.After(s.End()) {
			t.Fatalf("events[%d] at %v, outside [%v, %v]", i, e.At, s.Start, s.End())
		}
		if i > 0 && e.At.Before(s.Events[i-1].At) {
			t.Fatalf("events[%d] at %v before events[%d] at %v", i, e.At, i-1, s.Events[i-1].At)
		}
		if !slices.Contains(Kinds, e.Kind) {
			t.Fatalf("events[%d] kind %q", i, e.Kind)
		}
		if (e.Prescription != nil) != (e.Kind == Program || e.Kind == Bridge) {
			t.Fatalf("events[%d] %s with prescription %v", i, e.Kind, e.Prescription)
		}
		if e.Prescription != nil {
			checkPrescription(t, "event prescription", e.Prescription)
		}
		if e.HasDuration != (e.Duration > 0) {
			t.Fatalf("events[%d] duration %v, HasDuration %v", i, e.Duration, e.HasDuration)
		}
		if e.Withdraw < 0 || e.Add < 0 || e.PocketFill < 0 || e.PocketFill > e.Add || e.Volume < 0 || e.Charge < 0 {
			t.Fatalf("events[%d] %+v", i, e)
		}
	}
}

func checkPrescription(t *testing.T, what string, p *Prescription) {
	t.Helper()
	rx := &p.Rx
	if rx.Mode < pump.ModeStopped || rx.Mode > pump.ModeMinimum {
		t.Fatalf("%s: mode %v", what, rx.Mode)
	}
	if rx.Max24h < 0 || rx.Mode != pump.ModeStopped && rx.Max24h == 0 {
		t.Fatalf("%s: max 24h %v in mode %s", what, rx.Max24h, rx.Mode)
	}
	if rx.Drug != "" || rx.Concentration != 0 {
		t.Fatalf("%s: the drug %q %v is the reservoir's, not the file's", what, rx.Drug, rx.Concentration)
	}
	if rx.Mode == pump.ModeContinuous {
		checkRate(t, what, rx.Rate, p.Dose)
	} else if rx.Rate != 0 || p.Dose != (Dose{}) {
		t.Fatalf("%s: rate %v, dose %+v in mode %s", what, rx.Rate, p.Dose, rx.Mode)
	}
	if (rx.Mode == pump.ModeFlex) != (rx.FlexSteps > 0) || rx.FlexSteps > pump.MaxFlexSteps {
		t.Fatalf("%s: %d flex steps in mode %s", what, rx.FlexSteps, rx.Mode)
	}
	for i, st := range rx.Flex[:rx.FlexSteps] {
		checkRate(t, what, st.Rate, p.FlexDoses[i])
		if st.At < 0 || st.At >= 24*60*60*1000 || st.Days == 0 || st.Days&^pump.AllDays != 0 {
			t.Fatalf("%s: flex[%d] %+v", what, i, st)
		}
		if st.Days != pump.AllDays && !rx.Weekly {
			t.Fatalf("%s: flex[%d] has days in a daily schedule", what, i)
		}
		for j := range i {
			if rx.Flex[j].At == st.At && rx.Flex[j].Days&st.Days != 0 {
				t.Fatalf("%s: flex[%d] and flex[%d] start together", what, j, i)
			}
		}
	}
	for i := rx.FlexSteps; i < pump.MaxFlexSteps; i++ {
		if rx.Flex[i] != (pump.FlexStep{}) || p.FlexDoses[i] != (Dose{}) {
			t.Fatalf("%s: flex[%d] beyond the %d steps is set", what, i, rx.FlexSteps)
		}
	}
	if pb := rx.PatientBolus; pb.Volume != 0 && (pb.Volume < 0 || pb.Duration <= 0 || pb.Lockout <= 0 || pb.MaxPer24h < 1) ||
		pb.Volume == 0 && pb != (pump.PatientBolus{}) {
		t.Fatalf("%s: patient bolus %+v", what, pb)
	}
}

// checkRate checks that a rate is written one way: in mL/day, or as a dose per day.
func checkRate(t *testing.T, what string, r unit.Rate, d Dose) {
	t.Helper()
	if d != (Dose{}) && (d.Rate <= 0 || d.Unit == 0 || r != 0) || d == (Dose{}) && r <= 0 {
		t.Fatalf("%s: rate %v, dose %+v", what, r, d)
	}
}
