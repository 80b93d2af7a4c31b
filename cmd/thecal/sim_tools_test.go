package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const toolsExample = "../../examples/tp40-seven-years-at-0.5-ml-per-day.json"

// TestSimToolsBadInput: a bad flag or value exits with status 2 and a message
// naming the flag.
func TestSimToolsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "trumpet"}, "exactly one scenario file"},
		{[]string{"sim", "trumpet", "--rate", "fast", toolsExample}, "-rate"},
		{[]string{"sim", "trumpet", "--rate", "100", toolsExample}, "--rate"},
		{[]string{"sim", "trumpet", "--stabilise", "1y", toolsExample}, "-stabilise"},
		{[]string{"sim", "trumpet", "--spread", "-3", toolsExample}, "-spread"},
		{[]string{"sim", "trumpet", "--drift", "60", toolsExample}, "-drift"},
		{[]string{"sim", "trumpet", "no-such-file.json"}, "no-such-file.json"},
		{[]string{"sim", "campaign", "--cases", "x"}, "-cases"},
		{[]string{"sim", "campaign", "--cases", "0"}, "--cases"},
		{[]string{"sim", "campaign", "--workers", "-1"}, "--workers"},
		{[]string{"sim", "campaign", "extra"}, "unexpected argument"},
		{[]string{"sim", "population", "--patients", "0"}, "--patients"},
		{[]string{"sim", "population", "--years", "100"}, "--years"},
		{[]string{"sim", "population", "--bogus"}, "-bogus"},
		{[]string{"sim", "plot"}, "exactly one scenario file"},
		{[]string{"sim", "plot", "--points", "1", toolsExample}, "--points"},
		{[]string{"sim", "bogus"}, "unknown subcommand"},
	} {
		status, _, stderr := runCLI(tc.args...)
		if status != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", tc.args, status, firstLine(stderr), tc.want)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func TestSimTrumpetCLI(t *testing.T) {
	dir := t.TempDir()
	status, out, stderr := runCLI("sim", "trumpet", "--spread", "2", "--plot", dir, toolsExample)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{"+44.000%", "-28.000%", "with mechanism", "0 strokes off the exact program"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "trumpet.png")); err != nil {
		t.Error(err)
	}
	status, out, _ = runCLI("sim", "trumpet", "--json", "--rate", "1", toolsExample)
	var tr struct {
		Software struct {
			Windows []struct{ Minutes int } `json:"windows"`
		} `json:"software"`
	}
	if status != 0 || json.Unmarshal([]byte(out), &tr) != nil || len(tr.Software.Windows) != 5 {
		t.Errorf("--json: status %d, %.200s", status, out)
	}
}

func TestSimCampaignCLI(t *testing.T) {
	dir := t.TempDir()
	status, out, stderr := runCLI("sim", "campaign", "--cases", "20", "--seed", "4", "--out", dir, "--json")
	var res struct {
		Cases, Passed, Failed int
		Failures              []struct{ File string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Cases != 20 || res.Passed+res.Failed != 20 {
		t.Fatalf("status %d, %v: %.300s %s", status, err, out, stderr)
	}
	if (status == 0) != (res.Failed == 0) {
		t.Errorf("status %d with %d failures", status, res.Failed)
	}
	for _, f := range res.Failures {
		if st, _, _ := runCLI("sim", "campaign", "--replay", f.File); st != 1 {
			t.Errorf("replay of %s: status %d, want 1", f.File, st)
		}
	}
	if st, out, _ := runCLI("sim", "campaign", "--replay", "../../examples/refill-clears-low-reservoir.json"); st != 0 || !strings.Contains(out, "no violation") {
		t.Errorf("replay of an example: status %d\n%s", st, out)
	}
}

func TestSimPopulationCLI(t *testing.T) {
	status, out, stderr := runCLI("sim", "population", "--patients", "8", "--years", "1", "--seed", "2")
	if status != 0 || !strings.Contains(out, "2026-12") || !strings.Contains(out, "total") {
		t.Fatalf("status %d: %s\n%s", status, stderr, out)
	}
	status, out, _ = runCLI("sim", "population", "--patients", "8", "--years", "1", "--seed", "2", "--json")
	var res struct {
		Months []struct{ Month string }
	}
	if status != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Months) != 12 {
		t.Errorf("--json: status %d, %.200s", status, out)
	}
}

func TestSimPlotCLI(t *testing.T) {
	dir := t.TempDir()
	status, out, stderr := runCLI("sim", "plot", "--out", dir, "--points", "100", "../../examples/occlusion-stops-delivery-until-resume.json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, name := range []string{"delivery", "reservoir", "battery", "alarms", "dose"} {
		if !strings.Contains(out, name+".png") {
			t.Errorf("no %s.png in %s", name, out)
		}
		data, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil || img.Bounds().Dx() < 400 {
			t.Errorf("%s.png: %v", name, err)
		}
	}
}
