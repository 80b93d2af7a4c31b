package sim

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func rawJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func runPop(t testing.TB, o PopulationOptions) *PopulationRaw {
	t.Helper()
	raw, err := RunPopulation(o)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// col returns column name's counts of replicate s, month by month.
func col(t testing.TB, raw *PopulationRaw, s int, name string) []int64 {
	t.Helper()
	c := slices.Index(raw.Columns, name)
	if c < 0 {
		t.Fatalf("no column %q", name)
	}
	out := make([]int64, len(raw.Months))
	for m := range raw.Months {
		out[m] = raw.Seeds[s].Counts[m][c]
	}
	return out
}

func total(vs []int64) int64 {
	var s int64
	for _, v := range vs {
		s += v
	}
	return s
}

// TestPopulationDeterministic: the same seeds give the same clinic on one
// worker and on two; replicate s of a run is the run of seed Seed+s alone;
// another seed gives another clinic.
func TestPopulationDeterministic(t *testing.T) {
	o := PopulationOptions{Patients: 30, Years: 3, Seed: 11, Seeds: 2, Workers: 1}
	a := runPop(t, o)
	o.Workers = 2
	b := runPop(t, o)
	if rawJSON(t, a) != rawJSON(t, b) {
		t.Fatalf("1 worker and 2 workers differ")
	}
	if len(a.Months) != 36 || len(a.Seeds) != 2 {
		t.Fatalf("%d months, %d replicates; want 36, 2", len(a.Months), len(a.Seeds))
	}
	alone := runPop(t, PopulationOptions{Patients: 30, Years: 3, Seed: 12})
	if rawJSON(t, alone.Seeds[0]) != rawJSON(t, a.Seeds[1]) {
		t.Errorf("replicate 2 of seed 11 is not the run of seed 12")
	}
	if rawJSON(t, a.Seeds[0]) == rawJSON(t, a.Seeds[1]) {
		t.Errorf("two seeds gave the same clinic")
	}
}

// TestPopulationShardsMerge: the shards of a run, merged, are the run, byte
// for byte, in their exact counts and in the planning view; an incomplete or
// mixed set of shards is refused.
func TestPopulationShardsMerge(t *testing.T) {
	o := PopulationOptions{Patients: 40, Years: 2, Seed: 3, Seeds: 3}
	whole := runPop(t, o)
	var parts []*PopulationRaw
	for i := range 4 {
		o.Shard, o.Shards = i, 4
		parts = append(parts, runPop(t, o))
	}
	slices.Reverse(parts) // any order
	merged, err := MergePopulation(parts)
	if err != nil {
		t.Fatal(err)
	}
	if rawJSON(t, merged) != rawJSON(t, whole) {
		t.Fatalf("the merged shards differ from the whole run")
	}
	ws, _ := Summarize(whole)
	ms, _ := Summarize(merged)
	if rawJSON(t, ws) != rawJSON(t, ms) {
		t.Fatalf("the summaries differ")
	}
	if _, err := Summarize(parts[0]); !errors.Is(err, ErrMerge) {
		t.Errorf("a shard summarized: %v", err)
	}
	for name, set := range map[string][]*PopulationRaw{
		"missing":   parts[:3],
		"twice":     append(slices.Clone(parts), parts[0]),
		"no shards": nil,
	} {
		if _, err := MergePopulation(set); !errors.Is(err, ErrMerge) {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := runPop(t, PopulationOptions{Patients: 40, Years: 2, Seed: 4, Seeds: 3, Shard: 0, Shards: 4})
	if _, err := MergePopulation(append(slices.Clone(parts[:3]), other)); !errors.Is(err, ErrMerge) || !strings.Contains(err.Error(), "options") {
		t.Errorf("shards of two runs merged: %v", err)
	}
}

// TestPopulationRefusals: bad sizes and parameters name their flag.
func TestPopulationRefusals(t *testing.T) {
	for _, c := range []struct {
		o    PopulationOptions
		flag string
	}{
		{PopulationOptions{Patients: 0, Years: 1}, "--patients"},
		{PopulationOptions{Patients: 1, Years: 0}, "--years"},
		{PopulationOptions{Patients: 1, Years: 51}, "--years"},
		{PopulationOptions{Patients: 1, Years: 1, Seeds: 1001}, "--seeds"},
		{PopulationOptions{Patients: 1, Years: 1, Shard: 4, Shards: 4}, "--shard"},
		{PopulationOptions{Patients: 1, Years: 1, Params: []string{"mortality_cancer_pain"}}, "--param"},
		{PopulationOptions{Patients: 1, Years: 1, Params: []string{"no_such=1"}}, "--param"},
		{PopulationOptions{Patients: 1, Years: 1, Params: []string{"trial_success_spasticity=1.5"}}, "--param"},
		{PopulationOptions{Patients: 1, Years: 1, Params: []string{"cohort_spasticity=0.9", "cohort_cancer_pain=0.2"}}, "--param"},
	} {
		_, err := RunPopulation(c.o)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.flag {
			t.Errorf("%+v: %v, want a refusal of %s", c.o, err, c.flag)
		}
	}
}

// TestPopulationLifecycle is the clinic: 1,000 patients for 10 years
// (about 10,000 pump-years). Its books must balance: the census moves only by
// implants, explants and deaths; every catheter fault the pump can sense
// raises its own alarm, every kink shows at a refill; every revision follows
// a fault; replacements follow ERI.
func TestPopulationLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 pump-years")
	}
	raw := runPop(t, PopulationOptions{Patients: 1000, Years: 10, Seed: 1})
	res, err := Summarize(raw)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []int64 { return col(t, raw, 0, name) }
	patients, implants, explants, deaths := get("patients"), get("implants"), get("explants"), get("deaths")
	prev := int64(1000)
	for m := range raw.Months {
		if want := prev + implants[m] - explants[m] - deaths[m]; patients[m] != want {
			t.Fatalf("%s: %d patients, want %d + %d implants - %d explants - %d deaths", raw.Months[m], patients[m], prev, implants[m], explants[m], deaths[m])
		}
		prev = patients[m]
	}
	if py := res.PumpYears.Mean; py < 8000 || py > 13000 {
		t.Errorf("%.0f pump-years, want about 10,000", py)
	}
	for _, name := range []string{"referrals", "trials", "trial_failures", "implants", "replacements", "revisions", "explants",
		"deaths", "infections", "refills", "missed_refills", "flagged_refills", "patient_boluses", "mris"} {
		if total(get(name)) == 0 {
			t.Errorf("no %s in 10,000 pump-years", name)
		}
	}
	var faults, revisions int64
	for f := range numFaults {
		fc, rc := total(get("catheter_faults:"+faultNames[f])), total(get("revisions:"+faultNames[f]))
		if fc == 0 || rc > fc || rc < fc-5 {
			t.Errorf("%s: %d faults, %d revisions", faultNames[f], fc, rc)
		}
		faults, revisions = faults+fc, revisions+rc
	}
	if total(get("revisions")) != revisions {
		t.Errorf("%d revisions, %d by cause", total(get("revisions")), revisions)
	}
	occlusions := total(get("catheter_faults:occlusion")) + total(get("catheter_faults:inflammatory_mass"))
	breaks := total(get("catheter_faults:leak")) + total(get("catheter_faults:disconnection"))
	if a := total(get("alarms:OCCLUSION")); a < occlusions-5 {
		t.Errorf("%d OCCLUSION alarms for %d occlusions", a, occlusions)
	}
	if a := total(get("alarms:CATHETER_INTEGRITY")); a < breaks-5 {
		t.Errorf("%d CATHETER_INTEGRITY alarms for %d breaks", a, breaks)
	}
	if f := total(get("flagged_refills")); f < total(get("revisions:kink")) {
		t.Errorf("%d flagged refills for %d kinks revised", f, total(get("revisions:kink")))
	}
	if r, e := total(get("replacements")), total(get("alarms:ERI")); r > e || r < e/2 {
		t.Errorf("%d replacements for %d ERI alarms", r, e)
	}
	if total(get("explants")) != total(get("explants:infection"))+total(get("explants:efficacy"))+total(get("explants:choice")) {
		t.Errorf("explants do not add up by reason")
	}
}

// TestPopulationParamsDocumented: docs/simulator.md lists every parameter of
// the lifecycle model with its default, as the code has it.
func TestPopulationParamsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "simulator.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range DefaultParams() {
		row := "| `" + p.Name + "` | " + strconv.FormatFloat(p.Value, 'g', 6, 64) + " | " + p.Unit + " | "
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/simulator.md has no row %q", row)
		}
		if !strings.Contains(p.Source, "assumed") && !strings.Contains(p.Source, " 19") && !strings.Contains(p.Source, " 20") &&
			!strings.Contains(p.Source, "Duarte") {
			t.Errorf("%s: neither a source with its year nor 'assumed': %q", p.Name, p.Source)
		}
	}
}
