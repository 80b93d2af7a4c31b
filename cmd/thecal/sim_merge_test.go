package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimShardsMergeToTheWholeRun: three shards written by --shard and added
// up by 'thecal sim merge' print exactly what the whole run prints, as text,
// JSON and CSV.
func TestSimShardsMergeToTheWholeRun(t *testing.T) {
	dir := t.TempDir()
	run := []string{"sim", "population", "--patients", "20", "--years", "2", "--seed", "5", "--seeds", "2"}
	var files []string
	for i := range 3 {
		f := filepath.Join(dir, "shard"+string(rune('0'+i))+".json")
		if st, _, errs := runCLI(append(run, "--shard", string(rune('0'+i))+"/3", "--raw", f)...); st != 0 {
			t.Fatalf("shard %d: status %d: %s", i, st, errs)
		}
		files = append(files, f)
	}
	for _, format := range [][]string{nil, {"--json"}} {
		st1, whole, e1 := runCLI(append(run, format...)...)
		st2, merged, e2 := runCLI(append(append([]string{"sim", "merge"}, format...), files...)...)
		if st1 != 0 || st2 != 0 {
			t.Fatalf("status %d, %d: %s %s", st1, st2, e1, e2)
		}
		if whole != merged {
			t.Fatalf("%v: the merged shards print\n%s\nthe whole run\n%s", format, merged, whole)
		}
	}
	csv1, csv2 := filepath.Join(dir, "whole.csv"), filepath.Join(dir, "merged.csv")
	runCLI(append(run, "--csv", csv1)...)
	runCLI(append([]string{"sim", "merge", "--csv", csv2}, files...)...)
	a, _ := os.ReadFile(csv1)
	b, _ := os.ReadFile(csv2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("the CSV files differ (%d and %d bytes)", len(a), len(b))
	}
	if !strings.HasPrefix(string(a), "month,referrals,referrals_p5,referrals_p95,") {
		t.Errorf("CSV header: %.80s", a)
	}
	for _, bad := range [][]string{files[:2], {files[0], files[0], files[1], files[2]}, {csv1}} {
		if st, _, errs := runCLI(append([]string{"sim", "merge"}, bad...)...); st != 2 || errs == "" {
			t.Errorf("merge of %v: status %d, %q", bad, st, errs)
		}
	}
	if st, _, errs := runCLI(append(run, "--shard", "1/3", "--json")...); st != 2 || !strings.Contains(errs, "--shard") {
		t.Errorf("--shard with --json: status %d, %q", st, errs)
	}
}

// TestSimPopulationPlots: --plot draws every picture, SVG and PNG.
func TestSimPopulationPlots(t *testing.T) {
	dir := t.TempDir()
	st, _, errs := runCLI("sim", "population", "--patients", "20", "--years", "1", "--seeds", "3", "--plot", dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, name := range []string{"procedures", "refills", "revisions", "alarms", "drug", "patients"} {
		data, err := os.ReadFile(filepath.Join(dir, "population-"+name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() < 400 {
			t.Errorf("%s.png: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "population-"+name+".svg")); err != nil {
			t.Error(err)
		}
	}
}

// TestSimPopulationParams: --params lists every parameter with its source;
// --param refuses an unknown one.
func TestSimPopulationParams(t *testing.T) {
	st, out, _ := runCLI("sim", "population", "--params")
	if st != 0 || !strings.Contains(out, "catheter_occlusion") || !strings.Contains(out, "Feller") || !strings.Contains(out, "assumed") {
		t.Fatalf("status %d:\n%s", st, out)
	}
	if st, _, errs := runCLI("sim", "population", "--param", "nonsense=1"); st != 2 || !strings.Contains(errs, "nonsense") {
		t.Errorf("status %d: %q", st, errs)
	}
}
