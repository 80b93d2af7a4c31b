package scenario

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/strictjson"
	"github.com/thecal/thecal/unit"
)

// MaxDuration is the longest scenario: 100 years of 365.25 days.
const MaxDuration = 36525 * unit.Day

// Defaults of the pump block (spec/scenario.md).
const (
	DefaultCatheterPerCm = 2200 * unit.Nanolitre // 0.0022 mL/cm
	DefaultBattery       = 1_000_000 * unit.MicroampHour
)

// Parse reads a scenario file. It refuses the file as a whole on the first problem
// it finds, with a *FieldError naming the field by its JSON path and the reason; it
// never returns part of a scenario.
//
// The JSON itself is read by json/v2 (package strictjson): syntax, member names
// matched exactly, a member given twice or unknown, a value of the wrong kind,
// and null, which is never a value here. Parse then reads the meaning: what is
// required, numbers read exactly, units, ranges and the fields each mode and
// event kind takes. It checks the format and what any pump would refuse as
// impossible (a negative volume, an event after the end); the pump's own ranges
// (its maximum rate, its reservoir size, the low-reservoir range) are the
// simulator's to check against the pump core.
func Parse(data []byte) (s *Scenario, err error) {
	var f file
	if err := strictjson.Unmarshal(data, &f, strictjson.NullRefused); err != nil {
		var se *strictjson.Error
		if !errors.As(err, &se) {
			return nil, &FieldError{Field: strictjson.File, Reason: err.Error()}
		}
		return nil, &FieldError{Field: se.Path, Reason: se.Reason}
	}
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(*FieldError)
			if !ok {
				panic(r)
			}
			s, err = nil, fe
		}
	}()
	return parseScenario(&f), nil
}

