package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// exampleScenarios returns the parsed example scenarios.
func exampleScenarios(t testing.TB) map[string]*scenario.Scenario {
	t.Helper()
	files, _ := filepath.Glob("../examples/*.json")
	out := map[string]*scenario.Scenario{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Parse(data)
		if err != nil {
			continue
		}
		out[filepath.Base(f)] = sc
	}
	if len(out) == 0 {
		t.Skip("no example scenarios")
	}
	return out
}

func reportJSON(t testing.TB, rep *Report) string {
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func driven(t testing.TB, sc *scenario.Scenario, h *hooks) *Report {
	t.Helper()
	r, err := newDriven(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.drive(h); err != nil {
		t.Fatal(err)
	}
	return r.report()
}

// TestDriveMatchesRun: the observed driver runs every example exactly as Run
// does, with and without sampling, so what the trumpet, the campaign and the
// plots see is what Run reports.
func TestDriveMatchesRun(t *testing.T) {
	for name, sc := range exampleScenarios(t) {
		if sc.Pump.StrokeSpreadPct != 0 || sc.Pump.StrokeDriftPctPerYear != 0 {
			continue // Run ignores the mechanics until sim.go attaches them
		}
		t.Run(name, func(t *testing.T) {
			rep, err := Run(sc)
			if err != nil {
				t.Fatal(err)
			}
			want := reportJSON(t, rep)
			if got := reportJSON(t, driven(t, sc, &hooks{})); got != want {
				t.Errorf("drive differs from Run")
			}
			n := 0
			h := &hooks{sampleEvery: sc.Duration/97 + 1, sample: func(unit.Time) { n++ }}
			if got := reportJSON(t, driven(t, sc, h)); got != want {
				t.Errorf("sampling changed the run")
			}
			if n < 97 {
				t.Errorf("%d samples, want at least 97", n)
			}
		})
	}
}
