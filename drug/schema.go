package drug

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/thecal/thecal/unit"
)

// The library file format: the JSON field names and how each is read. See
// docs/drug-library.md.

func (r *reader) library(data []byte) *Library {
	raw, ok := r.document(data)
	if !ok {
		return nil
	}
	o, ok := r.object("", raw, "format", "version", "published", "publisher", "drugs")
	if !ok {
		return nil
	}
	lib := &Library{byName: map[string]*Drug{}}
	if v := o.require("format", `the format name "`+Format+`"`); v != nil {
		if f, ok := r.str(o.at("format"), v); ok && f != Format {
			r.fail(o.at("format"), "%q is not a format this program reads (it reads %q)", short(f), Format)
		}
	}
	if v := o.require("version", `the library's version, e.g. "2026.1"`); v != nil {
		lib.Version, _ = r.text(o.at("version"), v, 64)
	}
	if v := o.require("published", `the date the version was published, e.g. "2026-11-24"`); v != nil {
		if s, ok := r.str(o.at("published"), v); ok {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				r.fail(o.at("published"), "%q is not a date written YYYY-MM-DD", short(s))
			}
			lib.Published = t
		}
	}
	if v := o.get("publisher"); v != nil {
		lib.Publisher, _ = r.text(o.at("publisher"), v, maxText)
	}
	v := o.require("drugs", "the list of drug entries")
	if v == nil {
		return lib
	}
	elems := r.list(o.at("drugs"), v)
	if len(elems) == 0 && v[0] == '[' {
		r.fail(o.at("drugs"), "empty: a library lists at least one drug")
	}
	for i, e := range elems {
		path := index("drugs", i)
		d := r.drug(path, e)
		if d == nil {
			continue
		}
		lib.Drugs = append(lib.Drugs, d)
		for j, name := range append([]string{d.Name}, d.Synonyms...) {
			field := join(path, "name")
			if j > 0 {
				field = index(join(path, "synonyms"), j-1)
			}
			if other, dup := lib.byName[normalize(name)]; dup {
				r.fail(field, "%q is already a name or synonym of %s: each name may mean one drug only", short(name), other.Name)
				continue
			}
			lib.byName[normalize(name)] = d
		}
	}
	return lib
}

var drugFields = []string{
	"name", "synonyms", "dose_unit", "labelled_for_pump", "populations", "risks",
	"concentrations", "diluent", "concentration_limit", "daily_dose_limit", "starting_dose",
	"maintenance", "titration", "refill", "new_pump_rinse", "screening", "screening_start",
	"oral_conversion",
}

// entry is one drug being read, with the quantity readers for its dose unit.
type entry struct {
	r    *reader
	d    *Drug
	dose quantity[unit.DoseRate]
	conc quantity[unit.Concentration]
	mass quantity[unit.Mass]
}

