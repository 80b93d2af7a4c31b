package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodScenario = `{
  "name": "cli test", "start": "2026-01-05T08:00:00Z", "duration": "10d",
  "pump": { "model": "TP-20", "catheter_length_cm": 50 },
  "fill": { "drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 20 },
  "prescription": { "mode": "continuous", "rate_ml_per_day": 0.5, "max_24h_ml": 0.7 }
}`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSimRunTextAndJSON(t *testing.T) {
	f := writeFile(t, goodScenario)
	code, out, _ := runCLI("sim", "run", f)
	if code != 0 || !strings.Contains(out, "Delivered from the reservoir: 5.000000 mL") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	code, out, _ = runCLI("sim", "run", "--json", f)
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("exit %d, not JSON:\n%s", code, out)
	}
	for _, k := range []string{"name", "start", "end", "delivered_ml", "to_patient", "reservoir_estimate_ml",
		"reservoir_actual_ml", "battery_uah", "alarms", "patient_boluses", "days", "log", "tones"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report has no %q", k)
		}
	}
	if rep["delivered_ml"].(float64) != 5 {
		t.Errorf("delivered_ml %v", rep["delivered_ml"])
	}
}

func TestSimRunRefusesBadInputWithStatus2(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"unknown field", strings.Replace(goodScenario, `"duration": "10d",`, `"duration": "10d", "sed": 1,`, 1), "sed"},
		{"rate over the cap", strings.Replace(goodScenario, `"rate_ml_per_day": 0.5`, `"rate_ml_per_day": 0.8`, 1), "prescription.max_24h_ml"},
		{"rate without unit field", strings.Replace(goodScenario, `"rate_ml_per_day": 0.5, `, ``, 1), "prescription"},
		{"overfilled reservoir", strings.Replace(goodScenario, `"volume_ml": 20`, `"volume_ml": 25`, 1), "fill.volume_ml"},
		{"bad model", strings.Replace(goodScenario, `TP-20`, `TP-30`, 1), "pump.model"},
		{"not JSON", `{`, "scenario"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI("sim", "run", writeFile(t, tc.body))
			if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q (want status 2 naming %q)", code, out, errs, tc.want)
			}
		})
	}
	for _, args := range [][]string{{"sim", "run"}, {"sim", "run", "/no/such/file.json"}, {"sim", "run", "--bogus", "x"}, {"sim", "nope"}, {"nope"}} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
