package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/store/sqlite"
)

// seeded is a demonstration clinic on a fresh SQLite file, its pumps started.
func seeded(t *testing.T) *Clinic {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := New(context.Background(), db, drug.Default(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSeed seeds the demonstration clinic, starts its pumps, and checks that
// the worklist shows the stages the demonstration promises.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	c := seeded(t)
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
	// The two urgent items lead, oldest first: the refill overdue since before
	// the critical alarm was raised, then the critical alarm.
	if len(items) < 2 || items[0].MRN != c.PatientByStage(StageOverdue).MRN || items[1].MRN != c.PatientByStage(StageCritical).MRN ||
		items[0].Priority != clinic.Urgent || items[1].Priority != clinic.Urgent {
		t.Errorf("the overdue refill and the critical alarm do not lead the worklist")
	}
}

// TestRefillReachesThePump records a refill in the clinic and checks that the
// virtual pump is refilled at its next report.
func TestRefillReachesThePump(t *testing.T) {
	ctx := context.Background()
	c := seeded(t)
	p := c.PatientByStage(StageOverdue)
	sys := clinic.NewContext(ctx, clinic.System)
	c.Clock.Set(c.Start.Add(time.Hour))
	// The patient missed the refill: the pump ran empty days ago, so a
	// physician orders the restart (tolerance may be lost) before the refill.
	restart := &clinic.Prescription{Program: pump.Prescription{Drug: "morphine", Concentration: conc("10 mg/mL"), Mode: pump.ModeContinuous,
		Max24h: vol("1 mL")}, DosePerDay: dose("1 mg/day"), Population: "opioid-tolerant", ConfirmLargeChange: true,
		Reason: "pump ran empty while travelling: restart at half the dose, re-titrate"}
	if err := c.Svc.Prescribe(sys, p.ID, restart); err != nil {
		t.Fatal(err)
	}
	rf := &clinic.Refill{Drug: "morphine", Concentration: conc("10 mg/mL"), ConfirmDrug: "morphine", ConfirmConcentration: conc("10 mg/mL"), Lot: "T", Withdrawn: vol("0.7 mL"), Added: vol("20 mL")}
	if err := c.Svc.RecordRefill(sys, p.ID, rf); err != nil {
		t.Fatal(err)
	}
	c.Clock.Set(c.Start.Add(2 * time.Hour))
	if err := c.Step(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, vp := range c.Pumps {
		if vp.PatientID == p.ID {
			if got := vp.Dev.Core.Reservoir(); got < vol("19 mL") {
				t.Errorf("pump reservoir after the refill: %s", got)
			}
		}
	}
}

// TestPrescriptionReachesThePumpAsItIs: every virtual pump runs its patient's
// prescription as the clinic recorded it, and a new one — a weekly flex
// program with a patient bolus and its own low-reservoir threshold — reaches
// the pump whole at the next report: nothing converted by hand, nothing dropped.
func TestPrescriptionReachesThePumpAsItIs(t *testing.T) {
	ctx := context.Background()
	c := seeded(t)
	sys := clinic.NewContext(ctx, clinic.System)
	running := func(patientID int64) pump.Prescription {
		for _, vp := range c.Pumps {
			if vp.PatientID == patientID {
				st := vp.Dev.Core.Status()
				if !st.HasRx {
					t.Fatalf("patient %d: the pump has no prescription", patientID)
				}
				return st.Rx
			}
		}
		t.Fatalf("patient %d has no virtual pump", patientID)
		return pump.Prescription{}
	}
	for _, vp := range c.Pumps {
		rec, err := c.Svc.PatientRecord(sys, vp.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		if want := rec.Prescriptions[len(rec.Prescriptions)-1].Program; running(vp.PatientID) != want {
			t.Errorf("%s runs %+v, the clinic recorded %+v", vp.Serial, running(vp.PatientID), want)
		}
	}
	p := c.PatientByStage(StageOverdue) // morphine 10 mg/mL in a TP-20
	c.Clock.Set(c.Start.Add(time.Hour))
	rx := &clinic.Prescription{Program: clinictest.FlexProgram(), Population: "opioid-tolerant",
		Reason: "pain worse by day: a flex program", ConfirmLargeChange: true}
	if err := c.Svc.Prescribe(sys, p.ID, rx); err != nil {
		t.Fatal(err)
	}
	c.Clock.Set(c.Start.Add(2 * time.Hour))
	if err := c.Step(ctx, true); err != nil {
		t.Fatal(err)
	}
	got := running(p.ID)
	if got != rx.Program || got.PatientBolus.Volume == 0 || got.LowReservoir != vol("3 mL") || got.Mode != pump.ModeFlex {
		t.Errorf("the pump runs\n%+v\nthe clinic recorded\n%+v", got, rx.Program)
	}
}

// TestDemoLibraryIsTheClinics: the demonstration publishes its own library
// (issue 11 item 4): in force for every prescription, every figure it adds to
// the default library marked as the clinic's choice, and nothing left empty
// for the drugs its patients take.
func TestDemoLibraryIsTheClinics(t *testing.T) {
	c := seeded(t)
	if v := c.Svc.Library().Version; v != "demo-clinic-1" {
		t.Fatalf("library in force: %s", v)
	}
	rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), c.PatientByStage(StageStable).ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := rec.Prescriptions[0].LibraryVersion; v != "demo-clinic-1" {
		t.Errorf("a seeded prescription was checked against %s", v)
	}
	var def, demo any
	if err := json.Unmarshal(drug.DefaultJSON(), &def); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(Library(), &demo); err != nil {
		t.Fatal(err)
	}
	// Every sourced object of the demonstration's drugs that the default
	// library does not hold, as it is, says it is the clinic's choice.
	byName := func(root any) map[string]any {
		m := map[string]any{}
		for _, d := range root.(map[string]any)["drugs"].([]any) {
			m[d.(map[string]any)["name"].(string)] = d
		}
		return m
	}
	defDrugs := byName(def)
	var walk func(path string, v, base any)
	walk = func(path string, v, base any) {
		switch v := v.(type) {
		case map[string]any:
			b, _ := base.(map[string]any)
			// The figures a source covers are the object's own scalar members.
			changed := b == nil
			for k, x := range v {
				switch x.(type) {
				case map[string]any, []any:
				default:
					changed = changed || !reflect.DeepEqual(x, b[k])
				}
			}
			if src, ok := v["source"].(string); ok && changed && !strings.HasPrefix(src, "Demonstration clinic's choice, not a published figure") {
				t.Errorf("%s: a figure the default lacks, not marked the clinic's choice: %v", path, v)
			}
			for k, x := range v {
				var bx any
				if b != nil {
					bx = b[k]
				}
				walk(path+"."+k, x, bx)
			}
		case []any:
			b, _ := base.([]any)
			for i, x := range v {
				var bx any
				if i < len(b) {
					bx = b[i]
				}
				walk(fmt.Sprintf("%s[%d]", path, i), x, bx)
			}
		}
	}
	for name, d := range byName(demo) {
		walk(name, d, defDrugs[name])
	}
	for _, name := range []string{"ziconotide", "morphine", "baclofen"} {
		d, _ := c.Svc.Library().Lookup(name)
		if g := d.Gaps(); len(g) > 0 {
			t.Errorf("%s: the demonstration clinic leaves %q empty", name, g)
		}
	}
}
