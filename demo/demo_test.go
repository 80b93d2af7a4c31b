package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

// started is a demonstration clinic on a fresh SQLite file behind its web
// server, its pumps and monitors running; speed > 0 runs the clock first.
func started(t *testing.T, speed float64) (*Clinic, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := New(ctx, db, drug.Default(), Options{Dir: dir}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	srv := web.NewServer(c.Svc, nil)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	if speed > 0 {
		c.Clock.Run(speed)
	}
	if err := c.Start(ctx, ts.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv.SetStation(c.Station())
	return c, ts.URL
}

// seeded is a demonstration clinic on a fresh SQLite file, its pumps not started.
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

func sys() context.Context { return clinic.NewContext(context.Background(), clinic.System) }

// TestSeed seeds the demonstration clinic, starts its pumps and monitors, and
// checks that the worklist shows the stages the demonstration promises, from
// the pumps' own first reports.
func TestSeed(t *testing.T) {
	c, _ := started(t, 0)
	items, err := c.Svc.Worklist(sys(), clinic.WorkQuery{})
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
	for _, it := range items {
		switch it.Kind {
		case clinic.WorkPrescriptionMismatch, clinic.WorkReservoirMismatch, clinic.WorkOrderNotProgrammed:
			t.Errorf("the seeded clinic shows %s: %s", it.Kind, it.Reason)
		}
	}
}

// TestEveryPumpRunsItsOrderThroughTelemetry: every pump runs its patient's
// order exactly, put there by a clinician's session over telemetry (the
// pump's own log says so), and the order is verified by the pump's home
// monitor; demo.json says how to reach each pump.
func TestEveryPumpRunsItsOrderThroughTelemetry(t *testing.T) {
	c, url := started(t, 0)
	if len(c.Pumps) != 5 {
		t.Fatalf("%d pumps", len(c.Pumps))
	}
	for _, p := range c.Pumps {
		rec, err := c.Svc.PatientRecord(sys(), p.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		order := rec.Prescriptions[len(rec.Prescriptions)-1]
		st, err := p.Im.Status()
		if err != nil {
			t.Fatal(err)
		}
		if !st.HasRx || st.Rx != order.Program {
			t.Errorf("%s runs %+v, the clinic ordered %+v", p.Serial, st.Rx, order.Program)
		}
		if order.OrderState() != clinic.Verified || order.Session == 0 || order.ProgrammedBy != "nurse.ode" {
			t.Errorf("%s: order %+v", p.Serial, order.OrderStatus)
		}
		programmed := false
		for _, r := range p.Im.Records(0) {
			if pump.EventKind(r.Kind) == pump.EvProgram {
				programmed = r.Role == pump.RoleClinician && r.Serial == 101
			}
		}
		if !programmed {
			t.Errorf("%s: the pump's log has no program from the clinician's programmer", p.Serial)
		}
	}
	if err := c.WriteInfo(url); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in Info
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if in.URL != url || len(in.Signins) != 3 || len(in.Patients) != 6 || in.Identity == "" || in.Trust == "" {
		t.Fatalf("demo.json: %s", b)
	}
	for _, p := range in.Patients {
		if p.Stage == StageTrial {
			continue
		}
		if p.Serial == "" || p.Address == "" || p.State == "" {
			t.Errorf("demo.json patient %+v", p)
		}
		if _, err := implant.Control(context.Background(), p.State, "wake radio"); err != nil {
			t.Errorf("%s: thecal pump wake --state %s: %v", p.Name, p.State, err)
		}
	}
}

// TestOrderReachesThePumpOnlyThroughAVisit: an order recorded in the clinic
// changes nothing in the pump by itself; the programming station's visit
// programs it, it is programmed, and verified at the pump's next monitor
// report. A concentration change runs refill, bridge and the order in one
// session.
func TestOrderReachesThePumpOnlyThroughAVisit(t *testing.T) {
	c, _ := started(t, 3600)
	pt := c.PatientByStage(StageOverdue) // morphine 10 mg/mL in a TP-20
	var p *Pump
	for _, x := range c.Pumps {
		if x.PatientID == pt.ID {
			p = x
		}
	}
	before, _ := p.Im.Status()
	rx := &clinic.Prescription{Program: clinictest.FlexProgram(), Population: "opioid-tolerant",
		Reason: "pain worse by day: a flex program", ConfirmLargeChange: true}
	if err := c.Svc.Prescribe(sys(), pt.ID, rx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(c.MonitorEvery + time.Second)
	if st, _ := p.Im.Status(); st.Rx != before.Rx {
		t.Fatal("an order reached the pump without a programmer")
	}
	nurse, err := c.principal(context.Background(), clinic.Nurse)
	if err != nil {
		t.Fatal(err)
	}
	ctx := clinic.NewContext(context.Background(), nurse)
	visit := func(do func(pr *programmer.Programmer, v *programmer.Visit) (*clinic.SessionResult, error)) *clinic.SessionResult {
		t.Helper()
		s, err := c.Station().Open(ctx, p.Serial)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(false)
		pr := &programmer.Programmer{S: s, Lib: c.Svc.Library(), Out: io.Discard, Confirm: func(string) bool { return true },
			ConfirmConcentrationChange: true} // the nurse confirms the ordered change of fill
		v, err := pr.StartVisit(ctx, programmer.ServiceRecords{Svc: c.Svc}, c.Clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		res, err := do(pr, v)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := visit(func(pr *programmer.Programmer, v *programmer.Visit) (*clinic.SessionResult, error) {
		if err := pr.PlanOrder(v); err != nil {
			return nil, err
		}
		return pr.ProgramOrder(ctx, v)
	})
	if st, _ := p.Im.Status(); st.Rx != rx.Program || res.Report.State != clinic.Programmed || res.Session.Outcome != "programmed" {
		t.Fatalf("after the visit the pump runs %+v; %+v", st.Rx, res.Report)
	}
	waitState(t, c, rx.ID, clinic.Verified)

	// A concentration change ordered: refill, bridge and the order, one session.
	conc := clinictest.FlexProgram()
	conc.Concentration *= 2
	for i := range conc.FlexSteps {
		conc.Flex[i].Rate /= 2
	}
	conc.PatientBolus.Volume /= 2
	conc.Max24h /= 2
	rx2 := &clinic.Prescription{Program: conc, Population: "opioid-tolerant", Reason: "a stronger solution, refills half as often",
		ConfirmLargeChange: true, ConfirmConcentrationChange: true}
	if err := c.Svc.Prescribe(sys(), pt.ID, rx2); err != nil {
		t.Fatal(err)
	}
	st, _ := p.Im.Status()
	res = visit(func(pr *programmer.Programmer, v *programmer.Visit) (*clinic.SessionResult, error) {
		rv := programmer.RefillVisit{Lot: "MOR-20A", In: programmer.RefillInput{Withdrawn: st.Reservoir, Added: 20 * 1000 * 1000,
			Drug: "morphine", Concentration: conc.Concentration, ConfirmDrug: "morphine", ConfirmConcentration: conc.Concentration}}
		if err := pr.PlanVisitRefill(ctx, v, rv); err != nil {
			return nil, err
		}
		return pr.RefillOrder(ctx, v)
	})
	st, _ = p.Im.Status()
	if st.Rx != conc || st.FillConc != conc.Concentration || !st.Bridging || res.Session.Outcome != "refilled_and_programmed" || res.Session.RefillID == 0 {
		t.Fatalf("after the refill visit: %+v bridging %v; session %+v", st.Rx, st.Bridging, res.Session)
	}
	var steps []string
	for _, s := range res.Session.Steps {
		steps = append(steps, s.Action)
	}
	if got := strings.Join(steps, ","); got != "interrogate,refill,bridge,read_back" {
		t.Errorf("session steps %s", got)
	}
	waitState(t, c, rx2.ID, clinic.Verified)
	var bridge pumpwire.Record
	for _, r := range p.Im.Records(0) {
		if pump.EventKind(r.Kind) == pump.EvBridgeStart {
			bridge = r
		}
	}
	if bridge.Seq != res.Session.Steps[2].Seq {
		t.Errorf("the session names the bridge #%d, the pump's log #%d", res.Session.Steps[2].Seq, bridge.Seq)
	}
}

// waitState waits for order id to reach state (the monitors report on their
// own schedule).
func waitState(t *testing.T, c *Clinic, id int64, state clinic.OrderState) {
	t.Helper()
	deadline := time.Now().Add(3*c.MonitorEvery + 10*time.Second)
	for {
		v, err := c.Svc.Record(sys(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.(*clinic.Prescription).OrderState(); got == state {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("order %d is %s, not %s", id, got, state)
		}
		time.Sleep(100 * time.Millisecond)
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