func (r *reader) drug(path string, raw json.RawMessage) *Drug {
	o, ok := r.object(path, raw, drugFields...)
	if !ok {
		return nil
	}
	d := &Drug{}
	if v := o.require("name", "the drug's name, e.g. \"baclofen\""); v != nil {
		d.Name, _ = r.text(o.at("name"), v, 64)
	}
	if v := o.get("synonyms"); v != nil {
		d.Synonyms = r.names(o.at("synonyms"), v)
	}
	v := o.require("dose_unit", `"mg" or "mcg": the unit every dose of this drug is written in`)
	if v != nil {
		if s, ok := r.str(o.at("dose_unit"), v); ok {
			switch s {
			case "mg":
				d.DoseUnit = unit.Milligram
			case "mcg":
				d.DoseUnit = unit.Microgram
			default:
				r.fail(o.at("dose_unit"), `%q is not a dose unit: write "mg" or "mcg"`, short(s))
			}
		}
	}
	if d.DoseUnit == 0 {
		// Without a dose unit no dose of this entry can be read: stop here.
		return nil
	}
	e := &entry{r: r, d: d}
	e.dose, e.conc, e.mass = doseQuantity(d.DoseUnit), concQuantity(d.DoseUnit), massQuantity(d.DoseUnit)

	if v := o.get("labelled_for_pump"); v != nil {
		d.Labelled = sourced(r, o.at("labelled_for_pump"), v, r.boolean)
	}
	if v := o.get("populations"); v != nil {
		d.Populations = r.names(o.at("populations"), v)
	}
	if v := o.get("risks"); v != nil {
		d.Risks = e.risks(o.at("risks"), v)
	}
	if v := o.get("concentrations"); v != nil {
		d.Concentrations = e.concentrations(o.at("concentrations"), v)
	}
	if v := o.get("diluent"); v != nil {
		d.Diluent = sourced(r, o.at("diluent"), v, func(p string, v json.RawMessage) (string, bool) { return r.text(p, v, maxText) })
		if d.Diluent != nil && (d.Concentrations == nil || len(d.Concentrations.List) == 0) {
			r.fail(o.at("diluent"), "a diluent dilutes the listed strengths: give \"concentrations\" as a list")
		}
	}
	if v := o.get("concentration_limit"); v != nil {
		d.Concentration = readLimit(r, o.at("concentration_limit"), v, e.conc, allSides)
	}
	if v := o.get("daily_dose_limit"); v != nil {
		d.DailyDose = readLimit(r, o.at("daily_dose_limit"), v, e.dose, allSides)
	}
	if v := o.get("starting_dose"); v != nil {
		d.Starting = e.starting(o.at("starting_dose"), v)
	}
	if v := o.get("maintenance"); v != nil {
		d.Maintenance = e.ranges(o.at("maintenance"), v)
	}
	if v := o.get("titration"); v != nil {
		d.Titration = e.titration(o.at("titration"), v)
	}
	if v := o.get("refill"); v != nil {
		d.Refill = e.refill(o.at("refill"), v)
	}
	if v := o.get("new_pump_rinse"); v != nil {
		d.Rinse = e.rinse(o.at("new_pump_rinse"), v)
	}
	if v := o.get("screening"); v != nil {
		d.Screening = e.screening(o.at("screening"), v)
	}
	if v := o.get("screening_start"); v != nil {
		d.ScreeningStart = e.screeningStart(o.at("screening_start"), v)
		if d.Screening == nil {
			r.fail(o.at("screening_start"), "a starting dose from screening needs a \"screening\" protocol")
		}
	}
	if v := o.get("oral_conversion"); v != nil {
		d.OralConversion = e.conversion(o.at("oral_conversion"), v)
	}
	return d
}

// names reads a list of distinct names.
func (r *reader) names(path string, raw json.RawMessage) []string {
	var out []string
	for i, v := range r.list(path, raw) {
		s, ok := r.text(index(path, i), v, 64)
		if !ok {
			continue
		}
		if slices.ContainsFunc(out, func(o string) bool { return normalize(o) == normalize(s) }) {
			r.fail(index(path, i), "%q is listed twice", short(s))
			continue
		}
		out = append(out, s)
	}
	return out
}

// population reads an optional "population" field, which must be declared.
func (e *entry) population(o *object) string {
	v := o.get("population")
	if v == nil {
		return ""
	}
	p, ok := e.r.text(o.at("population"), v, 64)
	if ok && !slices.Contains(e.d.Populations, p) {
		declared := "none are declared"
		if len(e.d.Populations) > 0 {
			declared = "declared: " + strings.Join(e.d.Populations, ", ")
		}
		e.r.fail(o.at("population"), "%q is not one of the drug's \"populations\" (%s)", short(p), declared)
		return ""
	}
	return p
}

func (e *entry) risks(path string, raw json.RawMessage) []Sourced[Risk] {
	var out []Sourced[Risk]
	for i, v := range e.r.list(path, raw) {
		p := index(path, i)
		o, ok := e.r.object(p, v, "flag", "source")
		if !ok {
			continue
		}
		var flag Risk
		if v := o.require("flag", "the risk: withdrawal or respiratory_depression"); v != nil {
			if s, ok := e.r.str(o.at("flag"), v); ok {
				flag = Risk(s)
				if !slices.Contains(Risks, flag) {
					e.r.fail(o.at("flag"), "%q is not a risk flag (known: withdrawal, respiratory_depression)", short(s))
					continue
				}
			}
		}
		src := e.r.source(o)
		if flag == "" || src == "" {
			continue
		}
		if slices.ContainsFunc(out, func(s Sourced[Risk]) bool { return s.Value == flag }) {
			e.r.fail(o.at("flag"), "%q is listed twice", flag)
			continue
		}
		out = append(out, Sourced[Risk]{flag, src})
	}
	return out
}

