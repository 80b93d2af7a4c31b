package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/thecal/thecal/unit"
)

// The calculators and the pump core agree: for random prescriptions, the dates
// and volumes `thecal calc` predicts are what `thecal sim run` produces, to one
// stroke and one minute. Each check runs both commands in process and compares
// their JSON.

const simStart = "2026-01-05T08:00:00Z"

// runScenario runs a scenario through "thecal sim run --json" and returns its report.
func runScenario(t *rapid.T, dir string, sc map[string]any) simReport {
	data, _ := json.Marshal(sc)
	file := filepath.Join(dir, "scenario.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if status := run([]string{"sim", "run", "--json", file}, &out, &errOut); status != 0 {
		t.Fatalf("sim run: exit %d: %s\n%s", status, errOut.String(), data)
	}
	var r simReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

type simReport struct {
	Alarms []struct{ At, Alarm, Action string }
	Refill []struct {
		Expected float64 `json:"expected_residual_ml"`
	} `json:"refills"`
}

// raised returns when alarm was first raised, and whether it was.
func (r simReport) raised(alarm string) (unit.Time, bool) {
	for _, a := range r.Alarms {
		if a.Alarm == alarm && a.Action == "raise" {
			t, err := unit.ParseTime(a.At)
			return t, err == nil
		}
	}
	return 0, false
}

// calcJSON runs "thecal calc ARGS --json" and returns its result object.
func calcJSON(t *rapid.T, args ...string) map[string]any {
	var out, errOut bytes.Buffer
	if status := run(append(append([]string{"calc"}, args...), "--json"), &out, &errOut); status != 0 {
		t.Fatalf("calc %v: exit %d: %s", args, status, errOut.String())
	}
	var r struct{ Result map[string]any }
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r.Result
}

func resultTime(t *rapid.T, res map[string]any, key string) unit.Time {
	s, _ := res[key].(string)
	tm, err := unit.ParseTime(s)
	if err != nil {
		t.Fatalf("result %s = %v: %v", key, res[key], err)
	}
	return tm
}

func within(t *rapid.T, what string, calc, sim unit.Time, tol unit.Duration) {
	d := calc.Sub(sim)
	if d < -tol || d > tol {
		t.Fatalf("%s: calc %v, sim %v (%v apart, tolerance %v)", what, calc, sim, d, tol)
	}
}

// drawRate draws a basal rate in whole µL/day, as text for both commands.
func drawRate(t *rapid.T, lo, hi int64) (ml float64, text string) {
	ul := rapid.Int64Range(lo, hi).Draw(t, "µL/day")
	return float64(ul) / 1000, unit.FormatFixed(ul, 3) + "mL/day"
}

func TestCalcAgreesWithSimLowReservoir(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		rateML, rateArg := drawRate(t, 48, 1000)
		fillTenths := rapid.Int64Range(30, 200).Draw(t, "fill (0.1 mL)")
		fill := unit.FormatFixed(fillTenths, 1)
		days := int64(float64(fillTenths)/10/rateML) + 2
		rep := runScenario(t, dir, map[string]any{
			"name": "low reservoir", "start": simStart, "duration": fmt.Sprintf("%dd", days), "seed": 1,
			"pump":         map[string]any{"model": "TP-20", "catheter_length_cm": 50},
			"fill":         map[string]any{"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": json.Number(fill)},
			"prescription": map[string]any{"mode": "continuous", "rate_ml_per_day": rateML, "max_24h_ml": 2},
		})
		res := calcJSON(t, "next-refill", "--reservoir", "20mL", "--volume", fill+"mL", "--rate", rateArg, "--filled", simStart)
		if fillTenths > 20 {
			low, ok := rep.raised("LOW_RESERVOIR")
			if !ok {
				t.Fatalf("sim raised no LOW_RESERVOIR: %+v", rep.Alarms)
			}
			within(t, "low-reservoir alarm", resultTime(t, res, "low_alarm"), low, unit.Minute)
		}
		empty, ok := rep.raised("EMPTY_RESERVOIR")
		if !ok {
			t.Fatalf("sim raised no EMPTY_RESERVOIR: %+v", rep.Alarms)
		}
		within(t, "empty-reservoir alarm", resultTime(t, res, "empty_alarm"), empty, unit.Minute)
	})
}

func TestCalcAgreesWithSimRefill(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		rateML, rateArg := drawRate(t, 48, 500)
		since := rapid.Int64Range(1, int64(17/rateML)).Draw(t, "days") // the residual stays over 3 mL
		rep := runScenario(t, dir, map[string]any{
			"name": "refill", "start": simStart, "duration": fmt.Sprintf("%dd", since+1), "seed": 1,
			"pump":         map[string]any{"model": "TP-20", "catheter_length_cm": 50},
			"fill":         map[string]any{"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 20},
			"prescription": map[string]any{"mode": "continuous", "rate_ml_per_day": rateML, "max_24h_ml": 2},
			"events": []any{map[string]any{"at": fmt.Sprintf("%dd", since), "kind": "refill", "withdraw_ml": 1, "add_ml": 1,
				"drug": "morphine", "concentration": "10 mg/mL"}},
		})
		if len(rep.Refill) != 1 {
			t.Fatalf("sim recorded %d refills", len(rep.Refill))
		}
		res := calcJSON(t, "refill", "--reservoir", "20mL", "--last-fill", "20mL", "--rate", rateArg, "--since", fmt.Sprintf("%dd", since), "--withdrawn", "1mL")
		want, err := unit.ParseVolume(res["expected"].(string))
		if err != nil {
			t.Fatal(err)
		}
		got := unit.Millilitres(rep.Refill[0].Expected)
		if d := got - want; d > 500*unit.Nanolitre || d < -500*unit.Nanolitre {
			t.Fatalf("expected residual: calc %v, sim %v: more than a stroke apart", want, got)
		}
	})
}

func TestCalcAgreesWithSimBattery(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		// A low battery so that ERI and EOS come within the scenario, and a rate
		// low enough that the 40 mL reservoir never raises its own alarms first.
		rateML, rateArg := drawRate(t, 48, 200)
		uah := rapid.Int64Range(15_000, 60_000).Draw(t, "µAh")
		rep := runScenario(t, dir, map[string]any{
			"name": "battery", "start": simStart, "duration": "200d", "seed": 1,
			"pump":         map[string]any{"model": "TP-40", "catheter_length_cm": 50, "battery_uah": uah},
			"fill":         map[string]any{"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 40},
			"prescription": map[string]any{"mode": "continuous", "rate_ml_per_day": rateML, "max_24h_ml": 2},
		})
		res := calcJSON(t, "battery", "--battery", fmt.Sprintf("%duAh", uah), "--rate", rateArg, "--at", simStart)
		eri, ok1 := rep.raised("ERI")
		eos, ok2 := rep.raised("EOS")
		if !ok1 || !ok2 {
			t.Fatalf("sim raised ERI %v, EOS %v: %+v", ok1, ok2, rep.Alarms)
		}
		within(t, "ERI", resultTime(t, res, "eri"), eri, unit.Minute)
		within(t, "EOS", resultTime(t, res, "eos"), eos, unit.Minute)
	})
}
