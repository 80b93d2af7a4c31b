package sim_test

// TestExamples runs every scenario in ../examples and checks, per example, the
// facts it exists to show. The expected values are worked out here by hand from
// the numbers of spec/pump.md and spec/scenario.md (written out below, not read
// from package pump, so that a wrong constant in the core cannot agree with
// itself), to one stroke (0.5 µL) for volumes and to one stroke interval for
// times unless a check says why it allows more. It also compares each report
// with examples/golden/NAME.json; after checking a change by hand, regenerate
// them with
//
//	go test ./sim -run TestExamples -update

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
)

var update = flag.Bool("update", false, "rewrite ../examples/golden/*.json from the reports of the examples")

// The spec's numbers. Volumes in nL, rates in nL/day, charge in µAh.
const (
	mL        = 1_000_000 // nL
	stroke    = 500       // 0.5 µL
	tubing    = 250_000   // pump tubing, reservoir to catheter port
	perCm     = 2_200     // default catheter volume per cm
	emptyVol  = 500_000   // delivery stops at or below 0.5 mL
	maxRate   = 24 * mL   // 1.0 mL/h
	minRate   = 48_000    // 0.048 mL/day
	day       = 24 * time.Hour
	msPerDay  = int64(day / time.Millisecond)
	lowAlarm  = 2 * mL // default low-reservoir threshold
	eriLead   = 90     // days
	critTone  = 10 * time.Minute
	tone      = time.Hour // non-critical tone period
	retry     = 10 * time.Minute
	checkpnt  = time.Hour
	stallN    = 3  // failed strokes to MOTOR_STALL
	occlN     = 5  // strokes over 100 kPa to OCCLUSION
	leakN     = 10 // strokes under 2 kPa to CATHETER_INTEGRITY
	levelTol  = 200_000
	capacity  = 1_000_000.0 // µAh
	reserve   = capacity / 100
	quiescent = 12.0 // µA
	strokeUAh = 0.1
	toneUAh   = 5.0
	radioUA   = 5000.0 // 5 mA
)

// Session radio time (spec/scenario.md).
const (
	clinicianRadio = 2 * time.Minute
	patientRadio   = 10 * time.Second
)

// checks maps each example (file name without .json) to the facts it shows.
var checks = map[string]func(e *example){
	"continuous-low-reservoir-at-36-days-empty-at-39":   checkLowThenEmpty,
	"program-doubles-rate-at-day-10":                    checkProgram,
	"stop-leaves-pump-stopped-alarm-sounding":           checkStop,
	"resume-restarts-without-catch-up":                  checkResume,
	"clinician-bolus-adds-0.1-ml-over-1-hour":           checkClinicianBolus,
	"new-implant-primes-50-cm-catheter-in-21.6-minutes": checkNewImplant,
	"bridge-new-concentration-arrives-after-0.36-ml":    checkBridge,
	"patient-bolus-given-on-demand":                     checkPatientBolus,
	"refill-clears-low-reservoir":                       checkRefill,
	"interrogate-reads-reservoir-and-battery":           checkInterrogate,
	"acknowledge-clears-recovered-motor-stall":          checkAcknowledge,
	"mri-stalls-motor-then-recovers":                    checkMRI,
	"motor-stall-two-missed-strokes-no-alarm":           checkShortStall,
	"occlusion-stops-delivery-until-resume":             checkOcclusion,
	"leak-drug-lost-at-catheter-break":                  checkLeak,
	"power-loss-restarts-with-conservative-estimate":    checkPowerLoss,
	"battery-drain-raises-eri-at-once":                  checkBatteryDrain,
	"eri-then-eos-90-days-later":                        checkERIThenEOS,
	"set-clock-moves-flex-to-new-local-time":            checkSetClock,
	"flex-daily-day-and-night-rates":                    checkFlexDaily,
	"flex-weekly-weekday-and-weekend-rates":             checkFlexWeekly,
	"minimum-rate-keeps-catheter-patent":                checkMinimum,
	"pocket-fill-goes-to-pocket-not-reservoir":          checkPocketFill,
	"patient-bolus-refused-in-lockout":                  checkRefusedLockout,
	"patient-bolus-refused-while-bolus-active":          checkRefusedBolusActive,
	"patient-bolus-refused-over-max-count":              checkRefusedMaxCount,
	"patient-bolus-refused-over-max-24h":                checkRefusedMax24h,
	"patient-bolus-refused-while-stopped":               checkRefusedStopped,
	"patient-bolus-refused-during-occlusion-alarm":      checkRefusedAlarm,
	"dose-per-day-converted-with-concentration":         checkDosePerDay,
	"tp40-seven-years-at-0.5-ml-per-day":                checkSevenYears,
	"power-loss-at-the-daily-cap-keeps-basal-running":   checkPowerLossAtCap,
}

// knownDiscrepancies are behaviours of the core or the runner that contradict the
// spec, reported to the owner of pump/ and sim/. The checks that show one are run
// under its id: they assert the spec's behaviour, their failures are logged rather
// than fatal, and once none of them fails the test fails until the id is removed
// here (so a fix is noticed and the checks become strict).
var knownDiscrepancies = map[string]string{}

// genericExempt names, per example, the generic checks that a known discrepancy breaks.
var genericExempt = map[string]map[string]string{}

var (
	discrepancyRun    = map[string]bool{} // a check under this id ran
	discrepancyFailed = map[string]bool{} // and at least one failed
)

func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in ../examples (%v)", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		names[name] = true
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenario.Parse(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			rep, err := sim.Run(sc)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			e := newExample(t, name, sc, rep)
			if !strings.Contains(rep.Name, " ") || rep.Name != sc.Name {
				t.Errorf("name %q: say what the example shows", rep.Name)
			}
			generic(e)
			if check, ok := checks[name]; ok {
				check(e)
			} else {
				t.Errorf("no check for this example: add the facts it shows to checks in sim/examples_test.go")
			}
			golden(t, name, rep)
		})
	}
	for name := range checks {
		if !names[name] {
			t.Errorf("checks has %q but ../examples/%s.json does not exist", name, name)
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("..", "examples", "golden", "*.json"))
	for _, g := range goldens {
		if name := strings.TrimSuffix(filepath.Base(g), ".json"); !names[name] {
			if *update {
				os.Remove(g)
				continue
			}
			t.Errorf("golden file %s has no example (run with -update to remove it)", g)
		}
	}
	for id := range discrepancyRun {
		if !discrepancyFailed[id] {
			t.Errorf("known discrepancy %s (%s) no longer shows: remove it from knownDiscrepancies so that its checks are strict", id, knownDiscrepancies[id])
		}
	}
}

// golden compares the report's JSON (exactly what `thecal sim run --json` prints)
// with examples/golden/NAME.json.
func golden(t *testing.T, name string, rep *sim.Report) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "examples", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with go test ./sim -run TestExamples -update", err)
	}
	if bytes.Equal(want, buf.Bytes()) {
		return
	}
	got, exp := strings.Split(buf.String(), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(got), len(exp)); i++ {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(exp) {
			w = exp[i]
		}
		if g != w {
			t.Errorf("report differs from %s at line %d:\n got: %s\nwant: %s\n(if the change is right, check it by hand and run go test ./sim -run TestExamples -update)", path, i+1, g, w)
			return
		}
	}
}

// example is one example's report under test.
type example struct {
	*testing.T
	name  string
	sc    *scenario.Scenario
	rep   *sim.Report
	start time.Time
	end   time.Time
	loc   *time.Location // pump local time at the start
	known string         // the discrepancy the current checks run under
}

func newExample(t *testing.T, name string, sc *scenario.Scenario, rep *sim.Report) *example {
	off := time.Duration(sc.Pump.UTCOffset) * time.Millisecond
	return &example{T: t, name: name, sc: sc, rep: rep, start: sc.Start.Std(), end: sc.End().Std(),
		loc: time.FixedZone("pump", int(off/time.Second))}
}

// fail records a failed check: an error, or under a known discrepancy a log line.
func (e *example) fail(format string, args ...any) {
	e.Helper()
	if e.known == "" {
		e.Errorf(format, args...)
		return
	}
	discrepancyFailed[e.known] = true
	e.Logf("known discrepancy %s: "+format, append([]any{e.known}, args...)...)
}

