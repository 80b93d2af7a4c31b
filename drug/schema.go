package drug

import (
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/thecal/thecal/unit"
)

// The library file format: the JSON members and how each is read. See
// docs/drug-library.md. Every member is a pointer, a slice or a
// jsontext.Value, nil when left out. A value that holds a quantity, or that is
// of one kind or another by where it sits ("value" of a limit side), is a
// jsontext.Value: its text as written, read exactly by the quantity readers.
// Unknown keeps the members an object should not have, each then refused with
// its path (strictjson.Unknowns): an unknown member does not stop the reading.
type (
	fileLibrary struct {
		Format    *string          `json:"format"`
		Version   *string          `json:"version"`
		Published *string          `json:"published"`
		Publisher *string          `json:"publisher"`
		Drugs     []jsontext.Value `json:"drugs"` // each entry read on its own (read.go)
		Unknown   jsontext.Value   `json:",embed"`
	}
	fileDrug struct {
		Name               *string             `json:"name"`
		Synonyms           []string            `json:"synonyms"`
		DoseUnit           *string             `json:"dose_unit"`
		LabelledForPump    *fileSourced        `json:"labelled_for_pump"`
		Populations        []string            `json:"populations"`
		Risks              []fileRisk          `json:"risks"`
		Concentrations     *fileConcentrations `json:"concentrations"`
		Diluent            *fileSourced        `json:"diluent"`
		ConcentrationLimit *fileLimit          `json:"concentration_limit"`
		DailyDoseLimit     *fileLimit          `json:"daily_dose_limit"`
		StartingDose       *fileStarting       `json:"starting_dose"`
		Maintenance        []fileRange         `json:"maintenance"`
		Titration          []fileTitration     `json:"titration"`
		Refill             *fileRefill         `json:"refill"`
		NewPumpRinse       *fileRinse          `json:"new_pump_rinse"`
		Screening          *fileScreening      `json:"screening"`
		ScreeningStart     *fileScreeningStart `json:"screening_start"`
		OralConversion     *fileConversion     `json:"oral_conversion"`
		LargeChange        *fileSourced        `json:"large_change"`
		Withdrawal         *fileWithdrawal     `json:"withdrawal"`
		Interruption       *fileInterruption   `json:"interruption"`
		PatientBolus       []fileBolusRule     `json:"patient_bolus"`
		Unknown            jsontext.Value      `json:",embed"`
	}
	// fileWithdrawal is the warning a drug flagged "withdrawal" carries, and
	// the taper its source gives (taper_min, taper_max, covered by source);
	// decrease_threshold has a source of its own.
	fileWithdrawal struct {
		Warning           *string        `json:"warning"`
		TaperMin          jsontext.Value `json:"taper_min"`
		TaperMax          jsontext.Value `json:"taper_max"`
		Source            *string        `json:"source"`
		DecreaseThreshold *fileSourced   `json:"decrease_threshold"`
		Unknown           jsontext.Value `json:",embed"`
	}
	fileInterruption struct {
		Threshold *fileSourced   `json:"threshold"`
		Restart   *fileSourced   `json:"restart"`
		Unknown   jsontext.Value `json:",embed"`
	}
	fileBolusRule struct {
		Population *string        `json:"population"`
		Allowed    jsontext.Value `json:"allowed"`
		Source     *string        `json:"source"`
		Unknown    jsontext.Value `json:",embed"`
	}
	// fileSourced is {"value": …, "source": "…"}: a value is never without its source.
	fileSourced struct {
		Value   jsontext.Value `json:"value"`
		Source  *string        `json:"source"`
		Unknown jsontext.Value `json:",embed"`
	}
	// fileLimit, fileMaxLimit and fileMinLimit are limits with every side, with
	// the upper sides only and with the lower sides only.
	fileLimit struct {
		HardMin *fileSourced   `json:"hard_min"`
		SoftMin *fileSourced   `json:"soft_min"`
		SoftMax *fileSourced   `json:"soft_max"`
		HardMax *fileSourced   `json:"hard_max"`
		Unknown jsontext.Value `json:",embed"`
	}
	fileMaxLimit struct {
		SoftMax *fileSourced   `json:"soft_max"`
		HardMax *fileSourced   `json:"hard_max"`
		Unknown jsontext.Value `json:",embed"`
	}
	fileMinLimit struct {
		HardMin *fileSourced   `json:"hard_min"`
		SoftMin *fileSourced   `json:"soft_min"`
		Unknown jsontext.Value `json:",embed"`
	}
	fileRisk struct {
		Flag    *string        `json:"flag"`
		Source  *string        `json:"source"`
		Unknown jsontext.Value `json:",embed"`
	}
	fileConcentrations struct {
		List    []jsontext.Value `json:"list"`
		Min     jsontext.Value   `json:"min"`
		Max     jsontext.Value   `json:"max"`
		Source  *string          `json:"source"`
		Unknown jsontext.Value   `json:",embed"`
	}
	fileStarting struct {
		Limit       *fileLimit     `json:"limit"`
		Recommended []fileRange    `json:"recommended"`
		Unknown     jsontext.Value `json:",embed"`
	}
	fileRange struct {
		Population *string        `json:"population"`
		Min        jsontext.Value `json:"min"`
		Max        jsontext.Value `json:"max"`
		Source     *string        `json:"source"`
		Unknown    jsontext.Value `json:",embed"`
	}
	fileTitration struct {
		Population  *string        `json:"population"`
		MaxStep     *fileMaxLimit  `json:"max_step"`
		MinInterval *fileMinLimit  `json:"min_interval"`
		MaxPerWeek  *fileMaxLimit  `json:"max_per_week"`
		Unknown     jsontext.Value `json:",embed"`
	}
	fileRefill struct {
		FirstWithin        *fileSourced   `json:"first_within"`
		MaxInterval        *fileSourced   `json:"max_interval"`
		MaxIntervalDiluted *fileSourced   `json:"max_interval_diluted"`
		Unknown            jsontext.Value `json:",embed"`
	}
	fileRinse struct {
		Count         jsontext.Value `json:"count"`
		Volume        jsontext.Value `json:"volume"`
		Concentration jsontext.Value `json:"concentration"`
		Source        *string        `json:"source"`
		Unknown       jsontext.Value `json:",embed"`
	}
	fileScreening struct {
		Doses        []jsontext.Value `json:"doses"`
		FirstVolume  jsontext.Value   `json:"first_volume"`
		MinInjection jsontext.Value   `json:"min_injection"`
		ObserveMin   jsontext.Value   `json:"observe_min"`
		ObserveMax   jsontext.Value   `json:"observe_max"`
		Between      jsontext.Value   `json:"between"`
		Source       *string          `json:"source"`
		Unknown      jsontext.Value   `json:",embed"`
	}
	fileScreeningStart struct {
		Multiplier           jsontext.Value `json:"multiplier"`
		LongEffectMultiplier jsontext.Value `json:"long_effect_multiplier"`
		LongEffectOver       jsontext.Value `json:"long_effect_over"`
		Source               *string        `json:"source"`
		Unknown              jsontext.Value `json:",embed"`
	}
	fileConversion struct {
		From         *string        `json:"from"`
		TypicalRatio jsontext.Value `json:"typical_ratio"`
		MinRatio     jsontext.Value `json:"min_ratio"`
		MaxRatio     jsontext.Value `json:"max_ratio"`
		Source       *string        `json:"source"`
		Unknown      jsontext.Value `json:",embed"`
	}
)