// source reads the required "source" of an object whose numbers it covers.
func (r *reader) source(o *object) string {
	v := o.require("source", "where the numbers here come from (a label, a guideline, a study): a number without a source is refused")
	if v == nil {
		return ""
	}
	s, _ := r.text(o.at("source"), v, maxText)
	return s
}

func (e *entry) concentrations(path string, raw json.RawMessage) *Concentrations {
	o, ok := e.r.object(path, raw, "list", "min", "max", "source")
	if !ok {
		return nil
	}
	c := &Concentrations{}
	list := o.get("list")
	switch {
	case list != nil && (o.get("min") != nil || o.get("max") != nil):
		e.r.fail(path, "give either \"list\" or \"min\" and \"max\", not both")
	case list != nil:
		elems := e.r.list(o.at("list"), list)
		if len(elems) == 0 && list[0] == '[' {
			e.r.fail(o.at("list"), "empty: list at least one concentration, or leave \"concentrations\" out")
		}
		for i, v := range elems {
			x, ok := e.conc.read(e.r, index(o.at("list"), i), v)
			if !ok {
				continue
			}
			if slices.Contains(c.List, x) {
				e.r.fail(index(o.at("list"), i), "%s is listed twice", e.conc.show(x))
				continue
			}
			c.List = append(c.List, x)
		}
	default:
		lo, hi := o.require("min", "the lowest concentration, or give \"list\""), o.require("max", "the highest concentration, or give \"list\"")
		if lo != nil && hi != nil {
			c.Min, ok = e.conc.read(e.r, o.at("min"), lo)
			var ok2 bool
			c.Max, ok2 = e.conc.read(e.r, o.at("max"), hi)
			if ok && ok2 && c.Min > c.Max {
				e.r.fail(o.at("min"), "%s is above max %s", e.conc.show(c.Min), e.conc.show(c.Max))
			}
		}
	}
	c.Source = e.r.source(o)
	return c
}

func (e *entry) starting(path string, raw json.RawMessage) Starting {
	var s Starting
	o, ok := e.r.object(path, raw, "limit", "recommended")
	if !ok {
		return s
	}
	if v := o.get("limit"); v != nil {
		s.Limit = readLimit(e.r, o.at("limit"), v, e.dose, allSides)
	}
	if v := o.get("recommended"); v != nil {
		s.Recommended = e.ranges(o.at("recommended"), v)
	}
	return s
}

func (e *entry) ranges(path string, raw json.RawMessage) []Range[unit.DoseRate] {
	var out []Range[unit.DoseRate]
	for i, v := range e.r.list(path, raw) {
		p := index(path, i)
		o, ok := e.r.object(p, v, "population", "min", "max", "source")
		if !ok {
			continue
		}
		rg := Range[unit.DoseRate]{Population: e.population(o)}
		lo, hi := o.require("min", "the lowest dose of the range"), o.require("max", "the highest dose of the range")
		var okLo, okHi bool
		if lo != nil {
			rg.Min, okLo = e.dose.read(e.r, o.at("min"), lo)
		}
		if hi != nil {
			rg.Max, okHi = e.dose.read(e.r, o.at("max"), hi)
		}
		if okLo && okHi && rg.Min > rg.Max {
			e.r.fail(o.at("min"), "%s is above max %s", e.dose.show(rg.Min), e.dose.show(rg.Max))
		}
		rg.Source = e.r.source(o)
		if slices.ContainsFunc(out, func(x Range[unit.DoseRate]) bool { return x.Population == rg.Population }) {
			e.r.fail(p, "a second range for the same population (%q)", rg.Population)
			continue
		}
		out = append(out, rg)
	}
	return out
}