// under runs checks of the spec's behaviour that the known discrepancy id contradicts.
func (e *example) under(id string, f func()) {
	e.Helper()
	if _, ok := knownDiscrepancies[id]; !ok {
		e.Errorf("under(%q): not a known discrepancy", id)
	}
	discrepancyRun[id] = true
	prev := e.known
	e.known = id
	defer func() { e.known = prev }()
	f()
}

func (e *example) at(d time.Duration) time.Time { return e.start.Add(d) }

// date is the pump-local date of day n after the start (at the starting UTC offset).
func (e *example) date(n int) string { return e.start.In(e.loc).AddDate(0, 0, n).Format("2006-01-02") }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// nl converts a report's mL to nL.
func nl(ml float64) int64 { return int64(math.Round(ml * mL)) }

// timeFor is how long rate (nL/day) takes to deliver v (nL).
func timeFor(v, rate int64) time.Duration { return time.Duration(v*msPerDay/rate) * time.Millisecond }

// interval is the time between strokes at rate.
func interval(rate int64) time.Duration { return timeFor(stroke, rate) }

// over is the volume rate delivers in d, in nL.
func over(rate int64, d time.Duration) int64 { return rate * int64(d/time.Millisecond) / msPerDay }

// strokes returns the number of strokes in v.
func strokes(v int64) int64 { return v / stroke }

// mass is the amount of drug in v (nL) at conc units per mL.
func mass(v int64, conc float64) float64 { return float64(v) * conc / mL }

func (e *example) volume(what string, gotML float64, want int64) {
	e.Helper()
	if got := nl(gotML); got != want {
		e.fail("%s = %.6f mL, want %.6f mL (%+d strokes)", what, gotML, float64(want)/mL, (got-want)/stroke)
	}
}

// volumeNear allows one stroke either way (rule 2: delivery tracks the program within one stroke).
func (e *example) volumeNear(what string, gotML float64, want int64) {
	e.Helper()
	if d := nl(gotML) - want; d > stroke || d < -stroke {
		e.fail("%s = %.6f mL, want %.6f mL within one stroke", what, gotML, float64(want)/mL)
	}
}

func (e *example) near(what string, got, want, tol float64) {
	e.Helper()
	if math.Abs(got-want) > tol {
		e.fail("%s = %v, want %v (±%v)", what, got, want, tol)
	}
}

func (e *example) timeNear(what string, got, want time.Time, tol time.Duration) {
	e.Helper()
	if d := got.Sub(want); d > tol || d < -tol {
		e.fail("%s at %s, want %s (start + %s) within %s; off by %s", what, got.Format(time.RFC3339Nano),
			want.Format(time.RFC3339Nano), want.Sub(e.start), tol, d)
	}
}

// alarmTimes returns when alarm had action (raise, clear, acknowledge).
func (e *example) alarmTimes(alarm, action string) []time.Time {
	var out []time.Time
	for _, a := range e.rep.Alarms {
		if a.Alarm == alarm && a.Action == action {
			out = append(out, parseTime(a.At))
		}
	}
	return out
}

// alarm checks that alarm had action exactly once, at want (within tol).
func (e *example) alarm(alarm, action string, want time.Time, tol time.Duration) time.Time {
	e.Helper()
	ts := e.alarmTimes(alarm, action)
	if len(ts) != 1 {
		e.fail("%s %s %d times (%v), want once at start + %s", alarm, action, len(ts), ts, want.Sub(e.start))
		if len(ts) == 0 {
			return want
		}
	}
	e.timeNear(alarm+" "+action, ts[0], want, tol)
	return ts[0]
}

func (e *example) noAlarm(alarm string) {
	e.Helper()
	for _, a := range e.rep.Alarms {
		if a.Alarm == alarm {
			e.fail("unexpected %s %s at %s", a.Alarm, a.Action, a.At)
		}
	}
}

func (e *example) active(want ...string) {
	e.Helper()
	if want == nil {
		want = []string{}
	}
	got := slices.Clone(e.rep.ActiveAlarms)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		e.fail("active_alarms = %v, want %v", e.rep.ActiveAlarms, want)
	}
}

func (e *example) tones(critical, nonCritical int64) {
	e.Helper()
	if e.rep.Tones.Critical != critical || e.rep.Tones.NonCritical != nonCritical {
		e.fail("tones = %d critical, %d non-critical; want %d, %d", e.rep.Tones.Critical, e.rep.Tones.NonCritical, critical, nonCritical)
	}
}

