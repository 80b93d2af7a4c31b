package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFormatRoundTrip: every scenario the project ships reads back from Format
// to the same Scenario, field for field.
func TestFormatRoundTrip(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata", "../examples"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no scenario files found")
	}
	n := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(data)
		if err != nil {
			continue // files that test a refusal
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			out := Format(s)
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Format output does not parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(s, back) {
				t.Errorf("round trip changed the scenario:\n got %+v\nwant %+v\n%s", back, s, out)
			}
		})
	}
	if n == 0 {
		t.Fatal("no scenario parsed")
	}
}

// TestFormatMechanics: the mechanical error model's fields survive a round trip,
// and drift may be negative.
func TestFormatMechanics(t *testing.T) {
	src := `{"name": "m", "start": "2026-01-05T08:00:00Z", "duration": "1d",
	  "pump": {"model": "TP-20", "catheter_length_cm": 50, "stroke_spread_pct": 2.5, "stroke_drift_pct_per_year": -1.25},
	  "fill": {"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 20},
	  "prescription": {"mode": "continuous", "dose_per_day": "5 mg", "max_24h_ml": 0.7},
	  "events": [{"at": "0s", "kind": "occlusion"}, {"at": "1h30m", "kind": "battery_drain", "uah": 12.5}]}`
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Pump.StrokeSpreadPct != 2.5 || s.Pump.StrokeDriftPctPerYear != -1.25 {
		t.Fatalf("mechanics = %v, %v", s.Pump.StrokeSpreadPct, s.Pump.StrokeDriftPctPerYear)
	}
	out := Format(s)
	for _, want := range []string{`"stroke_drift_pct_per_year": -1.25`, `"dose_per_day": "5 mg/day"`, `"uah": 12.5`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Format output lacks %s:\n%s", want, out)
		}
	}
	back, err := Parse(out)
	if err != nil || !reflect.DeepEqual(s, back) {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
}

func TestParseStrokeDrift(t *testing.T) {
	base := `{"name": "m", "start": "2026-01-05T08:00:00Z", "duration": "1d",
	  "pump": {"model": "TP-20", "catheter_length_cm": 50, "stroke_drift_pct_per_year": %s},
	  "fill": {"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 20},
	  "prescription": {"mode": "stopped"}}`
	for _, tc := range []struct {
		val  string
		ok   bool
		want float64
	}{{"-50", true, -50}, {"0.5", true, 0.5}, {"50", true, 50}, {"50.1", false, 0}, {"-51", false, 0}, {`"1"`, false, 0}} {
		s, err := Parse([]byte(strings.Replace(base, "%s", tc.val, 1)))
		if tc.ok {
			if err != nil || s.Pump.StrokeDriftPctPerYear != tc.want {
				t.Errorf("%s: %v, %v", tc.val, err, s)
			}
			continue
		}
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != "pump.stroke_drift_pct_per_year" {
			t.Errorf("%s: error %v, want a refusal of pump.stroke_drift_pct_per_year", tc.val, err)
		}
	}
}
