package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/thecal/thecal/unit"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/store/sqlite"
)

// TestSeed seeds the demonstration clinic, starts its pumps, and checks that
// the worklist shows the stages the demonstration promises.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := New(ctx, db, drug.Default(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Svc.Worklist(clinic.NewContext(ctx, clinic.System), clinic.WorkQuery{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[clinic.WorkKind]bool{}
	for _, it := range items {
		t.Logf("%d %-20s %-18s %s %s", it.Priority, it.Patient, it.Kind, it.Status, it.Reason)
		if kinds[it.MRN] == nil {
			kinds[it.MRN] = map[clinic.WorkKind]bool{}
		}
		kinds[it.MRN][it.Kind] = true
	}
	for stage, kind := range map[string]clinic.WorkKind{StageCritical: clinic.WorkCriticalAlarm, StageOverdue: clinic.WorkRefill,
		StageERI: clinic.WorkReplacement, StageTrial: clinic.WorkTrial} {
		if p := c.PatientByStage(stage); !kinds[p.MRN][kind] {
			t.Errorf("%s (%s): no %s on the worklist", p.Name, stage, kind)
		}
	}
	if len(items) == 0 || items[0].MRN != c.PatientByStage(StageCritical).MRN {
		t.Errorf("the critical alarm is not first on the worklist")
	}
}

// TestRefillReachesThePump records a refill in the clinic and checks that the
// virtual pump is refilled at its next report.
func TestRefillReachesThePump(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := New(ctx, db, drug.Default(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := c.PatientByStage(StageOverdue)
	sys := clinic.NewContext(ctx, clinic.System)
	c.Clock.Set(c.Start.Add(time.Hour))
	rf := &clinic.Refill{Drug: "morphine", Concentration: conc("10 mg/mL"), Lot: "T", Withdrawn: vol("0.7 mL"), Added: vol("20 mL")}
	if err := c.Svc.RecordRefill(sys, p.ID, rf); err != nil {
		t.Fatal(err)
	}
	c.Clock.Set(c.Start.Add(2 * time.Hour))
	if err := c.Step(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, vp := range c.Pumps {
		if vp.PatientID == p.ID {
			if got := vp.Dev.Core.Reservoir(); got < unit.Volume(vol("19 mL")) {
				t.Errorf("pump reservoir after the refill: %s", got)
			}
		}
	}
}