func (e *example) logs(kind string) []sim.LogEntry {
	var out []sim.LogEntry
	for _, l := range e.rep.Log {
		if l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// logAt checks that kind was logged exactly once, at want, and returns the entry.
func (e *example) logAt(kind string, want time.Time) sim.LogEntry {
	e.Helper()
	ls := e.logs(kind)
	if len(ls) != 1 {
		e.fail("%s logged %d times, want once at start + %s", kind, len(ls), want.Sub(e.start))
		if len(ls) == 0 {
			return sim.LogEntry{Detail: map[string]any{}}
		}
	}
	e.timeNear(kind, parseTime(ls[0].At), want, 0)
	return ls[0]
}

// logTimes checks that kind was logged at exactly the times want, in order.
func (e *example) logTimes(kind string, want ...time.Duration) []sim.LogEntry {
	e.Helper()
	ls := e.logs(kind)
	var got []time.Duration
	for _, l := range ls {
		got = append(got, parseTime(l.At).Sub(e.start))
	}
	if !slices.Equal(got, want) {
		e.fail("%s logged at start + %v, want %v", kind, got, want)
	}
	return ls
}

// detail checks a numeric value of a log entry (mL to the nL, ms exactly).
func (e *example) detail(l sim.LogEntry, key string, want float64) {
	e.Helper()
	var v float64
	ok := true
	switch x := l.Detail[key].(type) {
	case float64:
		v = x
	case int64:
		v = float64(x)
	case int:
		v = float64(x)
	default:
		ok = false
	}
	if !ok || math.Abs(v-want) > 1e-9*max(1, math.Abs(want)) {
		e.fail("%s at %s: %s = %v, want %s", l.Kind, l.At, key, l.Detail[key], strconv.FormatFloat(want, 'f', -1, 64))
	}
}

func (e *example) detailString(l sim.LogEntry, key, want string) {
	e.Helper()
	if v, _ := l.Detail[key].(string); v != want {
		e.fail("%s at %s: %s = %v, want %q", l.Kind, l.At, key, l.Detail[key], want)
	}
}

func (e *example) day(date string) sim.Day {
	e.Helper()
	for _, d := range e.rep.Days {
		if d.Date == date {
			return d
		}
	}
	e.fail("no day %s in days", date)
	return sim.Day{ToPatient: map[string]float64{}}
}

func (e *example) dayVolume(date string, want int64) {
	e.Helper()
	e.volume("days["+date+"].delivered_ml", e.day(date).DeliveredML, want)
}

func (e *example) dayVolumeNear(date string, want int64) {
	e.Helper()
	e.volumeNear("days["+date+"].delivered_ml", e.day(date).DeliveredML, want)
}

func (e *example) dayDrug(date, drug string, want float64) {
	e.Helper()
	e.near("days["+date+"].to_patient."+drug, e.day(date).ToPatient[drug], want, 2e-6)
}

func (e *example) toPatient(drug string, want float64, unit string) {
	e.Helper()
	a, ok := e.rep.ToPatient[drug]
	if !ok || a.Unit != unit {
		e.fail("to_patient[%s] = %+v, want %v %s", drug, a, want, unit)
		return
	}
	e.near("to_patient."+drug, a.Amount, want, 2e-6)
}

// use is what the pump drew from its battery, counted by hand.
type use struct {
	time      time.Duration // quiescent current, all the time
	strokes   int64         // commanded strokes, completed or not
	tones     int64
	clinician int64   // clinician sessions (2 min of 5 mA)
	patient   int64   // patient sessions (10 s of 5 mA)
	drain     float64 // battery_drain events, µAh
}

func (u use) uAh() float64 {
	return quiescent*u.time.Hours() + strokeUAh*float64(u.strokes) + toneUAh*float64(u.tones) +
		radioUA*clinicianRadio.Hours()*float64(u.clinician) + radioUA*patientRadio.Hours()*float64(u.patient) + u.drain
}

// startUAh is the battery's charge at the start.
func (e *example) startUAh() float64 { return float64(e.sc.Pump.Battery) / 3.6e9 }

// battery checks the remaining charge (the report rounds to 0.001 µAh).
func (e *example) battery(u use) {
	e.Helper()
	e.near("battery_uah", e.rep.BatteryUAh, e.startUAh()-u.uAh(), 0.001)
}

type refusal struct {
	at     time.Duration
	reason string
}

// patientBoluses checks the boluses given (by start time) and the refusals.
func (e *example) patientBoluses(given []time.Duration, refused ...refusal) {
	e.Helper()
	pb := e.rep.PatientBoluses
	if pb.Given != len(given) || pb.Refused != len(refused) {
		e.fail("patient_boluses: %d given, %d refused; want %d, %d", pb.Given, pb.Refused, len(given), len(refused))
	}
	e.logTimes("PATIENT_BOLUS_START", given...)
	var got, want []string
	for _, r := range pb.Refusals {
		got = append(got, fmt.Sprintf("%s %s", parseTime(r.At).Sub(e.start), r.Reason))
	}
	for _, r := range refused {
		want = append(want, fmt.Sprintf("%s %s", r.at, r.reason))
	}
	if !slices.Equal(got, want) {
		e.fail("refusals = %v, want %v", got, want)
	}
	var logged []string
	for _, l := range e.logs("PATIENT_BOLUS_REFUSED") {
		logged = append(logged, fmt.Sprintf("%s %s", parseTime(l.At).Sub(e.start), l.Detail["reason"]))
	}
	if !slices.Equal(logged, want) {
		e.fail("PATIENT_BOLUS_REFUSED logged %v, want %v", logged, want)
	}
}

func (e *example) commands(want ...string) {
	e.Helper()
	var got []string
	for _, c := range e.rep.Commands {
		got = append(got, fmt.Sprintf("%s %s %s", parseTime(c.At).Sub(e.start), c.Kind, c.Result))
	}
	if !slices.Equal(got, want) {
		e.fail("commands = %v, want %v", got, want)
	}
}

// noDeliveryAfter checks that no day after t's local date delivered anything.
func (e *example) noDeliveryAfter(t time.Time) {
	e.Helper()
	last := t.In(e.loc).Format("2006-01-02")
	for _, d := range e.rep.Days {
		if d.Date > last && d.DeliveredML != 0 {
			e.fail("%.6f mL delivered on %s, after %s", d.DeliveredML, d.Date, last)
		}
	}
}

func (e *example) noCapFault() {
	e.Helper()
	if n := len(e.logs("CAP_FAULT")); n > 0 {
		e.fail("the stroke executor refused %d strokes over max_24h (CAP_FAULT): a valid program never needs it", n)
	}
	e.noAlarm("DAILY_CAP")
}

// generic checks what holds for every example.
func generic(e *example) {
	e.Helper()
	exempt := genericExempt[e.name]
	run := func(check string, f func()) {
		if id, ok := exempt[check]; ok {
			e.under(id, f)
			return
		}
		f()
	}
	// delivered_ml is the sum of the days; the pump counts whole strokes.
	var sum int64
	for _, d := range e.rep.Days {
		sum += nl(d.DeliveredML)
		if nl(d.DeliveredML) < 0 {
			e.fail("day %s delivered %v mL", d.Date, d.DeliveredML)
		}
	}
	if sum != nl(e.rep.DeliveredML) {
		e.fail("the days add up to %.6f mL, delivered_ml is %.6f mL", float64(sum)/mL, e.rep.DeliveredML)
	}
	if nl(e.rep.PumpDeliveredML)%stroke != 0 {
		e.fail("pump_delivered_ml %.6f mL is not a whole number of strokes", e.rep.PumpDeliveredML)
	}
	// The remaining charge of a battery is never negative.
	run("battery", func() {
		if e.rep.BatteryUAh < 0 {
			e.fail("battery_uah = %.3f µAh: a battery cannot hold less than nothing", e.rep.BatteryUAh)
		}
	})
	// Days are consecutive pump-local calendar dates...
	run("days-consecutive", func() {
		for i := 1; i < len(e.rep.Days); i++ {
			prev, err1 := time.Parse("2006-01-02", e.rep.Days[i-1].Date)
			cur, err2 := time.Parse("2006-01-02", e.rep.Days[i].Date)
			if err1 != nil || err2 != nil || cur.Sub(prev) != day {
				e.fail("days[%d] is %s after %s: want consecutive dates", i, e.rep.Days[i].Date, e.rep.Days[i-1].Date)
			}
		}
	})
	// ...covering the scenario from its first to its last local date (a day holding
	// only the end instant may follow).
	run("days-cover", func() {
		first := e.start.In(e.loc).Format("2006-01-02")
		last := e.end.Add(-time.Millisecond).In(e.loc).Format("2006-01-02")
		if len(e.rep.Days) == 0 || e.rep.Days[0].Date != first {
			e.fail("days start at %v, want %s", firstDate(e.rep.Days), first)
		}
		found := false
		for _, d := range e.rep.Days {
			found = found || d.Date == last
		}
		if !found {
			e.fail("days end at %s, want them to run to %s (the scenario's last day)", lastDate(e.rep.Days), last)
		}
	})
	// The active alarms are those raised and not cleared.
	if len(e.rep.Log) > 0 && e.rep.Log[0].Seq == 1 {
		act := map[string]bool{}
		for _, a := range e.rep.Alarms {
			switch a.Action {
			case "raise":
				act[a.Alarm] = true
			case "clear":
				delete(act, a.Alarm)
			}
		}
		var want []string
		for a := range act {
			want = append(want, a)
		}
		e.active(want...)
	}
	// Refusal reasons are the spec's, or the core's priming and bridge.
	for _, r := range e.rep.PatientBoluses.Refusals {
		if !slices.Contains([]string{"lockout", "bolus_active", "max_count", "max_24h", "stopped", "alarm", "priming", "bridge", "no_answer"}, r.Reason) {
			e.fail("refusal reason %q at %s", r.Reason, r.At)
		}
	}
	run("cap", e.noCapFault)
}

func firstDate(ds []sim.Day) string {
	if len(ds) == 0 {
		return "(none)"
	}
	return ds[0].Date
}

func lastDate(ds []sim.Day) string {
	if len(ds) == 0 {
		return "(none)"
	}
	return ds[len(ds)-1].Date
}

// The examples.

// 0.5 mL/day from 20 mL: the estimate reaches the 2.0 mL threshold after 18 mL,
// 36 days exactly (the 36000th stroke), and 0.5 mL after 19.5 mL, 39 days.
func checkLowThenEmpty(e *example) {
	const fill, rate = 20 * mL, mL / 2
	lowAt := e.at(timeFor(fill-lowAlarm, rate))
	emptyAt := e.at(timeFor(fill-emptyVol, rate))
	e.alarm("LOW_RESERVOIR", "raise", lowAt, 0)
	e.alarm("EMPTY_RESERVOIR", "raise", emptyAt, 0)
	// Delivery stops at 0.5 mL: 19.5 mL delivered and nothing after day 39's first stroke.
	e.volume("delivered_ml", e.rep.DeliveredML, fill-emptyVol)
	e.volume("pump_delivered_ml", e.rep.PumpDeliveredML, fill-emptyVol)
	e.volume("reservoir_estimate_ml", e.rep.ReservoirEstimateML, emptyVol)
	e.volume("reservoir_actual_ml", e.rep.ReservoirActualML, emptyVol)
	e.dayVolume(e.date(39), stroke)
	e.toPatient("morphine", mass(fill-emptyVol, 10), "mg")
	e.active("LOW_RESERVOIR", "EMPTY_RESERVOIR")
	// Critical every 10 min from EMPTY, non-critical hourly from LOW, to the end inclusive.
	crit := 1 + int64(e.end.Sub(emptyAt)/critTone) // 145
	non := 1 + int64(e.end.Sub(lowAt)/tone)        // 97
	e.tones(crit, non)
	e.battery(use{time: 40 * day, strokes: strokes(fill - emptyVol), tones: crit + non})
}

// program at day 10: 10 days at 0.5 mL/day, then 10 at 1.0 mL/day.
func checkProgram(e *example) {
	const r1, r2 = mL / 2, mL
	e.volume("delivered_ml", e.rep.DeliveredML, over(r1, 10*day)+over(r2, 10*day))
	for d := 1; d < 10; d++ {
		e.dayVolume(e.date(d), r1)
	}
	for d := 10; d < 20; d++ {
		e.dayVolume(e.date(d), r2)
	}
	ls := e.logTimes("PROGRAM", 0, 10*day)
	if len(ls) == 2 {
		e.detail(ls[1], "max_24h_ml", 1.2)
		e.detailString(ls[1], "mode", "continuous")
	}
	e.commands("240h0m0s program ok")
	e.volume("reservoir_estimate_ml", e.rep.ReservoirEstimateML, 20*mL-over(r1, 10*day)-over(r2, 10*day))
	e.battery(use{time: 20 * day, strokes: strokes(over(r1, 10*day) + over(r2, 10*day)), clinician: 1})
}

// stop at day 2: nothing after the stroke due at the same instant, PUMP_STOPPED hourly to the end.
func checkStop(e *example) {
	const rate = mL / 2
	stopAt := e.at(2 * day)
	e.logAt("STOP", stopAt)
	e.alarm("PUMP_STOPPED", "raise", stopAt, 0)
	e.active("PUMP_STOPPED")
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 2*day))
	e.dayVolume(e.date(2), stroke)           // the stroke due at the stop's instant runs first
	non := 1 + int64(e.end.Sub(stopAt)/tone) // 25
	e.tones(0, non)
	e.battery(use{time: 3 * day, strokes: strokes(over(rate, 2*day)), tones: non, clinician: 1})
}

