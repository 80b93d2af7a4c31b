package sim

import (
	"encoding/json"
	"testing"
)

// TestPopulationDeterministic: the same seed gives the same clinic on one
// worker and on two.
func TestPopulationDeterministic(t *testing.T) {
	o := PopulationOptions{Patients: 24, Years: 3, Seed: 11}
	o.Workers = 1
	a, err := RunPopulation(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 2
	b, err := RunPopulation(o)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("1 worker and 2 workers differ:\n%s\n%s", ja, jb)
	}
	if len(a.Months) != 36 {
		t.Errorf("%d months, want 36", len(a.Months))
	}
	if a.Total.Refills == 0 || a.PumpYears < 70 {
		t.Errorf("implausible clinic: %+v, %.1f pump-years", a.Total, a.PumpYears)
	}
	o.Seed = 12
	c, _ := RunPopulation(o)
	if c.Total.Refills == a.Total.Refills && c.Strokes == a.Strokes {
		t.Errorf("another seed gave the same clinic")
	}
}

// TestPopulationRefusals: bad sizes name their flag.
func TestPopulationRefusals(t *testing.T) {
	for _, o := range []PopulationOptions{{Patients: 0, Years: 1}, {Patients: 1, Years: 0}, {Patients: 1, Years: 51}} {
		if _, err := RunPopulation(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