// sides are a limit's sides in chain order: hard_min, soft_min, soft_max, hard_max.
func (l *fileLimit) sides() [4]*fileSourced {
	return [4]*fileSourced{l.HardMin, l.SoftMin, l.SoftMax, l.HardMax}
}

func (l *fileMaxLimit) sides() [4]*fileSourced { return [4]*fileSourced{2: l.SoftMax, 3: l.HardMax} }

func (l *fileMinLimit) sides() [4]*fileSourced { return [4]*fileSourced{0: l.HardMin, 1: l.SoftMin} }

func (r *reader) library(data []byte) *Library {
	var f fileLibrary
	if !r.decode("", data, &f) {
		return nil
	}
	lib := &Library{byName: map[string]*Drug{}}
	if f.Format == nil {
		r.fail("format", "required: the format name %q", Format)
	} else if *f.Format != Format {
		r.fail("format", "%q is not a format this program reads (it reads %q)", short(*f.Format), Format)
	}
	if v := r.require("version", f.Version, `the library's version, e.g. "2026.1"`); v != nil {
		lib.Version, _ = r.text("version", *v, 64)
	}
	if v := r.require("published", f.Published, `the date the version was published, e.g. "2026-11-24"`); v != nil {
		t, err := time.Parse(time.DateOnly, *v)
		if err != nil {
			r.fail("published", "%q is not a date written YYYY-MM-DD", short(*v))
		}
		lib.Published = t
	}
	if f.Publisher != nil {
		lib.Publisher, _ = r.text("publisher", *f.Publisher, maxText)
	}
	if f.Drugs == nil {
		r.fail("drugs", "required: the list of drug entries")
		return lib
	}
	if len(f.Drugs) == 0 {
		r.fail("drugs", "empty: a library lists at least one drug")
	}
	for i, raw := range f.Drugs {
		path := index("drugs", i)
		var fd fileDrug
		if !r.decode(path, raw, &fd) {
			continue
		}
		d := r.drug(path, &fd)
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

// require returns v, or records that the member at path is missing.
func (r *reader) require(path string, v *string, what string) *string {
	if v == nil {
		r.fail(path, "required: %s", what)
	}
	return v
}

// requireValue is require for a value kept as written.
func (r *reader) requireValue(path string, v jsontext.Value, what string) jsontext.Value {
	if v == nil {
		r.fail(path, "required: %s", what)
	}
	return v
}

// entry is one drug being read, with the quantity readers for its dose unit.
type entry struct {
	r    *reader
	d    *Drug
	dose quantity[unit.DoseRate]
	conc quantity[unit.Concentration]
	mass quantity[unit.Mass]
}

func (r *reader) drug(path string, f *fileDrug) *Drug {
	d := &Drug{}
	if v := r.require(join(path, "name"), f.Name, "the drug's name, e.g. \"baclofen\""); v != nil {
		d.Name, _ = r.text(join(path, "name"), *v, 64)
	}
	if f.Synonyms != nil {
		d.Synonyms = r.names(join(path, "synonyms"), f.Synonyms)
	}
	if v := r.require(join(path, "dose_unit"), f.DoseUnit, `"mg" or "mcg": the unit every dose of this drug is written in`); v != nil {
		switch *v {
		case "mg":
			d.DoseUnit = unit.Milligram
		case "mcg":
			d.DoseUnit = unit.Microgram
		default:
			r.fail(join(path, "dose_unit"), `%q is not a dose unit: write "mg" or "mcg"`, short(*v))
		}
	}
	if d.DoseUnit == 0 {
		// Without a dose unit no dose of this entry can be read: stop here.
		return nil
	}
	e := &entry{r: r, d: d}
	e.dose, e.conc, e.mass = doseQuantity(d.DoseUnit), concQuantity(d.DoseUnit), massQuantity(d.DoseUnit)
	at := func(key string) string { return join(path, key) }

	if f.LabelledForPump != nil {
		d.Labelled = sourced(r, at("labelled_for_pump"), f.LabelledForPump, r.boolean)
	}
	if f.Populations != nil {
		d.Populations = r.names(at("populations"), f.Populations)
	}
	for i := range f.Risks {
		e.risk(index(at("risks"), i), &f.Risks[i])
	}
	if f.Concentrations != nil {
		d.Concentrations = e.concentrations(at("concentrations"), f.Concentrations)
	}
	if f.Diluent != nil {
		d.Diluent = sourced(r, at("diluent"), f.Diluent, func(p string, v jsontext.Value) (string, bool) {
			if s, ok := r.str(p, v); ok {
				return r.text(p, s, maxText)
			}
			return "", false
		})
		if d.Diluent != nil && (d.Concentrations == nil || len(d.Concentrations.List) == 0) {
			r.fail(at("diluent"), "a diluent dilutes the listed strengths: give \"concentrations\" as a list")
		}
	}
	if l := f.ConcentrationLimit; l != nil {
		d.Concentration = readLimit(r, at("concentration_limit"), l.sides(), e.conc, allSides)
	}
	if l := f.DailyDoseLimit; l != nil {
		d.DailyDose = readLimit(r, at("daily_dose_limit"), l.sides(), e.dose, allSides)
	}
	if s := f.StartingDose; s != nil {
		if s.Limit != nil {
			d.Starting.Limit = readLimit(r, at("starting_dose.limit"), s.Limit.sides(), e.dose, allSides)
		}
		d.Starting.Recommended = e.ranges(at("starting_dose.recommended"), s.Recommended)
	}
	d.Maintenance = e.ranges(at("maintenance"), f.Maintenance)
	for i := range f.Titration {
		e.titration(index(at("titration"), i), &f.Titration[i])
	}
	if f.Refill != nil {
		d.Refill = e.refill(at("refill"), f.Refill)
	}
	if f.NewPumpRinse != nil {
		d.Rinse = e.rinse(at("new_pump_rinse"), f.NewPumpRinse)
	}
	if f.Screening != nil {
		d.Screening = e.screening(at("screening"), f.Screening)
	}
	if f.ScreeningStart != nil {
		d.ScreeningStart = e.screeningStart(at("screening_start"), f.ScreeningStart)
		if d.Screening == nil {
			r.fail(at("screening_start"), "a starting dose from screening needs a \"screening\" protocol")
		}
	}
	if f.OralConversion != nil {
		d.OralConversion = e.conversion(at("oral_conversion"), f.OralConversion)
	}
	if f.LargeChange != nil {
		d.LargeChange = sourced(r, at("large_change"), f.LargeChange, func(p string, v jsontext.Value) (unit.Percent, bool) {
			return percentQuantity.read(r, p, v)
		})
	}
	if f.Withdrawal != nil {
		d.Withdrawal = e.withdrawal(at("withdrawal"), f.Withdrawal)
	}
	if f.Interruption != nil {
		d.Interruption = e.interruption(at("interruption"), f.Interruption)
	}
	for i := range f.PatientBolus {
		e.bolusRule(index(at("patient_bolus"), i), &f.PatientBolus[i])
	}
	return d
}

// withdrawal reads a drug's withdrawal warning; the drug must carry the
// withdrawal risk flag (risks are read before it).
func (e *entry) withdrawal(path string, f *fileWithdrawal) *WithdrawalNote {
	w := &WithdrawalNote{}
	if v := e.r.require(join(path, "warning"), f.Warning, "what a sudden stop can do, in words, e.g. \"a sudden stop can raise blood pressure sharply\""); v != nil {
		w.Warning, _ = e.r.text(join(path, "warning"), *v, maxText)
	}
	if f.TaperMin != nil || f.TaperMax != nil {
		lo := e.r.requireValue(join(path, "taper_min"), f.TaperMin, `the shortest taper, e.g. "2d"`)
		hi := e.r.requireValue(join(path, "taper_max"), f.TaperMax, `the longest taper, e.g. "4d"`)
		if lo != nil && hi != nil {
			var okLo, okHi bool
			w.TaperMin, okLo = durationQuantity.read(e.r, join(path, "taper_min"), lo)
			w.TaperMax, okHi = durationQuantity.read(e.r, join(path, "taper_max"), hi)
			if okLo && okHi && w.TaperMin > w.TaperMax {
				e.r.fail(join(path, "taper_min"), "%v is longer than taper_max %v", w.TaperMin, w.TaperMax)
			}
		}
	}
	w.Source = e.r.source(path, f.Source)
	if f.DecreaseThreshold != nil {
		w.DecreaseThreshold = sourced(e.r, join(path, "decrease_threshold"), f.DecreaseThreshold, func(p string, v jsontext.Value) (unit.Percent, bool) {
			return percentQuantity.read(e.r, p, v)
		})
	}
	if !e.d.HasRisk(Withdrawal) {
		e.r.fail(path, "a withdrawal warning is for a drug flagged \"withdrawal\" in \"risks\"")
	}
	return w
}

func (e *entry) interruption(path string, f *fileInterruption) Interruption {
	var in Interruption
	if f.Threshold == nil && f.Restart == nil {
		e.r.fail(path, "empty: give threshold or restart, or leave the field out")
	}
	if f.Threshold != nil {
		in.Threshold = sourced(e.r, join(path, "threshold"), f.Threshold, func(p string, v jsontext.Value) (unit.Duration, bool) {
			return durationQuantity.read(e.r, p, v)
		})
	}
	if f.Restart != nil {
		in.Restart = sourced(e.r, join(path, "restart"), f.Restart, func(p string, v jsontext.Value) (unit.Percent, bool) {
			return percentQuantity.read(e.r, p, v)
		})
	}
	return in
}

func (e *entry) bolusRule(path string, f *fileBolusRule) {
	b := BolusRule{Population: e.population(join(path, "population"), f.Population)}
	if v := e.r.requireValue(join(path, "allowed"), f.Allowed, "true or false: whether patient boluses are allowed"); v != nil {
		b.Allowed, _ = e.r.boolean(join(path, "allowed"), v)
	}
	b.Source = e.r.source(path, f.Source)
	if slices.ContainsFunc(e.d.PatientBolus, func(x BolusRule) bool { return x.Population == b.Population }) {
		e.r.fail(path, "a second patient bolus rule for the same population (%q)", b.Population)
		return
	}
	e.d.PatientBolus = append(e.d.PatientBolus, b)
}

// names reads a list of distinct names.
func (r *reader) names(path string, list []string) []string {
	var out []string
	for i, s := range list {
		s, ok := r.text(index(path, i), s, 64)
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

// population reads an optional "population" member at path, which must be declared.
func (e *entry) population(path string, v *string) string {
	if v == nil {
		return ""
	}
	p, ok := e.r.text(path, *v, 64)
	if ok && !slices.Contains(e.d.Populations, p) {
		declared := "none are declared"
		if len(e.d.Populations) > 0 {
			declared = "declared: " + strings.Join(e.d.Populations, ", ")
		}
		e.r.fail(path, "%q is not one of the drug's \"populations\" (%s)", short(p), declared)
		return ""
	}
	return p
}

func (e *entry) risk(path string, f *fileRisk) {
	var flag Risk
	if v := e.r.require(join(path, "flag"), f.Flag, "the risk: withdrawal or respiratory_depression"); v != nil {
		flag = Risk(*v)
		if !slices.Contains(Risks, flag) {
			e.r.fail(join(path, "flag"), "%q is not a risk flag (known: withdrawal, respiratory_depression)", short(*v))
			return
		}
	}
	src := e.r.source(path, f.Source)
	if flag == "" || src == "" {
		return
	}
	if slices.ContainsFunc(e.d.Risks, func(s Sourced[Risk]) bool { return s.Value == flag }) {
		e.r.fail(join(path, "flag"), "%q is listed twice", flag)
		return
	}
	e.d.Risks = append(e.d.Risks, Sourced[Risk]{flag, src})
}

// source reads the required "source" of the object at path, whose numbers it covers.
func (r *reader) source(path string, v *string) string {
	if r.require(join(path, "source"), v, "where the numbers here come from (a label, a guideline, a study): a number without a source is refused") == nil {
		return ""
	}
	s, _ := r.text(join(path, "source"), *v, maxText)
	return s
}

func (e *entry) concentrations(path string, f *fileConcentrations) *Concentrations {
	c := &Concentrations{}
	switch {
	case f.List != nil && (f.Min != nil || f.Max != nil):
		e.r.fail(path, "give either \"list\" or \"min\" and \"max\", not both")
	case f.List != nil:
		if len(f.List) == 0 {
			e.r.fail(join(path, "list"), "empty: list at least one concentration, or leave \"concentrations\" out")
		}
		for i, v := range f.List {
			x, ok := e.conc.read(e.r, index(join(path, "list"), i), v)
			if !ok {
				continue
			}
			if slices.Contains(c.List, x) {
				e.r.fail(index(join(path, "list"), i), "%s is listed twice", e.conc.show(x))
				continue
			}
			c.List = append(c.List, x)
		}
	default:
		lo := e.r.requireValue(join(path, "min"), f.Min, "the lowest concentration, or give \"list\"")
		hi := e.r.requireValue(join(path, "max"), f.Max, "the highest concentration, or give \"list\"")
		if lo != nil && hi != nil {
			var okLo, okHi bool
			c.Min, okLo = e.conc.read(e.r, join(path, "min"), lo)
			c.Max, okHi = e.conc.read(e.r, join(path, "max"), hi)
			if okLo && okHi && c.Min > c.Max {
				e.r.fail(join(path, "min"), "%s is above max %s", e.conc.show(c.Min), e.conc.show(c.Max))
			}
		}
	}
	c.Source = e.r.source(path, f.Source)
	return c
}

func (e *entry) ranges(path string, list []fileRange) []Range[unit.DoseRate] {
	var out []Range[unit.DoseRate]
	for i, f := range list {
		p := index(path, i)
		rg := Range[unit.DoseRate]{Population: e.population(join(p, "population"), f.Population)}
		var okLo, okHi bool
		if v := e.r.requireValue(join(p, "min"), f.Min, "the lowest dose of the range"); v != nil {
			rg.Min, okLo = e.dose.read(e.r, join(p, "min"), v)
		}
		if v := e.r.requireValue(join(p, "max"), f.Max, "the highest dose of the range"); v != nil {
			rg.Max, okHi = e.dose.read(e.r, join(p, "max"), v)
		}
		if okLo && okHi && rg.Min > rg.Max {
			e.r.fail(join(p, "min"), "%s is above max %s", e.dose.show(rg.Min), e.dose.show(rg.Max))
		}
		rg.Source = e.r.source(p, f.Source)
		if slices.ContainsFunc(out, func(x Range[unit.DoseRate]) bool { return x.Population == rg.Population }) {
			e.r.fail(p, "a second range for the same population (%q)", rg.Population)
			continue
		}
		out = append(out, rg)
	}
	return out
}

func (e *entry) titration(path string, f *fileTitration) {
	t := Titration{Population: e.population(join(path, "population"), f.Population)}
	if l := f.MaxStep; l != nil {
		if stepIsPercent(l) {
			t.MaxStepPercent = readLimit(e.r, join(path, "max_step"), l.sides(), percentQuantity, maxSides)
		} else {
			t.MaxStep = readLimit(e.r, join(path, "max_step"), l.sides(), e.dose, maxSides)
		}
	}
	if l := f.MinInterval; l != nil {
		t.MinInterval = readLimit(e.r, join(path, "min_interval"), l.sides(), durationQuantity, minSides)
	}
	if l := f.MaxPerWeek; l != nil {
		t.MaxPerWeek = readLimit(e.r, join(path, "max_per_week"), l.sides(), countQuantity, maxSides)
	}
	if f.MaxStep == nil && f.MinInterval == nil && f.MaxPerWeek == nil {
		e.r.fail(path, "empty: give max_step, min_interval or max_per_week")
	}
	if slices.ContainsFunc(e.d.Titration, func(x Titration) bool { return x.Population == t.Population }) {
		e.r.fail(path, "a second titration rule for the same population (%q)", t.Population)
		return
	}
	e.d.Titration = append(e.d.Titration, t)
}

// stepIsPercent peeks at a max_step limit: a step written "15%" is a percentage
// of the current dose. The first side decides; a side of the other kind is then
// refused by its reader as a unit of the wrong quantity.
func stepIsPercent(l *fileMaxLimit) bool {
	for _, side := range []*fileSourced{l.SoftMax, l.HardMax} {
		if side == nil || side.Value.Kind() != '"' {
			continue
		}
		s, err := jsontext.AppendUnquote(nil, side.Value)
		return err == nil && strings.HasSuffix(strings.TrimSpace(string(s)), "%")
	}
	return false
}

func (e *entry) refill(path string, f *fileRefill) Refill {
	read := func(key string, s *fileSourced) *Sourced[unit.Duration] {
		if s == nil {
			return nil
		}
		return sourced(e.r, join(path, key), s, func(p string, v jsontext.Value) (unit.Duration, bool) {
			return durationQuantity.read(e.r, p, v)
		})
	}
	rf := Refill{read("first_within", f.FirstWithin), read("max_interval", f.MaxInterval), read("max_interval_diluted", f.MaxIntervalDiluted)}
	if rf.MaxIntervalDiluted != nil && e.d.Diluent == nil {
		e.r.fail(join(path, "max_interval_diluted"), "the drug has no \"diluent\": it is never diluted")
	}
	return rf
}

func (e *entry) rinse(path string, f *fileRinse) *Rinse {
	rs := &Rinse{}
	if v := e.r.requireValue(join(path, "count"), f.Count, "how many times the pump is rinsed"); v != nil {
		rs.Count, _ = e.r.integer(join(path, "count"), v, 1, 20)
	}
	if v := e.r.requireValue(join(path, "volume"), f.Volume, `the volume of each rinse, e.g. "2 mL"`); v != nil {
		rs.Volume, _ = volumeQuantity.read(e.r, join(path, "volume"), v)
	}
	if v := e.r.requireValue(join(path, "concentration"), f.Concentration, "the concentration rinsed with"); v != nil {
		rs.Concentration, _ = e.conc.read(e.r, join(path, "concentration"), v)
	}
	rs.Source = e.r.source(path, f.Source)
	return rs
}

func (e *entry) screening(path string, f *fileScreening) *Screening {
	s := &Screening{}
	if f.Doses == nil {
		e.r.fail(join(path, "doses"), `required: the screening boluses in order, e.g. ["50 mcg", "75 mcg", "100 mcg"]`)
	} else {
		if len(f.Doses) == 0 {
			e.r.fail(join(path, "doses"), "empty: list at least one screening dose")
		}
		for i, v := range f.Doses {
			m, ok := e.mass.read(e.r, index(join(path, "doses"), i), v)
			if !ok {
				continue
			}
			if len(s.Doses) > 0 && m <= s.Doses[len(s.Doses)-1] {
				e.r.fail(index(join(path, "doses"), i), "%s is not more than the dose before it: screening doses rise", e.mass.show(m))
				continue
			}
			s.Doses = append(s.Doses, m)
		}
	}
	durations := []struct {
		key, what string
		v         jsontext.Value
		to        *unit.Duration
	}{
		{"min_injection", `the shortest time a bolus is injected over, e.g. "1m"`, f.MinInjection, &s.MinInjection},
		{"observe_min", `the shortest observation after a bolus, e.g. "4h"`, f.ObserveMin, &s.ObserveMin},
		{"observe_max", `the longest observation after a bolus, e.g. "8h"`, f.ObserveMax, &s.ObserveMax},
		{"between", `the least time between two boluses, e.g. "24h"`, f.Between, &s.Between},
	}
	for _, d := range durations {
		if v := e.r.requireValue(join(path, d.key), d.v, d.what); v != nil {
			*d.to, _ = durationQuantity.read(e.r, join(path, d.key), v)
		}
	}
	if s.ObserveMin > 0 && s.ObserveMax > 0 && s.ObserveMin > s.ObserveMax {
		e.r.fail(join(path, "observe_min"), "%v is longer than observe_max %v", s.ObserveMin, s.ObserveMax)
	}
	if v := e.r.requireValue(join(path, "first_volume"), f.FirstVolume, `the volume the first dose is given in, e.g. "1 mL"`); v != nil {
		s.FirstVolume, _ = volumeQuantity.read(e.r, join(path, "first_volume"), v)
	}
	if len(s.Doses) > 0 && s.FirstVolume > 0 && int64(s.Doses[0])%int64(s.FirstVolume) != 0 {
		e.r.fail(join(path, "first_volume"), "%s in %v is not a whole number of ng/mL", e.mass.show(s.Doses[0]), s.FirstVolume)
	}
	s.Source = e.r.source(path, f.Source)
	if len(s.Doses) == 0 || s.FirstVolume == 0 {
		return nil
	}
	return s
}

func (e *entry) screeningStart(path string, f *fileScreeningStart) *ScreeningStart {
	s := &ScreeningStart{}
	if v := e.r.requireValue(join(path, "multiplier"), f.Multiplier, "the starting daily dose as a multiple of the effective screening dose"); v != nil {
		s.Multiplier, _ = e.r.integer(join(path, "multiplier"), v, 1, 10)
	}
	if v := e.r.requireValue(join(path, "long_effect_multiplier"), f.LongEffectMultiplier, "the multiple when the screening effect lasted long"); v != nil {
		s.LongEffectMultiplier, _ = e.r.integer(join(path, "long_effect_multiplier"), v, 1, 10)
	}
	if s.Multiplier > 0 && s.LongEffectMultiplier > s.Multiplier {
		e.r.fail(join(path, "long_effect_multiplier"), "%d is more than multiplier %d: a longer effect never calls for a larger dose", s.LongEffectMultiplier, s.Multiplier)
	}
	if v := e.r.requireValue(join(path, "long_effect_over"), f.LongEffectOver, `how long an effect must last to count as long, e.g. "8h"`); v != nil {
		s.LongEffectOver, _ = durationQuantity.read(e.r, join(path, "long_effect_over"), v)
	}
	s.Source = e.r.source(path, f.Source)
	return s
}

func (e *entry) conversion(path string, f *fileConversion) *Conversion {
	c := &Conversion{}
	if v := e.r.require(join(path, "from"), f.From, `what is converted, e.g. "oral morphine"`); v != nil {
		c.From, _ = e.r.text(join(path, "from"), *v, 64)
	}
	for _, r := range []struct {
		key string
		v   jsontext.Value
		to  *int64
	}{{"typical_ratio", f.TypicalRatio, &c.Typical}, {"min_ratio", f.MinRatio, &c.Min}, {"max_ratio", f.MaxRatio, &c.Max}} {
		if v := e.r.requireValue(join(path, r.key), r.v, "a ratio N of N:1, a whole number"); v != nil {
			*r.to, _ = e.r.integer(join(path, r.key), v, 1, 100_000)
		}
	}
	if c.Min > 0 && c.Max > 0 && c.Typical > 0 && !(c.Min <= c.Typical && c.Typical <= c.Max) {
		e.r.fail(path, "the ratios must satisfy min_ratio ≤ typical_ratio ≤ max_ratio (%d, %d, %d)", c.Min, c.Typical, c.Max)
	}
	c.Source = e.r.source(path, f.Source)
	return c
}