// stop at day 1, resume 6 h later: 6 h of basal are lost, not made up.
func checkResume(e *example) {
	const rate = mL / 2
	stopAt, resumeAt := e.at(day), e.at(day+6*time.Hour)
	e.alarm("PUMP_STOPPED", "raise", stopAt, 0)
	e.alarm("PUMP_STOPPED", "clear", resumeAt, 0)
	e.logAt("RESUME", resumeAt)
	after := over(rate, e.end.Sub(resumeAt)) // 0.375 mL: the first stroke a full interval after the resume
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, day)+after)
	// Day 1 holds the stroke at 1 d and 18 h of basal, less the one due at 2 d: exactly 18 h's worth.
	e.dayVolume(e.date(1), over(rate, 18*time.Hour))
	non := 1 + int64(resumeAt.Sub(stopAt)/tone) // 7: the tone due at the resume's instant sounds first
	e.tones(0, non)
	e.battery(use{time: 2 * day, strokes: strokes(over(rate, day) + after), tones: non, clinician: 2})
}

// clinician bolus of 0.1 mL over 1 h at day 1 on top of 0.5 mL/day.
func checkClinicianBolus(e *example) {
	const rate, bolus = mL / 2, mL / 10
	start := e.logAt("CLINICIAN_BOLUS_START", e.at(day))
	e.detail(start, "volume_ml", 0.1)
	e.detail(start, "duration_ms", 3_600_000)
	end := e.logAt("CLINICIAN_BOLUS_END", e.at(day+time.Hour))
	e.detailString(end, "reason", "completed")
	e.detail(end, "programmed_ml", 0.1)
	e.detail(end, "elapsed_ms", 3_600_000)
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 2*day)+bolus)
	e.dayVolume(e.date(1), over(rate, day)+bolus)
	e.commands("24h0m0s clinician_bolus ok")
	e.battery(use{time: 2 * day, strokes: strokes(over(rate, 2*day) + bolus), clinician: 1})
}

// new implant: priming 0.25 + 50 × 0.0022 = 0.36 mL at 1 mL/h takes 21.6 min;
// basal waits, drug reaches the patient only behind the priming volume, priming is
// outside max_24h (day 0 moves 0.852 mL under a 0.5 mL cap with no cap fault).
func checkNewImplant(e *example) {
	const rate = mL / 2
	prime := int64(tubing + 50*perCm)    // 0.36 mL
	primeTime := timeFor(prime, maxRate) // 21.6 min
	if primeTime != 21*time.Minute+36*time.Second {
		e.fail("priming takes %s by hand, want 21.6 min", primeTime)
	}
	ps := e.logAt("PRIME_START", e.at(0))
	e.detail(ps, "volume_ml", 0.36)
	pe := e.logAt("PRIME_END", e.at(primeTime))
	e.detailString(pe, "reason", "completed")
	e.detail(pe, "programmed_ml", 0.36)
	e.detail(pe, "elapsed_ms", float64(primeTime/time.Millisecond))
	e.patientBoluses(nil, refusal{10 * time.Minute, "priming"})
	// Basal from the end of priming, one stroke every 86.4 s.
	basal := int64((2*day-primeTime)/interval(rate)) * stroke // 1985 strokes
	e.volume("delivered_ml", e.rep.DeliveredML, prime+basal)
	e.toPatient("morphine", mass(basal, 10), "mg")
	day0 := int64((day-primeTime-time.Millisecond)/interval(rate)) * stroke // 984 strokes before midnight
	e.dayVolume(e.date(0), prime+day0)
	e.dayDrug(e.date(0), "morphine", mass(day0, 10))
	if len(e.rep.Warnings) != 0 {
		e.fail("warnings %v", e.rep.Warnings)
	}
	e.commands("0s prime ok")
	e.battery(use{time: 2 * day, strokes: strokes(prime + basal), clinician: 1, patient: 1})
}

// bridge at day 10 after a refill from 10 to 20 mg/mL: the old program (0.5 mL/day)
// pushes the 0.36 mL in tubing and catheter out in 0.72 d = 17h16m48s, then the new
// program (0.3 mL/day) runs and the new drug reaches the patient from that instant.
func checkBridge(e *example) {
	const oldRate, newRate = mL / 2, 3 * mL / 10
	const oldConc, newConc = 10.0, 20.0
	pipe := int64(tubing + 50*perCm)
	refillAt := 10 * day
	bridgeEnd := refillAt + timeFor(pipe, oldRate)
	if bridgeEnd-refillAt != 17*time.Hour+16*time.Minute+48*time.Second {
		e.fail("bridge takes %s by hand, want 17h16m48s", bridgeEnd-refillAt)
	}
	bs := e.logAt("BRIDGE_START", e.at(refillAt))
	e.detail(bs, "volume_ml", 0.36)
	be := e.logAt("BRIDGE_END", e.at(bridgeEnd))
	e.detailString(be, "reason", "completed")
	e.detail(be, "programmed_ml", 0.36)
	e.detail(be, "elapsed_ms", float64((bridgeEnd-refillAt)/time.Millisecond))
	e.patientBoluses(nil, refusal{refillAt + time.Hour, "bridge"})
	before := over(oldRate, refillAt)                                     // 5 mL, all old drug
	after := int64(e.end.Sub(e.at(bridgeEnd))/interval(newRate)) * stroke // 768 strokes of new drug
	e.volume("delivered_ml", e.rep.DeliveredML, before+pipe+after)
	e.toPatient("morphine", mass(before+pipe, oldConc)+mass(after, newConc), "mg")
	// Day 10: the stroke at 10 d, the 720 bridge strokes of old drug, then new drug
	// at 0.3 mL/day every 144 s until midnight (the 168th falls at 11 d).
	newDay10 := int64((day-(bridgeEnd-refillAt)-time.Millisecond)/interval(newRate)) * stroke
	e.dayVolume(e.date(10), stroke+pipe+newDay10)
	e.dayDrug(e.date(10), "morphine", mass(stroke+pipe, oldConc)+mass(newDay10, newConc))
	e.dayVolume(e.date(9), oldRate)
	e.dayDrug(e.date(9), "morphine", mass(oldRate, oldConc))
	e.dayVolume(e.date(11), newRate)
	e.dayDrug(e.date(11), "morphine", mass(newRate, newConc))
	if len(e.rep.Refills) != 1 {
		e.Fatalf("refills = %v", e.rep.Refills)
	}
	rf := e.rep.Refills[0]
	e.volume("expected_residual_ml", rf.ExpectedML, 20*mL-before)
	e.volume("discrepancy_ml", rf.DiscrepancyML, 0)
	if rf.Concentration != "20 mg/mL" || rf.Flag != "" {
		e.fail("refill record %+v", rf)
	}
	e.commands("240h0m0s refill ok", "240h0m0s bridge ok")
	e.battery(use{time: 12 * day, strokes: strokes(before + pipe + after), clinician: 2, patient: 1})
}

