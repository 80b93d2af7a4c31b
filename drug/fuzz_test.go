package drug

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad: no file makes Load panic; a refusal names a path and a reason for
// each problem; an accepted library keeps its invariants (names resolve to their
// drug, every soft limit inside its hard limit, every number with a source).
func FuzzLoad(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(doc(drugEntry(""))))
	f.Add([]byte(doc(drugEntry(`"daily_dose_limit": {"soft_max": ` + src(`"25 mcg/day"`) + `, "hard_max": ` + src(`"21.6 mcg/day"`) + `}`))))
	f.Add([]byte(doc(drugEntry(`"titration": [{"max_step": {"soft_max": ` + src(`"15%"`) + `}, "max_per_week": {"hard_max": ` + src(`3`) + `}}]`))))
	f.Add([]byte(doc(drugEntry(`"screening": {"doses": ["50 mcg", "75 mcg"], "first_volume": "1 mL", "min_injection": "1m", "observe_min": "4h", "observe_max": "8h", "between": "24h", "source": "x"}`))))
	f.Add([]byte(`{"format": "thecal-drug-library/1", "drugs": [{"name": "a", "dose_unit": "mg", "synonyms": ["A"]}]}`))
	f.Add([]byte(`{"drugs": [null, 1, "x", [], {}]}`))
	f.Add([]byte("{\"version\": \"\xff\"}"))
	f.Add([]byte(`{"":[], "a.b": 1, "drugs": [{"name": "x", "dose_unit": "mg", "\u0000": 1}]}`))
	f.Add([]byte(`{"x": null, "drugs": [{"name": null, "dose_unit": "mg", "risks": [null, {"flag": 1}], "refill": {"max_interval": {"value": null, "s": 1}}}, {"synonyms": {}}]}`))
	f.Add([]byte(`{"drugs": [{"name": "x", "dose_unit": "mg", "daily_dose_limit": {"hard_max": {"value": "1 mg/day", "source": "s", "source": "t"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lib, err := Load(data)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) || len(le.Problems) == 0 {
				t.Fatalf("Load error %v is not a *LoadError with problems", err)
			}
			for _, p := range le.Problems {
				if p.Path == "" || p.Reason == "" {
					t.Fatalf("problem without path or reason: %+v", p)
				}
			}
			return
		}
		if lib.Version == "" || len(lib.Drugs) == 0 {
			t.Fatalf("accepted a library without version or drugs")
		}
		for _, d := range lib.Drugs {
			for _, name := range append([]string{d.Name}, d.Synonyms...) {
				if got, ok := lib.Lookup(name); !ok || got != d {
					t.Fatalf("Lookup(%q) does not find %s", name, d.Name)
				}
			}
			checkOrdered(t, d.Name+" daily dose", d.DailyDose)
			checkOrdered(t, d.Name+" concentration", d.Concentration)
			checkOrdered(t, d.Name+" starting", d.Starting.Limit)
			for _, r := range d.Titration {
				checkOrdered(t, d.Name+" step", r.MaxStep)
				checkOrdered(t, d.Name+" step %", r.MaxStepPercent)
				checkOrdered(t, d.Name+" interval", r.MinInterval)
				checkOrdered(t, d.Name+" per week", r.MaxPerWeek)
			}
		}
	})
}

func checkOrdered[T ~int64](t *testing.T, what string, l Limit[T]) {
	t.Helper()
	chain := []*Sourced[T]{l.HardMin, l.SoftMin, l.SoftMax, l.HardMax}
	for i, a := range chain {
		if a != nil && strings.TrimSpace(a.Source) == "" {
			t.Fatalf("%s: a limit without a source", what)
		}
		if a != nil && a.Value <= 0 {
			t.Fatalf("%s: a limit of %d", what, a.Value)
		}
		for _, b := range chain[i+1:] {
			if a != nil && b != nil && a.Value > b.Value {
				t.Fatalf("%s: limits out of order: %d > %d", what, a.Value, b.Value)
			}
		}
	}
}
