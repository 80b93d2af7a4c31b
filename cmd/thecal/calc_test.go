package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/calc"
	"github.com/thecal/thecal/drug"
)

// calcCLI runs "thecal calc ARGS…" in process.
func calcCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(append([]string{"calc"}, args...), &out, &errOut)
	return out.String(), errOut.String(), status
}

func TestCalcOutputs(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want []string // lines or pieces of the output, in order
	}{
		{"refill, the issue's example", []string{"refill", "--reservoir", "20mL", "--last-fill", "20mL", "--rate", "0.5mL/day", "--since", "30d", "--withdrawn", "4.1mL"},
			[]string{"Refill accounting (TP-20)", "programmed = 0.5 mL/day × 30d = 15 mL", "expected = 20 mL − 15 mL = 5 mL",
				"discrepancy = 4.1 mL − 5 mL = -0.9 mL (limit ±1 mL on a TP-20)", "expected residual  5 mL", "flagged            no"}},
		{"refill flagged on a TP-40", []string{"refill", "--model", "TP-40", "--last-fill", "40mL", "--rate", "1mL/day", "--since", "30d", "--withdrawn", "12.1mL"},
			[]string{"discrepancy = 12.1 mL − 10 mL = 2.1 mL (limit ±2 mL on a TP-40)", "flagged            YES", "catheter problem"}},
		{"refill that ran empty", []string{"refill", "--reservoir", "20mL", "--last-fill", "20mL", "--rate", "0.5mL/day", "--since", "45d", "--withdrawn", "0.5mL"},
			[]string{"is below the empty level: 0.5 mL", "ran empty          yes", "39d after the last refill at the latest"}},
		{"dose from rate", []string{"dose", "--concentration", "10mg/mL", "--rate", "0.5mL/day"},
			[]string{"dose = rate × concentration = 0.5 mL/day × 10 mg/mL = 5 mg/day", "daily dose in mcg   5000 mcg/day (≈208.3 mcg/h)"}},
		{"rate from dose per hour", []string{"dose", "--concentration", "25mcg/mL", "--dose", "0.1mcg/h", "--drug", "Prialt"},
			[]string{"ziconotide (doses in mcg)", "rate = dose ÷ concentration = 2.4 mcg/day ÷ 25 mcg/mL = 0.096 mL/day", "daily dose          2.4 mcg/day (0.1 mcg/h)"}},
		{"priming", []string{"priming", "--catheter-length", "50cm"},
			[]string{"priming volume = tubing 0.25 mL + catheter 0.11 mL = 0.36 mL", "strokes         720", "takes           21m36s"}},
		{"bridge", []string{"bridge", "--old-rate", "0.5mL/day", "--catheter-length", "50cm", "--start", "2026-01-05T08:00:00Z", "--old-concentration", "10mg/mL"},
			[]string{"duration = 0.36 mL ÷ 0.5 mL/day = 17h16m48s (0.72 days)", "new drug at the tip  Tue 2026-01-06 01:16 UTC", "old drug delivered   3.6 mg"}},
		{"bridge without a date", []string{"bridge", "--old-rate", "0.5mL/day", "--catheter-length", "50cm"},
			[]string{"new drug at the tip  start + 17h16m48s"}},
		{"next refill", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.5mL/day", "--bolus-volume", "0.02mL", "--lockout", "4h", "--max-per-24h", "4", "--drug", "morphine", "--filled", "2026-01-05T08:00:00Z"},
			[]string{"boluses a day = min(4, ⌈24h ÷ 4h⌉) × 0.02 mL = 0.08 mL/day", "low-reservoir alarm     Thu 2026-02-05 08:49 UTC", "REFILL DUE              Thu 2026-01-29 08:49 UTC", "no stability limit for morphine"}},
		{"next refill by stability", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.08mL/day", "--drug", "baclofen"},
			[]string{"stability limit          180d (", "limited by              the drug's stability", "REFILL DUE              fill + 173d"}},
		{"battery", []string{"battery", "--battery", "1000000uAh", "--rate", "0.5mL/day", "--at", "2026-01-05T08:00:00Z"},
			[]string{"ERI threshold = 10000 µAh reserve", "= 55720 µAh", "closed form:   ERI 2032-09-04T01:04:19.794Z, EOS 2032-12-03T01:04:19.794Z",
				"ERI (elective replacement)  Sat 2032-09-04 01:04 UTC", "EOS (end of service)        Fri 2032-12-03 01:04 UTC", "plan replacement from       Thu 2032-06-03 01:04 UTC"}},
		{"screening protocol", []string{"screening", "--start", "2026-01-05T08:00:00Z"},
			[]string{"bolus 1: 50 mcg in 1 mL of 50 mcg/mL over at least 1m", "bolus 2: 75 mcg in 1.5 mL", "bolus 3: 100 mcg in 2 mL", "next bolus  50 mcg in 1 mL"}},
		{"screening: 2 × 50", []string{"screening", "--result", "50mcg:6h"},
			[]string{"starting daily dose = 2 × (effect 6h, not more than 8h) × 50 mcg = 100 mcg/day", "starting daily dose       100 mcg/day"}},
		{"screening: 1 × 75", []string{"screening", "--result", "50mcg:none", "--result", "75mcg:10h"},
			[]string{"1 × (effect 10h, more than 8h) × 75 mcg = 75 mcg/day"}},
		{"screening: not a candidate", []string{"screening", "--result", "50mcg:none", "--result", "75mcg:none", "--result", "100mcg:none"},
			[]string{"NOT A CANDIDATE: no response to 100 mcg"}},
		{"ziconotide titration", []string{"titration", "--drug", "ziconotide", "--start", "2.4mcg/day", "--target", "19.2mcg/day", "--concentration", "25mcg/mL", "--from", "2026-01-05T08:00:00Z"},
			[]string{"rule: steps of at most 2.4 mcg/day, at least 2d apart, at most 3 a week", "day 0 ", "day 9 ", "day 16 ", "19.2 mcg/day (0.8 mcg/h)", "rate 0.768 mL/day", "reaches the target  Wed 2026-01-21 08:00 UTC (day 16)"}},
		{"baclofen titration with a per-week bound", []string{"titration", "--drug", "baclofen", "--population", "cerebral", "--start", "200mcg/day", "--target", "300mcg/day", "--concentration", "500mcg/mL", "--per-week", "7"},
			[]string{"steps of at most 15% of the current dose, at least 1d apart, at most 7 a week", "264.5 mcg/day", "reaches the target  start + 3d (day 3)"}},
		{"opioid", []string{"opioid", "--oral", "60mg/day"},
			[]string{"typical = 60 mg/day ÷ 300 = 0.2 mg/day", "range = 60 mg/day ÷ 300 to 60 mg/day ÷ 10 = 0.2 mg/day to 6 mg/day", "never a limit"}},
		{"trial", []string{"trial", "--baseline", "8", "--trial", "3", "--functional", "yes"},
			[]string{"reduction = (8 − 3) ÷ 8 = 62.5%", "TRIAL SUCCESS           yes"}},
		{"trial without the functional record", []string{"trial", "--baseline", "8", "--trial", "4"},
			[]string{"50% reaches the threshold 50%", "TRIAL SUCCESS           no", "record functional improvement"}},
		{"check with a reason", []string{"check", "--drug", "ziconotide", "--concentration", "25mcg/mL", "--dose", "2.4mcg/day", "--reason", "PACC range too slow for this pain"},
			[]string{"Findings", "needs a reason: starting dose 2.4 mcg/day (0.1 mcg/h) is above the recommended starting range", "may go ahead with the stated reason: PACC range too slow for this pain"}},
		{"check: an increase within the rules needs no reason", []string{"check", "--drug", "ziconotide", "--concentration", "25mcg/mL", "--dose", "4.8mcg/day", "--at", "2026-01-07T08:00:00Z", "--prev", "2d=2.4mcg/day"},
			[]string{"Findings", "no findings", "may go ahead"}},
		{"check: a 90% baclofen decrease shows the withdrawal warning", []string{"check", "--drug", "baclofen", "--concentration", "500mcg/mL", "--dose", "40mcg/day", "--at", "2026-01-07T08:00:00Z", "--prev", "2d=400mcg/day", "--reason", "intrathecal trial ended: taper to oral"},
			[]string{"needs a reason: a decrease of 360 mcg/day", "(−90%) is more than 50% (the clinic's default", "rebound spasticity", "may go ahead with the stated reason"}},
		{"library", []string{"library", "--drug", "Prialt"},
			[]string{"ziconotide (doses in mcg)", "daily dose limit, soft maximum: 19.2 mcg/day (0.8 mcg/h) [US label", "daily dose limit, hard maximum: 21.6 mcg/day (0.9 mcg/h) [EU SmPC",
				"left empty (for the clinic to set; not asked on each prescription):", "- no concentration soft maximum"}},
		{"library: baclofen and clonidine", []string{"library"},
			[]string{"concentrations: 50 mcg/mL, 500 mcg/mL, 1000 mcg/mL, 2000 mcg/mL", "maintenance (spinal): 300 mcg/day", "clonidine (doses in mcg)",
				"withdrawal warning: a sudden stop can cause nervousness, agitation, headache and tremor with a rapid, sharp rise in blood pressure; taper over 2d to 4d [Duraclon"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, status := calcCLI(t, c.args...)
			if status != 0 {
				t.Fatalf("exit %d, stderr:\n%s", status, errOut)
			}
			rest := out
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (after the earlier pieces):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestCalcJSON(t *testing.T) {
	out, errOut, status := calcCLI(t, "refill", "--reservoir", "20mL", "--last-fill", "20mL", "--rate", "0.5mL/day", "--since", "30d", "--withdrawn", "4.1mL", "--json")
	if status != 0 {
		t.Fatal(errOut)
	}
	var r struct {
		Calc    string
		Inputs  map[string]any
		Working []string
		Result  map[string]any
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Calc != "refill" || r.Result["expected"] != "5 mL" || r.Result["discrepancy"] != "-0.9 mL" || r.Result["flagged"] != false ||
		r.Inputs["withdrawn"] != "4.1 mL" || len(r.Working) != 3 {
		t.Errorf("JSON = %s", out)
	}

	out, _, _ = calcCLI(t, "battery", "--rate", "0.5mL/day", "--at", "2026-01-05T08:00:00Z", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Result["eri"] != "2032-09-04T01:04:19.794Z" || r.Result["eos"] != "2032-12-03T01:04:19.794Z" {
		t.Errorf("battery JSON = %s (%v)", out, err)
	}
	out, _, _ = calcCLI(t, "titration", "--drug", "ziconotide", "--start", "2.4mcg/day", "--target", "19.2mcg/day", "--concentration", "25mcg/mL", "--json")
	var tr struct {
		Result struct{ Steps []map[string]any }
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil || len(tr.Result.Steps) != 8 || tr.Result.Steps[7]["dose"] != "19.2 mcg/day" || tr.Result.Steps[7]["day"] != 16.0 {
		t.Errorf("titration JSON = %s (%v)", out, err)
	}
}

func TestCalcBadInput(t *testing.T) {
	refill := []string{"refill", "--reservoir", "20mL", "--last-fill", "20mL", "--rate", "0.5mL/day", "--since", "30d", "--withdrawn", "4.1mL"}
	with := func(args []string, name, value string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == "--"+name {
				out[i+1] = value
				return out
			}
		}
		return append(out, "--"+name, value)
	}
	without := func(args []string, name string) []string {
		var out []string
		for i := 0; i < len(args); i++ {
			if args[i] == "--"+name {
				i++
				continue
			}
			out = append(out, args[i])
		}
		return out
	}
	for _, c := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no calculation", nil, "usage: thecal calc"},
		{"unknown calculation", []string{"dosage"}, `unknown calculation "dosage"`},
		{"value without unit", with(refill, "withdrawn", "4.1"), `--withdrawn: volume "4.1" has no unit (allowed: mL`},
		{"wrong unit", with(refill, "rate", "0.5mg/day"), `--rate: rate "0.5mg/day": "mg/day" is a unit of dose rate, not of rate`},
		{"volume for a rate", with(refill, "rate", "0.5mL"), `"mL" is a unit of volume, not of rate`},
		{"duration in words", with(refill, "since", "30 days"), `--since: duration "30 days"`},
		{"missing input", without(refill, "withdrawn"), "--withdrawn: required: the volume withdrawn now, e.g. --withdrawn 4.1mL"},
		{"not a reservoir", with(refill, "reservoir", "30mL"), "--reservoir: 30 mL is not a Thecal reservoir: 20 mL (TP-20) or 40 mL (TP-40)"},
		{"out of range", with(refill, "withdrawn", "25mL"), "--withdrawn: 25 mL is outside 0 to 20 mL (the TP-20 reservoir)"},
		{"inconsistent", with(with(refill, "last-fill", "3mL"), "withdrawn", "4mL"), "--withdrawn: 4 mL is more than the last fill 3 mL"},
		{"model and reservoir disagree", with(refill, "model", "TP-40"), "--reservoir: 20 mL does not match TP-40"},
		{"rate out of the pump's range", with(refill, "rate", "2mL/h"), "--rate: 48 mL/day is outside what the pump delivers: 0.048 mL/day to 1 mL/h"},
		{"unknown input", append(refill, "--volume", "3mL"), "--volume is not an input of this calculation"},
		{"stray argument", append(refill, "20mL"), `unexpected "20mL"`},
		{"dose as a bare mass", []string{"dose", "--concentration", "10mg/mL", "--dose", "5mg"}, `--dose: "5mg" is a mass, not a dose rate`},
		{"both rate and dose", []string{"dose", "--concentration", "10mg/mL", "--dose", "5mg/day", "--rate", "0.5mL/day"}, "give exactly one of --rate and --dose"},
		{"dose needing an impossible rate", []string{"dose", "--concentration", "1mg/mL", "--dose", "50mg/day"}, "--dose: 50 mg/day at 1 mg/mL needs 50 mL/day, outside what the pump delivers"},
		{"catheter ×10", []string{"priming", "--catheter-length", "500cm"}, "--catheter-length: 500 cm is outside more than 0 to 200 cm"},
		{"catheter per cm ×10", []string{"priming", "--catheter-length", "50cm", "--catheter-per-cm", "0.022mL"}, "--catheter-per-cm: 0.022 mL per cm is outside"},
		{"bridge from a stopped pump", []string{"bridge", "--old-rate", "0mL/day", "--catheter-length", "50cm"}, "--old-rate: 0 mL/day is outside what the pump delivers"},
		{"bolus half given", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.5mL/day", "--lockout", "4h"}, "--bolus-volume: required"},
		{"max_24h under the basal", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.5mL/day", "--max-24h", "0.4mL"}, "--max-24h: 0.4 mL is less than the basal 0.5 mL in 24 h"},
		{"low threshold out of range", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.5mL/day", "--low-threshold", "0.5mL"}, "--low-threshold: 0.5 mL is outside 1 mL to 5 mL"},
		{"battery over capacity", []string{"battery", "--battery", "2000000uAh", "--rate", "0.5mL/day", "--at", "2026-01-05T08:00:00Z"}, "--battery: 2000000 µAh is outside more than the end-of-service reserve 10000 µAh to the capacity 1000000 µAh"},
		{"battery in the wrong unit", []string{"battery", "--battery", "1000000", "--rate", "0.5mL/day", "--at", "2026-01-05T08:00:00Z"}, `--battery: charge "1000000" has no unit (allowed: mAh, nAh, uAh, µAh)`},
		{"battery without a date", []string{"battery", "--rate", "0.5mL/day"}, "--at: required"},
		{"time not RFC 3339", []string{"battery", "--rate", "0.5mL/day", "--at", "5 Jan 2026"}, "--at: time \"5 Jan 2026\" is not RFC 3339"},
		{"screening out of order", []string{"screening", "--result", "75mcg:none"}, "--result: bolus 1 of the protocol is 50 mcg, not 75 mcg"},
		{"screening result unreadable", []string{"screening", "--result", "50mcg"}, `--result: "50mcg": write DOSE:none`},
		{"no screening for the drug", []string{"screening", "--drug", "morphine"}, "--drug: library thecal-default-1 has no screening protocol for morphine"},
		{"titration looser than the library", []string{"titration", "--drug", "ziconotide", "--start", "2.4mcg/day", "--target", "19.2mcg/day", "--concentration", "25mcg/mL", "--interval", "24h"}, "--interval: looser than the library's"},
		{"titration without the population", []string{"titration", "--drug", "baclofen", "--start", "200mcg/day", "--target", "300mcg/day", "--concentration", "500mcg/mL"}, "--population: baclofen's titration depends on the population"},
		{"titration missing a library bound", []string{"titration", "--drug", "baclofen", "--population", "cerebral", "--start", "200mcg/day", "--target", "300mcg/day", "--concentration", "500mcg/mL"}, "--per-week: the library has no bound"},
		{"titration downwards", []string{"titration", "--drug", "ziconotide", "--start", "4.8mcg/day", "--target", "2.4mcg/day", "--concentration", "25mcg/mL"}, "--target: 2.4 mcg/day is below the start"},
		{"trial score over the scale", []string{"trial", "--baseline", "8", "--trial", "12"}, "--trial: must be from 0 to the scale's top"},
		{"trial functional unclear", []string{"trial", "--baseline", "8", "--trial", "3", "--functional", "maybe"}, `--functional: "maybe": write yes or no`},
		{"unknown drug", []string{"check", "--drug", "ketamine", "--concentration", "1mg/mL", "--dose", "1mg/day"}, `--drug: "ketamine" is not in drug library thecal-default-1`},
		{"history without --at", []string{"check", "--drug", "ziconotide", "--concentration", "25mcg/mL", "--dose", "4.8mcg/day", "--prev", "2d=2.4mcg/day"}, "--at: required with --prev"},
		{"history after the proposal", []string{"check", "--drug", "ziconotide", "--concentration", "25mcg/mL", "--dose", "4.8mcg/day", "--at", "2026-01-07T08:00:00Z", "--prev", "2026-01-08T08:00:00Z=2.4mcg/day"}, "--prev: history[0]"},
		{"library file missing", []string{"library", "--library", "/nonexistent/library.json"}, "--library: open /nonexistent/library.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, status := calcCLI(t, c.args...)
			if status != exitUsage {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", status, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Fatalf("stderr lacks %q:\n%s", c.want, errOut)
			}
		})
	}
}

func TestCalcCheckRefuses(t *testing.T) {
	// 24 mcg/day of ziconotide, 4.8 above 19.2: over the hard limit and the step.
	out, _, status := calcCLI(t, "check", "--drug", "ziconotide", "--concentration", "25mcg/mL", "--dose", "24mcg/day",
		"--at", "2026-01-07T08:00:00Z", "--prev", "2d=19.2mcg/day", "--reason", "any")
	if status != exitRefused || !strings.Contains(out, "refused: daily dose 24 mcg/day (1 mcg/h) is above the hard maximum 21.6 mcg/day") ||
		!strings.Contains(out, "REFUSED by the library") {
		t.Fatalf("exit %d:\n%s", status, out)
	}
	// A soft finding without a reason, and with a vague one.
	_, _, status = calcCLI(t, "check", "--drug", "morphine", "--concentration", "10mg/mL", "--dose", "24mg/day")
	if status != exitRefused {
		t.Fatalf("a finding needing a reason, none given: exit %d", status)
	}
	out, _, status = calcCLI(t, "check", "--drug", "morphine", "--concentration", "10mg/mL", "--dose", "24mg/day", "--reason", "typo")
	if status != exitRefused || !strings.Contains(out, `NEEDS A SPECIFIC REASON (--reason): "typo" is 4 characters`) {
		t.Fatalf("a vague reason: exit %d\n%s", status, out)
	}
}

func TestCalcHelp(t *testing.T) {
	for _, c := range calc.Docs {
		out, _, status := calcCLI(t, c.Name, "--help")
		if status != 0 || !strings.Contains(out, "Example:\n  thecal calc "+c.Name) || !strings.Contains(out, "Inputs (every amount with its unit") {
			t.Errorf("%s --help: exit %d\n%s", c.Name, status, out)
		}
		// The example in the help runs.
		args := strings.Fields(strings.TrimPrefix(c.Example, "thecal calc "))
		if _, errOut, status := calcCLI(t, args...); status != 0 && !(c.Refuses && status == exitRefused) {
			t.Errorf("%s: the help's example exits %d: %s", c.Name, status, errOut)
		}
	}
	out, _, status := calcCLI(t, "--help")
	if status != 0 || !strings.Contains(out, "next-refill") {
		t.Errorf("calc --help: exit %d\n%s", status, out)
	}
}

func TestCalcLibraryFile(t *testing.T) {
	dir := t.TempDir()
	// A clinic's library: the default with a hard limit for morphine.
	data := strings.Replace(string(drug.DefaultJSON()),
		`"soft_max": {"value": "20 mg/day", "source": "Infumorph label: caution above 20 mg/day"}`,
		`"soft_max": {"value": "20 mg/day", "source": "Infumorph label: caution above 20 mg/day"},
        "hard_max": {"value": "30 mg/day", "source": "Example Clinic pain committee, 2026-11-01"}`, 1)
	data = strings.Replace(data, `"version": "thecal-default-1"`, `"version": "example-clinic-3"`, 1)
	good := filepath.Join(dir, "clinic.json")
	if err := os.WriteFile(good, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, status := calcCLI(t, "check", "--library", good, "--drug", "morphine", "--concentration", "25mg/mL", "--dose", "40mg/day", "--population", "opioid-tolerant")
	if status != exitRefused || !strings.Contains(out, "example-clinic-3") || !strings.Contains(out, "above the hard maximum 30 mg/day (1.25 mg/h) (Example Clinic pain committee") {
		t.Fatalf("exit %d:\n%s", status, out)
	}

	bad := filepath.Join(dir, "bad.json")
	broken := strings.Replace(data, `"value": "30 mg/day"`, `"value": "10 mg/day"`, 1)
	broken = strings.Replace(broken, `"value": "21.6 mcg/day",
          "source": "EU SmPC (Prialt): maximum 21.6 mcg/day"`, `"value": "21.6 mcg/day"`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, status := calcCLI(t, "library", "--library", bad)
	if status != exitUsage || !strings.Contains(errOut, "drugs[1].daily_dose_limit.soft_max: soft_max 20 mg/day is above hard_max 10 mg/day") ||
		!strings.Contains(errOut, "drugs[0].daily_dose_limit.hard_max.source: required") {
		t.Fatalf("exit %d:\n%s", status, errOut)
	}
}

// TestCalcRefusesWhatItCannotRepresent (issue 11 item 8): a result that
// does not fit its type is refused with status 2 naming the inputs typed,
// and nothing is printed as a result; so is a repeated single-value input,
// and each refusal blames the input that is wrong.
func TestCalcRefusesWhatItCannotRepresent(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string // the whole first line of stderr after "thecal calc NAME: "
	}{
		{"a dose beyond any representable", []string{"dose", "--concentration", "400000mg/mL", "--rate", "1mL/h"},
			"--concentration, --rate: 400000 mg/mL at 24 mL/day is a daily dose over 9200000 mg/day: more than can be represented; check the inputs"},
		{"the same as JSON", []string{"dose", "--concentration", "400000mg/mL", "--rate", "1mL/h", "--json"}, "--concentration, --rate: 400000 mg/mL"},
		{"a rate for a dose beyond any representable", []string{"dose", "--concentration", "9000000000mg/mL", "--dose", "9000000mg/day"}, "--dose: 9000000 mg/day at 9000000000 mg/mL needs 0.001 mL/day, outside what the pump delivers"},
		{"the old drug of a bridge", []string{"bridge", "--old-rate", "1mL/h", "--catheter-length", "50cm", "--old-concentration", "400000000mg/mL"},
			"--old-concentration, --old-rate: 400000000 mg/mL at 24 mL/day: more than can be represented"},
		{"boluses a day beyond any volume", []string{"next-refill", "--reservoir", "20mL", "--volume", "20mL", "--rate", "0.5mL/day", "--bolus-volume", "1000000000000mL", "--lockout", "1h", "--max-per-24h", "24"},
			"--bolus-volume, --max-per-24h, --lockout: 24 boluses of 1000000000000 mL a day: more than can be represented"},
		{"a percentage step beyond any dose", []string{"titration", "--drug", "morphine", "--start", "1mg/day", "--target", "2mg/day", "--concentration", "10mg/mL", "--step", "1000000000000000%", "--interval", "1d", "--per-week", "3"},
			"--step: 1000000000000000% of 1 mg/day: more than can be represented"},
		{"a repeated rate", []string{"dose", "--concentration", "10mg/mL", "--rate", "0.5mL/day", "--rate", "0.6mL/day"}, "--rate: given twice (0.5mL/day, then 0.6mL/day): give it once"},
		{"a negative dose blames --dose", []string{"check", "--drug", "morphine", "--concentration", "10mg/mL", "--dose", "-1mcg/day"}, "--dose: dose must not be negative"},
		{"a negative history blames --prev", []string{"check", "--drug", "morphine", "--concentration", "10mg/mL", "--dose", "1mg/day", "--at", "2026-01-07T08:00:00Z", "--prev", "1d=-1mg/day"}, "--prev: history[0]: dose must not be negative"},
		{"no concentration blames --concentration", []string{"check", "--drug", "morphine", "--concentration", "0mg/mL", "--dose", "1mg/day"}, "--concentration: concentration must be more than 0"},
		{"an unknown population blames --population", []string{"check", "--drug", "baclofen", "--concentration", "500mcg/mL", "--dose", "100mcg/day", "--population", "martian"}, `--population: population "martian" is not one of baclofen's populations`},
		{"a volume per cm without its unit", []string{"priming", "--catheter-length", "50cm", "--catheter-per-cm", "0.0022"}, `--catheter-per-cm: volume per cm "0.0022"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, status := calcCLI(t, c.args...)
			if status != exitUsage || out != "" {
				t.Fatalf("exit %d, want 2 with nothing printed; stdout:\n%s", status, out)
			}
			prefix := "thecal calc " + c.args[0] + ": "
			if !strings.HasPrefix(errOut, prefix+c.want) {
				t.Fatalf("stderr:\n%s\nwant it to begin %q", errOut, prefix+c.want)
			}
		})
	}
	// A volume per centimetre is accepted as one, and the bare volume as before.
	for _, perCm := range []string{"0.0022mL/cm", "2.2uL/cm", "0.0022mL"} {
		out, errOut, status := calcCLI(t, "priming", "--catheter-length", "50cm", "--catheter-per-cm", perCm)
		if status != 0 || !strings.Contains(out, "priming volume  0.36 mL") {
			t.Errorf("--catheter-per-cm %s: exit %d %s%s", perCm, status, errOut, out)
		}
	}
}