// one patient bolus of 0.02 mL over 10 min.
func checkPatientBolus(e *example) {
	const rate, bolus = mL / 2, 20_000
	at := day + 2*time.Hour
	e.patientBoluses([]time.Duration{at})
	pe := e.logAt("PATIENT_BOLUS_END", e.at(at+10*time.Minute))
	e.detailString(pe, "reason", "completed")
	e.detail(pe, "programmed_ml", 0.02)
	e.detail(pe, "elapsed_ms", 600_000)
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 2*day)+bolus)
	e.dayVolume(e.date(1), rate+bolus)
	e.commands() // a patient session is not a clinician command
	e.battery(use{time: 2 * day, strokes: strokes(over(rate, 2*day) + bolus), patient: 1})
}

// refill at day 37: withdraws the expected 1.5 mL, clears LOW_RESERVOIR.
func checkRefill(e *example) {
	const rate = mL / 2
	e.alarm("LOW_RESERVOIR", "raise", e.at(timeFor(20*mL-lowAlarm, rate)), 0)
	e.alarm("LOW_RESERVOIR", "clear", e.at(37*day), 0)
	e.logTimes("REFILL", 0, 37*day) // the fill at the start, then the refill
	if len(e.rep.Refills) != 1 {
		e.Fatalf("refills = %v", e.rep.Refills)
	}
	rf := e.rep.Refills[0]
	e.volume("expected_residual_ml", rf.ExpectedML, 20*mL-over(rate, 37*day))
	e.volume("withdrawn_ml", rf.WithdrawnML, 1_500_000)
	e.volume("discrepancy_ml", rf.DiscrepancyML, 0)
	e.volume("added_ml", rf.AddedML, 20*mL)
	if rf.Flag != "" {
		e.fail("refill flagged: %s", rf.Flag)
	}
	e.volume("reservoir_estimate_ml", e.rep.ReservoirEstimateML, 20*mL-over(rate, 3*day))
	e.volume("reservoir_actual_ml", e.rep.ReservoirActualML, 20*mL-over(rate, 3*day))
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 40*day))
	e.active()
	non := 1 + int64(day/tone) // hourly from day 36 to the refill, inclusive
	e.tones(0, non)
	e.battery(use{time: 40 * day, strokes: strokes(over(rate, 40*day)), tones: non, clinician: 1})
}

// interrogations read the estimate, the battery (the session's own radio is
// charged when it closes, after the reading) and the basal rate.
func checkInterrogate(e *example) {
	const rate = mL / 2
	if len(e.rep.Interrogations) != 2 {
		e.Fatalf("interrogations = %v", e.rep.Interrogations)
	}
	for i, s := range e.rep.Interrogations {
		at := time.Duration(5*(i+1)) * day
		e.timeNear("interrogation", parseTime(s.At), e.at(at), 0)
		e.volume("interrogation reservoir_estimate_ml", s.ReservoirEstimateML, 20*mL-over(rate, at))
		e.near("interrogation battery_uah", s.BatteryUAh,
			e.startUAh()-use{time: at, strokes: strokes(over(rate, at)), clinician: int64(i)}.uAh(), 0.001)
		e.near("interrogation basal_ml_per_day", s.BasalMLPerDay, 0.5, 0)
		if !s.Running || !s.Delivering || len(s.Alarms) != 0 {
			e.fail("interrogation %+v", s)
		}
	}
	e.logTimes("INTERROGATE", 5*day, 10*day)
	e.commands("120h0m0s interrogate ok", "240h0m0s interrogate ok")
	e.battery(use{time: 10 * day, strokes: strokes(over(rate, 10*day)), clinician: 2})
}

// stall checks a motor stall of field from stallAt at 0.5 mL/day: three failed
// strokes raise MOTOR_STALL, a retry every 10 min, the first retry at or after the
// field's end completes (MOTOR_STALL_RECOVERY). It returns the stall and recovery
// times and the number of retries.
func stall(e *example, stallAt, field time.Duration) (raised, recovered time.Time, retries int64) {
	i := interval(mL / 2)
	raised = e.at(stallAt + stallN*i) // the program's strokes keep their phase
	e.logAt("MOTOR_STALL", raised)
	e.alarm("MOTOR_STALL", "raise", raised, 0)
	fieldEnd := e.at(stallAt + field)
	retries = int64((fieldEnd.Sub(raised) + retry - 1) / retry)
	recovered = raised.Add(time.Duration(retries) * retry)
	e.logAt("MOTOR_STALL_RECOVERY", recovered)
	if d := recovered.Sub(fieldEnd); d < 0 || d > retry {
		e.fail("recovery %s after the field's end, want within 10 min", d)
	}
	return raised, recovered, retries
}

// stallTones checks the tones of a stall: the critical pattern at the raise and
// every 10 min while stalled, the one due at the recovery's instant included (the
// core's timed actions at an instant come before the stroke), then a single tone
// hourly after the recovery until `until`. It returns the number of tones.
func stallTones(e *example, raised, recovered, until time.Time) int64 {
	crit := 1 + int64(recovered.Sub(raised)/critTone)
	non := int64(until.Sub(recovered) / tone)
	e.tones(crit, non)
	return crit + non
}

// a 1 h stall at day 1, acknowledged at day 1 06:00.
func checkAcknowledge(e *example) {
	const rate = mL / 2
	i := interval(rate)
	raised, recovered, retries := stall(e, day, time.Hour)
	ackAt := e.at(day + 6*time.Hour)
	e.alarm("MOTOR_STALL", "acknowledge", ackAt, 0)
	e.alarm("MOTOR_STALL", "clear", ackAt, 0)
	e.active()
	// No catch-up: the retry's stroke, then the basal from the recovery.
	after := int64(e.end.Sub(recovered) / i)
	delivered := strokes(over(rate, day)) + 1 + after
	e.volume("delivered_ml", e.rep.DeliveredML, delivered*stroke)
	commanded := delivered + stallN + retries - 1    // the failed strokes and retries drew their charge
	tones := stallTones(e, raised, recovered, ackAt) // 7 critical, 4 non-critical
	e.battery(use{time: 2 * day, strokes: commanded, tones: tones, clinician: 1})
	e.commands("30h0m0s acknowledge ok")
}

// a 45 min MRI at day 10: 3 failed strokes, MOTOR_STALL at 10d4m19.2s, retries
// every 10 min, recovery at 10d54m19.2s (9m19.2s after the field), no catch-up.
func checkMRI(e *example) {
	const rate = mL / 2
	i := interval(rate)
	raised, recovered, retries := stall(e, 10*day, 45*time.Minute)
	e.timeNear("recovery", recovered, e.at(10*day+54*time.Minute+19200*time.Millisecond), 0)
	after := int64(e.end.Sub(recovered) / i) // 962
	delivered := strokes(over(rate, 10*day)) + 1 + after
	e.volume("delivered_ml", e.rep.DeliveredML, delivered*stroke)
	// The program's 37 strokes from 10 d to the recovery (less the retry's) are lost.
	if lost := strokes(over(rate, 11*day)) - delivered; lost != 37 {
		e.fail("lost %d strokes, want 37", lost)
	}
	e.active("MOTOR_STALL")                          // not acknowledged: stays raised
	tones := stallTones(e, raised, recovered, e.end) // 6 critical, 23 non-critical
	e.battery(use{time: 11 * day, strokes: delivered + stallN + retries - 1, tones: tones})
}

