package drug

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/thecal/thecal/unit"
)

// doc is a library file around the given drug entries.
func doc(drugs ...string) string {
	return `{"format": "thecal-drug-library/1", "version": "test-1", "published": "2026-01-01", "drugs": [` + strings.Join(drugs, ",") + `]}`
}

// drugEntry is a drug entry with extra fields.
func drugEntry(fields string) string {
	if fields != "" {
		fields = ", " + fields
	}
	return `{"name": "zico", "dose_unit": "mcg"` + fields + `}`
}

func src(value string) string { return `{"value": ` + value + `, "source": "a label"}` }

func TestLoadMinimal(t *testing.T) {
	lib, err := Load([]byte(doc(drugEntry(""))))
	if err != nil {
		t.Fatal(err)
	}
	if lib.Version != "test-1" || lib.Published.Format("2006-01-02") != "2026-01-01" || len(lib.Digest) != 64 {
		t.Errorf("version %q published %v digest %q", lib.Version, lib.Published, lib.Digest)
	}
}

// TestLoadRefusals: every way a library file can be wrong is refused, with the
// field's path and the reason.
func TestLoadRefusals(t *testing.T) {
	for _, c := range []struct {
		name, file, path, reason string
	}{
		{"empty file", ``, "(file)", "invalid JSON"},
		{"not JSON", `{"format": `, "format", "invalid JSON"},
		{"two documents", doc(drugEntry("")) + `{}`, "(file)", "invalid JSON"},
		{"not UTF-8", "{\"format\": \"\xff\"}", "(file)", "not valid UTF-8"},
		{"not an object", `[]`, "(file)", "must be an object"},
		{"unknown top-level field", `{"format": "thecal-drug-library/1", "version": "1", "published": "2026-01-01", "drugs": [` + drugEntry("") + `], "limits": {}}`, "limits", "unknown field"},
		{"field given twice", `{"format": "thecal-drug-library/1", "version": "1", "version": "2", "published": "2026-01-01", "drugs": [` + drugEntry("") + `]}`, "version", "given twice"},
		{"missing format", `{"version": "1", "published": "2026-01-01", "drugs": [` + drugEntry("") + `]}`, "format", "required"},
		{"other format", strings.Replace(doc(drugEntry("")), "thecal-drug-library/1", "thecal-drug-library/9", 1), "format", "not a format this program reads"},
		{"missing version", `{"format": "thecal-drug-library/1", "published": "2026-01-01", "drugs": [` + drugEntry("") + `]}`, "version", "required"},
		{"blank version", strings.Replace(doc(drugEntry("")), `"test-1"`, `" "`, 1), "version", "must not be empty"},
		{"missing published", `{"format": "thecal-drug-library/1", "version": "1", "drugs": [` + drugEntry("") + `]}`, "published", "required"},
		{"bad published date", strings.Replace(doc(drugEntry("")), "2026-01-01", "2026-13-01", 1), "published", "YYYY-MM-DD"},
		{"missing drugs", `{"format": "thecal-drug-library/1", "version": "1", "published": "2026-01-01"}`, "drugs", "required"},
		{"no drugs", doc(), "drugs", "empty"},
		{"drugs not a list", `{"format": "thecal-drug-library/1", "version": "1", "published": "2026-01-01", "drugs": {}}`, "drugs", "must be a list"},
		{"drug not an object", doc(`"morphine"`), "drugs[0]", "must be an object"},
		{"unknown drug field", doc(drugEntry(`"max_dose": "5 mg/day"`)), "drugs[0].max_dose", "unknown field"},
		{"field name in another case", doc(drugEntry(`"Dose_Unit": "mcg"`)), "drugs[0].Dose_Unit", "unknown field"},
		{"missing name", doc(`{"dose_unit": "mg"}`), "drugs[0].name", "required"},
		{"name with spaces around", doc(`{"name": " zico", "dose_unit": "mg"}`), "drugs[0].name", "begins or ends with spaces"},
		{"name with a control character", doc(`{"name": "zi\u0007co", "dose_unit": "mg"}`), "drugs[0].name", "control character"},
		{"missing dose unit", doc(`{"name": "zico"}`), "drugs[0].dose_unit", "required"},
		{"unknown dose unit", doc(`{"name": "zico", "dose_unit": "g"}`), "drugs[0].dose_unit", `write "mg" or "mcg"`},
		{"duplicate name", doc(drugEntry(""), drugEntry("")), "drugs[1].name", "already a name or synonym of zico"},
		{"synonym is another drug's name", doc(drugEntry(""), `{"name": "other", "synonyms": ["ZICO"], "dose_unit": "mg"}`), "drugs[1].synonyms[0]", "already a name or synonym"},
		{"synonym listed twice", doc(drugEntry(`"synonyms": ["Zed", "zed"]`)), "drugs[0].synonyms[1]", "listed twice"},
		{"value without unit", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"19.2"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "has no unit"},
		{"value not a string", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`19.2`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "must be a string"},
		{"wrong unit", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"19.2 mL/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", `"mL/day" is a unit of rate, not of dose rate`},
		{"dose per day without per day", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"19.2 mcg"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "not a dose per day"},
		{"mg in a mcg drug", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"0.02 mg/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "this drug's dose unit is mcg"},
		{"mg/mL in a mcg drug", doc(drugEntry(`"concentrations": {"list": ["0.1 mg/mL"], "source": "x"}`)), "drugs[0].concentrations.list[0]", "this drug's dose unit is mcg"},
		{"zero", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"0 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "must be more than 0"},
		{"negative", doc(drugEntry(`"daily_dose_limit": {"hard_max": ` + src(`"-1 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_max.value", "must be more than 0"},
		{"finer than the base unit", doc(drugEntry(`"concentrations": {"list": ["0.0001 mcg/mL"], "source": "x"}`)), "drugs[0].concentrations.list[0]", "finer than the smallest step"},
		{"number without a source", doc(drugEntry(`"daily_dose_limit": {"hard_max": {"value": "19.2 mcg/day"}}`)), "drugs[0].daily_dose_limit.hard_max.source", "a number without a source is refused"},
		{"blank source", doc(drugEntry(`"daily_dose_limit": {"hard_max": {"value": "19.2 mcg/day", "source": ""}}`)), "drugs[0].daily_dose_limit.hard_max.source", "must not be empty"},
		{"source without a value", doc(drugEntry(`"daily_dose_limit": {"hard_max": {"source": "a label"}}`)), "drugs[0].daily_dose_limit.hard_max.value", "required"},
		{"null value", doc(drugEntry(`"daily_dose_limit": {"hard_max": {"value": null, "source": "a label"}}`)), "drugs[0].daily_dose_limit.hard_max.value", "required"},
		{"empty sourced value", doc(drugEntry(`"daily_dose_limit": {"hard_max": {}}`)), "drugs[0].daily_dose_limit.hard_max", "empty"},
		{"unknown field in a sourced value", doc(drugEntry(`"daily_dose_limit": {"hard_max": {"value": "1 mcg/day", "source": "x", "note": "y"}}`)), "drugs[0].daily_dose_limit.hard_max.note", "unknown field"},
		{"empty limit", doc(drugEntry(`"daily_dose_limit": {}`)), "drugs[0].daily_dose_limit", "empty"},
		{"unknown limit side", doc(drugEntry(`"daily_dose_limit": {"max": ` + src(`"1 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.max", "unknown field"},
		{"soft above hard", doc(drugEntry(`"daily_dose_limit": {"soft_max": ` + src(`"25 mcg/day"`) + `, "hard_max": ` + src(`"21.6 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.soft_max", "soft limit lies inside its hard limit"},
		{"soft min below hard min", doc(drugEntry(`"daily_dose_limit": {"soft_min": ` + src(`"1 mcg/day"`) + `, "hard_min": ` + src(`"2 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_min", "soft limit lies inside its hard limit"},
		{"soft below a hard minimum", doc(drugEntry(`"concentration_limit": {"soft_max": ` + src(`"1 mcg/mL"`) + `, "hard_min": ` + src(`"2 mcg/mL"`) + `}`)), "drugs[0].concentration_limit.hard_min", "soft limit lies inside its hard limit"},
		{"min above max", doc(drugEntry(`"daily_dose_limit": {"hard_min": ` + src(`"5 mcg/day"`) + `, "hard_max": ` + src(`"2 mcg/day"`) + `}`)), "drugs[0].daily_dose_limit.hard_min", "lower bound is not above an upper one"},
		{"labelled not a bool", doc(drugEntry(`"labelled_for_pump": ` + src(`"yes"`))), "drugs[0].labelled_for_pump.value", "true or false"},
		{"labelled without source", doc(drugEntry(`"labelled_for_pump": {"value": true}`)), "drugs[0].labelled_for_pump.source", "required"},
		{"concentrations list and range", doc(drugEntry(`"concentrations": {"list": ["25 mcg/mL"], "min": "1 mcg/mL", "max": "2 mcg/mL", "source": "x"}`)), "drugs[0].concentrations", "either"},
		{"concentrations empty list", doc(drugEntry(`"concentrations": {"list": [], "source": "x"}`)), "drugs[0].concentrations.list", "empty"},
		{"concentration listed twice", doc(drugEntry(`"concentrations": {"list": ["25 mcg/mL", "25.0 mcg/mL"], "source": "x"}`)), "drugs[0].concentrations.list[1]", "listed twice"},
		{"concentration range reversed", doc(drugEntry(`"concentrations": {"min": "5 mcg/mL", "max": "2 mcg/mL", "source": "x"}`)), "drugs[0].concentrations.min", "above max"},
		{"concentration range half", doc(drugEntry(`"concentrations": {"min": "5 mcg/mL", "source": "x"}`)), "drugs[0].concentrations.max", "required"},
		{"concentrations without source", doc(drugEntry(`"concentrations": {"list": ["25 mcg/mL"]}`)), "drugs[0].concentrations.source", "required"},
		{"diluent without strengths", doc(drugEntry(`"diluent": ` + src(`"saline"`))), "drugs[0].diluent", "give \"concentrations\" as a list"},
		{"undeclared population", doc(drugEntry(`"titration": [{"population": "adult", "max_step": {"hard_max": ` + src(`"1 mcg/day"`) + `}}]`)), "drugs[0].titration[0].population", "not one of the drug's \"populations\""},
		{"population declared twice", doc(drugEntry(`"populations": ["a", "A"]`)), "drugs[0].populations[1]", "listed twice"},
		{"unknown risk flag", doc(drugEntry(`"risks": [{"flag": "sedation", "source": "x"}]`)), "drugs[0].risks[0].flag", "not a risk flag"},
		{"risk flag twice", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}, {"flag": "withdrawal", "source": "y"}]`)), "drugs[0].risks[1].flag", "listed twice"},
		{"risk without source", doc(drugEntry(`"risks": [{"flag": "withdrawal"}]`)), "drugs[0].risks[0].source", "required"},
		{"step percent then dose", doc(drugEntry(`"titration": [{"max_step": {"soft_max": ` + src(`"15%"`) + `, "hard_max": ` + src(`"2 mcg/day"`) + `}}]`)), "drugs[0].titration[0].max_step.hard_max.value", "is a unit of dose rate, not of percentage"},
		{"step over 100%", doc(drugEntry(`"titration": [{"max_step": {"soft_max": ` + src(`"150%"`) + `}}]`)), "drugs[0].titration[0].max_step.soft_max.value", "more than 100%"},
		{"large change over 100%", doc(drugEntry(`"large_change": ` + src(`"150%"`))), "drugs[0].large_change.value", "more than 100%"},
		{"large change without source", doc(drugEntry(`"large_change": {"value": "30%"}`)), "drugs[0].large_change.source", "required"},
		{"large change as a dose", doc(drugEntry(`"large_change": ` + src(`"30 mcg/day"`))), "drugs[0].large_change.value", "not of percentage"},
		{"step minimum", doc(drugEntry(`"titration": [{"max_step": {"hard_min": ` + src(`"1 mcg/day"`) + `}}]`)), "drugs[0].titration[0].max_step.hard_min", "unknown field"},
		{"interval maximum", doc(drugEntry(`"titration": [{"min_interval": {"hard_max": ` + src(`"24h"`) + `}}]`)), "drugs[0].titration[0].min_interval.hard_max", "unknown field"},
		{"interval without unit", doc(drugEntry(`"titration": [{"min_interval": {"hard_min": ` + src(`"24"`) + `}}]`)), "drugs[0].titration[0].min_interval.hard_min.value", "expected whole numbers each followed by d, h, m, s or ms"},
		{"per week not whole", doc(drugEntry(`"titration": [{"max_per_week": {"hard_max": ` + src(`3.5`) + `}}]`)), "drugs[0].titration[0].max_per_week.hard_max.value", "not a whole number"},
		{"per week as text", doc(drugEntry(`"titration": [{"max_per_week": {"hard_max": ` + src(`"3"`) + `}}]`)), "drugs[0].titration[0].max_per_week.hard_max.value", "must be a whole number"},
		{"empty titration rule", doc(drugEntry(`"titration": [{}]`)), "drugs[0].titration[0]", "empty"},
		{"two rules for everyone", doc(drugEntry(`"titration": [{"max_step": {"hard_max": ` + src(`"1 mcg/day"`) + `}}, {"max_step": {"hard_max": ` + src(`"2 mcg/day"`) + `}}]`)), "drugs[0].titration[1]", "second titration rule"},
		{"range reversed", doc(drugEntry(`"maintenance": [{"min": "9 mcg/day", "max": "1 mcg/day", "source": "x"}]`)), "drugs[0].maintenance[0].min", "above max"},
		{"range without source", doc(drugEntry(`"maintenance": [{"min": "1 mcg/day", "max": "9 mcg/day"}]`)), "drugs[0].maintenance[0].source", "required"},
		{"starting dose unknown field", doc(drugEntry(`"starting_dose": {"max": "1 mcg/day"}`)), "drugs[0].starting_dose.max", "unknown field"},
		{"diluted interval without diluent", doc(drugEntry(`"refill": {"max_interval_diluted": ` + src(`"40d"`) + `}`)), "drugs[0].refill.max_interval_diluted", "no \"diluent\""},
		{"refill interval in weeks", doc(drugEntry(`"refill": {"max_interval": ` + src(`"12w"`) + `}`)), "drugs[0].refill.max_interval.value", `unknown unit "w"`},
		{"rinse count zero", doc(drugEntry(`"new_pump_rinse": {"count": 0, "volume": "2 mL", "concentration": "25 mcg/mL", "source": "x"}`)), "drugs[0].new_pump_rinse.count", "from 1 to 20"},
		{"screening doses falling", doc(drugEntry(`"screening": {"doses": ["50 mcg", "40 mcg"], "first_volume": "1 mL", "min_injection": "1m", "observe_min": "4h", "observe_max": "8h", "between": "24h", "source": "x"}`)), "drugs[0].screening.doses[1]", "screening doses rise"},
		{"screening observation reversed", doc(drugEntry(`"screening": {"doses": ["50 mcg"], "first_volume": "1 mL", "min_injection": "1m", "observe_min": "9h", "observe_max": "8h", "between": "24h", "source": "x"}`)), "drugs[0].screening.observe_min", "longer than observe_max"},
		{"screening without volume", doc(drugEntry(`"screening": {"doses": ["50 mcg"], "min_injection": "1m", "observe_min": "4h", "observe_max": "8h", "between": "24h", "source": "x"}`)), "drugs[0].screening.first_volume", "required"},
		{"screening start without screening", doc(drugEntry(`"screening_start": {"multiplier": 2, "long_effect_multiplier": 1, "long_effect_over": "8h", "source": "x"}`)), "drugs[0].screening_start", "needs a \"screening\""},
		{"screening start multipliers reversed", doc(drugEntry(`"screening": {"doses": ["50 mcg"], "first_volume": "1 mL", "min_injection": "1m", "observe_min": "4h", "observe_max": "8h", "between": "24h", "source": "x"}, "screening_start": {"multiplier": 1, "long_effect_multiplier": 2, "long_effect_over": "8h", "source": "x"}`)), "drugs[0].screening_start.long_effect_multiplier", "more than multiplier"},
		{"withdrawal warning without the flag", doc(drugEntry(`"withdrawal": {"warning": "w", "source": "x"}`)), "drugs[0].withdrawal", "flagged \"withdrawal\""},
		{"withdrawal without warning", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}], "withdrawal": {"source": "x"}`)), "drugs[0].withdrawal.warning", "required"},
		{"withdrawal without source", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}], "withdrawal": {"warning": "w"}`)), "drugs[0].withdrawal.source", "required"},
		{"taper half", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}], "withdrawal": {"warning": "w", "taper_min": "2d", "source": "x"}`)), "drugs[0].withdrawal.taper_max", "required"},
		{"taper reversed", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}], "withdrawal": {"warning": "w", "taper_min": "4d", "taper_max": "2d", "source": "x"}`)), "drugs[0].withdrawal.taper_min", "longer than taper_max"},
		{"decrease threshold without source", doc(drugEntry(`"risks": [{"flag": "withdrawal", "source": "x"}], "withdrawal": {"warning": "w", "source": "x", "decrease_threshold": {"value": "20%"}}`)), "drugs[0].withdrawal.decrease_threshold.source", "required"},
		{"empty interruption", doc(drugEntry(`"interruption": {}`)), "drugs[0].interruption", "empty"},
		{"interruption threshold without unit", doc(drugEntry(`"interruption": {"threshold": ` + src(`"48"`) + `}`)), "drugs[0].interruption.threshold.value", "expected whole numbers"},
		{"restart over 100%", doc(drugEntry(`"interruption": {"restart": ` + src(`"150%"`) + `}`)), "drugs[0].interruption.restart.value", "more than 100%"},
		{"bolus rule not a bool", doc(drugEntry(`"patient_bolus": [{"allowed": "no", "source": "x"}]`)), "drugs[0].patient_bolus[0].allowed", "true or false"},
		{"bolus rule without source", doc(drugEntry(`"patient_bolus": [{"allowed": false}]`)), "drugs[0].patient_bolus[0].source", "required"},
		{"two bolus rules for everyone", doc(drugEntry(`"patient_bolus": [{"allowed": false, "source": "x"}, {"allowed": true, "source": "y"}]`)), "drugs[0].patient_bolus[1]", "second patient bolus rule"},
		{"conversion out of order", doc(drugEntry(`"oral_conversion": {"from": "oral x", "typical_ratio": 500, "min_ratio": 10, "max_ratio": 300, "source": "x"}`)), "drugs[0].oral_conversion", "min_ratio ≤ typical_ratio ≤ max_ratio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(c.file))
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load = %v, want a *LoadError", err)
			}
			for _, p := range le.Problems {
				if p.Path == c.path && strings.Contains(p.Reason, c.reason) {
					return
				}
			}
			t.Fatalf("want a problem at %s containing %q; got %v", c.path, c.reason, err)
		})
	}
}

func TestLoadLargeChange(t *testing.T) {
	lib, err := Load([]byte(doc(drugEntry(`"large_change": ` + src(`"30%"`)))))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := lib.Lookup("zico")
	if d.LargeChange == nil || d.LargeChange.Value != 30*unit.OnePercent || d.LargeChange.Source != "a label" {
		t.Errorf("large_change = %+v, want 30%% from a label", d.LargeChange)
	}
	lib, _ = Load([]byte(doc(drugEntry(""))))
	if d, _ := lib.Lookup("zico"); d.LargeChange != nil {
		t.Errorf("large_change left out reads as %+v, want nil (the clinic default applies)", d.LargeChange)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load([]byte(doc(
		drugEntry(`"daily_dose_limit": {"hard_max": {"value": "19.2 mcg/day"}}, "titration": [{}]`),
		`{"name": "zico", "dose_unit": "g"}`,
	)))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) < 3 {
		t.Fatalf("want at least 3 problems, got %v", err)
	}
}

// TestLoadReadsOnPastJSONFaults: json/v2 stops at the first fault of what it
// reads, yet one load still lists every unknown member, and a value of the
// wrong kind in one drug entry does not hide the problems of the others.
func TestLoadReadsOnPastJSONFaults(t *testing.T) {
	file := `{"format": "thecal-drug-library/1", "version": "1", "published": "2026-01-01", "colour": "red", "drugs": [` +
		drugEntry(`"synonyms": "Zed"`) + `,` +
		`{"name": "b", "dose_unit": "mg", "Risks": [], "daily_dose_limit": {"hard_max": {"value": "1 mg/day", "source": "x", "note": "y"}}},` +
		`{"name": "c", "dose_unit": "g"}]}`
	_, err := Load([]byte(file))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Load = %v, want a *LoadError", err)
	}
	var got []string
	for _, p := range le.Problems {
		got = append(got, p.Path)
	}
	want := []string{"colour", "drugs[0].synonyms", "drugs[1].daily_dose_limit.hard_max.note", "drugs[1].Risks", "drugs[2].dose_unit"}
	if !slices.Equal(got, want) {
		t.Errorf("problems at %q, want %q\n%v", got, want, err)
	}
}

// TestDefaultHasEverySourcedFigure: the default library holds each sourced figure
// of spec/drugs.md, read back through the library's own types.
func TestDefaultHasEverySourcedFigure(t *testing.T) {
	lib := Default()
	get := func(name string) *Drug {
		d, ok := lib.Lookup(name)
		if !ok {
			t.Fatalf("%s is not in the default library", name)
		}
		return d
	}
	mcgDay := func(s string) unit.DoseRate {
		d, _, err := unit.ParseDoseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	conc := func(s string) unit.Concentration {
		c, _, err := unit.ParseConcentration(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	z := get("ziconotide")
	eq("ziconotide unit", z.DoseUnit, unit.Microgram)
	eq("ziconotide labelled", z.Labelled.Value, true)
	eq("ziconotide soft max", z.DailyDose.SoftMax.Value, mcgDay("19.2 mcg/day"))
	eq("ziconotide soft max per hour", z.DailyDose.SoftMax.Value.FormatPerHour(unit.Microgram), "0.8 mcg/h")
	eq("ziconotide hard max (EU)", z.DailyDose.HardMax.Value, mcgDay("21.6 mcg/day"))
	eq("ziconotide starting max", z.Starting.Limit.HardMax.Value, mcgDay("2.4 mcg/day"))
	eq("ziconotide starting max per hour", z.Starting.Limit.HardMax.Value.FormatPerHour(unit.Microgram), "0.1 mcg/h")
	eq("ziconotide PACC min", z.Starting.Recommended[0].Min, mcgDay("0.5 mcg/day"))
	eq("ziconotide PACC max", z.Starting.Recommended[0].Max, mcgDay("1.2 mcg/day"))
	eq("ziconotide step", z.Titration[0].MaxStep.HardMax.Value, mcgDay("2.4 mcg/day"))
	eq("ziconotide interval", z.Titration[0].MinInterval.HardMin.Value, 24*unit.Hour)
	eq("ziconotide interval recommended", z.Titration[0].MinInterval.SoftMin.Value, 48*unit.Hour)
	eq("ziconotide per week", z.Titration[0].MaxPerWeek.HardMax.Value, int64(3))
	eq("ziconotide strengths", slices.Equal(z.Concentrations.List, []unit.Concentration{conc("25 mcg/mL"), conc("100 mcg/mL")}), true)
	eq("ziconotide diluent", z.Diluent.Value, "preservative-free 0.9% NaCl")
	eq("ziconotide first refill", z.Refill.FirstWithin.Value, 14*unit.Day)
	eq("ziconotide refill", z.Refill.MaxInterval.Value, 84*unit.Day)
	eq("ziconotide refill diluted", z.Refill.MaxIntervalDiluted.Value, 40*unit.Day)
	eq("ziconotide rinse", *z.Rinse, Rinse{3, 2 * unit.Millilitre, conc("25 mcg/mL"), z.Rinse.Source})

	m := get("Infumorph")
	eq("morphine", m.Name, "morphine")
	eq("morphine unit", m.DoseUnit, unit.Milligram)
	eq("morphine caution", m.DailyDose.SoftMax.Value, mcgDay("20 mg/day"))
	eq("morphine has no hard max", m.DailyDose.HardMax == nil, true)
	eq("morphine naive", [2]unit.DoseRate{m.Starting.Recommended[0].Min, m.Starting.Recommended[0].Max}, [2]unit.DoseRate{mcgDay("0.2 mg/day"), mcgDay("1 mg/day")})
	eq("morphine tolerant", [2]unit.DoseRate{m.Starting.Recommended[1].Min, m.Starting.Recommended[1].Max}, [2]unit.DoseRate{mcgDay("1 mg/day"), mcgDay("10 mg/day")})
	eq("morphine strengths", slices.Equal(m.Concentrations.List, []unit.Concentration{conc("10 mg/mL"), conc("25 mg/mL")}), true)
	eq("morphine conversion", [3]int64{m.OralConversion.Typical, m.OralConversion.Min, m.OralConversion.Max}, [3]int64{300, 10, 300})

	b := get("lioresal intrathecal")
	eq("baclofen", b.Name, "baclofen")
	eq("baclofen withdrawal", b.HasRisk(Withdrawal), true)
	eq("baclofen screening", slices.Equal(b.Screening.Doses, []unit.Mass{50e9, 75e9, 100e9}), true)
	eq("baclofen screening volume", b.Screening.FirstVolume, unit.Millilitre)
	eq("baclofen screening concentration", b.Screening.Concentration(), conc("50 mcg/mL"))
	eq("baclofen injection", b.Screening.MinInjection, unit.Minute)
	eq("baclofen observe", [2]unit.Duration{b.Screening.ObserveMin, b.Screening.ObserveMax}, [2]unit.Duration{4 * unit.Hour, 8 * unit.Hour})
	eq("baclofen between", b.Screening.Between, 24*unit.Hour)
	eq("baclofen start", [3]any{b.ScreeningStart.Multiplier, b.ScreeningStart.LongEffectMultiplier, b.ScreeningStart.LongEffectOver}, [3]any{int64(2), int64(1), 8 * unit.Hour})
	eq("baclofen cerebral step", b.Titration[0].MaxStepPercent.SoftMax.Value, 15*unit.OnePercent)
	eq("baclofen spinal step", b.Titration[1].MaxStepPercent.SoftMax.Value, 30*unit.OnePercent)
	eq("baclofen pediatric step", b.Titration[2].MaxStepPercent.SoftMax.Value, 15*unit.OnePercent)
	eq("baclofen interval (cerebral), the label's once every 24 h", b.Titration[0].MinInterval.HardMin.Value, 24*unit.Hour)
	eq("baclofen interval (spinal), the label's once every 24 h", b.Titration[1].MinInterval.HardMin.Value, 24*unit.Hour)
	eq("baclofen interval cited to the label", strings.HasPrefix(b.Titration[1].MinInterval.HardMin.Source, "Lioresal Intrathecal label"), true)
	eq("baclofen maintenance", [2]unit.DoseRate{b.Maintenance[0].Min, b.Maintenance[0].Max}, [2]unit.DoseRate{mcgDay("90 mcg/day"), mcgDay("703 mcg/day")})
	eq("baclofen spinal maintenance", [3]any{b.Maintenance[1].Population, b.Maintenance[1].Min, b.Maintenance[1].Max}, [3]any{"spinal", mcgDay("300 mcg/day"), mcgDay("800 mcg/day")})
	eq("baclofen strengths, Gablofen's 1000 mcg/mL included", slices.Equal(b.Concentrations.List, []unit.Concentration{conc("50 mcg/mL"), conc("500 mcg/mL"), conc("1000 mcg/mL"), conc("2000 mcg/mL")}), true)
	eq("baclofen refill", b.Refill.MaxInterval.Value, 180*unit.Day)
	eq("baclofen withdrawal warning", strings.Contains(b.Withdrawal.Warning, "rebound spasticity"), true)

	c := get("clonidine")
	eq("clonidine withdrawal flag", c.HasRisk(Withdrawal), true)
	eq("clonidine warning", strings.Contains(c.Withdrawal.Warning, "rise in blood pressure"), true)
	eq("clonidine taper", [2]unit.Duration{c.Withdrawal.TaperMin, c.Withdrawal.TaperMax}, [2]unit.Duration{2 * unit.Day, 4 * unit.Day})
	eq("clonidine source", strings.HasPrefix(c.Withdrawal.Source, "Duraclon"), true)
	eq("no drug has an interruption rule or a bolus rule without a source", func() bool {
		for _, d := range lib.Drugs {
			if d.Interruption != (Interruption{}) || d.PatientBolus != nil {
				return false
			}
		}
		return true
	}(), true)

	// No confirmed source: in the library with their units, every limit empty.
	for _, name := range []string{"hydromorphone", "fentanyl", "sufentanil", "bupivacaine", "clonidine"} {
		d := get(name)
		if d.DoseUnit == 0 || !d.DailyDose.Empty() || !d.Concentration.Empty() || d.Concentrations != nil ||
			len(d.Titration) > 0 || !d.Starting.Limit.Empty() || len(d.Starting.Recommended) > 0 || d.Refill != (Refill{}) || d.Labelled != nil {
			t.Errorf("%s: want a unit and nothing else that needs a source, got %+v", name, d)
		}
	}
}

// TestDefaultEveryNumberHasASource walks default.json itself, independently of
// the loader: every number, and every string with a digit in it, lies inside an
// object that has a "source" (the library's header aside).
func TestDefaultEveryNumberHasASource(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(defaultJSON, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any, sourced bool)
	walk = func(path string, v any, sourced bool) {
		switch v := v.(type) {
		case map[string]any:
			_, has := v["source"]
			for k, x := range v {
				if k != "source" {
					walk(path+"."+k, x, sourced || has)
				}
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x, sourced)
			}
		case float64:
			if !sourced {
				t.Errorf("%s: the number %v has no source", path, v)
			}
		case string:
			if !sourced && strings.IndexFunc(v, unicode.IsDigit) >= 0 {
				t.Errorf("%s: %q has a number and no source", path, v)
			}
		}
	}
	walk("", root["drugs"], false)
}

func TestLookup(t *testing.T) {
	lib := Default()
	for _, name := range []string{"ziconotide", "ZICONOTIDE", " Prialt ", "prialt", "lioresal   INTRATHECAL", "Gablofen", "preservative-free  morphine"} {
		if _, ok := lib.Lookup(name); !ok {
			t.Errorf("Lookup(%q) found nothing", name)
		}
	}
	for _, name := range []string{"", "morph", "prialt x", "Lioresal"} {
		if d, ok := lib.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %s", name, d.Name)
		}
	}
}
