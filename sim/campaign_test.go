package sim

import (
	"os"
	"strconv"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
)

// campaignSize is the number of cases TestCampaign runs: THECAL_CAMPAIGN, or 200.
func campaignSize(t *testing.T) int {
	n := 200
	if s := os.Getenv("THECAL_CAMPAIGN"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("THECAL_CAMPAIGN=%q: want a whole number of cases", s)
		}
		n = v
	}
	return n
}

// TestCampaign: seeded random scenarios with every fault kind break none of the
// safety invariants.
func TestCampaign(t *testing.T) {
	res, err := RunCampaign(CampaignOptions{Seed: 1, Cases: campaignSize(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Failures {
		f := &res.Failures[i]
		t.Errorf("case %d: %+v\nshrunk scenario:\n%s", f.Case, f.Violations, f.Shrunk)
	}
	t.Logf("%d cases, %.0f simulated days, %d strokes", res.Cases, res.SimulatedDays, res.Strokes)
}

// TestCampaignDeterministic: the same seed gives the same cases and outcome on
// one worker or several.
func TestCampaignDeterministic(t *testing.T) {
	a, err := RunCampaign(CampaignOptions{Seed: 7, Cases: 40, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunCampaign(CampaignOptions{Seed: 7, Cases: 40, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if a.Strokes != b.Strokes || a.Failed != b.Failed || a.SimulatedDays != b.SimulatedDays {
		t.Errorf("1 worker: %+v\n3 workers: %+v", a, b)
	}
	if string(scenario.Format(GenerateCase(7, 5))) != string(scenario.Format(GenerateCase(7, 5))) {
		t.Errorf("GenerateCase is not reproducible")
	}
}

// TestShrinkInjected: a deliberately broken invariant (a refill of more than 5
// mL "violates" it) fails cases; the shrinker cuts each to a scenario file that
// parses, runs, fails the same way, and holds exactly one event, a refill.
func TestShrinkInjected(t *testing.T) {
	broken := func(e *scenario.Event, _ pump.Status) string {
		if e != nil && e.Kind == scenario.Refill && e.Add.Millilitres() > 5 {
			return "injected: a refill of more than 5 mL"
		}
		return ""
	}
	res, err := RunCampaign(CampaignOptions{Seed: 3, Cases: 30, Extra: broken})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range res.Failures {
		if f.Violations[0].Invariant != InvInjected {
			continue
		}
		n++
		sc, err := scenario.Parse(f.Shrunk)
		if err != nil {
			t.Fatalf("case %d: the shrunk scenario does not parse: %v\n%s", f.Case, err, f.Shrunk)
		}
		if len(sc.Events) != 1 || sc.Events[0].Kind != scenario.Refill {
			t.Errorf("case %d: shrunk to %d events, want one refill:\n%s", f.Case, len(sc.Events), f.Shrunk)
		}
		if sc.End() > sc.Events[0].At.Add(2*60*1000) {
			t.Errorf("case %d: the shrunk scenario runs %s past the refill", f.Case, sc.End().Sub(sc.Events[0].At))
		}
		again, err := Check(sc, broken)
		if err != nil || len(again.Violations) == 0 || again.Violations[0].Invariant != InvInjected {
			t.Errorf("case %d: the shrunk scenario does not reproduce: %v %+v", f.Case, err, again)
		}
	}
	if n == 0 {
		t.Fatal("the injected invariant failed no case")
	}
}