// a 35 min stall at minimum rate misses the strokes due at 1d15m and 1d30m: fewer
// than 3, so no MOTOR_STALL; the 2 strokes are lost.
func checkShortStall(e *example) {
	i := interval(minRate)
	if i != 15*time.Minute {
		e.fail("minimum rate stroke interval %s by hand, want 15 min", i)
	}
	e.noAlarm("MOTOR_STALL")
	if n := len(e.logs("MOTOR_STALL")); n != 0 {
		e.fail("MOTOR_STALL logged %d times", n)
	}
	missed := int64(35 * time.Minute / i) // 2
	program := strokes(over(minRate, 2*day))
	e.volume("delivered_ml", e.rep.DeliveredML, (program-missed)*stroke)
	e.dayVolume(e.date(1), (strokes(minRate)-missed)*stroke)
	e.toPatient("ziconotide", mass((program-missed)*stroke, 25), "mcg")
	e.tones(0, 0)
	e.battery(use{time: 2 * day, strokes: program}) // the missed strokes were commanded
}

// a 2 h occlusion at day 1: 5 strokes over 100 kPa raise OCCLUSION at 1d7m12s;
// delivery stays stopped after the occlusion ends until the resume at 1d3h.
func checkOcclusion(e *example) {
	const rate = mL / 2
	i := interval(rate)
	raised := e.at(day + occlN*i)
	resumeAt := e.at(day + 3*time.Hour)
	e.alarm("OCCLUSION", "raise", raised, 0)
	e.alarm("OCCLUSION", "clear", resumeAt, 0)
	e.logAt("RESUME", resumeAt)
	after := int64(e.end.Sub(resumeAt) / i) // 875
	delivered := strokes(over(rate, day)) + after
	e.volume("delivered_ml", e.rep.DeliveredML, delivered*stroke)
	// The 5 strokes against the blockage moved nothing; the pump counts them, so its
	// estimate errs low.
	e.volume("pump_delivered_ml", e.rep.PumpDeliveredML, (delivered+occlN)*stroke)
	e.volume("reservoir_estimate_ml", e.rep.ReservoirEstimateML, 20*mL-(delivered+occlN)*stroke)
	e.volume("reservoir_actual_ml", e.rep.ReservoirActualML, 20*mL-delivered*stroke)
	// Day 1: the stroke at 1 d, the 5 occluded ones (moving nothing), then one
	// every 86.4 s from the resume; the 875th after it falls at 2 d, on day 2.
	e.dayVolume(e.date(1), (1+after-1)*stroke)
	crit := 1 + int64(resumeAt.Sub(raised)/critTone) // 18
	e.tones(crit, 0)
	e.battery(use{time: 2 * day, strokes: delivered + occlN, tones: crit, clinician: 1})
}

// a catheter break at day 5: CATHETER_INTEGRITY after 10 low-pressure strokes;
// every stroke after the break leaves at the break.
func checkLeak(e *example) {
	const rate = mL / 2
	i := interval(rate)
	raised := e.at(5*day + leakN*i)
	e.alarm("CATHETER_INTEGRITY", "raise", raised, 0)
	e.active("CATHETER_INTEGRITY")
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 10*day)) // non-critical: delivery goes on
	e.volume("leaked_ml", e.rep.LeakedML, over(rate, 5*day))
	e.toPatient("morphine", mass(over(rate, 5*day), 10), "mg")
	non := 1 + int64(e.end.Sub(raised)/tone) // 120
	e.tones(0, non)
	e.battery(use{time: 10 * day, strokes: strokes(over(rate, 10*day)), tones: non})
}

// a brown-out at day 1 00:30: the last hourly checkpoint was at 1 d; the 30 min
// since are counted at 0.5 + 0.02 mL/10 min = 3.38 mL/day: 141 strokes.
func checkPowerLoss(e *example) {
	const rate = mL / 2
	i := interval(rate)
	resetAt := day + 30*time.Minute
	since := resetAt - day // the checkpoint at 1 d
	maxRateNow := int64(rate + 20_000*msPerDay/int64(10*time.Minute/time.Millisecond))
	assumed := (over(maxRateNow, since) + stroke - 1) / stroke // 141
	l := e.logAt("RESET", e.at(resetAt))
	e.detail(l, "since_checkpoint_ms", float64(since/time.Millisecond))
	e.detail(l, "assumed_delivered_ml", float64(assumed*stroke)/mL)
	real := int64(resetAt / i)                   // 1020 strokes delivered before the reset
	after := int64(e.end.Sub(e.at(resetAt)) / i) // 979, a fresh accumulator from the reset
	e.volume("delivered_ml", e.rep.DeliveredML, (real+after)*stroke)
	// The checkpoint at 1 d is written after the stroke due at the same instant,
	// so it holds 1000 strokes; the reset adds the 141 assumed.
	counted := strokes(over(rate, day)) + assumed + after
	e.volume("pump_delivered_ml", e.rep.PumpDeliveredML, counted*stroke)
	low := nl(e.rep.ReservoirActualML) - nl(e.rep.ReservoirEstimateML)
	if low <= 0 || low > over(maxRateNow, checkpnt) {
		e.fail("the estimate errs by %d nL, want low by at most an hour at the highest rate (%d nL)", low, over(maxRateNow, checkpnt))
	}
	// The pump's battery charges the assumed strokes in place of the ones it lost.
	e.battery(use{time: 2 * day, strokes: counted})
}

// a drain of 950000 µAh at day 1 takes the charge to 49612 µAh, below the ERI
// threshold of 10000 + 90 × (288 + 1000 × 0.1) + 2160 × 5 = 55720 µAh.
func checkBatteryDrain(e *example) {
	const rate = mL / 2
	eri := reserve + eriLead*(quiescent*24+strokeUAh*float64(strokes(rate))) + eriLead*24*toneUAh
	e.near("ERI threshold by hand", eri, 55720, 1e-6)
	charge := e.startUAh() - use{time: day, strokes: strokes(rate), drain: 950_000}.uAh()
	if charge > eri {
		e.fail("the drain leaves %.1f µAh, above ERI", charge)
	}
	e.alarm("ERI", "raise", e.at(day), 0)
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 3*day)) // ERI does not stop delivery
	non := 1 + int64(2*day/tone)                                   // 49
	e.tones(0, non)
	e.commands() // not a session
	e.battery(use{time: 3 * day, strokes: strokes(over(rate, 3*day)), tones: non, drain: 950_000})
}

// 57760 µAh at 0.1 mL/day (308 µAh/day): ERI threshold 10000 + 90 × 308 + 2160 × 5
// = 48520 µAh, reached after 9240/308 = 30 days; EOS 90 days later; then the
// reserve pays for the tones (critical every 10 min, ERI hourly) and quiescent
// current, 1128 µAh/day, until BATTERY_DEPLETED.
func checkERIThenEOS(e *example) {
	const rate = mL / 10
	i := interval(rate)
	perDay := quiescent*24 + strokeUAh*float64(strokes(rate))
	threshold := reserve + eriLead*perDay + eriLead*24*toneUAh
	e.near("ERI threshold by hand", threshold, 48520, 1e-6)
	eriAt := e.at(time.Duration((e.startUAh() - threshold) / perDay * float64(day)))
	eri := e.alarm("ERI", "raise", eriAt, i)
	eos := e.alarm("EOS", "raise", eri.Add(eriLead*day), i)
	e.timeNear("EOS", eos, e.at(120*day), i)
	// Delivery stops for good at EOS.
	e.volumeNear("delivered_ml", e.rep.DeliveredML, over(rate, eos.Sub(e.start)))
	e.noDeliveryAfter(eos)
	dead := e.logs("BATTERY_DEPLETED")
	if len(dead) != 1 {
		e.Fatalf("BATTERY_DEPLETED logged %d times", len(dead))
	}
	after := quiescent*24 + 144*toneUAh + 24*toneUAh // 1128 µAh/day
	deadAt := parseTime(dead[0].At)
	e.timeNear("BATTERY_DEPLETED", deadAt, eos.Add(time.Duration((reserve-toneUAh)/after*float64(day))), critTone)
	// No tone after the battery is spent.
	e.tones(1+int64(deadAt.Sub(eos)/critTone), 1+int64(deadAt.Sub(eri)/tone))
	e.active("ERI", "EOS")
	e.near("battery_uah", e.rep.BatteryUAh, 0, 0) // spent, and no less
	for d := 1; d < 119; d++ {
		e.dayVolume(e.date(d), rate)
	}
}