func (e *entry) titration(path string, raw json.RawMessage) []Titration {
	var out []Titration
	for i, v := range e.r.list(path, raw) {
		p := index(path, i)
		o, ok := e.r.object(p, v, "population", "max_step", "min_interval", "max_per_week")
		if !ok {
			continue
		}
		t := Titration{Population: e.population(o)}
		if v := o.get("max_step"); v != nil {
			if stepIsPercent(v) {
				t.MaxStepPercent = readLimit(e.r, o.at("max_step"), v, percentQuantity, maxSides)
			} else {
				t.MaxStep = readLimit(e.r, o.at("max_step"), v, e.dose, maxSides)
			}
		}
		if v := o.get("min_interval"); v != nil {
			t.MinInterval = readLimit(e.r, o.at("min_interval"), v, durationQuantity, minSides)
		}
		if v := o.get("max_per_week"); v != nil {
			t.MaxPerWeek = readLimit(e.r, o.at("max_per_week"), v, countQuantity, maxSides)
		}
		if len(o.members) == 0 || len(o.members) == 1 && o.get("population") != nil {
			e.r.fail(p, "empty: give max_step, min_interval or max_per_week")
		}
		if slices.ContainsFunc(out, func(x Titration) bool { return x.Population == t.Population }) {
			e.r.fail(p, "a second titration rule for the same population (%q)", t.Population)
			continue
		}
		out = append(out, t)
	}
	return out
}

// stepIsPercent peeks at a max_step limit: a step written "15%" is a percentage
// of the current dose. The first side decides; a side of the other kind is then
// refused by its reader as a unit of the wrong quantity.
func stepIsPercent(raw json.RawMessage) bool {
	var sides map[string]struct {
		Value any `json:"value"`
	}
	if json.Unmarshal(raw, &sides) != nil {
		return false
	}
	for _, side := range maxSides {
		if s, ok := sides[side].Value.(string); ok {
			return strings.HasSuffix(strings.TrimSpace(s), "%")
		}
	}
	return false
}

func (e *entry) refill(path string, raw json.RawMessage) Refill {
	var rf Refill
	o, ok := e.r.object(path, raw, "first_within", "max_interval", "max_interval_diluted")
	if !ok {
		return rf
	}
	read := func(key string) *Sourced[unit.Duration] {
		v := o.get(key)
		if v == nil {
			return nil
		}
		return sourced(e.r, o.at(key), v, func(p string, v json.RawMessage) (unit.Duration, bool) {
			return durationQuantity.read(e.r, p, v)
		})
	}
	rf.FirstWithin, rf.MaxInterval, rf.MaxIntervalDiluted = read("first_within"), read("max_interval"), read("max_interval_diluted")
	if rf.MaxIntervalDiluted != nil && e.d.Diluent == nil {
		e.r.fail(o.at("max_interval_diluted"), "the drug has no \"diluent\": it is never diluted")
	}
	return rf
}

func (e *entry) rinse(path string, raw json.RawMessage) *Rinse {
	o, ok := e.r.object(path, raw, "count", "volume", "concentration", "source")
	if !ok {
		return nil
	}
	rs := &Rinse{}
	if v := o.require("count", "how many times the pump is rinsed"); v != nil {
		rs.Count, _ = e.r.integer(o.at("count"), v, 1, 20)
	}
	if v := o.require("volume", `the volume of each rinse, e.g. "2 mL"`); v != nil {
		rs.Volume, _ = volumeQuantity.read(e.r, o.at("volume"), v)
	}
	if v := o.require("concentration", "the concentration rinsed with"); v != nil {
		rs.Concentration, _ = e.conc.read(e.r, o.at("concentration"), v)
	}
	rs.Source = e.r.source(o)
	return rs
}

