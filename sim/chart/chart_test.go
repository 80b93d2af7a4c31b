package chart

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
)

func parse(t *testing.T, file string) *scenario.Scenario {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Skip(err)
	}
	sc, err := scenario.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// checkFiles: every file exists, SVGs are SVG, PNGs decode to a plausible size.
func checkFiles(t *testing.T, files []string, want []string) {
	t.Helper()
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f)] = true
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(f) {
		case ".svg":
			if !bytes.Contains(data[:min(len(data), 512)], []byte("<svg")) || len(data) < 1000 {
				t.Errorf("%s is not an SVG picture (%d bytes)", f, len(data))
			}
		case ".png":
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
				t.Errorf("%s is %dx%d", f, b.Dx(), b.Dy())
			}
		}
	}
	for _, w := range want {
		for _, ext := range Formats {
			if !have[w+"."+ext] {
				t.Errorf("no %s.%s among %v", w, ext, files)
			}
		}
	}
}

func TestWriteRun(t *testing.T) {
	sc := parse(t, "../../examples/mri-stalls-motor-then-recovers.json")
	tr, err := sim.RunTrace(sc, 200)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WriteRun(dir, tr)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, []string{"delivery", "reservoir", "battery", "alarms", "dose"})
}

func TestWriteTrumpet(t *testing.T) {
	sc := parse(t, "../../examples/tp40-seven-years-at-0.5-ml-per-day.json")
	tr, err := sim.RunTrumpet(sc, sim.TrumpetOptions{Rate: 6 * 1_000_000, HasMechanics: true, SpreadPct: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WriteTrumpet(dir, tr)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, []string{"trumpet", "trumpet-flow"})
	if !strings.HasSuffix(files[0], "trumpet.svg") {
		t.Errorf("files %v", files)
	}
}