// flex 00:00 0.24 / 12:00 0.72 mL/day; set_clock from +00:00 to +06:00 at 2d06:00 UTC
// (local 06:00 becomes 12:00: the 12:00 step at once; local midnight is then 18:00 UTC).
func checkSetClock(e *example) {
	const night, daytime = 240_000, 720_000
	want := []struct {
		at    time.Duration
		basal float64
	}{{2*day + 5*time.Hour + 59*time.Minute, 0.24}, {2*day + 6*time.Hour, 0.72},
		{2*day + 17*time.Hour + 59*time.Minute, 0.72}, {2*day + 18*time.Hour, 0.24}}
	if len(e.rep.Interrogations) != len(want) {
		e.Fatalf("interrogations = %v", e.rep.Interrogations)
	}
	for k, w := range want {
		s := e.rep.Interrogations[k]
		e.timeNear("interrogation", parseTime(s.At), e.at(w.at), 0)
		e.near("basal_ml_per_day at start + "+w.at.String(), s.BasalMLPerDay, w.basal, 0)
	}
	l := e.logAt("SET_CLOCK", e.at(2*day+6*time.Hour))
	e.detailString(l, "from", "+00:00")
	e.detailString(l, "to", "+06:00")
	// Every UTC day still holds 12 h at each rate: 0.48 mL a day.
	daily := over(night, 12*time.Hour) + over(daytime, 12*time.Hour)
	e.volume("delivered_ml", e.rep.DeliveredML, 5*daily)
	// Local 2026-01-07 runs 00:00 (+00:00) to 24:00 (+06:00) = 18:00 UTC: 6 h at
	// 0.24 then 12 h at 0.72; each later local day is 0.48 mL; the last runs from
	// 18:00 UTC to the end, 6 h at 0.24.
	e.dayVolumeNear("2026-01-07", over(night, 6*time.Hour)+over(daytime, 12*time.Hour))
	e.dayVolumeNear("2026-01-08", daily)
	e.dayVolumeNear("2026-01-09", daily)
	e.dayVolumeNear("2026-01-10", over(night, 6*time.Hour))
	e.dayVolumeNear("2026-01-05", daily)
	e.dayVolume("2026-01-06", daily)
	e.battery(use{time: 5 * day, strokes: strokes(5 * daily), clinician: 5})
}

// daily flex at +02:00: 8 h at 0.24, 12 h at 0.72, 4 h at 0.24 = 0.48 mL per local day.
func checkFlexDaily(e *example) {
	const night, daytime = 240_000, 720_000
	daily := over(night, 12*time.Hour) + over(daytime, 12*time.Hour)
	if e.rep.Days[0].Date != "2026-01-05" {
		e.fail("first day %s, want 2026-01-05 (22:00 UTC is local midnight)", e.rep.Days[0].Date)
	}
	for d := range 7 {
		e.dayVolumeNear(e.date(d), daily)
	}
	e.volume("delivered_ml", e.rep.DeliveredML, 7*daily)
	want := []struct {
		at    time.Duration
		basal float64
	}{{7*time.Hour + 59*time.Minute, 0.24}, {8 * time.Hour, 0.72}, {20 * time.Hour, 0.24}}
	if len(e.rep.Interrogations) != len(want) {
		e.Fatalf("interrogations = %v", e.rep.Interrogations)
	}
	for k, w := range want {
		s := e.rep.Interrogations[k]
		e.timeNear("interrogation", parseTime(s.At), e.at(w.at), 0)
		e.near("basal_ml_per_day at local "+w.at.String(), s.BasalMLPerDay, w.basal, 0)
	}
	e.battery(use{time: 7 * day, strokes: strokes(7 * daily), clinician: 3})
}

// weekly flex: Monday–Friday 0.4, Saturday 0.6, Sunday 12 h at 0.6 + 12 h at 0.8.
func checkFlexWeekly(e *example) {
	weekday, sat := int64(400_000), int64(600_000)
	sun := over(600_000, 12*time.Hour) + over(800_000, 12*time.Hour) // 0.7 mL
	var total int64
	for d := range 14 {
		want := weekday
		switch e.start.AddDate(0, 0, d).Weekday() {
		case time.Saturday:
			want = sat
		case time.Sunday:
			want = sun
		}
		e.dayVolumeNear(e.date(d), want)
		total += want
	}
	e.volume("delivered_ml", e.rep.DeliveredML, total) // 6.6 mL
	e.battery(use{time: 14 * day, strokes: strokes(total)})
}

// minimum rate: 0.048 mL/day, 96 strokes a day, 1.44 mL in 30 days.
func checkMinimum(e *example) {
	for d := range 30 {
		e.dayVolumeNear(e.date(d), minRate)
	}
	e.volume("delivered_ml", e.rep.DeliveredML, 30*minRate)
	e.toPatient("ziconotide", mass(30*minRate, 25), "mcg")
	e.battery(use{time: 30 * day, strokes: strokes(30 * minRate)})
}

// refill at day 20 with 2 of the 20 mL injected into the pocket.
func checkPocketFill(e *example) {
	const rate, pocket = mL / 2, 2 * mL
	refillAt := e.at(20 * day)
	e.alarm("VOLUME_DISCREPANCY", "raise", refillAt, 0) // the level read right after the refill
	l := e.logs("ALARM_RAISE")
	for _, x := range l {
		if x.Detail["alarm"] == "VOLUME_DISCREPANCY" {
			e.near("measured_ml", x.Detail["measured_ml"].(float64), 18, float64(levelTol)/mL)
			e.near("estimate_ml", x.Detail["estimate_ml"].(float64), 20, 0)
		}
	}
	a, ok := e.rep.ToPocket["morphine"]
	if !ok || a.Unit != "mg" || math.Abs(a.Amount-mass(pocket, 10)) > 1e-6 {
		e.fail("to_pocket = %v, want 20 mg of morphine", e.rep.ToPocket)
	}
	e.volume("reservoir_estimate_ml", e.rep.ReservoirEstimateML, 20*mL-over(rate, 2*day))
	e.volume("reservoir_actual_ml", e.rep.ReservoirActualML, 20*mL-pocket-over(rate, 2*day))
	rf := e.rep.Refills[0]
	e.volume("expected_residual_ml", rf.ExpectedML, 20*mL-over(rate, 20*day))
	e.volume("discrepancy_ml", rf.DiscrepancyML, 0)
	e.volume("pocket_fill_ml", rf.PocketFillML, pocket)
	e.volume("delivered_ml", e.rep.DeliveredML, over(rate, 22*day))
	e.toPatient("morphine", mass(over(rate, 22*day), 10), "mg")
	e.active("VOLUME_DISCREPANCY")
	non := 1 + int64(2*day/tone) // 49
	e.tones(0, non)
	e.battery(use{time: 22 * day, strokes: strokes(over(rate, 22*day)), tones: non, clinician: 1})
}

const pbRate, pbVol = mL / 2, 20_000 // 0.5 mL/day, 0.02 mL

// lockout 4 h: 3h59m after a bolus is refused, 4h is allowed.
func checkRefusedLockout(e *example) {
	e.patientBoluses([]time.Duration{day, day + 4*time.Hour}, refusal{day + 3*time.Hour + 59*time.Minute, "lockout"})
	e.volume("delivered_ml", e.rep.DeliveredML, over(pbRate, 2*day)+2*pbVol)
	e.battery(use{time: 2 * day, strokes: strokes(over(pbRate, 2*day) + 2*pbVol), patient: 3})
}