func (e *entry) screening(path string, raw json.RawMessage) *Screening {
	o, ok := e.r.object(path, raw, "doses", "first_volume", "min_injection", "observe_min", "observe_max", "between", "source")
	if !ok {
		return nil
	}
	s := &Screening{}
	if v := o.require("doses", `the screening boluses in order, e.g. ["50 mcg", "75 mcg", "100 mcg"]`); v != nil {
		elems := e.r.list(o.at("doses"), v)
		if len(elems) == 0 && v[0] == '[' {
			e.r.fail(o.at("doses"), "empty: list at least one screening dose")
		}
		for i, v := range elems {
			m, ok := e.mass.read(e.r, index(o.at("doses"), i), v)
			if !ok {
				continue
			}
			if len(s.Doses) > 0 && m <= s.Doses[len(s.Doses)-1] {
				e.r.fail(index(o.at("doses"), i), "%s is not more than the dose before it: screening doses rise", e.mass.show(m))
				continue
			}
			s.Doses = append(s.Doses, m)
		}
	}
	durations := []struct {
		key, what string
		to        *unit.Duration
	}{
		{"min_injection", `the shortest time a bolus is injected over, e.g. "1m"`, &s.MinInjection},
		{"observe_min", `the shortest observation after a bolus, e.g. "4h"`, &s.ObserveMin},
		{"observe_max", `the longest observation after a bolus, e.g. "8h"`, &s.ObserveMax},
		{"between", `the least time between two boluses, e.g. "24h"`, &s.Between},
	}
	for _, f := range durations {
		if v := o.require(f.key, f.what); v != nil {
			*f.to, _ = durationQuantity.read(e.r, o.at(f.key), v)
		}
	}
	if s.ObserveMin > 0 && s.ObserveMax > 0 && s.ObserveMin > s.ObserveMax {
		e.r.fail(o.at("observe_min"), "%v is longer than observe_max %v", s.ObserveMin, s.ObserveMax)
	}
	if v := o.require("first_volume", `the volume the first dose is given in, e.g. "1 mL"`); v != nil {
		s.FirstVolume, _ = volumeQuantity.read(e.r, o.at("first_volume"), v)
	}
	if len(s.Doses) > 0 && s.FirstVolume > 0 && int64(s.Doses[0])%int64(s.FirstVolume) != 0 {
		e.r.fail(o.at("first_volume"), "%s in %v is not a whole number of ng/mL", e.mass.show(s.Doses[0]), s.FirstVolume)
	}
	s.Source = e.r.source(o)
	if len(s.Doses) == 0 || s.FirstVolume == 0 {
		return nil
	}
	return s
}

func (e *entry) screeningStart(path string, raw json.RawMessage) *ScreeningStart {
	o, ok := e.r.object(path, raw, "multiplier", "long_effect_multiplier", "long_effect_over", "source")
	if !ok {
		return nil
	}
	s := &ScreeningStart{}
	if v := o.require("multiplier", "the starting daily dose as a multiple of the effective screening dose"); v != nil {
		s.Multiplier, _ = e.r.integer(o.at("multiplier"), v, 1, 10)
	}
	if v := o.require("long_effect_multiplier", "the multiple when the screening effect lasted long"); v != nil {
		s.LongEffectMultiplier, _ = e.r.integer(o.at("long_effect_multiplier"), v, 1, 10)
	}
	if s.Multiplier > 0 && s.LongEffectMultiplier > s.Multiplier {
		e.r.fail(o.at("long_effect_multiplier"), "%d is more than multiplier %d: a longer effect never calls for a larger dose", s.LongEffectMultiplier, s.Multiplier)
	}
	if v := o.require("long_effect_over", `how long an effect must last to count as long, e.g. "8h"`); v != nil {
		s.LongEffectOver, _ = durationQuantity.read(e.r, o.at("long_effect_over"), v)
	}
	s.Source = e.r.source(o)
	return s
}

func (e *entry) conversion(path string, raw json.RawMessage) *Conversion {
	o, ok := e.r.object(path, raw, "from", "typical_ratio", "min_ratio", "max_ratio", "source")
	if !ok {
		return nil
	}
	c := &Conversion{}
	if v := o.require("from", `what is converted, e.g. "oral morphine"`); v != nil {
		c.From, _ = e.r.text(o.at("from"), v, 64)
	}
	for _, f := range []struct {
		key string
		to  *int64
	}{{"typical_ratio", &c.Typical}, {"min_ratio", &c.Min}, {"max_ratio", &c.Max}} {
		if v := o.require(f.key, "a ratio N of N:1, a whole number"); v != nil {
			*f.to, _ = e.r.integer(o.at(f.key), v, 1, 100_000)
		}
	}
	if c.Min > 0 && c.Max > 0 && c.Typical > 0 && !(c.Min <= c.Typical && c.Typical <= c.Max) {
		e.r.fail(path, "the ratios must satisfy min_ratio ≤ typical_ratio ≤ max_ratio (%d, %d, %d)", c.Min, c.Typical, c.Max)
	}
	c.Source = e.r.source(o)
	return c
}