// modes lists the modes in the order of spec/scenario.md, with the prescription
// fields each one takes.
var modes = []modeFields{
	{pump.ModeStopped, []string{"mode", "max_24h_ml", "low_reservoir_ml"}},
	{pump.ModeContinuous, []string{"mode", "rate_ml_per_day", "dose_per_day", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
	{pump.ModeFlex, []string{"mode", "flex", "repeat", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
	{pump.ModeMinimum, []string{"mode", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
}

type modeFields struct {
	mode   pump.Mode
	fields []string
}

// kindFields lists the fields each event kind takes besides at and kind.
var kindFields = map[Kind][]string{
	Program:        {"prescription"},
	ClinicianBolus: {"volume_ml", "duration"},
	Bridge:         {"prescription"},
	Refill:         {"withdraw_ml", "add_ml", "drug", "concentration", "pocket_fill_ml"},
	Acknowledge:    {"alarm"},
	MRI:            {"duration"},
	MotorStall:     {"duration"},
	Occlusion:      {"duration"},
	BatteryDrain:   {"uah"},
	SetClock:       {"utc_offset"},
}

var (
	sensorNames = []string{"pressure", "level"}
	dayNames    = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // time.Weekday order
	models      = []pump.Model{pump.TP20, pump.TP40}
)

func parseScenario(f *file) *Scenario {
	s := &Scenario{}
	s.Name = text("name", need("name", f.Name, "the scenario's name"))
	s.Start = instant("start", need("start", f.Start, `an RFC 3339 time, e.g. "2026-01-05T08:00:00Z"`))
	s.Duration = positiveDuration("duration", need("duration", f.Duration, `e.g. "90d"`))
	if s.Duration > MaxDuration {
		fail("duration", "%s is longer than the longest scenario, %s (100 years)", s.Duration, MaxDuration)
	}
	if f.Seed != nil {
		s.Seed = integer("seed", f.Seed, math.MinInt64, math.MaxInt64)
	}
	s.Pump = parsePump(need("pump", f.Pump, `an object with "model" and "catheter_length_cm"`))
	s.Fill = parseFill(need("fill", f.Fill, `an object with "drug", "concentration" and "volume_ml"`))
	s.Prescription = parsePrescription("prescription", need("prescription", f.Prescription, `an object with "mode"`))
	if len(f.Events) > 0 {
		s.Events = make([]Event, len(f.Events))
	}
	for i := range f.Events {
		s.Events[i] = parseEvent(s, i, &f.Events[i])
	}
	return s
}

func parsePump(f filePump) Pump {
	p := Pump{
		CatheterPerCm: DefaultCatheterPerCm,
		Battery:       DefaultBattery,
		Primed:        true,
	}
	name := text("pump.model", need("pump.model", f.Model, `"TP-20" or "TP-40"`))
	var ok bool
	if p.Model, ok = pump.ParseModel(name); !ok {
		fail("pump.model", "unknown model %s (allowed: %s)", strictjson.Quote(name), list(models))
	}
	p.CatheterLength = unit.Length(catheterLength.read("pump.catheter_length_cm",
		needRaw("pump.catheter_length_cm", f.CatheterLengthCm, "the catheter's length in cm")))
	if f.CatheterMlPerCm != nil {
		p.CatheterPerCm = unit.Volume(catheterPerCm.read("pump.catheter_ml_per_cm", f.CatheterMlPerCm))
	}
	if f.UTCOffset != nil {
		p.UTCOffset = utcOffset("pump.utc_offset", *f.UTCOffset)
	}
	seen := map[string]int{}
	for i, name := range f.Sensors {
		path := index("pump.sensors", i)
		if !slices.Contains(sensorNames, name) {
			fail(path, "unknown sensor %s (allowed: %s)", strictjson.Quote(name), list(sensorNames))
		}
		if j, dup := seen[name]; dup {
			fail(path, "%q is also sensors[%d]; list each sensor once", name, j)
		}
		seen[name] = i
	}
	_, p.PressureSensor = seen["pressure"]
	_, p.LevelSensor = seen["level"]
	if f.BatteryUAh != nil {
		p.Battery = unit.Charge(battery.read("pump.battery_uah", f.BatteryUAh)) * unit.NanoampHour
	}
	if f.Primed != nil {
		p.Primed = *f.Primed
	}
	if f.StrokeSpreadPct != nil {
		p.StrokeSpreadPct = signedPercent("pump.stroke_spread_pct", f.StrokeSpreadPct, 0, 100)
	}
	if f.StrokeDriftPctPerYear != nil {
		p.StrokeDriftPctPerYear = signedPercent("pump.stroke_drift_pct_per_year", f.StrokeDriftPctPerYear, -maxDriftPct, maxDriftPct)
	}
	return p
}

func parseFill(f fileFill) Fill {
	return Fill{
		Drug:   drug("fill", f.Drug, f.Concentration),
		Volume: unit.Volume(volumePositive.read("fill.volume_ml", needRaw("fill.volume_ml", f.VolumeML, "the volume in the reservoir, in mL"))),
	}
}

// drug reads the drug and concentration fields of the object at path (fill or refill).
func drug(path string, name, conc *string) Drug {
	var d Drug
	d.Name = text(join(path, "drug"), need(join(path, "drug"), name, `the drug's name, e.g. "morphine"`))
	at := join(path, "concentration")
	d.Text = short(at, need(at, conc, `e.g. "10 mg/mL" or "25 mcg/mL"`))
	c, u, err := unit.ParseConcentration(d.Text)
	if err != nil {
		fail(at, "%s; write e.g. \"10 mg/mL\" or \"25 mcg/mL\"", cause(err))
	}
	if c <= 0 || c > maxConcentration {
		fail(at, "%s is out of range: more than 0 and at most 1000 mg/mL", strictjson.Quote(d.Text))
	}
	d.Concentration, d.Unit = c, u
	return d
}

func parsePrescription(path string, f filePrescription) Prescription {
	var pr Prescription
	name := need(join(path, "mode"), f.Mode, `one of "stopped", "continuous", "flex", "minimum"`)
	i := slices.IndexFunc(modes, func(m modeFields) bool { return m.mode.String() == name })
	if i < 0 {
		fail(join(path, "mode"), "unknown mode %s (allowed: stopped, continuous, flex, minimum)", strictjson.Quote(name))
	}
	pr.Rx.Mode = modes[i].mode
	allowed(path, &f, "mode "+strconv.Quote(name), modes[i].fields)
	switch pr.Rx.Mode {
	case pump.ModeContinuous:
		pr.Rx.Rate, pr.Dose = rate(path, f.RateMlPerDay, f.DosePerDay)
	case pump.ModeFlex:
		flex(path, &f, &pr)
	}
	if f.Max24hML != nil {
		pr.Rx.Max24h = unit.Volume(volumePositive.read(join(path, "max_24h_ml"), f.Max24hML))
	} else if pr.Rx.Mode != pump.ModeStopped {
		fail(join(path, "max_24h_ml"), "required for mode %q: the most the pump may deliver in any 24 h, in mL", name)
	}
	if f.LowReservoirML != nil {
		pr.Rx.LowReservoir = unit.Volume(volumePositive.read(join(path, "low_reservoir_ml"), f.LowReservoirML))
	}
	if f.PatientBolus != nil {
		pr.Rx.PatientBolus = patientBolus(join(path, "patient_bolus"), f.PatientBolus)
	}
	return pr
}

// rate reads exactly one of rate_ml_per_day and dose_per_day of the object at path.
func rate(path string, ml jsontext.Value, dose *string) (unit.Rate, Dose) {
	switch {
	case ml != nil && dose != nil:
		fail(join(path, "dose_per_day"), "give either rate_ml_per_day or dose_per_day, not both")
	case ml != nil:
		return unit.Rate(volumeRate.read(join(path, "rate_ml_per_day"), ml)), Dose{}
	case dose != nil:
		at := join(path, "dose_per_day")
		s := short(at, *dose)
		d, u, err := unit.ParseDoseRate(s)
		if err != nil {
			fail(at, "%s; write e.g. \"5 mg\", \"400 mcg\" or \"400 mcg/day\"", cause(err))
		}
		if d <= 0 || d > maxDoseRate {
			fail(at, "%s is out of range: more than 0 and at most 10000 mg/day", strictjson.Quote(s))
		}
		return 0, Dose{Rate: d, Unit: u}
	}
	fail(join(path, "rate_ml_per_day"), `required: give rate_ml_per_day (mL/day) or dose_per_day (e.g. "5 mg")`)
	return 0, Dose{}
}

func flex(path string, f *filePrescription, pr *Prescription) {
	at := join(path, "flex")
	if f.Flex == nil {
		fail(at, "required: an array of 1 to 16 steps {\"at\": \"HH:MM\", \"rate_ml_per_day\": …}")
	}
	if len(f.Flex) < 1 || len(f.Flex) > pump.MaxFlexSteps {
		fail(at, "%d steps: a flex schedule has 1 to %d", len(f.Flex), pump.MaxFlexSteps)
	}
	withDays := -1 // a step that gives days, if any
	steps := pr.Rx.Flex[:0]
	for i, fs := range f.Flex {
		sp := index(at, i)
		st := pump.FlexStep{Days: pump.AllDays}
		st.At = timeOfDay(join(sp, "at"), need(join(sp, "at"), fs.At, `the step's start, "HH:MM" from 00:00 to 23:59`))
		st.Rate, pr.FlexDoses[i] = rate(sp, fs.RateMlPerDay, fs.DosePerDay)
		if fs.Days != nil {
			st.Days = weekdays(join(sp, "days"), fs.Days)
			if withDays < 0 {
				withDays = i
			}
		}
		for j, prev := range steps {
			if prev.At == st.At && prev.Days&st.Days != 0 {
				fail(join(sp, "at"), "%s is also the start of flex[%d] on a day both steps run; steps on the same day start at different times",
					formatTimeOfDay(st.At), j)
			}
		}
		steps = append(steps, st)
	}
	pr.Rx.FlexSteps = len(steps)
	pr.Rx.Weekly = withDays >= 0
	if f.Repeat != nil {
		switch r := *f.Repeat; r {
		case "weekly":
			pr.Rx.Weekly = true
		case "daily":
			if withDays >= 0 {
				fail(join(path, "repeat"), `"daily" but flex[%d] gives days: write "weekly", or remove the days`, withDays)
			}
		default:
			fail(join(path, "repeat"), `unknown repeat %s (allowed: "daily", "weekly")`, strictjson.Quote(r))
		}
	}
}

func weekdays(path string, names []string) uint8 {
	if len(names) == 0 {
		fail(path, `empty: list at least one day, or leave days out for every day`)
	}
	var mask uint8
	for i, name := range names {
		d := slices.Index(dayNames, name)
		if d < 0 {
			fail(index(path, i), "unknown day %s (allowed: %s)", strictjson.Quote(name), strings.Join(dayNames, ", "))
		}
		if mask&(1<<d) != 0 {
			fail(index(path, i), "%q is listed twice", name)
		}
		mask |= 1 << d
	}
	return mask
}

func patientBolus(path string, f *filePatientBolus) pump.PatientBolus {
	var pb pump.PatientBolus
	pb.Volume = unit.Volume(volumePositive.read(join(path, "volume_ml"), needRaw(join(path, "volume_ml"), f.VolumeML, "the volume of one bolus, in mL")))
	pb.Duration = positiveDuration(join(path, "duration"), need(join(path, "duration"), f.Duration, `the time one bolus takes, e.g. "10m"`))
	pb.Lockout = positiveDuration(join(path, "lockout"), need(join(path, "lockout"), f.Lockout, `the least time between the starts of two boluses, e.g. "4h"`))
	pb.MaxPer24h = int(integer(join(path, "max_per_24h"), needRaw(join(path, "max_per_24h"), f.MaxPer24h, "the most boluses given in any 24 h, a whole number"), 1, math.MaxInt32))
	return pb
}

func parseEvent(s *Scenario, i int, f *fileEvent) Event {
	path := index("events", i)
	e := Event{Index: i}
	e.At = eventTime(s, join(path, "at"), need(join(path, "at"), f.At, `a duration after start ("3d") or an RFC 3339 time`))
	if i > 0 && e.At.Before(s.Events[i-1].At) {
		fail(join(path, "at"), "before events[%d] (%s is earlier than %s): list events in time order",
			i-1, e.At, s.Events[i-1].At)
	}
	name := need(join(path, "kind"), f.Kind, "one of "+list(Kinds))
	if !slices.Contains(Kinds, Kind(name)) {
		fail(join(path, "kind"), "unknown kind %s (allowed: %s)", strictjson.Quote(name), list(Kinds))
	}
	e.Kind = Kind(name)
	allowed(path, f, "kind "+strconv.Quote(name), append([]string{"at", "kind"}, kindFields[e.Kind]...))
	switch e.Kind {
	case Program, Bridge:
		pr := parsePrescription(join(path, "prescription"), need(join(path, "prescription"), f.Prescription, `the new prescription, an object with "mode"`))
		e.Prescription = &pr
	case ClinicianBolus:
		e.Volume = unit.Volume(volumePositive.read(join(path, "volume_ml"), needRaw(join(path, "volume_ml"), f.VolumeML, "the bolus volume, in mL")))
		e.Duration = positiveDuration(join(path, "duration"), need(join(path, "duration"), f.Duration, `the time the bolus takes, e.g. "30m"`))
		e.HasDuration = true
	case Refill:
		e.Withdraw = unit.Volume(volumeNonNegative.read(join(path, "withdraw_ml"), needRaw(join(path, "withdraw_ml"), f.WithdrawML, "the volume withdrawn from the reservoir, in mL")))
		e.Add = unit.Volume(volumePositive.read(join(path, "add_ml"), needRaw(join(path, "add_ml"), f.AddML, "the volume injected, in mL")))
		e.Drug = drug(path, f.Drug, f.Concentration)
		if f.PocketFillML != nil {
			e.PocketFill = unit.Volume(volumeNonNegative.read(join(path, "pocket_fill_ml"), f.PocketFillML))
			if e.PocketFill > e.Add {
				fail(join(path, "pocket_fill_ml"), "%s is more than add_ml (%s): the pocket fill is part of the volume injected", e.PocketFill, e.Add)
			}
		}
	case MRI, MotorStall:
		e.Duration = positiveDuration(join(path, "duration"), need(join(path, "duration"), f.Duration, `e.g. "45m"`))
		e.HasDuration = true
	case Occlusion:
		if f.Duration != nil {
			e.Duration = positiveDuration(join(path, "duration"), *f.Duration)
			e.HasDuration = true
		}
	case BatteryDrain:
		e.Charge = unit.Charge(drain.read(join(path, "uah"), needRaw(join(path, "uah"), f.UAh, "the charge drained, in µAh"))) * unit.NanoampHour
	case SetClock:
		e.UTCOffset = utcOffset(join(path, "utc_offset"), need(join(path, "utc_offset"), f.UTCOffset, `the pump's new UTC offset, e.g. "+01:00"`))
	case Acknowledge:
		if f.Alarm != nil {
			if *f.Alarm == "" {
				fail(join(path, "alarm"), "must not be empty: name the alarm, or leave alarm out to acknowledge every alarm")
			}
			e.Alarm = text(join(path, "alarm"), *f.Alarm)
		}
	}
	return e
}

// eventTime reads an event's at: a duration after start, or an RFC 3339 time,
// within [start, end].
func eventTime(s *Scenario, path, t string) unit.Time {
	t = short(path, t)
	var at unit.Time
	if strings.ContainsAny(t, "T:-") { // never in a duration
		at = instant(path, t)
		if at.Before(s.Start) {
			fail(path, "%s is before the scenario's start, %s", at, s.Start)
		}
	} else {
		d, err := unit.ParseDuration(t)
		if err != nil {
			fail(path, `%s; write a duration after start ("3d", "4h30m") or an RFC 3339 time ("2026-01-08T08:00:00Z")`, cause(err))
		}
		at = s.Start.Add(d)
	}
	if at.After(s.End()) {
		fail(path, "%s is after the scenario's end, %s (start + %s)", at, s.End(), s.Duration)
	}
	return at
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// need returns *v, or refuses the file saying what the field at path holds.
func need[T any](path string, v *T, what string) T {
	if v == nil {
		fail(path, "required: %s", what)
	}
	return *v
}

// needRaw is need for a number, kept as written.
func needRaw(path string, v jsontext.Value, what string) jsontext.Value {
	if v == nil {
		fail(path, "required: %s", what)
	}
	return v
}

// allowed refuses the first member of the object f at path that is not one of
// names, the fields of what (a mode or an event kind).
func allowed(path string, f any, what string, names []string) {
	for _, m := range strictjson.Present(f) {
		if !slices.Contains(names, m) {
			fail(join(path, m), "not a field of %s (its fields: %s)", what, strings.Join(names, ", "))
		}
	}
}

// text reads a name: a non-empty string without surrounding spaces.
func text(path, s string) string {
	if strings.TrimSpace(s) == "" {
		fail(path, "must not be empty")
	}
	if strings.TrimSpace(s) != s {
		fail(path, "%s begins or ends with spaces", strictjson.Quote(s))
	}
	return s
}

// number refuses v unless it is a JSON number written with at most maxEcho
// characters (no value of a scenario needs more, and a message repeats it).
func number(path string, v jsontext.Value, what string) string {
	if v.Kind() != '0' {
		fail(path, "must be %s, not %s", what, strictjson.Describe(v))
	}
	if len(v) > maxEcho {
		fail(path, "the number %s is written with more than %d characters", strictjson.Truncate(string(v)), maxEcho)
	}
	return string(v)
}

func integer(path string, v jsontext.Value, lo, hi int64) int64 {
	s := number(path, v, "a whole number")
	n, err := unit.ParseDecimal(s, 0)
	if err != nil {
		fail(path, "%s is not a whole number from %d to %d", s, lo, hi)
	}
	if n < lo || n > hi {
		fail(path, "%s is out of range: %d to %d", s, lo, hi)
	}
	return n
}

// maxDriftPct bounds stroke_drift_pct_per_year: a mechanism that loses or gains
// more than half its stroke volume a year is broken, not drifting.
const maxDriftPct = 50

// signedPercent reads a percentage from lo to hi. It is a model's parameter,
// not a quantity given to the pump, so a float64 holds it.
func signedPercent(path string, v jsontext.Value, lo, hi float64) float64 {
	s := number(path, v, "a number")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < lo || f > hi {
		fail(path, "%s is out of range: %g to %g (%%)", s, lo, hi)
	}
	return f
}

// maxEcho bounds a string that a unit parser reads: the parser's message repeats it.
const maxEcho = 64

// short refuses a string too long for a field that a unit parser reads, so that
// the parser's message, which repeats it, stays short.
func short(path, s string) string {
	if len(s) > maxEcho {
		fail(path, "%s is too long for this field (at most %d characters)", strictjson.Quote(s), maxEcho)
	}
	return s
}

func duration(path, s string) unit.Duration {
	d, err := unit.ParseDuration(short(path, s))
	if err != nil {
		fail(path, "%s", cause(err))
	}
	return d
}

func positiveDuration(path, s string) unit.Duration {
	d := duration(path, s)
	if d <= 0 {
		fail(path, "must be longer than 0s")
	}
	return d
}

func utcOffset(path, s string) unit.Duration {
	d, err := unit.ParseUTCOffset(short(path, s))
	if err != nil {
		fail(path, "%s", cause(err))
	}
	return d
}

// instant reads an RFC 3339 time to the millisecond.
func instant(path, s string) unit.Time {
	t, err := unit.ParseTime(short(path, s))
	if err != nil {
		fail(path, "%s", cause(err))
	}
	if std, err := time.Parse(time.RFC3339Nano, s); err != nil || std.Nanosecond()%int(time.Millisecond) != 0 {
		fail(path, "%s is finer than a millisecond", strictjson.Quote(s))
	}
	return t
}

// timeOfDay reads "HH:MM", 00:00 to 23:59.
func timeOfDay(path, s string) unit.Duration {
	ok := len(s) == 5 && s[2] == ':' && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[3]) && isDigit(s[4])
	h, m := 0, 0
	if ok {
		h = int(s[0]-'0')*10 + int(s[1]-'0')
		m = int(s[3]-'0')*10 + int(s[4]-'0')
	}
	if !ok || h > 23 || m > 59 {
		fail(path, `%s is not a time of day: write "HH:MM" from 00:00 to 23:59`, strictjson.Quote(s))
	}
	return unit.Duration(h)*unit.Hour + unit.Duration(m)*unit.Minute
}

func formatTimeOfDay(d unit.Duration) string {
	return fmt.Sprintf("%02d:%02d", d/unit.Hour, d%unit.Hour/unit.Minute)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Bounds of what no pump could be given: they keep every product the simulator
// forms (volume × concentration, rate × concentration) far inside int64.
const (
	maxVolume        = 1000 * unit.Millilitre
	maxRate          = 1000 * unit.MillilitrePerDay
	maxConcentration = 1000 * unit.MilligramPerMillilitre
	maxDoseRate      = unit.DoseRate(10_000_000_000_000_000) // 10,000 mg/day in fg/day
	maxCharge        = 100_000_000                           // µAh
)

// quantity is a number field read exactly as an integer count of its smallest step.
type quantity struct {
	unit     string // as the field's name gives it: "mL", "mL/day", "cm", "µAh"
	decimals int    // digits after the point that the smallest step allows
	step     string // the smallest step, for messages
	min, max int64  // in steps
	minOpen  bool   // min itself is refused: the value must be more than min
}

var (
	volumePositive    = quantity{"mL", 6, "1 nL", 0, int64(maxVolume), true}
	volumeNonNegative = quantity{"mL", 6, "1 nL", 0, int64(maxVolume), false}
	volumeRate        = quantity{"mL/day", 6, "1 nL/day", 0, int64(maxRate), true}
	catheterLength    = quantity{"cm", 4, "1 µm", 0, 1000 * int64(unit.Centimetre), true}
	catheterPerCm     = quantity{"mL/cm", 6, "1 nL/cm", 0, int64(unit.Millilitre), true}
	battery           = quantity{"µAh", 3, "0.001 µAh", 0, maxCharge * 1000, false}
	drain             = quantity{"µAh", 3, "0.001 µAh", 0, maxCharge * 1000, true}
)

func (q quantity) read(path string, v jsontext.Value) int64 {
	s := number(path, v, "a number of "+q.unit)
	n, err := unit.ParseDecimal(s, q.decimals)
	if err != nil {
		fail(path, "%s: %s is read exactly, to %s (%d decimal places)", cause(err), q.unit, q.step, q.decimals)
	}
	if n < q.min || q.minOpen && n == q.min || n > q.max {
		fail(path, "%s %s is out of range: %s", s, q.unit, q.bounds())
	}
	return n
}

func (q quantity) bounds() string {
	lo, hi := unit.FormatFixed(q.min, q.decimals), unit.FormatFixed(q.max, q.decimals)
	if q.minOpen {
		return "more than " + lo + " and at most " + hi + " " + q.unit
	}
	return lo + " to " + hi + " " + q.unit
}

// cause is a unit package error as a reason: without its "unit: " prefixes.
func cause(err error) string {
	return strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", "")
}

// list joins names (strings or Stringers) for a message.
func list[T any](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// fail refuses the file: it panics with a *FieldError, which Parse recovers.
func fail(field, format string, args ...any) {
	panic(&FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}