// presses during a 10 min patient bolus and during a 30 min clinician bolus.
func checkRefusedBolusActive(e *example) {
	e.patientBoluses([]time.Duration{day, day + 2*time.Hour},
		refusal{day + 5*time.Minute, "bolus_active"}, refusal{day + time.Hour + 10*time.Minute, "bolus_active"})
	e.logAt("CLINICIAN_BOLUS_START", e.at(day+time.Hour))
	e.logAt("CLINICIAN_BOLUS_END", e.at(day+time.Hour+30*time.Minute))
	v := over(pbRate, 2*day) + 2*pbVol + 50_000
	e.volume("delivered_ml", e.rep.DeliveredML, v)
	e.battery(use{time: 2 * day, strokes: strokes(v), clinician: 1, patient: 4})
}

// max 3 per rolling 24 h: the 4th and a press 1 min before the first leaves the
// window are refused; refused presses do not count; at exactly 24 h it is given.
func checkRefusedMaxCount(e *example) {
	e.patientBoluses([]time.Duration{day, day + time.Hour, day + 2*time.Hour, 2 * day},
		refusal{day + 3*time.Hour, "max_count"}, refusal{day + 23*time.Hour + 59*time.Minute, "max_count"})
	v := over(pbRate, 3*day) + 4*pbVol
	e.volume("delivered_ml", e.rep.DeliveredML, v)
	e.battery(use{time: 3 * day, strokes: strokes(v), patient: 6})
}

// max_24h 0.55 over 0.5 mL/day: 0.5 + 0.05 = 0.55 is not over (given); an hour
// later 0.55 + 0.05 is (refused); once the first bolus has left the window, given.
func checkRefusedMax24h(e *example) {
	const bolus = 50_000
	e.patientBoluses([]time.Duration{day, 2*day + time.Hour}, refusal{day + time.Hour, "max_24h"})
	v := over(pbRate, 3*day) + 2*bolus
	e.volume("delivered_ml", e.rep.DeliveredML, v)
	e.dayVolumeNear(e.date(1), pbRate+bolus)
	e.dayVolumeNear(e.date(2), pbRate+bolus)
	e.battery(use{time: 3 * day, strokes: strokes(v), patient: 3})
}

// a press while stopped is refused; after the resume at 1d2h a press is given.
func checkRefusedStopped(e *example) {
	e.patientBoluses([]time.Duration{day + 3*time.Hour}, refusal{day + time.Hour, "stopped"})
	e.alarm("PUMP_STOPPED", "raise", e.at(day), 0)
	e.alarm("PUMP_STOPPED", "clear", e.at(day+2*time.Hour), 0)
	// From the resume: 22 h of basal and the bolus, in whole strokes.
	after := (over(pbRate, 22*time.Hour) + pbVol) / stroke // 956
	delivered := strokes(over(pbRate, day)) + after
	e.volume("delivered_ml", e.rep.DeliveredML, delivered*stroke)
	non := int64(1 + 2) // the raise, 1d1h, and 1d2h (due at the resume's instant)
	e.tones(0, non)
	e.battery(use{time: 2 * day, strokes: delivered, tones: non, clinician: 2, patient: 2})
}

// a press during OCCLUSION is refused (alarm); after the resume it is given.
func checkRefusedAlarm(e *example) {
	i := interval(pbRate)
	raised := e.at(day + occlN*i)
	resumeAt := e.at(day + 2*time.Hour)
	e.patientBoluses([]time.Duration{day + 3*time.Hour}, refusal{day + time.Hour, "alarm"})
	e.alarm("OCCLUSION", "raise", raised, 0)
	e.alarm("OCCLUSION", "clear", resumeAt, 0)
	after := (over(pbRate, 22*time.Hour) + pbVol) / stroke
	delivered := strokes(over(pbRate, day)) + after
	e.volume("delivered_ml", e.rep.DeliveredML, delivered*stroke)
	e.volume("pump_delivered_ml", e.rep.PumpDeliveredML, (delivered+occlN)*stroke)
	crit := 1 + int64(resumeAt.Sub(raised)/critTone) // 12
	e.tones(crit, 0)
	e.battery(use{time: 2 * day, strokes: delivered + occlN, tones: crit, clinician: 1, patient: 2})
}

// dose_per_day 5 mg at 10 mg/mL is 0.5 mL/day; 7.5 mg is 0.75 mL/day.
func checkDosePerDay(e *example) {
	const conc = 10.0
	r1 := int64(5 / conc * mL)
	r2 := int64(7.5 / conc * mL)
	for d := 1; d < 10; d++ {
		e.dayVolume(e.date(d), r1)
		e.dayDrug(e.date(d), "morphine", 5)
	}
	for d := 10; d < 20; d++ {
		e.dayVolume(e.date(d), r2)
		e.dayDrug(e.date(d), "morphine", 7.5)
	}
	v := over(r1, 10*day) + over(r2, 10*day)
	e.volume("delivered_ml", e.rep.DeliveredML, v)
	e.toPatient("morphine", 10*5+10*7.5, "mg")
	e.battery(use{time: 20 * day, strokes: strokes(v), clinician: 1})
}

// 7 years of a TP-40 at 0.5 mL/day, refilled every 70 days.
func checkSevenYears(e *example) {
	const rate = mL / 2
	const every = 70 * day
	i := interval(rate)
	// No drift: at every refill, 35 mL have left since the last one, to the nL.
	if len(e.rep.Refills) != 35 {
		e.fail("%d refills, want 35", len(e.rep.Refills))
	}
	for _, rf := range e.rep.Refills {
		e.volume("expected_residual_ml at "+rf.At, rf.ExpectedML, 40*mL-over(rate, every))
		e.volume("discrepancy_ml at "+rf.At, rf.DiscrepancyML, 0)
	}
	// ERI: 1e6 µAh less 388 µAh/day and the refills' sessions reaches
	// 10000 + 90 × 388 + 2160 × 5 = 55720 µAh.
	perDay := quiescent*24 + strokeUAh*float64(strokes(rate))
	threshold := reserve + eriLead*perDay + eriLead*24*toneUAh
	session := use{clinician: 1}.uAh()
	var eriAt time.Duration
	for n := 0; n <= 35; n++ {
		t := (e.startUAh() - threshold - float64(n)*session) / perDay * float64(day)
		if time.Duration(t) < time.Duration(n+1)*every || n == 35 {
			eriAt = time.Duration(t)
			break
		}
	}
	eri := e.alarm("ERI", "raise", e.at(eriAt), i)
	// EOS: what is left above the reserve (less the ERI's first tone and any
	// session since) at 388 + 24 × 5 = 508 µAh/day. The hourly tones of 5 µAh make
	// the crossing quantized to 5/508 of a day (14.2 min).
	sessions := 0
	for _, rf := range e.rep.Refills {
		if parseTime(rf.At).After(eri) {
			sessions++
		}
	}
	afterERI := perDay + 24*toneUAh
	left := threshold - reserve - toneUAh - float64(sessions)*session
	eos := e.alarm("EOS", "raise", eri.Add(time.Duration(left/afterERI*float64(day))), time.Duration(toneUAh/afterERI*float64(day)))
	if eos.Sub(e.start) < 6*365*day {
		e.fail("EOS after %s", eos.Sub(e.start))
	}
	// Delivery followed the program to the stroke until EOS, then stopped for good.
	e.volumeNear("delivered_ml", e.rep.DeliveredML, over(rate, eos.Sub(e.start)))
	e.toPatient("morphine", mass(nl(e.rep.DeliveredML), 10), "mg")
	eosDay := int(eos.Sub(e.start) / day)
	for d := 1; d < eosDay; d++ {
		e.dayVolume(e.date(d), rate)
	}
	e.noDeliveryAfter(eos)
	e.active("ERI", "EOS")
}

// a brown-out at day 1 00:30 with the basal at the cap: the restart must not
// pause a basal rate that fits max_24h (rule 4) nor let delivery fall more than a
// stroke behind the program (rule 2). The reset's fresh accumulator loses less
// than one stroke.
func checkPowerLossAtCap(e *example) {
	const rate = mL / 2
	e.logAt("RESET", e.at(day+30*time.Minute))
	e.volumeNear("delivered_ml", e.rep.DeliveredML, over(rate, 3*day))
	e.active()
}
